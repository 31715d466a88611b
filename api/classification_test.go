package api

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/bevis-ir/bevis/access"
	"github.com/bevis-ir/bevis/cases"
)

// TestClassification_StrictMarkingsNeedNamedUsers: on AMBER+STRICT cases
// only named users of member agencies are in; on RED only named users;
// an agency-wide default grants nothing on either.
func TestClassification_StrictMarkingsNeedNamedUsers(t *testing.T) {
	t.Parallel()
	forEachDatabase(t, func(t *testing.T, w *world) {
		ctx := context.Background()
		lead := w.principal(t, "lead")
		namedFromOutside(t, w)
		want := map[access.TLP]map[string]int{
			// investigator: only through agency A's default; analyst: named, of agency A;
			// other_agency: named, and agency B is a member; outsider: named, agency D is not a member.
			access.TLPAmber:       {"lead": 200, "analyst": 200, "investigator": 200, "other_agency": 200, "outsider": 200, "observer": 200},
			access.TLPAmberStrict: {"lead": 200, "analyst": 200, "investigator": 404, "other_agency": 200, "outsider": 404, "observer": 404},
			access.TLPRed:         {"lead": 200, "analyst": 200, "investigator": 404, "other_agency": 200, "outsider": 200, "observer": 404},
		}
		for tlp, statuses := range want {
			k, err := w.deps.Cases.Create(ctx, lead, cases.NewCase{Title: "Case marked " + string(tlp), TLP: tlp})
			if err != nil {
				t.Fatal(err)
			}
			for name, role := range map[string]access.CaseRole{"analyst": access.CaseAnalyst, "other_agency": access.CaseObserver, "outsider": access.CaseObserver} {
				if _, err := w.deps.Membership.SetUser(ctx, lead, k.ID, w.user[name].ID, role); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := w.deps.Membership.SetAgency(ctx, lead, k.ID, w.agency["B"].ID, access.CaseObserver); err != nil {
				t.Fatal(err)
			}
			for who, status := range statuses {
				resp, body := w.call(t, http.MethodGet, "/api/v1/cases/"+k.ID, w.bearer[who], "")
				if resp.StatusCode != status {
					t.Errorf("%s case as %s: %d, want %d: %s", tlp, who, resp.StatusCode, status, body)
				}
				_, list := w.call(t, http.MethodGet, "/api/v1/cases", w.bearer[who], "")
				if listed := strings.Contains(list, k.ID); listed != (status == 200) {
					t.Errorf("%s case as %s: listed %v, readable %v", tlp, who, listed, status == 200)
				}
			}
		}
	})
}

// namedFromOutside signs in "outsider", a member of agency D, which is on no
// case: someone who is on a case only when named on it.
func namedFromOutside(t *testing.T, w *world) {
	t.Helper()
	u, err := w.deps.Directory.CreateUser(t.Context(), access.NewUser{AgencyID: w.agency["D"].ID,
		Email: "outsider@bevis.test", Name: "outsider", Password: fixturePassword})
	if err != nil {
		t.Fatal(err)
	}
	w.user["outsider"] = u
	w.login(t, "outsider")
}
