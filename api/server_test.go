package api

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/gofiber/fiber/v2"

	"github.com/bevis-ir/bevis/audit"
	"github.com/bevis-ir/bevis/internal/config"
	"github.com/bevis-ir/bevis/internal/testenv"
)

// fakePinger stands in for a dependency only where the test is about the
// HTTP layer, not the dependency; readiness against real services is tested
// in readyz_test.go.
type fakePinger struct{ err error }

func (f fakePinger) Ping(context.Context) error { return f.err }

var testUI = fstest.MapFS{
	"index.html":         {Data: []byte(`<!doctype html><title>Bevis</title><div id="app"></div>`)},
	"assets/app-1a2b.js": {Data: []byte(`console.log("bevis")`)},
	"favicon.svg":        {Data: []byte(`<svg xmlns="http://www.w3.org/2000/svg"/>`)},
	".gitkeep":           {Data: nil},
}

func testConfig(t testing.TB) config.Config {
	t.Helper()
	cfg, err := config.Load("serve", nil, func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func newTestApp(t *testing.T, mutate func(*Deps)) *fiber.App {
	t.Helper()
	db := testenv.SQLite(t).DB
	w := audit.NewWriter(db, audit.WriterOptions{})
	t.Cleanup(w.Close)
	d := Deps{Config: testConfig(t), DB: db, Evidence: fakePinger{}, Log: testenv.Logger(t), UI: testUI, Audit: w}
	if mutate != nil {
		mutate(&d)
	}
	app, err := New(d)
	if err != nil {
		t.Fatal(err)
	}
	return app
}

func do(t *testing.T, app *fiber.App, req *http.Request) (*http.Response, string) {
	t.Helper()
	resp, err := app.Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	return resp, readAndCheck(t, req, resp)
}

func decodeProblem(t *testing.T, resp *http.Response, body string) problem {
	t.Helper()
	if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("content type %q, want application/problem+json; body %s", ct, body)
	}
	var p problem
	dec := json.NewDecoder(strings.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		t.Fatalf("problem body %q: %v", body, err)
	}
	if p.Status != resp.StatusCode || p.Code == "" || p.Title == "" || !strings.HasPrefix(p.Type, "urn:bevis:problem:") {
		t.Errorf("incomplete problem %+v for status %d", p, resp.StatusCode)
	}
	if p.RequestID == "" || p.RequestID != resp.Header.Get("X-Request-ID") {
		t.Errorf("problem request_id %q, header %q", p.RequestID, resp.Header.Get("X-Request-ID"))
	}
	return p
}

func TestUnknownAPIPath_IsProblemNotSPA(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, nil)
	for _, method := range []string{http.MethodGet, http.MethodPost, http.MethodDelete} {
		for _, path := range []string{"/api/v1/nope", "/api", "/api/v2/cases"} {
			resp, body := do(t, app, httptest.NewRequest(method, path, nil))
			if resp.StatusCode != http.StatusNotFound {
				t.Errorf("%s %s: status %d", method, path, resp.StatusCode)
				continue
			}
			if p := decodeProblem(t, resp, body); p.Code != "not_found" || p.Instance != path {
				t.Errorf("%s %s: problem %+v", method, path, p)
			}
		}
	}
}

func TestSPA_FallsBackToIndexOnlyForExtensionlessPaths(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, nil)
	tests := []struct {
		path        string
		status      int
		contentType string
		body        string
	}{
		{"/", 200, "text/html", `<div id="app">`},
		{"/cases/0192-abc", 200, "text/html", `<div id="app">`},
		{"/cases/0192-abc/evidence/", 200, "text/html", `<div id="app">`},
		{"/assets/app-1a2b.js", 200, "text/javascript", `console.log`},
		{"/favicon.svg", 200, "image/svg+xml", `<svg`},
		{"/assets/missing.js", 404, "application/problem+json", `not_found`},
		{"/robots.txt", 404, "application/problem+json", `not_found`},
		{"/.gitkeep", 404, "application/problem+json", `not_found`},
		{"/../../etc/passwd.txt", 404, "application/problem+json", `not_found`},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			resp, body := do(t, app, httptest.NewRequest(http.MethodGet, tt.path, nil))
			if resp.StatusCode != tt.status || !strings.HasPrefix(resp.Header.Get("Content-Type"), tt.contentType) ||
				!strings.Contains(body, tt.body) {
				t.Errorf("got %d %q %q", resp.StatusCode, resp.Header.Get("Content-Type"), body)
			}
		})
	}
	resp, _ := do(t, app, httptest.NewRequest(http.MethodGet, "/assets/app-1a2b.js", nil))
	if !strings.Contains(resp.Header.Get("Cache-Control"), "immutable") {
		t.Errorf("hashed assets should be cached for good: %q", resp.Header.Get("Cache-Control"))
	}
	resp, _ = do(t, app, httptest.NewRequest(http.MethodGet, "/", nil))
	if resp.Header.Get("Cache-Control") != "no-cache" {
		t.Errorf("index.html must be revalidated: %q", resp.Header.Get("Cache-Control"))
	}
}

func TestSPA_UnbuiltUISaysHowToBuildIt(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, func(d *Deps) { d.UI = fstest.MapFS{".gitkeep": {}} })
	resp, body := do(t, app, httptest.NewRequest(http.MethodGet, "/", nil))
	if resp.StatusCode != 200 || !strings.Contains(body, "make ui") {
		t.Errorf("got %d %q", resp.StatusCode, body)
	}
}

func TestRequestID_EchoedWhenValidGeneratedOtherwise(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, nil)
	tests := []struct {
		name, sent string
		echoed     bool
	}{
		{"valid", "req-42.abc:7", true},
		{"absent", "", false},
		{"log injection", "x\r\nlevel=ERROR", false},
		{"too long", strings.Repeat("a", 129), false},
	}
	seen := map[string]bool{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, "/healthz", nil)
			if tt.sent != "" {
				req.Header["X-Request-Id"] = []string{tt.sent}
			}
			resp, _ := do(t, app, req)
			got := resp.Header.Get("X-Request-ID")
			if tt.echoed && got != tt.sent {
				t.Errorf("got %q, want %q echoed", got, tt.sent)
			}
			if !tt.echoed && (got == "" || got == tt.sent || len(got) != 36) {
				t.Errorf("got %q, want a generated UUID", got)
			}
			if seen[got] {
				t.Errorf("request ID %q reused", got)
			}
			seen[got] = true
		})
	}
}

func TestSecurityHeaders_OnEveryResponse(t *testing.T) {
	t.Parallel()
	for _, tls := range []bool{false, true} {
		app := newTestApp(t, func(d *Deps) {
			if tls {
				d.Config.TLSCertFile, d.Config.TLSKeyFile = "cert.pem", "key.pem"
			}
		})
		for _, path := range []string{"/", "/healthz", "/api/v1/nope", "/api/v1/openapi.json"} {
			resp, _ := do(t, app, httptest.NewRequest(http.MethodGet, path, nil))
			h := resp.Header
			csp := h.Get("Content-Security-Policy")
			for _, directive := range []string{"default-src 'self'", "script-src 'self'", "frame-ancestors 'none'", "object-src 'none'"} {
				if !strings.Contains(csp, directive) {
					t.Errorf("%s: CSP %q lacks %q", path, csp, directive)
				}
			}
			if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
				t.Errorf("%s: CSP must not allow unsafe-*: %q", path, csp)
			}
			if h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Referrer-Policy") != "no-referrer" ||
				h.Get("X-Frame-Options") != "DENY" {
				t.Errorf("%s: headers %v", path, h)
			}
			if hsts := h.Get("Strict-Transport-Security"); (hsts != "") != tls {
				t.Errorf("%s: HSTS %q with TLS %v", path, hsts, tls)
			}
			if strings.HasPrefix(path, "/api/v1/nope") && h.Get("Cache-Control") != "no-store" {
				t.Errorf("%s: API responses must not be cached: %q", path, h.Get("Cache-Control"))
			}
		}
	}
}

func TestCORS_OffUnlessAllowListed(t *testing.T) {
	t.Parallel()
	preflight := func(app *fiber.App, origin string) string {
		req := httptest.NewRequest(http.MethodOptions, "/api/v1/openapi.json", nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "GET")
		resp, _ := do(t, app, req)
		return resp.Header.Get("Access-Control-Allow-Origin")
	}
	off := newTestApp(t, nil)
	if got := preflight(off, "https://evil.example"); got != "" {
		t.Errorf("CORS must be off by default, got %q", got)
	}
	on := newTestApp(t, func(d *Deps) { d.Config.CORSOrigins = []string{"https://ops.police.example"} })
	if got := preflight(on, "https://ops.police.example"); got != "https://ops.police.example" {
		t.Errorf("allow-listed origin got %q", got)
	}
	if got := preflight(on, "https://evil.example"); got != "" {
		t.Errorf("other origin got %q", got)
	}
}

func TestLimitBody_RefusesBeforeReading(t *testing.T) {
	t.Parallel()
	app := fiber.New(fiber.Config{StreamRequestBody: true, ErrorHandler: errorHandler(testenv.Logger(t), nil)})
	app.Use(withRequestID)
	read := false
	app.Post("/echo", limitBody(1024), func(c *fiber.Ctx) error {
		read = true
		return c.SendStatus(http.StatusNoContent)
	})
	tests := []struct {
		name   string
		body   io.Reader
		length int64
		status int
		code   string
	}{
		{"within limit", strings.NewReader(strings.Repeat("a", 1024)), 1024, 204, ""},
		{"over limit", strings.NewReader(strings.Repeat("a", 1025)), 1025, 413, "body_too_large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			read = false
			req := httptest.NewRequest(http.MethodPost, "/echo", tt.body)
			req.ContentLength = tt.length
			if tt.length < 0 {
				req.TransferEncoding = []string{"chunked"}
			}
			resp, body := do(t, app, req)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.status, body)
			}
			if tt.code != "" {
				if p := decodeProblem(t, resp, body); p.Code != tt.code {
					t.Errorf("code %q, want %q", p.Code, tt.code)
				}
				if read {
					t.Error("the handler ran for a refused body")
				}
			}
		})
	}
}

func TestLimitBody_RefusesChunkedBodies(t *testing.T) {
	t.Parallel()
	app := fiber.New(fiber.Config{StreamRequestBody: true, ErrorHandler: errorHandler(testenv.Logger(t), nil)})
	app.Use(withRequestID)
	app.Post("/echo", limitBody(1024), func(c *fiber.Ctx) error { return c.SendStatus(http.StatusNoContent) })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = app.Listener(ln) }()
	t.Cleanup(func() { _ = app.Shutdown() })

	// An io.Reader of unknown length makes net/http send the body chunked.
	resp, err := http.Post("http://"+ln.Addr().String()+"/echo", "application/json", io.MultiReader(strings.NewReader("{}")))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if p := decodeProblem(t, resp, string(body)); resp.StatusCode != http.StatusLengthRequired || p.Code != "length_required" {
		t.Errorf("got %d %s", resp.StatusCode, body)
	}
}

func TestPanic_IsInternalProblemWithoutDetails(t *testing.T) {
	t.Parallel()
	log := testenv.Logger(t)
	app := fiber.New(fiber.Config{ErrorHandler: errorHandler(log, nil)})
	app.Use(withRequestID, recoverPanics(log))
	app.Get("/boom", func(*fiber.Ctx) error { panic("secret internal state") })
	app.Get("/fail", func(*fiber.Ctx) error { return errors.New("pq: password authentication failed for user bevis") })
	for _, path := range []string{"/boom", "/fail"} {
		resp, body := do(t, app, httptest.NewRequest(http.MethodGet, path, nil))
		if resp.StatusCode != 500 {
			t.Fatalf("%s: status %d", path, resp.StatusCode)
		}
		if p := decodeProblem(t, resp, body); p.Code != "internal" {
			t.Errorf("%s: code %q", path, p.Code)
		}
		if strings.Contains(body, "secret") || strings.Contains(body, "password") {
			t.Errorf("%s: internal error leaked to the client: %s", path, body)
		}
	}
}

func TestHealthz_AnswersWhateverTheDependencies(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, func(d *Deps) { d.Evidence = fakePinger{err: errors.New("down")} })
	resp, body := do(t, app, httptest.NewRequest(http.MethodGet, "/healthz", nil))
	if resp.StatusCode != 200 || !strings.Contains(body, `"ok"`) {
		t.Errorf("got %d %s", resp.StatusCode, body)
	}
}

func TestMetrics_LabelRouteTemplatesNotRawPaths(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, nil)
	for _, path := range []string{"/healthz", "/api/v1/nope-1", "/api/v1/nope-2", "/cases/abc"} {
		do(t, app, httptest.NewRequest(http.MethodGet, path, nil))
	}
	_, body := do(t, app, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	for _, want := range []string{
		`bevis_http_requests_total{method="GET",route="/healthz",status="200"} 1`,
		`bevis_http_requests_total{method="GET",route="unmatched",status="404"} 2`,
		`bevis_http_requests_total{method="GET",route="spa",status="200"} 1`,
		`bevis_http_request_duration_seconds_bucket{method="GET",route="/healthz"`,
		"go_goroutines", "process_resident_memory_bytes", `go_sql_max_open_connections{db_name="bevis"}`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(body, "nope-1") || strings.Contains(body, "/cases/abc") {
		t.Error("metrics carry raw paths")
	}
}

// Labels must not alias Fiber's request buffers, which the next request on
// a pooled context overwrites: once a label set changed under the
// registry, every later scrape failed with 500.
func TestMetrics_MixedConcurrentTrafficKeepsTheLabelSetIntact(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, nil)
	methods := []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch,
		http.MethodOptions, http.MethodHead}
	paths := []string{"/healthz", "/api/v1/nope", "/api/v1/cases", "/readyz", "/spa/page"}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 40 {
				m, p := methods[(g+i)%len(methods)], paths[(g*3+i)%len(paths)]
				resp, err := app.Test(httptest.NewRequest(m, p, nil), -1)
				if err != nil {
					t.Error(err)
					return
				}
				_ = resp.Body.Close()
			}
		})
	}
	wg.Wait()
	for range 3 {
		resp, body := do(t, app, httptest.NewRequest(http.MethodGet, "/metrics", nil))
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("scrape after mixed traffic: %d %s", resp.StatusCode, truncate(body, 500))
		}
		for _, line := range strings.Split(body, "\n") {
			if !strings.HasPrefix(line, "bevis_http_requests_total{") {
				continue
			}
			method := strings.TrimPrefix(line, `bevis_http_requests_total{method="`)
			method, _, _ = strings.Cut(method, `"`)
			if !slices.Contains(methods, method) {
				t.Fatalf("method label %q is not a method that was sent: %s", method, line)
			}
		}
	}
}
