package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/bevis-ir/bevis/access"
)

// authenticator is a user's phone in a test: it reads the enrolment's
// secret and makes codes at the test clock's time.
type authenticator struct {
	secret string
	clock  *time.Time
}

func (a authenticator) code(t *testing.T) string {
	t.Helper()
	c, err := totp.GenerateCode(a.secret, *a.clock)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// wrongCode is a well-formed code that no step in the accepted window has.
func (a authenticator) wrongCode(t *testing.T) string {
	t.Helper()
	valid := map[string]bool{}
	for _, d := range []time.Duration{-30 * time.Second, 0, 30 * time.Second} {
		c, err := totp.GenerateCode(a.secret, a.clock.Add(d))
		if err != nil {
			t.Fatal(err)
		}
		valid[c] = true
	}
	for n := 0; ; n++ {
		if c := fmt.Sprintf("%06d", n); !valid[c] {
			return c
		}
	}
}

// fixedClock pins the session service's clock at a step boundary near now
// and returns it for the test to move.
func fixedClock(w *world) *time.Time {
	now := time.Now().UTC().Truncate(30 * time.Second)
	w.deps.Sessions.SetClock(func() time.Time { return now })
	return &now
}

// enrol takes a fixture user through TOTP enrolment and returns their
// authenticator and recovery codes.
func enrol(t *testing.T, w *world, who string, clock *time.Time) (authenticator, []string) {
	t.Helper()
	resp, body := w.call(t, http.MethodPost, "/api/v1/me/mfa/totp", w.bearer[who], `{"password":"`+fixturePassword+`"}`)
	if resp.StatusCode != 201 {
		t.Fatalf("start: %d %s", resp.StatusCode, body)
	}
	var e totpEnrolmentJSON
	if err := json.Unmarshal([]byte(body), &e); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(e.OTPAuthURI, "otpauth://totp/Bevis:") || e.Secret == "" {
		t.Fatalf("enrolment: %+v", e)
	}
	a := authenticator{secret: e.Secret, clock: clock}
	resp, body = w.call(t, http.MethodPost, "/api/v1/me/mfa/totp/confirm", w.bearer[who], `{"code":"`+a.code(t)+`"}`)
	if resp.StatusCode != 200 {
		t.Fatalf("confirm: %d %s", resp.StatusCode, body)
	}
	var rc recoveryCodesJSON
	if err := json.Unmarshal([]byte(body), &rc); err != nil {
		t.Fatal(err)
	}
	if len(rc.RecoveryCodes) != 10 {
		t.Fatalf("recovery codes: %v", rc.RecoveryCodes)
	}
	*clock = clock.Add(30 * time.Second) // the confirming code's step is spent
	return a, rc.RecoveryCodes
}

func loginBody(w *world, who, code string) string {
	return fmt.Sprintf(`{"email":%q,"password":%q,"totp":%q}`, w.user[who].Email, fixturePassword, code)
}

func TestMFA_EnrolledUserSignsInOnlyWithAFreshCodeOrAnUnusedRecoveryCode(t *testing.T) {
	t.Parallel()
	forEachDatabase(t, func(t *testing.T, w *world) {
		clock := fixedClock(w)
		w.login(t, "investigator") // a token issued at the test clock's time
		resp, body := w.call(t, http.MethodPost, "/api/v1/me/mfa/totp/confirm", w.bearer["investigator"], `{"code":"123456"}`)
		if resp.StatusCode != 409 {
			t.Fatalf("confirm before start: %d %s", resp.StatusCode, body)
		}
		phone, recovery := enrol(t, w, "investigator", clock)
		if _, body := w.call(t, http.MethodGet, "/api/v1/me/mfa", w.bearer["investigator"], ""); !strings.Contains(body, `"totp_enabled":true`) ||
			!strings.Contains(body, `"recovery_codes_left":10`) {
			t.Errorf("status after enrolment: %s", body)
		}
		if resp, body := w.call(t, http.MethodPost, "/api/v1/me/mfa/totp", w.bearer["investigator"], `{"password":"`+fixturePassword+`"}`); resp.StatusCode != 409 {
			t.Errorf("second enrolment: %d %s", resp.StatusCode, body)
		}

		login := func(code string) (int, string) {
			resp, body := w.call(t, http.MethodPost, "/api/v1/auth/login", "", loginBody(w, "investigator", code))
			return resp.StatusCode, body
		}
		if status, body := login(""); status != 401 || problemCode(t, body) != "mfa_required" {
			t.Errorf("no code: %d %s", status, body)
		}
		if status, body := login(phone.wrongCode(t)); status != 401 || problemCode(t, body) != "unauthenticated" {
			t.Errorf("wrong code: %d %s", status, body)
		}
		code := phone.code(t)
		if status, body := login(code); status != 200 {
			t.Fatalf("right code: %d %s", status, body)
		}
		if status, _ := login(code); status != 401 {
			t.Errorf("the same code again: %d, want 401", status)
		}
		*clock = clock.Add(30 * time.Second)
		if status, body := login(phone.code(t)); status != 200 {
			t.Errorf("next step's code: %d %s", status, body)
		}
		if status, body := login(strings.ToUpper(recovery[3])); status != 200 {
			t.Errorf("recovery code: %d %s", status, body)
		}
		if status, _ := login(recovery[3]); status != 401 {
			t.Errorf("a spent recovery code: %d, want 401", status)
		}
		if _, body := w.call(t, http.MethodGet, "/api/v1/me/mfa", w.bearer["investigator"], ""); !strings.Contains(body, `"recovery_codes_left":9`) {
			t.Errorf("status after one recovery code: %s", body)
		}
	})
}

func TestMFA_WrongCodesCountTowardsTheSignInLimit(t *testing.T) {
	t.Parallel()
	forEachDatabase(t, func(t *testing.T, w *world) {
		clock := fixedClock(w)
		w.login(t, "analyst")
		enrol(t, w, "analyst", clock)
		for i := 1; i <= 10; i++ {
			resp, body := w.call(t, http.MethodPost, "/api/v1/auth/login", "", loginBody(w, "analyst", "aaaaa-aaaaa"))
			if resp.StatusCode != 401 {
				t.Fatalf("attempt %d: %d %s", i, resp.StatusCode, body)
			}
		}
		resp, body := w.call(t, http.MethodPost, "/api/v1/auth/login", "", loginBody(w, "analyst", "aaaaa-aaaaa"))
		if resp.StatusCode != 429 {
			t.Errorf("11th wrong code: %d %s", resp.StatusCode, body)
		}
	})
}

func TestMFA_AgencyRequirementConfinesSessionsToEnrolment(t *testing.T) {
	t.Parallel()
	forEachDatabase(t, func(t *testing.T, w *world) {
		clock := fixedClock(w)
		w.login(t, "lead")
		casePath := "/api/v1/cases/" + w.caseID
		required := true
		if _, err := w.deps.Directory.UpdateAgency(t.Context(), w.agency["A"].ID, access.AgencyPatch{RequireMFA: &required}); err != nil {
			t.Fatal(err)
		}
		// The session open before the rule is confined on its next request.
		resp, body := w.call(t, http.MethodGet, casePath, w.bearer["lead"], "")
		if resp.StatusCode != 403 || problemCode(t, body) != "mfa_enrolment_required" {
			t.Fatalf("case read before enrolment: %d %s", resp.StatusCode, body)
		}
		if resp, _ := w.call(t, http.MethodGet, "/api/v1/me", w.bearer["lead"], ""); resp.StatusCode != 200 {
			t.Errorf("/me before enrolment: %d", resp.StatusCode)
		}
		if resp, _ := w.call(t, http.MethodPost, "/api/v1/tokens", w.bearer["lead"],
			`{"name":"x","scopes":["case.read"],"expires_at":"2099-01-01T00:00:00Z"}`); resp.StatusCode != 403 {
			t.Errorf("token creation before enrolment: %d", resp.StatusCode)
		}
		_, body = w.call(t, http.MethodPost, "/api/v1/auth/login", "", loginBody(w, "lead", ""))
		if !strings.Contains(body, `"mfa_enrolment_required":true`) {
			t.Errorf("sign-in does not say enrolment is required: %s", body)
		}
		enrol(t, w, "lead", clock)
		if resp, body := w.call(t, http.MethodGet, casePath, w.bearer["lead"], ""); resp.StatusCode != 200 {
			t.Errorf("case read after enrolment: %d %s", resp.StatusCode, body)
		}
		resp, body = w.call(t, http.MethodPost, "/api/v1/me/mfa/disable", w.bearer["lead"], `{"password":"`+fixturePassword+`"}`)
		if resp.StatusCode != 409 {
			t.Errorf("removing a required factor: %d %s", resp.StatusCode, body)
		}
		// Agency B requires nothing: its people are untouched.
		if resp, _ := w.call(t, http.MethodGet, "/api/v1/cases", w.bearer["other_agency"], ""); resp.StatusCode != 200 {
			t.Errorf("another agency's user: %d", resp.StatusCode)
		}
	})
}

func TestMFA_RemovalNeedsThePasswordAndAResetNeedsAnAdmin(t *testing.T) {
	t.Parallel()
	forEachDatabase(t, func(t *testing.T, w *world) {
		clock := fixedClock(w)
		w.login(t, "observer")
		enrol(t, w, "observer", clock)
		resp, body := w.call(t, http.MethodPost, "/api/v1/me/mfa/disable", w.bearer["observer"], `{"password":"not my password at all"}`)
		if resp.StatusCode != 403 || problemCode(t, body) != "password_incorrect" {
			t.Errorf("wrong password: %d %s", resp.StatusCode, body)
		}
		if resp, _ := w.call(t, http.MethodPost, "/api/v1/auth/login", "", loginBody(w, "observer", "")); resp.StatusCode != 401 {
			t.Errorf("a refused removal removed the factor: %d", resp.StatusCode)
		}
		if resp, _ := w.call(t, http.MethodDelete, "/api/v1/users/"+w.user["observer"].ID+"/mfa", w.bearer["lead"], ""); resp.StatusCode != 403 {
			t.Errorf("a colleague reset the factor: %d", resp.StatusCode)
		}
		if resp, body := w.call(t, http.MethodDelete, "/api/v1/users/"+w.user["observer"].ID+"/mfa", w.bearer["agency_admin"], ""); resp.StatusCode != 204 {
			t.Fatalf("agency admin reset: %d %s", resp.StatusCode, body)
		}
		if resp, body := w.call(t, http.MethodPost, "/api/v1/auth/login", "", loginBody(w, "observer", "")); resp.StatusCode != 200 {
			t.Errorf("sign-in after the reset: %d %s", resp.StatusCode, body)
		}
	})
}
