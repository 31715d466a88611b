package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/bevis-ir/bevis/access"
)

// Separation of duties: admin_a and auditor_a belong to agency A, which is
// a member of the fixture case, and still hold nothing of it.
func TestSeparationOfDuties_AdminsAndAuditorsGetNoCaseRoleFromTheirAgency(t *testing.T) {
	t.Parallel()
	forEachDatabase(t, func(t *testing.T, w *world) {
		for _, who := range []string{"admin_a", "auditor_a"} {
			for _, path := range []string{"/api/v1/cases/" + w.caseID, "/api/v1/cases/" + w.caseID + "/evidence",
				"/api/v1/evidence/" + w.contentID + "/content"} {
				if resp, body := w.call(t, http.MethodGet, path, w.bearer[who], ""); resp.StatusCode != 404 {
					t.Errorf("%s GET %s: %d, want 404: %s", who, path, resp.StatusCode, body)
				}
			}
			_, list := w.call(t, http.MethodGet, "/api/v1/cases", w.bearer[who], "")
			if strings.Contains(list, w.caseID) {
				t.Errorf("%s lists the case: %s", who, list)
			}
			_, me := w.call(t, http.MethodGet, "/api/v1/me", w.bearer[who], "")
			var m meJSON
			if err := json.Unmarshal([]byte(me), &m); err != nil || len(m.Memberships) != 0 {
				t.Errorf("%s has memberships: %s", who, me)
			}
		}
		// The spare member of agency A, for comparison, is on the case by
		// the same membership.
		if resp, body := w.call(t, http.MethodGet, "/api/v1/cases/"+w.caseID, w.bearer["spare"], ""); resp.StatusCode != 200 {
			t.Fatalf("agency A's member: %d %s", resp.StatusCode, body)
		}
	})
}

func TestSeparationOfDuties_AdminsAndAuditorsAreNeverNamedOnACase(t *testing.T) {
	t.Parallel()
	forEachDatabase(t, func(t *testing.T, w *world) {
		for _, who := range []string{"admin_a", "auditor_a", "admin", "auditor"} {
			path := "/api/v1/cases/" + w.caseID + "/members/users/" + w.user[who].ID
			resp, body := w.call(t, http.MethodPut, path, w.bearer["lead"], `{"role":"lead"}`)
			var p problem
			_ = json.Unmarshal([]byte(body), &p)
			if resp.StatusCode != 409 || p.Code != "conflict" || !strings.Contains(p.Detail, "separation of duties") {
				t.Errorf("naming %s: %d %s", who, resp.StatusCode, body)
			}
			if resp, _ := w.call(t, http.MethodGet, "/api/v1/cases/"+w.caseID, w.bearer[who], ""); resp.StatusCode != 404 {
				t.Errorf("%s reads the case after the refusal: %d", who, resp.StatusCode)
			}
		}
		_, members := w.call(t, http.MethodGet, "/api/v1/cases/"+w.caseID+"/members", w.bearer["lead"], "")
		if strings.Contains(members, w.user["admin_a"].ID) || strings.Contains(members, w.user["auditor_a"].ID) {
			t.Errorf("a refused naming is on the case: %s", members)
		}

		// Nor is the role given to someone named on a case.
		for _, role := range []string{"admin", "auditor"} {
			resp, body := w.call(t, http.MethodPatch, "/api/v1/users/"+w.user["investigator"].ID, w.bearer["admin"],
				`{"system_role":"`+role+`"}`)
			if resp.StatusCode != 409 {
				t.Errorf("making the named investigator %s: %d %s", role, resp.StatusCode, body)
			}
		}
		if u, err := w.deps.Directory.User(t.Context(), w.user["investigator"].ID); err != nil || u.SystemRole != access.RoleMember {
			t.Errorf("the refused change changed the investigator: %+v %v", u, err)
		}
		// Someone on a case only through their agency may become one, and
		// loses the case with it.
		if resp, body := w.call(t, http.MethodPatch, "/api/v1/users/"+w.user["spare"].ID, w.bearer["admin"], `{"system_role":"auditor"}`); resp.StatusCode != 200 {
			t.Fatalf("making spare an auditor: %d %s", resp.StatusCode, body)
		}
		if resp, _ := w.call(t, http.MethodGet, "/api/v1/cases/"+w.caseID, w.bearer["spare"], ""); resp.StatusCode != 404 {
			t.Errorf("the new auditor still reads the case: %d", resp.StatusCode)
		}
	})
}

func TestUserAdministration_AnAgencyAdminDoesNotTouchAdminsOrAuditors(t *testing.T) {
	t.Parallel()
	forEachDatabase(t, func(t *testing.T, w *world) {
		aa := w.bearer["agency_admin"] // agency A's
		for _, who := range []string{"admin_a", "auditor_a"} {
			id := w.user[who].ID
			tests := []struct{ method, path, body string }{
				{"PATCH", "/api/v1/users/" + id, `{"name":"Renamed"}`},
				{"PATCH", "/api/v1/users/" + id, `{"title":"Demoted"}`},
				{"PATCH", "/api/v1/users/" + id, `{"status":"disabled"}`},
				{"DELETE", "/api/v1/users/" + id + "/mfa", ""},
			}
			for _, tt := range tests {
				if resp, body := w.call(t, tt.method, tt.path, aa, tt.body); resp.StatusCode != 403 {
					t.Errorf("agency admin %s %s %s: %d, want 403: %s", tt.method, who, tt.body, resp.StatusCode, body)
				}
			}
			u, err := w.deps.Directory.User(t.Context(), id)
			if err != nil || u.Name != who || u.Title != "" || u.Status != access.UserActive {
				t.Errorf("%s changed by refused calls: %+v %v", who, u, err)
			}
		}
		// The members of the agency are still the agency admin's.
		if resp, body := w.call(t, http.MethodPatch, "/api/v1/users/"+w.user["spare"].ID, aa, `{"title":"Analyst"}`); resp.StatusCode != 200 {
			t.Errorf("agency admin renames a member: %d %s", resp.StatusCode, body)
		}
	})
}

func TestUserAdministration_AnAgencyAdminDoesNotReenableWhomAnAdminDisabled(t *testing.T) {
	t.Parallel()
	forEachDatabase(t, func(t *testing.T, w *world) {
		aa := w.bearer["agency_admin"] // agency A's
		path := "/api/v1/users/" + w.user["spare"].ID
		resp, body := w.call(t, http.MethodPatch, path, w.bearer["admin"], `{"status":"disabled"}`)
		var u userJSON
		if err := json.Unmarshal([]byte(body), &u); err != nil || resp.StatusCode != 200 ||
			u.Status != "disabled" || u.DisabledBy != w.user["admin"].ID || u.DisabledAt == nil {
			t.Fatalf("admin disables: %d %s", resp.StatusCode, body)
		}
		// Disabling again does not make it the agency admin's decision.
		if resp, body := w.call(t, http.MethodPatch, path, aa, `{"status":"disabled"}`); resp.StatusCode != 200 {
			t.Fatalf("agency admin disables again: %d %s", resp.StatusCode, body)
		}
		if resp, body := w.call(t, http.MethodPatch, path, aa, `{"status":"active"}`); resp.StatusCode != 403 {
			t.Errorf("agency admin re-enables whom an admin disabled: %d %s", resp.StatusCode, body)
		}
		if resp, body := w.call(t, http.MethodPatch, path, w.bearer["admin"], `{"status":"active"}`); resp.StatusCode != 200 {
			t.Fatalf("admin re-enables: %d %s", resp.StatusCode, body)
		}

		// Whom the agency admin disabled, the agency admin re-enables.
		if resp, body := w.call(t, http.MethodPatch, path, aa, `{"status":"disabled"}`); resp.StatusCode != 200 {
			t.Fatalf("agency admin disables: %d %s", resp.StatusCode, body)
		}
		resp, body = w.call(t, http.MethodPatch, path, aa, `{"status":"active"}`)
		var enabled userJSON
		if err := json.Unmarshal([]byte(body), &enabled); err != nil || resp.StatusCode != 200 || enabled.Status != "active" ||
			enabled.DisabledBy != "" || enabled.DisabledAt != nil {
			t.Errorf("agency admin re-enables whom they disabled: %d %s", resp.StatusCode, body)
		}
	})
}

func TestUserAdministration_ReenablingRevivesNoTokenOrSession(t *testing.T) {
	t.Parallel()
	forEachDatabase(t, func(t *testing.T, w *world) {
		tok := newAPIToken(t, w, "investigator", fmt.Sprintf(`{"name":"SIEM export","scopes":["case.read"],"expires_at":%q}`, tomorrow()))
		casePath := "/api/v1/cases/" + w.caseID
		if resp, _ := w.call(t, http.MethodGet, casePath, tok.Token, ""); resp.StatusCode != 200 {
			t.Fatalf("the token before: %d", resp.StatusCode)
		}
		userPath := "/api/v1/users/" + w.user["investigator"].ID
		for _, status := range []string{"disabled", "active"} {
			if resp, body := w.call(t, http.MethodPatch, userPath, w.bearer["admin"], `{"status":"`+status+`"}`); resp.StatusCode != 200 {
				t.Fatalf("%s: %d %s", status, resp.StatusCode, body)
			}
		}
		if resp, _ := w.call(t, http.MethodGet, casePath, tok.Token, ""); resp.StatusCode != 401 {
			t.Errorf("an API token made before the disable works again: %d", resp.StatusCode)
		}
		if resp, _ := w.call(t, http.MethodGet, casePath, w.bearer["investigator"], ""); resp.StatusCode != 401 {
			t.Errorf("an access token of a session from before the disable works again: %d", resp.StatusCode)
		}
		resp, _ := w.call(t, http.MethodPost, "/api/v1/auth/refresh", "", "", "Cookie", refreshCookie+"="+w.refresh["investigator"])
		if resp.StatusCode != 401 {
			t.Errorf("a refresh token from before the disable works again: %d", resp.StatusCode)
		}
		// The user signs in anew, and the listing shows the old token revoked.
		w.login(t, "investigator")
		_, list := w.call(t, http.MethodGet, "/api/v1/tokens", w.bearer["investigator"], "")
		var tokens struct{ Items []apiTokenJSON }
		if err := json.Unmarshal([]byte(list), &tokens); err != nil || len(tokens.Items) != 1 || tokens.Items[0].RevokedAt == nil {
			t.Errorf("the token after re-enabling: %s", list)
		}
	})
}
