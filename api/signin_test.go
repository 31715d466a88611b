package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/bevis-ir/bevis/access"
)

// rebuild makes w's app again after a change to its configuration.
func (w *world) rebuild(t *testing.T) {
	t.Helper()
	var err error
	if w.app, err = New(w.deps); err != nil {
		t.Fatal(err)
	}
}

func TestSignIn_ClientAddressIsTheRightmostUntrustedForwardedAddress(t *testing.T) {
	t.Parallel()
	forEachDatabase(t, func(t *testing.T, w *world) {
		// The test's requests come from 0.0.0.0: the load balancer; 10/8
		// are the proxies behind it.
		w.deps.Config.TrustedProxies = []string{"0.0.0.0", "10.0.0.0/8"}
		w.rebuild(t)
		// One client, 203.0.113.7, guesses passwords of ten accounts and
		// forges a new leftmost address each time.
		for i := range 10 {
			body := fmt.Sprintf(`{"email":"nobody-%d@bevis.test","password":"guess number %d"}`, i, i)
			xff := fmt.Sprintf("198.51.100.%d, 203.0.113.7, 10.1.2.3", i)
			if resp, out := w.call(t, http.MethodPost, "/api/v1/auth/login", "", body, "X-Forwarded-For", xff); resp.StatusCode != 401 {
				t.Fatalf("guess %d: %d %s", i, resp.StatusCode, out)
			}
		}
		right := `{"email":"` + w.user["lead"].Email + `","password":"` + fixturePassword + `"}`
		resp, out := w.call(t, http.MethodPost, "/api/v1/auth/login", "", right, "X-Forwarded-For", "198.51.100.99, 203.0.113.7")
		if resp.StatusCode != 429 {
			t.Errorf("the guessing client's address is not locked: %d %s", resp.StatusCode, out)
		}
		// Several X-Forwarded-For headers are one list.
		req := httptest.NewRequest(http.MethodPost, "/api/v1/auth/login", strings.NewReader(right))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Add("X-Forwarded-For", "198.51.100.98, 203.0.113.7")
		req.Header.Add("X-Forwarded-For", "10.9.9.9")
		resp, err := w.app.Test(req, -1)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != 429 {
			t.Errorf("the guessing client behind two proxies: %d", resp.StatusCode)
		}
		if resp, out := w.call(t, http.MethodPost, "/api/v1/auth/login", "", right, "X-Forwarded-For", "203.0.113.8"); resp.StatusCode != 200 {
			t.Errorf("another client: %d %s", resp.StatusCode, out)
		}
		var addresses []string
		if err := w.deps.DB.Raw(`SELECT DISTINCT client_ip FROM audit_entries WHERE action = 'auth.login' AND outcome = 'failed'`).
			Scan(&addresses).Error; err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(addresses, []string{"203.0.113.7"}) {
			t.Errorf("failed sign-ins recorded from %v, want only 203.0.113.7", addresses)
		}

		// A peer that is not a trusted proxy is the client, whatever it forwards.
		w.deps.Config.TrustedProxies = []string{"10.0.0.0/8"}
		w.rebuild(t)
		if resp, _ := w.call(t, http.MethodPost, "/api/v1/auth/login", "", right, "X-Forwarded-For", "203.0.113.9"); resp.StatusCode != 200 {
			t.Fatalf("sign-in through an untrusted peer: %d", resp.StatusCode)
		}
		var last string
		if err := w.deps.DB.Raw(`SELECT client_ip FROM audit_entries WHERE action = 'auth.login' ORDER BY pos DESC LIMIT 1`).
			Scan(&last).Error; err != nil {
			t.Fatal(err)
		}
		if last != "0.0.0.0" {
			t.Errorf("an untrusted peer's forwarded address was believed: %q", last)
		}
	})
}

func TestSignIn_BusyPasswordCheckingIsAnsweredWithRetryAfter(t *testing.T) {
	t.Parallel()
	p, known := problemFor(fmt.Errorf("access: login: %w", access.ErrPasswordBusy))
	if !known || p.Status != 503 || p.Code != "busy" || p.headers["Retry-After"] != "1" {
		t.Errorf("busy: %+v", p)
	}
}

func TestSignIn_PasswordResetAndDisableEndEverySession(t *testing.T) {
	t.Parallel()
	forEachDatabase(t, func(t *testing.T, w *world) {
		casePath := "/api/v1/cases/" + w.caseID
		for _, who := range []string{"investigator", "analyst"} {
			if resp, _ := w.call(t, http.MethodGet, casePath, w.bearer[who], ""); resp.StatusCode != 200 {
				t.Fatalf("%s before: %d", who, resp.StatusCode)
			}
		}
		// An admin resets the investigator's password (bevis admin
		// reset-password) and disables the analyst.
		if err := w.deps.Directory.SetPassword(context.Background(), w.user["investigator"].ID, "a brand new passphrase", true); err != nil {
			t.Fatal(err)
		}
		if resp, body := w.call(t, http.MethodPatch, "/api/v1/users/"+w.user["analyst"].ID, w.bearer["admin"], `{"status":"disabled"}`); resp.StatusCode != 200 {
			t.Fatalf("disable: %d %s", resp.StatusCode, body)
		}
		for _, who := range []string{"investigator", "analyst"} {
			if resp, _ := w.call(t, http.MethodGet, casePath, w.bearer[who], ""); resp.StatusCode != 401 {
				t.Errorf("%s's access token after: %d, want 401", who, resp.StatusCode)
			}
			resp, _ := w.call(t, http.MethodPost, "/api/v1/auth/refresh", "", "", "Cookie", refreshCookie+"="+w.refresh[who])
			if resp.StatusCode != 401 {
				t.Errorf("%s's refresh token after: %d, want 401", who, resp.StatusCode)
			}
		}
		var reasons []string
		if err := w.deps.DB.Raw(`SELECT revoke_reason FROM sessions WHERE user_id IN (?, ?) ORDER BY revoke_reason`,
			w.user["investigator"].ID, w.user["analyst"].ID).Scan(&reasons).Error; err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(reasons, []string{"password changed", "user disabled"}) {
			t.Errorf("sessions ended for %v", reasons)
		}
	})
}

func TestAPIToken_StopsUnderRequireMFAUntilItsUserEnrols(t *testing.T) {
	t.Parallel()
	forEachDatabase(t, func(t *testing.T, w *world) {
		tok := newAPIToken(t, w, "investigator", fmt.Sprintf(`{"name":"SIEM export","scopes":["case.read"],"expires_at":%q}`, tomorrow()))
		casePath := "/api/v1/cases/" + w.caseID
		if resp, _ := w.call(t, http.MethodGet, casePath, tok.Token, ""); resp.StatusCode != 200 {
			t.Fatalf("before: %d", resp.StatusCode)
		}
		if resp, body := w.call(t, http.MethodPatch, "/api/v1/agencies/"+w.agency["A"].ID, w.bearer["admin"], `{"require_mfa":true}`); resp.StatusCode != 200 {
			t.Fatalf("require MFA: %d %s", resp.StatusCode, body)
		}
		resp, body := w.call(t, http.MethodGet, casePath, tok.Token, "")
		var p problem
		_ = json.Unmarshal([]byte(body), &p)
		if resp.StatusCode != 403 || p.Code != "mfa_enrolment_required" {
			t.Errorf("the token of a user without a second factor: %d %s", resp.StatusCode, body)
		}
		enrol(t, w, "investigator", fixedClock(w))
		if resp, body := w.call(t, http.MethodGet, casePath, tok.Token, ""); resp.StatusCode != 200 {
			t.Errorf("the token once its user enrolled: %d %s", resp.StatusCode, body)
		}
	})
}

func TestSignIn_RefreshCookieIsSecureAndHSTSSentBehindATLSBalancer(t *testing.T) {
	t.Parallel()
	forEachDatabase(t, func(t *testing.T, w *world) {
		right := `{"email":"` + w.user["lead"].Email + `","password":"` + fixturePassword + `"}`
		cookieOf := func(resp *http.Response) *http.Cookie {
			for _, c := range resp.Cookies() {
				if c.Name == refreshCookie {
					return c
				}
			}
			t.Fatal("no refresh cookie")
			return nil
		}
		resp, _ := w.call(t, http.MethodPost, "/api/v1/auth/login", "", right)
		if cookieOf(resp).Secure || resp.Header.Get("Strict-Transport-Security") != "" {
			t.Errorf("plain http: Secure %v, HSTS %q", cookieOf(resp).Secure, resp.Header.Get("Strict-Transport-Security"))
		}
		// TLS ends at the balancer; Bevis itself serves plain http.
		w.deps.Config.PublicURL = "https://bevis.example.org"
		w.rebuild(t)
		resp, _ = w.call(t, http.MethodPost, "/api/v1/auth/login", "", right)
		if !cookieOf(resp).Secure {
			t.Error("the refresh cookie is not Secure though people reach Bevis over https")
		}
		if !strings.HasPrefix(resp.Header.Get("Strict-Transport-Security"), "max-age=") {
			t.Errorf("no HSTS: %q", resp.Header.Get("Strict-Transport-Security"))
		}
	})
}

func TestSignIn_RefreshAndLogoutRefuseAnotherOrigin(t *testing.T) {
	t.Parallel()
	forEachDatabase(t, func(t *testing.T, w *world) {
		w.deps.Config.PublicURL = "https://bevis.example.org"
		w.deps.Config.CORSOrigins = []string{"https://ops.police.example"}
		w.rebuild(t)
		cookie := refreshCookie + "=" + w.refresh["lead"]
		for _, origin := range []string{"https://evil.example", "null", "https://bevis.example.org.evil.example", "http://bevis.example.org"} {
			resp, body := w.call(t, http.MethodPost, "/api/v1/auth/refresh", "", "", "Cookie", cookie, "Origin", origin)
			var p problem
			_ = json.Unmarshal([]byte(body), &p)
			if resp.StatusCode != 403 || p.Code != "origin_refused" {
				t.Errorf("refresh from %s: %d %s", origin, resp.StatusCode, body)
			}
			if resp, _ := w.call(t, http.MethodPost, "/api/v1/auth/logout", "", "", "Cookie", cookie, "Origin", origin); resp.StatusCode != 403 {
				t.Errorf("logout from %s: %d", origin, resp.StatusCode)
			}
		}
		// The refused calls spent nothing: the cookie still works, from
		// Bevis's public origin, the origin the request was sent to (its
		// Host: example.com in these tests), an allowed one, and a client
		// sending none.
		for _, origin := range []string{"https://BEVIS.example.org:443", "http://example.com", "https://ops.police.example", ""} {
			header := []string{"Cookie", cookie}
			if origin != "" {
				header = append(header, "Origin", origin)
			}
			resp, body := w.call(t, http.MethodPost, "/api/v1/auth/refresh", "", "", header...)
			if resp.StatusCode != 200 {
				t.Fatalf("refresh from %q: %d %s", origin, resp.StatusCode, body)
			}
			for _, c := range resp.Cookies() {
				if c.Name == refreshCookie {
					cookie = refreshCookie + "=" + c.Value
				}
			}
		}
	})
}

func TestMFA_EnrolmentAndRemovalAskForThePassword(t *testing.T) {
	t.Parallel()
	forEachDatabase(t, func(t *testing.T, w *world) {
		for _, body := range []string{`{"password":"not the password"}`, `{"password":""}`} {
			resp, out := w.call(t, http.MethodPost, "/api/v1/me/mfa/totp", w.bearer["investigator"], body)
			var p problem
			_ = json.Unmarshal([]byte(out), &p)
			if resp.StatusCode != 403 || p.Code != "password_incorrect" {
				t.Errorf("start with %s: %d %s", body, resp.StatusCode, out)
			}
		}
		if resp, out := w.call(t, http.MethodPost, "/api/v1/me/mfa/totp", w.bearer["investigator"], ""); resp.StatusCode != 415 {
			t.Errorf("start without a body: %d %s", resp.StatusCode, out)
		}
		if st, err := w.deps.Sessions.MFAStatus(context.Background(), w.user["investigator"].ID); err != nil || st.PendingEnrolmentAt != nil {
			t.Errorf("a refused start left an enrolment: %+v %v", st, err)
		}
		enrol(t, w, "investigator", fixedClock(w))
		if resp, out := w.call(t, http.MethodPost, "/api/v1/me/mfa/disable", w.bearer["investigator"], `{"password":"not the password"}`); resp.StatusCode != 403 {
			t.Errorf("removal with a wrong password: %d %s", resp.StatusCode, out)
		}
		if st, err := w.deps.Sessions.MFAStatus(context.Background(), w.user["investigator"].ID); err != nil || !st.TOTPEnabled {
			t.Errorf("a refused removal removed it: %+v %v", st, err)
		}
	})
}

func TestUsers_PasswordPolicyRefusesBlanksEmailsAndTheAgencyName(t *testing.T) {
	t.Parallel()
	forEachDatabase(t, func(t *testing.T, w *world) {
		ncsc, err := w.deps.Directory.CreateAgency(context.Background(), access.NewAgency{Code: "NCSC",
			Name: "National Cyber Coordination Centre", Kind: "cert"})
		if err != nil {
			t.Fatal(err)
		}
		const email = "kari.nordmann.ncsc@ncsc.example"
		tests := map[string]struct{ password, message string }{
			"blank":             {strings.Repeat(" ", 16), "only spaces"},
			"blank with a tab":  {strings.Repeat(" ", 12) + "\t", "only spaces"},
			"the email":         {email, "email address"},
			"the email, loudly": {" KARI.Nordmann.NCSC@ncsc.example ", "email address"},
			"its local part":    {"Kari.Nordmann.NCSC", "email address"},
			"the agency name":   {"national cyber coordination centre", "name of your agency"},
			"without spaces":    {"NationalCyberCoordinationCentre", "name of your agency"},
		}
		for name, tt := range tests {
			body, _ := json.Marshal(map[string]string{"agency_id": ncsc.ID, "email": email, "name": "Kari Nordmann", "password": tt.password})
			resp, out := w.call(t, http.MethodPost, "/api/v1/users", w.bearer["admin"], string(body))
			var p problem
			_ = json.Unmarshal([]byte(out), &p)
			if resp.StatusCode != 400 || len(p.Errors) != 1 || p.Errors[0].Field != "password" || !strings.Contains(p.Errors[0].Message, tt.message) {
				t.Errorf("%s: %d %s", name, resp.StatusCode, out)
			}
		}
		// The same rules hold when a one-time password is replaced.
		body, _ := json.Marshal(map[string]string{"agency_id": ncsc.ID, "email": email, "name": "Kari Nordmann", "password": "a one-time passphrase"})
		if resp, out := w.call(t, http.MethodPost, "/api/v1/users", w.bearer["admin"], string(body)); resp.StatusCode != 201 {
			t.Fatalf("create: %d %s", resp.StatusCode, out)
		}
		body, _ = json.Marshal(map[string]string{"email": email, "password": "a one-time passphrase", "new_password": "National Cyber Coordination Centre"})
		resp, out := w.call(t, http.MethodPost, "/api/v1/auth/login", "", string(body))
		if resp.StatusCode != 400 || !strings.Contains(out, "name of your agency") {
			t.Errorf("a new password that is the agency name: %d %s", resp.StatusCode, out)
		}
	})
}
