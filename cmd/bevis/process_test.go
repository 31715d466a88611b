package main

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// bevisProcess is `bevis serve` as a child process, so it can be killed
// with SIGKILL and its memory read from /proc, as nothing in-process can.
type bevisProcess struct {
	tb     testing.TB
	base   string
	cmd    *exec.Cmd
	stderr *syncBuffer
	exited chan struct{}
}

// testBinary runs serve in the test binary itself (see TestMain); it
// costs no build.
func testBinary() (bin string, env []string) {
	return os.Args[0], []string{"BEVIS_TEST_MAIN=1"}
}

// startBevis runs bin serve with env (and binEnv, what bin itself needs)
// and waits until it is ready. It is killed when the test ends.
func startBevis(tb testing.TB, bin string, binEnv []string, env map[string]string) *bevisProcess {
	tb.Helper()
	p := launchBevis(tb, bin, binEnv, env)
	p.waitReady(30 * time.Second)
	return p
}

// launchBevis starts bin serve without waiting for it, so that several
// can start at once; waitReady waits for each.
func launchBevis(tb testing.TB, bin string, binEnv []string, env map[string]string) *bevisProcess {
	tb.Helper()
	addr := freeAddr(tb)
	cmd := exec.Command(bin, "serve", "--listen", addr)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + tb.TempDir()}, binEnv...)
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	p := &bevisProcess{tb: tb, base: "http://" + addr, cmd: cmd, stderr: &syncBuffer{}, exited: make(chan struct{})}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	go func() { _ = cmd.Wait(); close(p.exited) }()
	tb.Cleanup(func() {
		p.kill()
		if tb.Failed() {
			tb.Logf("bevis log:\n%s", tail(p.stderr.String(), 4000))
		}
	})
	return p
}

// waitReady waits until /readyz answers 200, within wait.
func (p *bevisProcess) waitReady(wait time.Duration) {
	p.tb.Helper()
	deadline := time.Now().Add(wait)
	for {
		select {
		case <-p.exited:
			p.tb.Fatalf("bevis serve ended early:\n%s", p.stderr.String())
		default:
		}
		if resp, err := http.Get(p.base + "/readyz"); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			p.tb.Fatalf("bevis serve not ready within %s:\n%s", wait, p.stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// kill sends SIGKILL, as a crash or the OOM killer would, and waits.
func (p *bevisProcess) kill() {
	select {
	case <-p.exited:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.exited
}

func (p *bevisProcess) pid() int { return p.cmd.Process.Pid }

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// analyst creates, through `bevis admin`, an admin and an analyst (a
// member of agency KRIPOS, who may open cases) in the database env names,
// and returns the analyst's email and password.
func analyst(tb testing.TB, env map[string]string) (email, password string) {
	tb.Helper()
	password = "a long and uncommon passphrase"
	pwFile := filepath.Join(tb.TempDir(), "pw")
	if err := os.WriteFile(pwFile, []byte(password), 0o600); err != nil {
		tb.Fatal(err)
	}
	getenv := func(k string) string { return env[k] }
	email = "analyst@kripos.example"
	for _, args := range [][]string{
		{"admin", "bootstrap", "--email", "admin@ncsc.example", "--name", "Admin", "--agency-code", "ncsc",
			"--agency-name", "NCSC", "--agency-kind", "cert", "--password-file", pwFile},
		{"admin", "create-agency", "--agency-code", "kripos", "--agency-name", "Kripos", "--agency-kind", "police"},
		{"admin", "create-user", "--email", email, "--name", "Analyst", "--agency-code", "kripos", "--password-file", pwFile},
	} {
		var out strings.Builder
		if err := run(context.Background(), args, getenv, &out, io.Discard); err != nil {
			tb.Fatalf("%v: %v\n%s", args, err, out.String())
		}
	}
	return email, password
}

// apiClient calls the API of a bevis process as one signed-in user.
type apiClient struct {
	tb    testing.TB
	base  string
	token string
}

func signIn(tb testing.TB, base, email, password string) *apiClient {
	tb.Helper()
	c := &apiClient{tb: tb, base: base}
	var out struct {
		AccessToken string `json:"access_token"`
	}
	c.json(http.MethodPost, "/api/v1/auth/login", fmt.Sprintf(`{"email":%q,"password":%q}`, email, password), 200, &out)
	c.token = out.AccessToken
	return c
}

// do sends a request; body may be nil. A length of -1 sends no
// Content-Length (chunked) when there is a body.
func (c *apiClient) do(method, path string, body io.Reader, length int64, header ...string) (*http.Response, error) {
	req, err := http.NewRequest(method, c.base+path, body)
	if err != nil {
		c.tb.Fatal(err)
	}
	req.ContentLength = length
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return http.DefaultClient.Do(req)
}

// json sends a JSON body (or none) and decodes the answer into out,
// failing unless the status is want.
func (c *apiClient) json(method, path, body string, want int, out any) {
	c.tb.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	resp, err := c.do(method, path, r, int64(len(body)), "Content-Type", "application/json")
	if err != nil {
		c.tb.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		c.tb.Fatalf("%s %s: %d, want %d: %s", method, path, resp.StatusCode, want, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			c.tb.Fatalf("%s %s: %v: %s", method, path, err, raw)
		}
	}
}

func (c *apiClient) createCase() string {
	var k struct {
		ID string `json:"id"`
	}
	c.json(http.MethodPost, "/api/v1/cases", `{"title":"Health authority breach","tlp":"AMBER"}`, 201, &k)
	return k.ID
}

// itemState is what the tests read of an evidence item.
type itemState struct {
	ID            string `json:"id"`
	ContentStatus string `json:"content_status"`
	Size          *int64 `json:"size"`
	Hashes        *struct {
		SHA256 string `json:"sha256"`
	} `json:"hashes"`
}

func (c *apiClient) registerItem(caseID string) string {
	var it itemState
	c.json(http.MethodPost, "/api/v1/cases/"+caseID+"/evidence", `{"title":"Disk image","kind":"disk_image"}`, 201, &it)
	return it.ID
}

func (c *apiClient) item(id string) itemState {
	var it itemState
	c.json(http.MethodGet, "/api/v1/evidence/"+id, "", 200, &it)
	return it
}

// patternReader is size deterministic bytes made as they are read, so
// gigabytes cost no memory: a random MiB, each copy of it stamped with its
// number, so no two MiB of the stream are alike.
type patternReader struct {
	base, cur []byte
	n         int64 // number of the MiB in cur
	off, size int64
}

const patternBlock = 1 << 20

func newPatternReader(seed uint64, size int64) *patternReader {
	base := make([]byte, patternBlock)
	_, _ = rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8)}).Read(base) // never fails
	return &patternReader{base: base, cur: make([]byte, patternBlock), n: -1, size: size}
}

func (r *patternReader) Read(p []byte) (int, error) {
	if r.off >= r.size {
		return 0, io.EOF
	}
	n := 0
	for len(p) > 0 && r.off < r.size {
		block, within := r.off/patternBlock, r.off%patternBlock
		if block != r.n {
			copy(r.cur, r.base)
			binary.BigEndian.PutUint64(r.cur, uint64(block)) //nolint:gosec // not negative
			r.n = block
		}
		c := copy(p, r.cur[within:min(int64(patternBlock), within+r.size-r.off)])
		p, n, r.off = p[c:], n+c, r.off+int64(c)
	}
	return n, nil
}
