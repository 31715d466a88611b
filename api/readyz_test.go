package api

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/bevis-ir/bevis/evidence"
	"github.com/bevis-ir/bevis/internal/db"
	"github.com/bevis-ir/bevis/internal/testenv"
)

// readiness asks /readyz and returns the status and, on 503, the checks.
func readiness(t *testing.T, app *fiber.App) (int, map[string]string) {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, "/readyz", nil)
	resp, err := app.Test(req, 10_000)
	if err != nil {
		t.Fatal(err)
	}
	body := readAndCheck(t, req, resp)
	if resp.StatusCode == http.StatusOK {
		return resp.StatusCode, nil
	}
	p := decodeProblem(t, resp, body)
	if p.Code != "not_ready" {
		t.Errorf("code %q, want not_ready", p.Code)
	}
	return resp.StatusCode, p.Checks
}

// eventually polls readiness until it reports want, since a pool may need
// a moment to notice a dead or revived server.
func eventually(t *testing.T, app *fiber.App, want int, wantDown string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		status, checks := readiness(t, app)
		if status == want && (wantDown == "" || checks[wantDown] == "unreachable") {
			for name, state := range checks {
				if name != wantDown && state != "ok" {
					t.Errorf("check %s is %q; only %s should be down", name, state, wantDown)
				}
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("readyz stayed %d %v, want %d with %q unreachable", status, checks, want, wantDown)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func TestReadyz_PostgresDownThenBackWithoutRestart(t *testing.T) {
	t.Parallel()
	u, err := url.Parse(testenv.PostgresURL(t))
	if err != nil {
		t.Fatal(err)
	}
	proxy := testenv.NewProxy(t, u.Host)
	u.Host = proxy.Addr()
	log := testenv.Logger(t)
	gdb, err := db.Open(context.Background(), u.String(), 5*time.Second, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close(gdb) })
	store, err := evidence.NewFSStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	app := newTestApp(t, func(d *Deps) { d.DB, d.Evidence = gdb, store })

	eventually(t, app, http.StatusOK, "")
	proxy.Down()
	eventually(t, app, http.StatusServiceUnavailable, "database")
	proxy.Up()
	eventually(t, app, http.StatusOK, "")
}

func TestReadyz_S3DownThenBackWithoutRestart(t *testing.T) {
	t.Parallel()
	srv := testenv.S3(t)
	proxy := testenv.NewProxy(t, srv.Endpoint)
	store, err := evidence.NewS3Store(evidence.S3Config{
		Endpoint: proxy.Addr(), Bucket: srv.Bucket, AccessKey: srv.AccessKey, SecretKey: srv.SecretKey,
		Region: srv.Region, TLS: srv.TLS,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := store.EnsureBucket(context.Background()); err != nil {
		t.Fatal(err)
	}
	app := newTestApp(t, func(d *Deps) { d.Evidence = store })

	eventually(t, app, http.StatusOK, "")
	proxy.Down()
	eventually(t, app, http.StatusServiceUnavailable, "evidence_store")
	proxy.Up()
	eventually(t, app, http.StatusOK, "")
}

func TestReadyz_EvidenceFolderGoneThenBack(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "evidence")
	store, err := evidence.NewFSStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	app := newTestApp(t, func(d *Deps) { d.Evidence = store })

	eventually(t, app, http.StatusOK, "")
	if err := os.Rename(dir, dir+".unmounted"); err != nil {
		t.Fatal(err)
	}
	eventually(t, app, http.StatusServiceUnavailable, "evidence_store")
	if err := os.Rename(dir+".unmounted", dir); err != nil {
		t.Fatal(err)
	}
	eventually(t, app, http.StatusOK, "")
}
