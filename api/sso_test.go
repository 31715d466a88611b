package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/bevis-ir/bevis/access"
	"github.com/bevis-ir/bevis/internal/testenv"
)

// syncBuffer is a log destination the test reads after the app wrote it.
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

// ssoWorld is the fixture world with agency A signing in through a real
// OpenID Connect provider, and the app's log kept for inspection.
type ssoWorld struct {
	*world
	provider *testenv.OIDCProvider
	log      *syncBuffer
}

func newSSOWorld(t *testing.T, d testenv.Database) *ssoWorld {
	t.Helper()
	w := newWorld(t, d)
	log := &syncBuffer{}
	deps := w.deps
	deps.Log = slog.New(slog.NewJSONHandler(log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	app, err := New(deps)
	if err != nil {
		t.Fatal(err)
	}
	w.app = app
	sw := &ssoWorld{world: w, provider: testenv.OIDC(t), log: log}
	body := fmt.Sprintf(`{"enabled":true,"issuer":%q,"client_id":%q,"client_secret":%q,
		"scopes":["openid","email","profile","groups"],"provision_users":true,
		"group_roles":{"bevis-auditors":"auditor","staff":"member"}}`,
		sw.provider.Issuer(), sw.provider.ClientID, sw.provider.ClientSecret)
	resp, out := w.call(t, http.MethodPut, "/api/v1/agencies/"+w.agency["A"].ID+"/sso", w.bearer["admin"], body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("PUT sso: %d %s", resp.StatusCode, out)
	}
	return sw
}

// browse plays a browser: it starts at Bevis, follows the redirect to the
// provider, which signs in the person with the claims and redirects back,
// and takes that redirect to the callback with the cookie Bevis set at the
// start (unless edit changes the request). It returns Bevis's answer to
// the callback.
func (w *ssoWorld) browse(t *testing.T, claims map[string]any, edit func(callback *url.URL, cookie *string)) *http.Response {
	t.Helper()
	resp, out := w.call(t, http.MethodGet, "/api/v1/auth/sso/AG-A/start", "", "")
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("start: %d %s", resp.StatusCode, out)
	}
	var state *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == ssoStateCookie {
			state = c
		}
	}
	if state == nil || !state.HttpOnly || state.SameSite != http.SameSiteLaxMode || state.Path != "/api/v1/auth/sso" {
		t.Fatalf("start must set the state cookie HttpOnly, SameSite=Lax, path /api/v1/auth/sso: %+v", state)
	}
	w.provider.QueueUser(claims)
	client := &http.Client{Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	atProvider, err := client.Get(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	_ = atProvider.Body.Close()
	if atProvider.StatusCode != http.StatusFound {
		t.Fatalf("provider answered %d", atProvider.StatusCode)
	}
	back, err := url.Parse(atProvider.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	if got := back.Scheme + "://" + back.Host + back.Path; got != w.deps.Config.BaseURL()+"/api/v1/auth/sso/callback" {
		t.Fatalf("the provider sent the browser to %s", got)
	}
	cookie := state.Value
	if edit != nil {
		edit(back, &cookie)
	}
	var header []string
	if cookie != "" {
		header = []string{"Cookie", ssoStateCookie + "=" + cookie}
	}
	resp, _ = w.call(t, http.MethodGet, back.RequestURI(), "", "", header...)
	return resp
}

// signedIn checks that the callback signed someone in the way the SPA
// sees it: a redirect to /, the refresh cookie, then a refresh and /me.
func (w *ssoWorld) signedIn(t *testing.T, resp *http.Response) meJSON {
	t.Helper()
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/" {
		t.Fatalf("callback: %d to %q, want 302 to /", resp.StatusCode, resp.Header.Get("Location"))
	}
	var refresh *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == refreshCookie && c.Value != "" {
			refresh = c
		}
	}
	if refresh == nil || !refresh.HttpOnly || refresh.SameSite != http.SameSiteStrictMode || refresh.Path != refreshPath {
		t.Fatalf("callback must set the refresh cookie as sign-in does: %+v", refresh)
	}
	r, out := w.call(t, http.MethodPost, "/api/v1/auth/refresh", "", "", "Cookie", refreshCookie+"="+refresh.Value)
	if r.StatusCode != http.StatusOK {
		t.Fatalf("refresh: %d %s", r.StatusCode, out)
	}
	var tok tokenResponse
	if err := json.Unmarshal([]byte(out), &tok); err != nil {
		t.Fatal(err)
	}
	r, out = w.call(t, http.MethodGet, "/api/v1/me", tok.AccessToken, "")
	if r.StatusCode != http.StatusOK {
		t.Fatalf("me: %d %s", r.StatusCode, out)
	}
	var me meJSON
	if err := json.Unmarshal([]byte(out), &me); err != nil {
		t.Fatal(err)
	}
	return me
}

// refused checks that the callback sent the browser back with the code
// and no session.
func refused(t *testing.T, resp *http.Response, code string) {
	t.Helper()
	if want := "/?sso_error=" + code; resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != want {
		t.Errorf("callback: %d to %q, want 302 to %q", resp.StatusCode, resp.Header.Get("Location"), want)
	}
	for _, c := range resp.Cookies() {
		if c.Name == refreshCookie {
			t.Errorf("a refused sign-in set the refresh cookie")
		}
	}
}

func claimsOf(sub, email string, extra ...any) map[string]any {
	claims := map[string]any{"sub": sub, "email": email, "email_verified": true, "name": "SSO " + sub}
	for i := 0; i+1 < len(extra); i += 2 {
		claims[extra[i].(string)] = extra[i+1]
	}
	return claims
}

func TestSSO_BrowserSignsInThroughTheAgencysProvider(t *testing.T) {
	t.Parallel()
	for _, d := range testenv.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			w := newSSOWorld(t, d)

			// An existing person, found by email and linked.
			me := w.signedIn(t, w.browse(t, claimsOf("spare-sub", "spare@bevis.test"), nil))
			if me.User.ID != w.user["spare"].ID || me.Agency.ID != w.agency["A"].ID || me.User.SystemRole != "member" {
				t.Errorf("signed in as %+v of %s, want spare of A", me.User, me.Agency.Code)
			}
			// Linked: found by the provider's subject whatever the email says now.
			me = w.signedIn(t, w.browse(t, claimsOf("spare-sub", "renamed@bevis.test"), nil))
			if me.User.ID != w.user["spare"].ID {
				t.Errorf("second sign-in as %s, want spare by the link", me.User.Email)
			}

			// Someone new, provisioned with the role of their group, and
			// without a local password.
			me = w.signedIn(t, w.browse(t, claimsOf("nina-sub", "nina@bevis.test", "groups", []string{"bevis-auditors"}), nil))
			if me.User.Email != "nina@bevis.test" || me.User.SystemRole != "auditor" || me.Agency.ID != w.agency["A"].ID ||
				me.User.Name != "SSO nina-sub" {
				t.Errorf("provisioned %+v of %s, want auditor nina of A", me.User, me.Agency.Code)
			}
			resp, _ := w.call(t, http.MethodPost, "/api/v1/auth/login", "", `{"email":"nina@bevis.test","password":""}`)
			if resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("a provisioned user signed in without a password: %d", resp.StatusCode)
			}

			// On the record: the three sign-ins, and nina's provisioning
			// in the transaction that made her.
			var sso []string
			for _, e := range w.entries(t, "auth.login") {
				if e.Detail == `{"method":"sso"}` && e.Outcome == "success" {
					sso = append(sso, e.UserID)
				}
			}
			if len(sso) != 3 || sso[0] != w.user["spare"].ID || sso[1] != w.user["spare"].ID || sso[2] != me.User.ID {
				t.Errorf("single sign-ons on the record: %v", sso)
			}
			if p := w.entries(t, "auth.sso.provision"); len(p) != 1 || p[0].ResourceID != me.User.ID || p[0].Outcome != "success" {
				t.Errorf("provisioning on the record: %+v", p)
			}
		})
	}
}

func TestSSO_BrowserIsRefused(t *testing.T) {
	t.Parallel()
	for _, d := range testenv.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			w := newSSOWorld(t, d)
			disabled := access.UserDisabled
			if _, err := w.deps.Directory.UpdateUser(t.Context(), w.principal(t, "admin"), w.user["analyst"].ID, access.UserPatch{Status: &disabled}); err != nil {
				t.Fatal(err)
			}
			var spent *url.URL
			tests := []struct {
				name   string
				claims map[string]any
				before func()
				edit   func(*url.URL, *string)
				code   string
			}{
				{name: "without the state cookie", claims: claimsOf("spare-sub", "spare@bevis.test"),
					edit: func(_ *url.URL, cookie *string) { *cookie = "" }, code: access.SSOInvalidState},
				{name: "with another browser's state cookie", claims: claimsOf("spare-sub", "spare@bevis.test"),
					edit: func(_ *url.URL, cookie *string) { *cookie = "c29tZW9uZSBlbHNl" }, code: access.SSOInvalidState},
				{name: "with a made-up state", claims: claimsOf("spare-sub", "spare@bevis.test"),
					edit: func(u *url.URL, cookie *string) {
						q := u.Query()
						q.Set("state", "made-up")
						u.RawQuery, *cookie = q.Encode(), "made-up"
					}, code: access.SSOInvalidState},
				{name: "expired", claims: claimsOf("spare-sub", "spare@bevis.test"),
					edit: func(*url.URL, *string) {
						w.deps.SSO.SetClock(func() time.Time { return time.Now().UTC().Add(access.SSOLoginTTL + time.Second) })
					}, code: access.SSOInvalidState},
				{name: "the provider refused", claims: claimsOf("spare-sub", "spare@bevis.test"),
					edit: func(u *url.URL, _ *string) {
						q := u.Query()
						q.Del("code")
						q.Set("error", "access_denied")
						u.RawQuery = q.Encode()
					}, code: access.SSOProviderError},
				{name: "nonce of another sign-in", claims: claimsOf("spare-sub", "spare@bevis.test"),
					before: func() { w.provider.TamperNextIDToken(func(c jwt.MapClaims) { c["nonce"] = "not-this-one" }, nil) },
					code:   access.SSOTokenInvalid},
				{name: "ID token for another client", claims: claimsOf("spare-sub", "spare@bevis.test"),
					before: func() { w.provider.TamperNextIDToken(func(c jwt.MapClaims) { c["aud"] = "another-client" }, nil) },
					code:   access.SSOTokenInvalid},
				{name: "disabled user", claims: claimsOf("analyst-sub", "analyst@bevis.test"), code: access.SSOAccountRefused},
				{name: "email of another agency", claims: claimsOf("b-sub", "other-agency@bevis.test"), code: access.SSOAccountRefused},
				{name: "admin", claims: claimsOf("admin-sub", "admin@bevis.test"), code: access.SSOAccountRefused},
				{name: "unverified email", claims: claimsOf("uv-sub", "unverified@bevis.test", "email_verified", false),
					code: access.SSOEmailUnverified},
				{name: "first use of a state", claims: claimsOf("spare-sub", "spare@bevis.test"),
					edit: func(u *url.URL, _ *string) { c := *u; spent = &c }, code: ""},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					defer w.deps.SSO.SetClock(func() time.Time { return time.Now().UTC().Truncate(time.Microsecond) })
					if tt.before != nil {
						tt.before()
					}
					resp := w.browse(t, tt.claims, tt.edit)
					if tt.code == "" {
						w.signedIn(t, resp)
						return
					}
					refused(t, resp, tt.code)
				})
			}
			t.Run("reused state", func(t *testing.T) {
				// The state of the sign-in above, with a cookie for it.
				resp, _ := w.call(t, http.MethodGet, spent.RequestURI(), "", "", "Cookie", ssoStateCookie+"="+spent.Query().Get("state"))
				refused(t, resp, access.SSOInvalidState)
			})
			t.Run("an agency without single sign-on", func(t *testing.T) {
				resp, _ := w.call(t, http.MethodGet, "/api/v1/auth/sso/AG-B/start", "", "")
				if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/?sso_error=unavailable" {
					t.Errorf("start: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
				}
			})
			var n int64
			if err := d.DB.Table("users").Where("email = ?", "unverified@bevis.test").Count(&n).Error; err != nil || n != 0 {
				t.Errorf("an unverified address was provisioned (%d, %v)", n, err)
			}
			// Each refusal is on the record with its code.
			refusals := map[string]int{}
			for _, e := range w.entries(t, "auth.login") {
				if e.Outcome == "failed" {
					refusals[e.Detail]++
				}
			}
			for code, n := range map[string]int{access.SSOInvalidState: 5, access.SSOProviderError: 1, access.SSOTokenInvalid: 2,
				access.SSOAccountRefused: 3, access.SSOEmailUnverified: 1, "unavailable": 1} {
				if got := refusals[`{"code":"`+code+`","method":"sso"}`]; got != n {
					t.Errorf("%d refusals %s on the record, want %d (all: %v)", got, code, n, refusals)
				}
			}
			log := w.log.String()
			if !strings.Contains(log, `"msg":"single sign-on refused"`) || !strings.Contains(log, "nonce does not match") {
				t.Errorf("refusals must be logged with their cause: %s", log)
			}
			if strings.Contains(log, w.provider.ClientSecret) {
				t.Error("the client secret is in the log")
			}
		})
	}
}

func TestSSO_SettingsNeverShowTheSecret(t *testing.T) {
	t.Parallel()
	for _, d := range testenv.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			w := newSSOWorld(t, d)
			path := "/api/v1/agencies/" + w.agency["A"].ID + "/sso"
			for _, who := range []string{"admin", "agency_admin"} {
				resp, out := w.call(t, http.MethodGet, path, w.bearer[who], "")
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("GET as %s: %d %s", who, resp.StatusCode, out)
				}
				if strings.Contains(out, w.provider.ClientSecret) || strings.Contains(out, `"client_secret"`) {
					t.Errorf("GET as %s shows the secret: %s", who, out)
				}
				var cfg ssoConfigJSON
				if err := json.Unmarshal([]byte(out), &cfg); err != nil {
					t.Fatal(err)
				}
				if !cfg.Configured || !cfg.Enabled || !cfg.ClientSecretSet || cfg.Issuer != w.provider.Issuer() ||
					cfg.GroupRoles["bevis-auditors"] != "auditor" || cfg.RedirectURI != "http://127.0.0.1:8080/api/v1/auth/sso/callback" {
					t.Errorf("GET as %s: %+v", who, cfg)
				}
			}
			// The agency admin of A reads A's settings, not B's, and changes neither.
			resp, _ := w.call(t, http.MethodGet, "/api/v1/agencies/"+w.agency["B"].ID+"/sso", w.bearer["agency_admin"], "")
			if resp.StatusCode != http.StatusForbidden {
				t.Errorf("agency admin of A reading B's settings: %d", resp.StatusCode)
			}
			resp, _ = w.call(t, http.MethodPut, path, w.bearer["agency_admin"], `{"issuer":"https://evil.example","client_id":"x"}`)
			if resp.StatusCode != http.StatusForbidden {
				t.Errorf("agency admin changing the settings: %d", resp.StatusCode)
			}

			// Leaving the secret out keeps it; PUT answers without it too.
			body := fmt.Sprintf(`{"enabled":true,"issuer":%q,"client_id":%q,"group_roles":{"ops":"agency_admin"}}`,
				w.provider.Issuer(), w.provider.ClientID)
			resp, out := w.call(t, http.MethodPut, path, w.bearer["admin"], body)
			if resp.StatusCode != http.StatusOK || strings.Contains(out, w.provider.ClientSecret) || !strings.Contains(out, `"client_secret_set":true`) {
				t.Fatalf("PUT without secret: %d %s", resp.StatusCode, out)
			}
			w.signedIn(t, w.browse(t, claimsOf("spare-sub", "spare@bevis.test"), nil))

			for name, body := range map[string]string{
				"admin for a group": fmt.Sprintf(`{"issuer":%q,"client_id":"x","group_roles":{"ops":"admin"}}`, w.provider.Issuer()),
				"plain http issuer": `{"issuer":"http://login.agency.example","client_id":"x","client_secret":"y"}`,
				"unknown field":     fmt.Sprintf(`{"issuer":%q,"client_id":"x","agency_id":"other"}`, w.provider.Issuer()),
			} {
				resp, out := w.call(t, http.MethodPut, path, w.bearer["admin"], body)
				if resp.StatusCode != http.StatusBadRequest {
					t.Errorf("%s: %d %s", name, resp.StatusCode, out)
				}
			}
			resp, _ = w.call(t, http.MethodGet, "/api/v1/agencies/no-such-agency/sso", w.bearer["admin"], "")
			if resp.StatusCode != http.StatusNotFound {
				t.Errorf("settings of a missing agency: %d", resp.StatusCode)
			}
			if strings.Contains(w.log.String(), w.provider.ClientSecret) {
				t.Error("the client secret is in the log")
			}
		})
	}
}
