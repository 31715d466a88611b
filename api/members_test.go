package api

import (
	"net/http"
	"strings"
	"testing"

	"github.com/bevis-ir/bevis/internal/db"
)

func TestMembership_RulesAndBadInputChangeNothing(t *testing.T) {
	t.Parallel()
	forEachDatabase(t, func(t *testing.T, w *world) {
		base := "/api/v1/cases/" + w.caseID + "/members"
		lead := w.user["lead"].ID
		tests := []struct {
			name, method, path, body string
			status                   int
			code                     string
		}{
			{"demote the only lead", "PUT", base + "/users/" + lead, `{"role":"analyst"}`, 409, "conflict"},
			{"remove the only lead", "DELETE", base + "/users/" + lead, "", 409, "conflict"},
			{"exclude oneself", "PUT", base + "/exclusions/" + lead, `{"reason":"testing"}`, 400, "invalid_input"},
			{"exclude without a reason", "PUT", base + "/exclusions/" + w.user["spare"].ID, `{"reason":"  "}`, 400, "invalid_input"},
			{"unknown role", "PUT", base + "/users/" + w.user["spare"].ID, `{"role":"owner"}`, 400, "invalid_input"},
			{"unknown user", "PUT", base + "/users/01a00000-0000-7000-8000-000000000000", `{"role":"analyst"}`, 400, "invalid_input"},
			{"unknown agency", "PUT", base + "/agencies/01a00000-0000-7000-8000-000000000000", `{"role":"observer"}`, 400, "invalid_input"},
			{"remove an agency that is not a member", "DELETE", base + "/agencies/" + w.agency["D"].ID, "", 404, "not_found"},
			{"exclude twice", "PUT", base + "/exclusions/" + w.user["excluded"].ID, `{"reason":"again"}`, 409, "conflict"},
			{"not JSON", "PUT", base + "/users/" + w.user["spare"].ID, `role=analyst`, 400, "invalid_json"},
		}
		_, before := w.call(t, http.MethodGet, base, w.bearer["lead"], "")
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				resp, body := w.call(t, tt.method, tt.path, w.bearer["lead"], tt.body)
				if resp.StatusCode != tt.status || !strings.Contains(body, `"code":"`+tt.code+`"`) {
					t.Errorf("got %d %s, want %d %s", resp.StatusCode, body, tt.status, tt.code)
				}
			})
		}
		if _, after := w.call(t, http.MethodGet, base, w.bearer["lead"], ""); after != before {
			t.Errorf("refused requests changed the membership:\n%s\n%s", before, after)
		}

		// With a second lead, the first may step down.
		if resp, body := w.call(t, http.MethodPut, base+"/users/"+w.user["investigator"].ID, w.bearer["lead"], `{"role":"lead"}`); resp.StatusCode != 200 {
			t.Fatalf("promote: %d %s", resp.StatusCode, body)
		}
		if resp, body := w.call(t, http.MethodPut, base+"/users/"+lead, w.bearer["lead"], `{"role":"observer"}`); resp.StatusCode != 200 {
			t.Errorf("step down with another lead: %d %s", resp.StatusCode, body)
		}
		if resp, _ := w.call(t, http.MethodPut, base+"/agencies/"+w.agency["D"].ID, w.bearer["lead"], `{"role":"observer"}`); resp.StatusCode != 403 {
			t.Errorf("a former lead still manages membership: %d", resp.StatusCode)
		}
	})
}

func TestMembers_NameThePeopleAndAgenciesOnTheCase(t *testing.T) {
	t.Parallel()
	w := seededWorld(t, db.SQLite)
	_, body := w.call(t, "GET", "/api/v1/cases/"+w.caseID+"/members", w.bearer["observer"], "")
	for _, want := range []string{
		`{"user_id":"` + w.user["investigator"].ID + `","name":"investigator","agency_id":"` + w.agency["A"].ID + `","role":"investigator"`,
		`{"agency_id":"` + w.agency["A"].ID + `","name":"Agency A","code":"AG-A","role":"investigator"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("members lack %s: %s", want, body)
		}
	}
	_, body = w.call(t, "PUT", "/api/v1/cases/"+w.caseID+"/members/users/"+w.user["spare"].ID, w.bearer["lead"], `{"role":"analyst"}`)
	if !strings.Contains(body, `"name":"spare"`) {
		t.Errorf("the new member has no name: %s", body)
	}
}
