package api

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/bevis-ir/bevis/access"
	"github.com/bevis-ir/bevis/audit"
	"github.com/bevis-ir/bevis/internal/testenv"
)

// setupWorld is a Bevis on an empty database, as on first start.
func setupWorld(t *testing.T, d testenv.Database) *world {
	t.Helper()
	keys, err := access.ParseSigningKeys(mustSigningKeyPEM(t))
	if err != nil {
		t.Fatal(err)
	}
	tokens, err := access.NewTokenIssuer(keys, "bevis-test", "bevis-api", access.DefaultAccessTokenTTL)
	if err != nil {
		t.Fatal(err)
	}
	writer := audit.NewWriter(d.DB, audit.WriterOptions{})
	t.Cleanup(writer.Close)
	setup := access.NewSetup(d.DB)
	setup.RecordChangesWith(audit.Change)
	deps := Deps{Config: testConfig(t), DB: d.DB, Evidence: fakePinger{}, Log: testenv.Logger(t), UI: testUI,
		Directory: access.NewDirectory(d.DB), Sessions: access.NewSessions(d.DB, tokens, time.Hour),
		Authz: access.NewAuthorizer(d.DB), SigningKeys: keys, Setup: setup, Audit: writer}
	app, err := New(deps)
	if err != nil {
		t.Fatal(err)
	}
	return &world{app: app, deps: deps}
}

func mustSigningKeyPEM(t *testing.T) []byte {
	t.Helper()
	pem, err := access.GenerateSigningKeyPEM()
	if err != nil {
		t.Fatal(err)
	}
	return pem
}

const setupBody = `{"token":%q,"agency":{"code":"NCSC","name":"National Cyber Coordination Centre","kind":"cert"},
	"admin":{"email":"chief@ncsc.example","name":"Kari Nordmann","password":"a long and unusual passphrase"}}`

func TestSetup_LinkCreatesTheFirstAdminOnceAndOnlyAtItsAddress(t *testing.T) {
	t.Parallel()
	for _, d := range testenv.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			w := setupWorld(t, d)
			ctx := context.Background()
			const host = "bevis.example.org"
			hostHeader := []string{"Host", host}

			_, out := w.call(t, http.MethodGet, "/api/v1/setup", "", "")
			if strings.TrimSpace(out) != `{"needed":true}` {
				t.Fatalf("status before set-up: %s", out)
			}
			token, expires, err := w.deps.Setup.NewLink(ctx, host)
			if err != nil || token == "" || time.Until(expires) > access.SetupLinkTTL {
				t.Fatalf("new link: %q %v %v", token, expires, err)
			}
			other, _, err := w.deps.Setup.NewLink(ctx, host) // a second start of a node
			if err != nil || other == "" || other == token {
				t.Fatalf("second link: %q %v", other, err)
			}
			local, _, err := w.deps.Setup.NewLink(ctx, "127.0.0.1:8080") // a node printing its loopback address
			if err != nil {
				t.Fatal(err)
			}

			refusals := []struct {
				name   string
				token  string
				header []string
			}{
				{"wrong token", "not-the-token", hostHeader},
				{"another address", token, []string{"Host", "elsewhere.example.org"}},
				// A link for this machine works only from this machine; app.Test's client is 0.0.0.0.
				{"loopback link from afar", local, []string{"Host", "127.0.0.1:8080"}},
			}
			for _, r := range refusals {
				resp, out := w.call(t, http.MethodPost, "/api/v1/setup", "", fmt.Sprintf(setupBody, r.token), r.header...)
				if resp.StatusCode != http.StatusNotFound || !strings.Contains(out, `"not_found"`) {
					t.Errorf("%s: %d %s", r.name, resp.StatusCode, out)
				}
			}
			if got := len(w.entries(t, "setup.complete")); got != len(refusals) {
				t.Errorf("refused set-ups on the record: %d, want %d", got, len(refusals))
			}
			var users int64
			if err := d.DB.Table("users").Count(&users).Error; err != nil || users != 0 {
				t.Fatalf("refused set-ups created %d users (%v)", users, err)
			}

			// Password rules hold here as everywhere, and a refusal for bad input spends nothing.
			weak := strings.Replace(fmt.Sprintf(setupBody, token), "a long and unusual passphrase", "short", 1)
			if resp, out := w.call(t, http.MethodPost, "/api/v1/setup", "", weak, hostHeader...); resp.StatusCode != http.StatusBadRequest ||
				!strings.Contains(out, `"admin.password"`) && !strings.Contains(out, `"password"`) {
				t.Fatalf("weak password: %d %s", resp.StatusCode, out)
			}

			resp, out := w.call(t, http.MethodPost, "/api/v1/setup", "", fmt.Sprintf(setupBody, token), hostHeader...)
			if resp.StatusCode != fiber.StatusCreated || !strings.Contains(out, `"system_role":"admin"`) ||
				!strings.Contains(out, `"must_change_password":false`) {
				t.Fatalf("set-up: %d %s", resp.StatusCode, out)
			}
			login := `{"email":"chief@ncsc.example","password":"a long and unusual passphrase"}`
			if resp, out := w.call(t, http.MethodPost, "/api/v1/auth/login", "", login); resp.StatusCode != http.StatusOK {
				t.Fatalf("sign-in as the new admin: %d %s", resp.StatusCode, out)
			}

			// Every link is dead now: the one used, and the other node's.
			for _, tok := range []string{token, other, local} {
				if resp, out := w.call(t, http.MethodPost, "/api/v1/setup", "", fmt.Sprintf(setupBody, tok), hostHeader...); resp.StatusCode != http.StatusNotFound {
					t.Errorf("second set-up: %d %s", resp.StatusCode, out)
				}
			}
			if _, out := w.call(t, http.MethodGet, "/api/v1/setup", "", ""); strings.TrimSpace(out) != `{"needed":false}` {
				t.Errorf("status after set-up: %s", out)
			}
			if tok, _, err := w.deps.Setup.NewLink(ctx, host); err != nil || tok != "" {
				t.Errorf("a link after set-up: %q %v", tok, err)
			}
			var stored int64
			if err := d.DB.Table("setup_links").Where("token_hash = ? OR token_hash = ?", token, other).Count(&stored).Error; err != nil || stored != 0 {
				t.Errorf("a token is stored as given: %d %v", stored, err)
			}
		})
	}
}

func TestSetup_RacingLinksCreateOneAdmin(t *testing.T) {
	t.Parallel()
	for _, d := range testenv.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			w := setupWorld(t, d)
			const host = "bevis.example.org"
			var links []string
			for range 4 {
				tok, _, err := w.deps.Setup.NewLink(context.Background(), host)
				if err != nil {
					t.Fatal(err)
				}
				links = append(links, tok, tok)
			}
			statuses := make(chan int, len(links))
			for i, tok := range links {
				body := strings.Replace(fmt.Sprintf(setupBody, tok), "chief@", fmt.Sprintf("chief%d@", i), 1)
				req := httptest.NewRequest(http.MethodPost, "/api/v1/setup", strings.NewReader(body))
				req.Host = host
				req.Header.Set("Content-Type", "application/json")
				go func() {
					resp, err := w.app.Test(req, -1)
					if err != nil {
						statuses <- 0
						return
					}
					_ = resp.Body.Close()
					statuses <- resp.StatusCode
				}()
			}
			created := 0
			for range links {
				switch s := <-statuses; s {
				case http.StatusCreated:
					created++
				case http.StatusNotFound, http.StatusConflict, http.StatusServiceUnavailable:
				default:
					t.Errorf("racing set-up answered %d", s)
				}
			}
			var admins int64
			if err := d.DB.Table("users").Where("system_role = 'admin'").Count(&admins).Error; err != nil {
				t.Fatal(err)
			}
			if created != 1 || admins != 1 {
				t.Fatalf("%d set-ups succeeded, %d admins; want 1 and 1", created, admins)
			}
		})
	}
}
