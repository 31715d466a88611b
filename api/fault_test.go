package api

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/bevis-ir/bevis/access"
	"github.com/bevis-ir/bevis/audit"
	"github.com/bevis-ir/bevis/internal/db"
	"github.com/bevis-ir/bevis/internal/testenv"
)

// proxiedWorld is the fixture world on a fresh PostgreSQL database reached
// through a TCP proxy that the test can cut, and the same database reached
// directly.
func proxiedWorld(t *testing.T) (*world, *testenv.Proxy, testenv.Database) {
	t.Helper()
	direct := testenv.Postgres(t)
	u, err := url.Parse(direct.URL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := testenv.NewProxy(t, u.Host)
	u.Host = proxy.Addr()
	gdb, err := db.Open(context.Background(), u.String(), 5*time.Second, testenv.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close(gdb) })
	return newWorld(t, testenv.Database{Name: db.Postgres, URL: u.String(), DB: gdb}), proxy, direct
}

// wantDatabaseUnavailable checks a 503 database_unavailable with a
// Retry-After: never 401 (the app would sign its user out) nor 500.
func wantDatabaseUnavailable(t *testing.T, what string, resp *http.Response, body string) {
	t.Helper()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("%s with the database cut off: %d %s, want 503", what, resp.StatusCode, body)
	}
	p := decodeProblem(t, resp, body)
	if p.Code != "database_unavailable" || resp.Header.Get("Retry-After") == "" {
		t.Errorf("%s: code %q, Retry-After %q; want database_unavailable with a Retry-After", what, p.Code,
			resp.Header.Get("Retry-After"))
	}
}

func TestDatabaseFault_TokenCheckIs503NotUnauthenticated(t *testing.T) {
	t.Parallel()
	w, proxy, _ := proxiedWorld(t)
	lead := w.bearer["lead"]
	if resp, body := w.call(t, http.MethodGet, "/api/v1/me", lead, ""); resp.StatusCode != http.StatusOK {
		t.Fatalf("before the cut: %d %s", resp.StatusCode, body)
	}

	proxy.Down()
	resp, body := w.call(t, http.MethodGet, "/api/v1/me", lead, "")
	wantDatabaseUnavailable(t, "GET /me", resp, body)
	resp, body = w.call(t, http.MethodPost, "/api/v1/auth/refresh", "", "", "Cookie", refreshCookie+"="+w.refresh["lead"])
	wantDatabaseUnavailable(t, "POST /auth/refresh", resp, body)
	for _, c := range resp.Cookies() {
		if c.Name == refreshCookie {
			t.Errorf("a refresh that met a database fault cleared the refresh cookie: %v", c)
		}
	}
	resp, body = w.call(t, http.MethodGet, "/metrics", "", "")
	if resp.StatusCode != http.StatusOK ||
		!strings.Contains(body, `bevis_backend_errors_total{backend="database",kind="connection"}`) {
		t.Errorf("/metrics does not count the database faults:\n%s", grepLines(body, "bevis_backend"))
	}

	proxy.Up()
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, body = w.call(t, http.MethodGet, "/api/v1/me", lead, "")
		if resp.StatusCode == http.StatusOK {
			break
		}
		if resp.StatusCode != http.StatusServiceUnavailable || time.Now().After(deadline) {
			t.Fatalf("after the database came back: %d %s", resp.StatusCode, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestDatabaseFault_ReadsAndWritesAre503(t *testing.T) {
	t.Parallel()
	w, proxy, direct := proxiedWorld(t)
	// Tokens are checked on the direct connection here, so that the
	// requests reach their handlers' reads and writes, which go through
	// the proxy.
	deps := w.deps
	deps.Sessions = access.NewSessions(direct.DB, w.tokens, 12*time.Hour)
	deps.Sessions.RecordChangesWith(audit.Change)
	app, err := New(deps)
	if err != nil {
		t.Fatal(err)
	}
	w.app = app
	lead := w.bearer["lead"]

	proxy.Down()
	for _, tt := range []struct{ method, path, body string }{
		{http.MethodGet, "/api/v1/cases/" + w.caseID, ""},
		{http.MethodGet, "/api/v1/cases", ""},
		{http.MethodGet, "/api/v1/cases/" + w.caseID + "/tasks", ""},
		{http.MethodPost, "/api/v1/cases", `{"title":"Second breach","tlp":"AMBER"}`},
		{http.MethodPost, "/api/v1/cases/" + w.caseID + "/comments", `{"body":"Logs preserved."}`},
		{http.MethodPost, "/api/v1/cases/" + w.caseID + "/evidence", `{"title":"USB stick","kind":"physical"}`},
	} {
		resp, body := w.call(t, tt.method, tt.path, lead, tt.body)
		wantDatabaseUnavailable(t, tt.method+" "+tt.path, resp, body)
	}
	proxy.Up()
}

// grepLines keeps the lines of s that hold sub, for short failure messages.
func grepLines(s, sub string) string {
	var out []string
	for _, line := range strings.Split(s, "\n") {
		if strings.Contains(line, sub) {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}
