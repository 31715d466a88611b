package api

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/bevis-ir/bevis/access"
	"github.com/bevis-ir/bevis/internal/testenv"
)

// testProvider asks Bevis to test agency A's provider with body (none: the
// stored settings) and returns the checks by name.
func (w *ssoWorld) testProvider(t *testing.T, body string) (ssoTestJSON, map[string]ssoCheckJSON) {
	t.Helper()
	resp, out := w.call(t, http.MethodPost, "/api/v1/agencies/"+w.agency["A"].ID+"/sso/test", w.bearer["admin"], body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("test: %d %s", resp.StatusCode, out)
	}
	if strings.Contains(out, w.provider.ClientSecret) || strings.Contains(out, "wrong-secret") {
		t.Errorf("the test answered with the secret: %s", out)
	}
	var res ssoTestJSON
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	byName := map[string]ssoCheckJSON{}
	for _, c := range res.Checks {
		byName[c.Name] = c
	}
	return res, byName
}

// closedPort is a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}

func TestSSOTest_ChecksTheProvider(t *testing.T) {
	t.Parallel()
	for _, d := range testenv.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			w := newSSOWorld(t, d)
			issuer, id := w.provider.Issuer(), w.provider.ClientID
			settings := func(issuer, secret string, scopes ...string) string {
				if len(scopes) == 0 {
					scopes = []string{"openid", "email"}
				}
				sc, _ := json.Marshal(scopes)
				s := fmt.Sprintf(`{"enabled":true,"issuer":%q,"client_id":%q,"scopes":%s`, issuer, id, sc)
				if secret != "" {
					s += fmt.Sprintf(`,"client_secret":%q`, secret)
				}
				return s + "}"
			}

			// The stored settings pass every check.
			res, _ := w.testProvider(t, "")
			var names []string
			for _, c := range res.Checks {
				names = append(names, c.Name)
				if !c.Passed || c.Message == "" {
					t.Errorf("check %s: %+v", c.Name, c)
				}
			}
			want := []string{access.CheckDiscovery, access.CheckIssuer, access.CheckCodeFlow, access.CheckPKCE, access.CheckScopes,
				access.CheckKeys, access.CheckClient}
			if !res.Passed || res.Issuer != issuer || strings.Join(names, " ") != strings.Join(want, " ") {
				t.Errorf("stored settings: %+v, want all of %v passed", res, want)
			}

			unreachable := "http://" + closedPort(t) + "/oidc"
			for _, tt := range []struct {
				name, body, check, says string
				ran                     int
			}{
				{name: "unsaved settings, the stored secret", body: settings(issuer, ""), check: access.CheckClient, says: "accepted", ran: 7},
				{name: "a wrong secret", body: settings(issuer, "wrong-secret"), check: access.CheckClient, says: "refused the client ID or secret", ran: 7},
				// The provider calls itself 127.0.0.1: localhost is another issuer.
				{name: "a wrong issuer", body: settings(strings.Replace(issuer, "127.0.0.1", "localhost", 1), ""), check: access.CheckIssuer,
					says: fmt.Sprintf("names itself %q", issuer), ran: 2},
				{name: "an unreachable issuer", body: settings(unreachable, ""), check: access.CheckDiscovery,
					says: "connection was refused", ran: 1},
				{name: "a scope the provider lacks", body: settings(issuer, "", "openid", "offline_access"), check: access.CheckScopes,
					says: "does not offer the scopes offline_access", ran: 7},
			} {
				t.Run(tt.name, func(t *testing.T) {
					res, byName := w.testProvider(t, tt.body)
					c, ok := byName[tt.check]
					wantPass := tt.check == access.CheckClient && tt.says == "accepted"
					if !ok || c.Passed != wantPass || !strings.Contains(c.Message, tt.says) || res.Passed != wantPass || len(res.Checks) != tt.ran {
						t.Errorf("check %s: %+v of %+v, want passed=%v saying %q after %d checks", tt.check, c, res, wantPass, tt.says, tt.ran)
					}
				})
			}

			// Testing saves nothing.
			resp, out := w.call(t, http.MethodGet, "/api/v1/agencies/"+w.agency["A"].ID+"/sso", w.bearer["admin"], "")
			var cfg ssoConfigJSON
			if err := json.Unmarshal([]byte(out), &cfg); err != nil || resp.StatusCode != http.StatusOK || cfg.Issuer != issuer ||
				strings.Join(cfg.Scopes, " ") != "openid email profile groups" {
				t.Errorf("the settings changed by testing: %d %s", resp.StatusCode, out)
			}
			w.signedIn(t, w.browse(t, claimsOf("spare-sub", "spare@bevis.test"), nil))

			// Every test is on the record, by whom, and the log has neither secret.
			if got := w.entries(t, "agencies.sso.test"); len(got) != 6 || got[0].UserID != w.user["admin"].ID ||
				got[0].ResourceID != w.agency["A"].ID || got[0].Outcome != "success" {
				t.Errorf("tests on the record: %+v", got)
			}
			if log := w.log.String(); strings.Contains(log, w.provider.ClientSecret) || strings.Contains(log, "wrong-secret") ||
				!strings.Contains(log, `"msg":"single sign-on provider tested"`) {
				t.Errorf("the log of the tests: %s", log)
			}
		})
	}
}

func TestSSOTest_RefusesWhatASettingCouldNotReach(t *testing.T) {
	t.Parallel()
	for _, d := range testenv.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			w := newSSOWorld(t, d)
			// A provider on loopback whose discovery document sends Bevis
			// elsewhere: by a redirect, or by naming endpoints off loopback
			// in plain http.
			var doc map[string]any
			srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
				switch r.URL.Path {
				case "/redirect/.well-known/openid-configuration":
					http.Redirect(rw, r, "http://10.1.2.3/.well-known/openid-configuration", http.StatusFound)
				case "/hang/.well-known/openid-configuration":
					select { // a provider that never answers
					case <-r.Context().Done():
					case <-time.After(30 * time.Second):
					}
				case "/internal/.well-known/openid-configuration":
					_ = json.NewEncoder(rw).Encode(doc)
				default:
					http.NotFound(rw, r)
				}
			}))
			defer srv.Close()
			doc = map[string]any{"issuer": srv.URL + "/internal", "authorization_endpoint": srv.URL + "/auth",
				"token_endpoint": "http://10.1.2.3/token", "jwks_uri": "http://169.254.169.254/latest/meta-data",
				"response_types_supported": []string{"code"}}
			for _, tt := range []struct{ issuer, check, says string }{
				{srv.URL + "/redirect", access.CheckDiscovery, "redirected to a URL that must be https"},
				{srv.URL + "/internal", access.CheckCodeFlow, "jwks_uri, token_endpoint must be https"},
				{srv.URL + "/missing", access.CheckDiscovery, "answered HTTP 404"},
				{srv.URL + "/hang", access.CheckDiscovery, "no answer within 5s"},
			} {
				began := time.Now()
				res, byName := w.testProvider(t, fmt.Sprintf(`{"issuer":%q,"client_id":"bevis"}`, tt.issuer))
				if took := time.Since(began); took > 10*time.Second {
					t.Errorf("%s: the test took %s", tt.issuer, took)
				}
				if c := byName[tt.check]; c.Passed || !strings.Contains(c.Message, tt.says) || res.Checks[len(res.Checks)-1].Name != tt.check {
					t.Errorf("%s: %+v, want %s failed saying %q, and the last check", tt.issuer, res, tt.check, tt.says)
				}
			}

			path := "/api/v1/agencies/" + w.agency["A"].ID + "/sso/test"
			before := len(w.entries(t, "agencies.sso.test"))
			for name, tt := range map[string]struct {
				who, path, body string
				status          int
			}{
				"a plain http issuer off loopback": {"admin", path, `{"issuer":"http://login.agency.example","client_id":"x"}`, http.StatusBadRequest},
				"an issuer with a query":           {"admin", path, `{"issuer":"https://login.agency.example/?x=1","client_id":"x"}`, http.StatusBadRequest},
				"an unknown field":                 {"admin", path, `{"issuer":"https://login.agency.example","client_id":"x","agency_id":"y"}`, http.StatusBadRequest},
				"nothing stored, no body":          {"admin", "/api/v1/agencies/" + w.agency["B"].ID + "/sso/test", "", http.StatusBadRequest},
				"no secret anywhere":               {"admin", "/api/v1/agencies/" + w.agency["B"].ID + "/sso/test", `{"issuer":"https://login.agency.example","client_id":"x"}`, http.StatusBadRequest},
				"the agency's own agency admin":    {"agency_admin", path, "", http.StatusForbidden},
				"a missing agency":                 {"admin", "/api/v1/agencies/no-such-agency/sso/test", "", http.StatusNotFound},
			} {
				resp, out := w.call(t, http.MethodPost, tt.path, w.bearer[tt.who], tt.body)
				if resp.StatusCode != tt.status || resp.Header.Get("Content-Type") != "application/problem+json" {
					t.Errorf("%s: %d %s %s, want %d", name, resp.StatusCode, resp.Header.Get("Content-Type"), out, tt.status)
				}
			}
			if after := len(w.entries(t, "agencies.sso.test")); after != before {
				t.Errorf("refused tests are on the record as done: %d, then %d", before, after)
			}
		})
	}
}

func TestSSO_SignInListsTheAgenciesWithSingleSignOn(t *testing.T) {
	t.Parallel()
	for _, d := range testenv.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			w := newSSOWorld(t, d)
			resp, out := w.call(t, http.MethodGet, "/api/v1/auth/sso/agencies", "", "")
			want := fmt.Sprintf(`{"items":[{"code":"AG-A","name":%q}]}`, w.agency["A"].Name)
			if resp.StatusCode != http.StatusOK || out != want {
				t.Fatalf("list: %d %s, want %s", resp.StatusCode, out, want)
			}
			tag := resp.Header.Get("ETag")
			if tag == "" || resp.Header.Get("Cache-Control") != "no-cache" {
				t.Errorf("list headers: %v", resp.Header)
			}
			resp, out = w.call(t, http.MethodGet, "/api/v1/auth/sso/agencies", "", "", "If-None-Match", tag)
			if resp.StatusCode != http.StatusNotModified || out != "" {
				t.Errorf("unchanged list: %d %s", resp.StatusCode, out)
			}

			// Turned off, A leaves the list; B's settings, off, never join it.
			for _, agency := range []string{"A", "B"} {
				body := fmt.Sprintf(`{"enabled":false,"issuer":%q,"client_id":"x","client_secret":"y"}`, w.provider.Issuer())
				if resp, out := w.call(t, http.MethodPut, "/api/v1/agencies/"+w.agency[agency].ID+"/sso", w.bearer["admin"], body); resp.StatusCode != http.StatusOK {
					t.Fatalf("PUT %s: %d %s", agency, resp.StatusCode, out)
				}
			}
			resp, out = w.call(t, http.MethodGet, "/api/v1/auth/sso/agencies", "", "", "If-None-Match", tag)
			if resp.StatusCode != http.StatusOK || out != `{"items":[]}` || resp.Header.Get("ETag") == tag {
				t.Errorf("list with single sign-on off: %d %s (ETag %s)", resp.StatusCode, out, resp.Header.Get("ETag"))
			}
		})
	}
}
