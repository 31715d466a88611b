package api

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// forEachDatabase runs a test on a fresh world on SQLite and on PostgreSQL.
// forEachDatabase runs test on a copy of the seed world of each dialect,
// the two at once: they share nothing but the machine.
func forEachDatabase(t *testing.T, test func(t *testing.T, w *world)) {
	for _, dialect := range dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			test(t, seededWorld(t, dialect))
		})
	}
}

func signRaw(t *testing.T, method jwt.SigningMethod, key any, header map[string]any, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, claims)
	for k, v := range header {
		tok.Header[k] = v
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestAuthentication_RefusesForgedAndInvalidTokens(t *testing.T) {
	t.Parallel()
	forEachDatabase(t, func(t *testing.T, w *world) {
		valid := w.bearer["investigator"]
		sid := w.sessionOf(t, "investigator")
		// claims are those of a valid token of the investigator's live
		// session; each case below breaks exactly one rule.
		claims := func(mutate func(jwt.MapClaims)) jwt.MapClaims {
			now := time.Now()
			c := jwt.MapClaims{"iss": "bevis-test", "aud": "bevis-api", "sub": w.user["investigator"].ID, "sid": sid,
				"exp": now.Add(5 * time.Minute).Unix(), "iat": now.Unix(), "nbf": now.Unix(), "jti": "j1"}
			if mutate != nil {
				mutate(c)
			}
			return c
		}
		header := map[string]any{"typ": "at+jwt", "kid": w.deps.SigningKeys.SigningKeyID()}
		ours := func(mutate func(jwt.MapClaims)) string {
			return signRaw(t, jwt.SigningMethodEdDSA, w.signingKey, header, claims(mutate))
		}
		// The baseline forgery, with nothing broken, must pass: otherwise
		// every refusal below could be for some other reason.
		if resp, body := w.call(t, http.MethodGet, "/api/v1/cases/"+w.caseID, ours(nil), ""); resp.StatusCode != 200 {
			t.Fatalf("a correctly made token is refused: %d %s", resp.StatusCode, body)
		}

		_, foreignKey, _ := ed25519.GenerateKey(rand.Reader)
		publicKey := w.signingKey.Public().(ed25519.PublicKey)
		unsigned := strings.Join([]string{
			base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"at+jwt"}`)),
			strings.Split(valid, ".")[1], ""}, ".")

		tests := map[string]string{
			"alg none":                     unsigned,
			"HS256 keyed with public key":  signRaw(t, jwt.SigningMethodHS256, []byte(publicKey), header, claims(nil)),
			"unknown kid":                  signRaw(t, jwt.SigningMethodEdDSA, foreignKey, map[string]any{"typ": "at+jwt", "kid": "unknown"}, claims(nil)),
			"right kid, other key":         signRaw(t, jwt.SigningMethodEdDSA, foreignKey, header, claims(nil)),
			"expired":                      w.bearer["expired"],
			"expired, our key":             ours(func(c jwt.MapClaims) { c["exp"] = time.Now().Add(-time.Minute).Unix() }),
			"not yet valid":                ours(func(c jwt.MapClaims) { c["nbf"] = time.Now().Add(time.Hour).Unix() }),
			"issued in the future":         ours(func(c jwt.MapClaims) { c["iat"] = time.Now().Add(time.Hour).Unix() }),
			"wrong audience":               ours(func(c jwt.MapClaims) { c["aud"] = "other-api" }),
			"wrong issuer":                 ours(func(c jwt.MapClaims) { c["iss"] = "someone-else" }),
			"no expiry":                    ours(func(c jwt.MapClaims) { delete(c, "exp") }),
			"other session":                ours(func(c jwt.MapClaims) { c["sid"] = w.sessionOf(t, "lead") }),
			"tampered subject":             tamperSubject(t, valid, w.user["lead"].ID),
			"oversized header below limit": strings.Repeat("a", 9000),
		}
		for name, token := range tests {
			t.Run(name, func(t *testing.T) {
				resp, body := w.call(t, http.MethodGet, "/api/v1/cases/"+w.caseID, token, "")
				if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, `"code":"unauthenticated"`) {
					t.Errorf("status %d %s", resp.StatusCode, body)
				}
				if resp.Header.Get("WWW-Authenticate") == "" {
					t.Error("401 without WWW-Authenticate")
				}
			})
		}
		// The genuine token still works: the refusals above are not an outage.
		if resp, body := w.call(t, http.MethodGet, "/api/v1/cases/"+w.caseID, valid, ""); resp.StatusCode != 200 {
			t.Fatalf("valid token refused: %d %s", resp.StatusCode, body)
		}
	})
}

// tamperSubject swaps the subject of a genuine token, keeping its signature.
func tamperSubject(t *testing.T, token, subject string) string {
	t.Helper()
	parts := strings.Split(token, ".")
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	claims["sub"] = subject
	forged, _ := json.Marshal(claims)
	parts[1] = base64.RawURLEncoding.EncodeToString(forged)
	return strings.Join(parts, ".")
}

func TestAuthentication_HugeAuthorizationHeaderIsRefusedUnparsed(t *testing.T) {
	t.Parallel()
	forEachDatabase(t, func(t *testing.T, w *world) {
		// Over the 8 KiB the API reads: refused by Bevis with 401.
		resp, body := w.call(t, http.MethodGet, "/api/v1/me", strings.Repeat("x", 9<<10), "")
		if resp.StatusCode != 401 {
			t.Errorf("9 KiB header: status %d %s", resp.StatusCode, body)
		}
		// Far larger headers never reach a handler: the HTTP server reads
		// headers into a 16 KiB buffer, answers 401 (no credentials were
		// read) and drops the connection, which a client still sending may
		// see as a reset.
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		go func() { _ = w.app.Listener(ln) }()
		t.Cleanup(func() { _ = w.app.Shutdown() })
		for _, size := range []int{20 << 10, 1 << 20} {
			req, _ := http.NewRequest(http.MethodGet, "http://"+ln.Addr().String()+"/api/v1/me", nil)
			req.Header.Set("Authorization", "Bearer "+strings.Repeat("x", size))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				if !errors.Is(err, syscall.ECONNRESET) && !errors.Is(err, syscall.EPIPE) {
					t.Errorf("%d KiB header: %v, want 401 or a dropped connection", size>>10, err)
				}
				continue
			}
			_ = resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("WWW-Authenticate") == "" {
				t.Errorf("%d KiB header: status %d, want 401 or a dropped connection", size>>10, resp.StatusCode)
			}
		}
		ok, err := http.Get("http://" + ln.Addr().String() + "/healthz")
		if err != nil {
			t.Fatalf("server unwell after the huge header: %v", err)
		}
		_ = ok.Body.Close()
	})
}

func TestRefresh_ReuseOfRotatedTokenRevokesTheSession(t *testing.T) {
	t.Parallel()
	forEachDatabase(t, func(t *testing.T, w *world) {
		first := w.refresh["analyst"]
		refresh := func(token string) (int, string) {
			resp, body := w.call(t, http.MethodPost, "/api/v1/auth/refresh", "", "", "Cookie", refreshCookie+"="+token)
			for _, c := range resp.Cookies() {
				if c.Name == refreshCookie && c.Value != "" {
					if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/api/v1/auth" {
						t.Errorf("refresh cookie not HttpOnly/Strict/scoped: %+v", c)
					}
					return resp.StatusCode, c.Value
				}
			}
			_ = body
			return resp.StatusCode, ""
		}
		status, second := refresh(first)
		if status != 200 || second == "" || second == first {
			t.Fatalf("first rotation: %d %q", status, second)
		}
		if status, _ := refresh(first); status != 401 {
			t.Fatalf("reuse of the rotated token: %d, want 401", status)
		}
		if status, _ := refresh(second); status != 401 {
			t.Errorf("the newer token must die with its session: %d", status)
		}
		if resp, _ := w.call(t, http.MethodGet, "/api/v1/me", w.bearer["analyst"], ""); resp.StatusCode != 401 {
			t.Errorf("access token of the revoked session still works: %d", resp.StatusCode)
		}
	})
}

func TestLogout_EndsTheSessionsAccessTokens(t *testing.T) {
	t.Parallel()
	forEachDatabase(t, func(t *testing.T, w *world) {
		token := w.bearer["observer"]
		if resp, _ := w.call(t, http.MethodPost, "/api/v1/auth/logout", token, ""); resp.StatusCode != 204 {
			t.Fatalf("logout: %d", resp.StatusCode)
		}
		if resp, _ := w.call(t, http.MethodGet, "/api/v1/me", token, ""); resp.StatusCode != 401 {
			t.Errorf("access token after logout: %d", resp.StatusCode)
		}
		resp, _ := w.call(t, http.MethodPost, "/api/v1/auth/refresh", "", "", "Cookie", refreshCookie+"="+w.refresh["observer"])
		if resp.StatusCode != 401 {
			t.Errorf("refresh after logout: %d", resp.StatusCode)
		}
	})
}

func TestDisablingAUser_TakesEffectOnTheirNextRequest(t *testing.T) {
	t.Parallel()
	forEachDatabase(t, func(t *testing.T, w *world) {
		token := w.bearer["investigator"]
		if resp, _ := w.call(t, http.MethodGet, "/api/v1/cases/"+w.caseID, token, ""); resp.StatusCode != 200 {
			t.Fatalf("before: %d", resp.StatusCode)
		}
		resp, body := w.call(t, http.MethodPatch, "/api/v1/users/"+w.user["investigator"].ID, w.bearer["admin"], `{"status":"disabled"}`)
		if resp.StatusCode != 200 {
			t.Fatalf("disable: %d %s", resp.StatusCode, body)
		}
		if resp, _ := w.call(t, http.MethodGet, "/api/v1/cases/"+w.caseID, token, ""); resp.StatusCode != 401 {
			t.Errorf("disabled user's token still works: %d", resp.StatusCode)
		}
	})
}

func TestExclusion_TakesEffectOnTheNextRequestEvenWithAValidToken(t *testing.T) {
	t.Parallel()
	forEachDatabase(t, func(t *testing.T, w *world) {
		token := w.bearer["analyst"]
		path := "/api/v1/cases/" + w.caseID
		if resp, _ := w.call(t, http.MethodGet, path, token, ""); resp.StatusCode != 200 {
			t.Fatalf("before: %d", resp.StatusCode)
		}
		resp, body := w.call(t, http.MethodPut, path+"/members/exclusions/"+w.user["analyst"].ID, w.bearer["lead"], `{"reason":"suspected insider"}`)
		if resp.StatusCode != 201 {
			t.Fatalf("exclude: %d %s", resp.StatusCode, body)
		}
		for _, p := range []string{path, path + "/members"} {
			if resp, _ := w.call(t, http.MethodGet, p, token, ""); resp.StatusCode != 404 {
				t.Errorf("%s for the excluded user: %d, want 404", p, resp.StatusCode)
			}
		}
		_, me := w.call(t, http.MethodGet, "/api/v1/me", token, "")
		if strings.Contains(me, w.caseID) {
			t.Error("/me still lists the case")
		}
		_, list := w.call(t, http.MethodGet, "/api/v1/cases", token, "")
		if strings.Contains(list, w.caseID) {
			t.Error("the case list still shows the case")
		}
		// The lead sees the exclusion; other members do not learn of it.
		if _, body := w.call(t, http.MethodGet, path+"/members", w.bearer["lead"], ""); !strings.Contains(body, "suspected insider") {
			t.Error("the lead does not see the exclusion")
		}
		if _, body := w.call(t, http.MethodGet, path+"/members", w.bearer["observer"], ""); strings.Contains(body, "suspected insider") {
			t.Error("an observer sees the exclusion")
		}
	})
}

func TestInput_ServerOwnedFieldsAndRolesCannotBeSet(t *testing.T) {
	t.Parallel()
	forEachDatabase(t, func(t *testing.T, w *world) {
		investigator := "/api/v1/users/" + w.user["investigator"].ID
		tests := []struct {
			name, method, path, who, body string
			status                        int
		}{
			{"user ID", "PATCH", investigator, "admin", `{"id":"01a00000-0000-7000-8000-000000000000"}`, 400},
			{"user agency", "PATCH", investigator, "admin", `{"agency_id":"` + w.agency["B"].ID + `"}`, 400},
			{"user email", "PATCH", investigator, "admin", `{"email":"someone@else.example"}`, 400},
			{"password hash", "PATCH", investigator, "admin", `{"password_hash":"x"}`, 400},
			{"agency admin grants admin", "PATCH", investigator, "agency_admin", `{"system_role":"admin"}`, 403},
			{"agency admin grants auditor", "PATCH", investigator, "agency_admin", `{"system_role":"auditor"}`, 403},
			{"member promotes a colleague", "PATCH", investigator, "lead", `{"system_role":"agency_admin"}`, 403},
			{"agency admin promotes self", "PATCH", "/api/v1/users/" + w.user["agency_admin"].ID, "agency_admin", `{"system_role":"admin"}`, 403},
			{"case creator field", "POST", "/api/v1/cases", "lead", `{"title":"x","created_by":"` + w.user["admin"].ID + `"}`, 400},
			{"case lead agency", "POST", "/api/v1/cases", "lead", `{"title":"x","lead_agency_id":"` + w.agency["B"].ID + `"}`, 400},
			{"membership added_by", "PUT", "/api/v1/cases/" + w.caseID + "/members/users/" + w.user["spare"].ID, "lead", `{"role":"analyst","added_by":"x"}`, 400},
			{"agency admin creates an admin", "POST", "/api/v1/users", "agency_admin",
				`{"agency_id":"` + w.agency["A"].ID + `","email":"new@bevis.test","name":"N","system_role":"admin"}`, 403},
			{"agency admin creates in another agency", "POST", "/api/v1/users", "agency_admin",
				`{"agency_id":"` + w.agency["B"].ID + `","email":"new@bevis.test","name":"N"}`, 404},
		}
		before := w.user["investigator"]
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				resp, body := w.call(t, tt.method, tt.path, w.bearer[tt.who], tt.body)
				if resp.StatusCode != tt.status || resp.Header.Get("Content-Type") != "application/problem+json" {
					t.Errorf("status %d, want %d: %s", resp.StatusCode, tt.status, body)
				}
			})
		}
		after, err := w.deps.Directory.User(t.Context(), before.ID)
		if err != nil {
			t.Fatal(err)
		}
		if after.AgencyID != before.AgencyID || after.SystemRole != before.SystemRole || after.Email != before.Email ||
			!after.UpdatedAt.Equal(before.UpdatedAt) {
			t.Errorf("refused requests changed the user: %+v → %+v", before, after)
		}
		if _, err := w.deps.Directory.UserByEmail(t.Context(), "new@bevis.test"); err == nil {
			t.Error("a refused user creation created a user")
		}
	})
}

func TestLogin_EleventhWrongPasswordIsRateLimited(t *testing.T) {
	t.Parallel()
	forEachDatabase(t, func(t *testing.T, w *world) {
		wrong := `{"email":"lead@bevis.test","password":"not the password at all"}`
		for i := 1; i <= 10; i++ {
			resp, body := w.call(t, http.MethodPost, "/api/v1/auth/login", "", wrong)
			if resp.StatusCode != 401 {
				t.Fatalf("attempt %d: %d %s", i, resp.StatusCode, body)
			}
		}
		resp, body := w.call(t, http.MethodPost, "/api/v1/auth/login", "", wrong)
		if resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" || !strings.Contains(body, `"code":"rate_limited"`) {
			t.Fatalf("11th attempt: %d %q %s", resp.StatusCode, resp.Header.Get("Retry-After"), body)
		}
		right := `{"email":"lead@bevis.test","password":"` + fixturePassword + `"}`
		if resp, _ := w.call(t, http.MethodPost, "/api/v1/auth/login", "", right); resp.StatusCode != 429 {
			t.Errorf("the right password during the lock-out: %d, want 429", resp.StatusCode)
		}
	})
}

func TestLogin_UnknownUserAndWrongPasswordLookAlike(t *testing.T) {
	t.Parallel()
	forEachDatabase(t, func(t *testing.T, w *world) {
		_, unknown := w.call(t, http.MethodPost, "/api/v1/auth/login", "", `{"email":"nobody@bevis.test","password":"whatever it is"}`)
		_, wrong := w.call(t, http.MethodPost, "/api/v1/auth/login", "", `{"email":"lead@bevis.test","password":"whatever it is"}`)
		strip := func(s string) string {
			var p problem
			_ = json.Unmarshal([]byte(s), &p)
			p.RequestID = ""
			out, _ := json.Marshal(p)
			return string(out)
		}
		if strip(unknown) != strip(wrong) {
			t.Errorf("answers differ:\n%s\n%s", unknown, wrong)
		}
	})
}

func TestSession_EndsAfterItsLifetime(t *testing.T) {
	t.Parallel()
	forEachDatabase(t, func(t *testing.T, w *world) {
		later := time.Now().Add(12*time.Hour + time.Minute) // past the fixture's 12 h session
		w.deps.Sessions.SetClock(func() time.Time { return later })
		resp, _ := w.call(t, http.MethodPost, "/api/v1/auth/refresh", "", "", "Cookie", refreshCookie+"="+w.refresh["lead"])
		if resp.StatusCode != 401 {
			t.Errorf("refresh after the session's lifetime: %d, want 401", resp.StatusCode)
		}
		// Just before the end, the same kind of refresh still works.
		w.deps.Sessions.SetClock(func() time.Time { return time.Now().Add(11 * time.Hour) })
		resp, body := w.call(t, http.MethodPost, "/api/v1/auth/refresh", "", "", "Cookie", refreshCookie+"="+w.refresh["analyst"])
		if resp.StatusCode != 200 {
			t.Errorf("refresh within the session's lifetime: %d %s", resp.StatusCode, body)
		}
	})
}
