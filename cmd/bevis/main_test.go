package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/bevis-ir/bevis/access"
	"github.com/bevis-ir/bevis/internal/testenv"
)

// TestMain lets a test run the real main() in a child process (the test
// binary re-executed with BEVIS_TEST_MAIN=1), to see exit status and stderr
// exactly as an operator would.
// Passwords are hashed cheaply in both, as in every package's fixtures.
func TestMain(m *testing.M) {
	access.UseCheapPasswordHashingInTests()
	if os.Getenv("BEVIS_TEST_MAIN") == "1" {
		main()
		os.Exit(0)
	}
	code := m.Run()
	removeBuiltBevis()
	os.Exit(code)
}

func runMain(t *testing.T, env []string, args ...string) (exitCode int, stdout, stderr string) {
	t.Helper()
	// A command expected to exit that serves instead is killed, so the
	// test fails instead of hanging.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], args...)
	cmd.Env = append([]string{"BEVIS_TEST_MAIN=1", "PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}, env...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		exitCode = exit.ExitCode()
	case err != nil:
		t.Fatal(err)
	}
	return exitCode, out.String(), errOut.String()
}

func TestMain_InvalidConfigurationExits2WithOneClearLine(t *testing.T) {
	tests := []struct {
		name string
		env  []string
		args []string
		want string
	}{
		{"malformed database URL", []string{"BEVIS_DATABASE_URL=postgres://bevis:pw@db:notaport/bevis"}, []string{"serve"}, "BEVIS_DATABASE_URL"},
		{"unknown option", nil, []string{"serve", "--evidence-bucket", "x"}, "flag provided but not defined: -evidence-bucket"},
		{"bad port", []string{"BEVIS_LISTEN=127.0.0.1:80800"}, []string{"serve"}, "BEVIS_LISTEN"},
		{"unknown command", nil, []string{"serv"}, `unknown command "serv"`},
		{"no command", nil, nil, "no command given"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := runMain(t, tt.env, tt.args...)
			if code != 2 {
				t.Errorf("exit %d, want 2; stderr %q", code, stderr)
			}
			last := strings.TrimRight(stderr, "\n")
			if i := strings.LastIndex(last, "\n"); i >= 0 && tt.args != nil {
				t.Errorf("stderr has more than one line: %q", stderr)
			}
			if !strings.Contains(last, tt.want) || !strings.HasPrefix(last[strings.LastIndex(last, "\n")+1:], "bevis: ") {
				t.Errorf("stderr %q lacks %q", stderr, tt.want)
			}
			if strings.Contains(stderr, ":pw@") {
				t.Errorf("stderr leaks the password: %q", stderr)
			}
		})
	}
}

func TestMain_UnreachableDependencyRetriedThenExits1(t *testing.T) {
	closed := freeAddr(t) // nothing listens here
	tests := []struct {
		name string
		env  []string
		want string
	}{
		{"database", []string{"BEVIS_DATABASE_URL=postgres://postgres@" + closed + "/bevis?sslmode=disable"}, "database not reachable within 3s"},
		{"S3", []string{"BEVIS_S3_ENDPOINT=" + closed, "BEVIS_S3_ACCESS_KEY=k", "BEVIS_S3_SECRET_KEY=s", "BEVIS_S3_TLS=false"}, "S3 evidence store not reachable within 3s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := append([]string{"BEVIS_DATA_DIR=" + t.TempDir(), "BEVIS_STARTUP_TIMEOUT=3s", "BEVIS_LISTEN=" + freeAddr(t)}, tt.env...)
			start := time.Now()
			code, _, stderr := runMain(t, env, "serve")
			if code != 1 {
				t.Errorf("exit %d, want 1; stderr %s", code, stderr)
			}
			if !strings.Contains(stderr, tt.want) {
				t.Errorf("stderr lacks %q:\n%s", tt.want, stderr)
			}
			if retries := strings.Count(stderr, "retrying"); retries < 1 {
				t.Errorf("want retries with backoff, saw %d", retries)
			}
			if elapsed := time.Since(start); elapsed < 3*time.Second {
				t.Errorf("gave up after %s, before the startup timeout", elapsed)
			}
		})
	}
}

// server is one `bevis serve` run in-process through run().
type server struct {
	base   string
	stderr *syncBuffer
	cancel context.CancelFunc
	done   chan struct{} // closed when run has returned, with its error in err
	err    error
}

func startServe(t *testing.T, env map[string]string, args ...string) *server {
	t.Helper()
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	s := &server{base: "http://" + addr, stderr: &syncBuffer{}, cancel: cancel, done: make(chan struct{})}
	getenv := func(k string) string { return env[k] }
	args = append([]string{"serve", "--listen", addr}, args...)
	go func() {
		s.err = run(ctx, args, getenv, io.Discard, s.stderr)
		close(s.done)
	}()
	t.Cleanup(func() {
		cancel()
		<-s.done
		if t.Failed() {
			t.Logf("server log:\n%s", s.stderr.String())
		}
	})
	return s
}

// waitReady polls /readyz until 200, within wait.
func (s *server) waitReady(t *testing.T, wait time.Duration) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for {
		select {
		case <-s.done:
			t.Fatalf("serve ended early: %v\n%s", s.err, s.stderr.String())
		default:
		}
		if resp, err := http.Get(s.base + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("not ready within %s:\n%s", wait, s.stderr.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// stop sends the equivalent of SIGTERM and waits for a clean exit.
func (s *server) stop(t *testing.T) {
	t.Helper()
	s.cancel()
	select {
	case <-s.done:
		if s.err != nil {
			t.Fatalf("serve returned %v", s.err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not stop")
	}
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func TestServe_NoConfigurationUsesSQLiteAndEvidenceFolder(t *testing.T) {
	dir := t.TempDir()
	s := startServe(t, map[string]string{"BEVIS_DATA_DIR": dir})
	s.waitReady(t, 15*time.Second)

	if code, body := get(t, s.base+"/healthz"); code != 200 || !strings.Contains(body, "ok") {
		t.Errorf("healthz %d %s", code, body)
	}
	if code, body := get(t, s.base+"/"); code != 200 || !strings.Contains(body, "<html") {
		t.Errorf("UI %d %s", code, body)
	}
	if code, body := get(t, s.base+"/api/v1/nope"); code != 404 || !strings.Contains(body, `"code":"not_found"`) {
		t.Errorf("unknown API path %d %s", code, body)
	}
	for _, p := range []string{"bevis.db", "evidence"} {
		if _, err := os.Stat(filepath.Join(dir, p)); err != nil {
			t.Errorf("%s not created in the data dir: %v", p, err)
		}
	}
	log := s.stderr.String()
	for _, want := range []string{`"msg":"starting bevis"`, `"database-url":"sqlite:`, `"dialect":"sqlite"`, `"kind":"filesystem"`,
		"the filesystem evidence store cannot enforce Object Lock"} {
		if !strings.Contains(log, want) {
			t.Errorf("start-up log lacks %s", want)
		}
	}
	s.stop(t)
	if !strings.Contains(s.stderr.String(), `"msg":"stopped"`) {
		t.Error("no orderly stop in the log")
	}
}

func TestServe_OnPostgresAndS3(t *testing.T) {
	srv := testenv.S3(t)
	env := map[string]string{
		"BEVIS_DATA_DIR":      t.TempDir(),
		"BEVIS_DATABASE_URL":  testenv.PostgresURL(t),
		"BEVIS_S3_ENDPOINT":   srv.Endpoint,
		"BEVIS_S3_BUCKET":     srv.Bucket,
		"BEVIS_S3_ACCESS_KEY": srv.AccessKey,
		"BEVIS_S3_SECRET_KEY": srv.SecretKey,
		"BEVIS_S3_REGION":     srv.Region,
		"BEVIS_S3_TLS":        "false",
		// Checkpoints are locked in COMPLIANCE mode as long as evidence:
		// not ten years on the test server.
		"BEVIS_EVIDENCE_RETENTION": "1h",
	}
	// The test server's root credentials can do anything: the lock probe
	// finds so, and serve refuses to start...
	var stderr syncBuffer
	err := run(context.Background(), []string{"serve", "--listen", freeAddr(t)}, func(k string) string { return env[k] }, io.Discard, &stderr)
	if !errors.Is(err, errWeakStore) || exitCode(err) != 1 || !strings.Contains(err.Error(), "shortened") {
		t.Fatalf("serve with root credentials: %v, want it refused as a weak store\n%s", err, stderr.String())
	}
	// ...unless told to serve anyway, which it says loudly and in a metric.
	env["BEVIS_ALLOW_WEAK_STORE"] = "true"
	s := startServe(t, env)
	s.waitReady(t, 20*time.Second)
	if _, metrics := get(t, s.base+"/metrics"); !strings.Contains(metrics, "bevis_evidence_store_weak 1") {
		t.Error("/metrics does not show the weak store")
	}

	log := s.stderr.String()
	if !strings.Contains(log, "WEAK EVIDENCE STORE") {
		t.Errorf("no loud warning of the weak store:\n%s", log)
	}
	if !strings.Contains(log, `"dialect":"postgres"`) || !strings.Contains(log, `"kind":"s3"`) {
		t.Errorf("not on PostgreSQL and S3:\n%s", log)
	}
	if strings.Contains(log, srv.SecretKey) {
		t.Error("the S3 secret key is in the log")
	}
	lock, _, _, _, err := srv.Client(t).GetObjectLockConfig(context.Background(), srv.Bucket)
	if err != nil || lock != "Enabled" {
		t.Errorf("bucket object lock %q: %v", lock, err)
	}
	versioning, err := srv.Client(t).GetBucketVersioning(context.Background(), srv.Bucket)
	if err != nil || versioning.Status != minio.Enabled {
		t.Errorf("bucket versioning %+v: %v", versioning, err)
	}
	s.stop(t)
}

func TestServe_WaitsForADatabaseThatComesUpLate(t *testing.T) {
	u, err := url.Parse(testenv.PostgresURL(t))
	if err != nil {
		t.Fatal(err)
	}
	proxy := testenv.NewProxy(t, u.Host)
	proxy.Down()
	u.Host = proxy.Addr()
	s := startServe(t, map[string]string{
		"BEVIS_DATA_DIR": t.TempDir(), "BEVIS_DATABASE_URL": u.String(), "BEVIS_STARTUP_TIMEOUT": "30s",
	})
	time.Sleep(1500 * time.Millisecond)
	proxy.Up()
	s.waitReady(t, 30*time.Second)
	if !strings.Contains(s.stderr.String(), "reachable after retrying") {
		t.Errorf("no retry seen in the log:\n%s", s.stderr.String())
	}
	s.stop(t)
}

func TestMigrate_StatusUpStatus(t *testing.T) {
	for name, dbURL := range map[string]string{"sqlite": testenv.SQLiteURL(t), "postgres": testenv.PostgresURL(t)} {
		t.Run(name, func(t *testing.T) {
			env := func(k string) string {
				if k == "BEVIS_DATABASE_URL" {
					return dbURL
				}
				return ""
			}
			var out strings.Builder
			ctx := context.Background()
			if err := run(ctx, []string{"migrate", "status"}, env, &out, io.Discard); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(out.String(), "00001_instance.sql") || !strings.Contains(out.String(), "pending") {
				t.Errorf("status before up:\n%s", out.String())
			}
			out.Reset()
			if err := run(ctx, []string{"migrate", "up"}, env, &out, io.Discard); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(out.String(), "applied 00001_instance.sql") {
				t.Errorf("up:\n%s", out.String())
			}
			out.Reset()
			if err := run(ctx, []string{"migrate", "status"}, env, &out, io.Discard); err != nil {
				t.Fatal(err)
			}
			if strings.Contains(out.String(), "pending") {
				t.Errorf("status after up:\n%s", out.String())
			}
			out.Reset()
			if err := run(ctx, []string{"migrate", "down-to", "1"}, env, &out, io.Discard); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(out.String(), "undone 00002_access.sql") || strings.Contains(out.String(), "undone 00001") {
				t.Errorf("down-to 1:\n%s", out.String())
			}
		})
	}
	for _, args := range [][]string{{"migrate", "sideways"}, {"migrate", "down-to"}, {"migrate", "down-to", "-1"}} {
		err := run(context.Background(), args, func(string) string { return "" }, io.Discard, io.Discard)
		if exitCode(err) != 2 {
			t.Errorf("%v: %v, want a usage error", args, err)
		}
	}
}

func TestHealthcheck_ExitStatusFollowsTheServer(t *testing.T) {
	s := startServe(t, map[string]string{"BEVIS_DATA_DIR": t.TempDir()})
	s.waitReady(t, 15*time.Second)
	addr := strings.TrimPrefix(s.base, "http://")
	if code, out, stderr := runMain(t, nil, "healthcheck", "--listen", addr); code != 0 || strings.TrimSpace(out) != "ok" {
		t.Errorf("healthy server: exit %d %q %q", code, out, stderr)
	}
	if code, _, stderr := runMain(t, nil, "healthcheck", "--listen", freeAddr(t)); code != 1 {
		t.Errorf("no server: exit %d %q", code, stderr)
	}
}

func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// syncBuffer is a bytes.Buffer safe for the server goroutine and the test.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestMain_SIGTERMDrainsAndExitsZero(t *testing.T) {
	addr := freeAddr(t)
	cmd := exec.Command(os.Args[0], "serve", "--listen", addr, "--data-dir", t.TempDir())
	cmd.Env = []string{"BEVIS_TEST_MAIN=1", "PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	deadline := time.Now().Add(15 * time.Second)
	for {
		if resp, err := http.Get("http://" + addr + "/healthz"); err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("never came up:\n%s", stderr.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("exit after SIGTERM: %v\n%s", err, stderr.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("no exit within 15 s of SIGTERM")
	}
	if !strings.Contains(stderr.String(), `"msg":"shutting down"`) || !strings.Contains(stderr.String(), `"msg":"stopped"`) {
		t.Errorf("no orderly shutdown in the log:\n%s", stderr.String())
	}
}
