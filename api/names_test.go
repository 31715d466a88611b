package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/bevis-ir/bevis/access"
)

// A person of another agency on the case reads as their name and their
// agency's wherever the case refers to them: as a comment's author and
// mention, a task's assignee, an item's custodian and a custody event's
// actor, and among the members. Nobody's email goes with the name.
func TestNames_PeopleOfOtherAgenciesAreNamedOnTheCase(t *testing.T) {
	t.Parallel()
	forEachDatabase(t, func(t *testing.T, w *world) {
		other, b := w.user["other_agency"], w.agency["B"]
		if _, err := w.deps.Membership.SetAgency(t.Context(), w.principal(t, "lead"), w.caseID, b.ID, access.CaseInvestigator); err != nil {
			t.Fatal(err)
		}
		base := "/api/v1/cases/" + w.caseID
		mustCall := func(method, path, who, body string, status int) string {
			t.Helper()
			resp, out := w.call(t, method, path, w.bearer[who], body)
			if resp.StatusCode != status {
				t.Fatalf("%s %s as %s: %d, want %d: %s", method, path, who, resp.StatusCode, status, out)
			}
			return out
		}
		mustCall(http.MethodPost, base+"/comments", "other_agency", fmt.Sprintf(`{"body":"seen it","mentions":[%q]}`, w.user["lead"].ID), 201)
		mustCall(http.MethodPost, base+"/tasks", "lead", fmt.Sprintf(`{"title":"Image the DCs","assignee_user_id":%q}`, other.ID), 201)
		item := decodeItem(t, mustCall(http.MethodPost, base+"/evidence", "lead", `{"title":"Disk","kind":"disk_image"}`, 201))
		mustCall(http.MethodPost, "/api/v1/evidence/"+item.ID+"/custody", "lead",
			fmt.Sprintf(`{"type":"transfer_offered","counterparty_agency_id":%q}`, b.ID), 201)
		mustCall(http.MethodPost, "/api/v1/evidence/"+item.ID+"/custody", "other_agency", `{"type":"transfer_accepted"}`, 201)

		want := personNameJSON{Name: other.Name, AgencyID: b.ID, AgencyName: b.Name}
		named := func(where string, n namesJSON) {
			t.Helper()
			if got := n.People[other.ID]; got != want {
				t.Errorf("%s: the other agency's person is %+v, want %+v", where, got, want)
			}
			if got := n.Agencies[b.ID]; got.Name != b.Name || got.Code != b.Code {
				t.Errorf("%s: agency B is %+v", where, got)
			}
		}

		var comments pageJSON[commentJSON]
		mustDecode(t, mustCall(http.MethodGet, base+"/comments", "lead", "", 200), &comments)
		named("comment author", comments.Items[len(comments.Items)-1].namesJSON)
		if lead := comments.Items[len(comments.Items)-1].People[w.user["lead"].ID]; lead.Name != "lead" || lead.AgencyName != w.agency["A"].Name {
			t.Errorf("the mentioned lead is %+v", lead)
		}

		var tasks pageJSON[taskJSON]
		mustDecode(t, mustCall(http.MethodGet, base+"/tasks", "lead", "", 200), &tasks)
		for _, k := range tasks.Items {
			if k.AssigneeUserID == other.ID {
				named("task assignee", k.namesJSON)
			}
		}

		var items pageJSON[itemJSON]
		mustDecode(t, mustCall(http.MethodGet, base+"/evidence", "lead", "", 200), &items)
		for _, it := range items.Items {
			if it.Custody == nil {
				t.Fatalf("item %s is listed without its custody", it.ExhibitNumber)
			}
			if it.ID == item.ID {
				if it.Custody.CustodianAgencyID != b.ID {
					t.Errorf("custodian of the handed-over item: %q, want agency B", it.Custody.CustodianAgencyID)
				}
				named("evidence list custodian", it.Custody.namesJSON)
			}
		}

		var custody custodyJSON
		mustDecode(t, mustCall(http.MethodGet, "/api/v1/evidence/"+item.ID+"/custody", "lead", "", 200), &custody)
		named("custody event actor", custody.Events[len(custody.Events)-1].namesJSON)

		var members membersJSON
		mustDecode(t, mustCall(http.MethodGet, base+"/members", "lead", "", 200), &members)
		if members.Agencies == nil || members.People == nil {
			t.Fatalf("members without names: %+v", members)
		}
		if _, ok := members.People[w.user["excluded"].ID]; !ok {
			t.Errorf("the excluded person is not named to the lead: %+v", members.People)
		}

		// Names carry no email.
		raw := mustCall(http.MethodGet, base+"/comments", "lead", "", 200)
		if containsAny(raw, other.Email, w.user["lead"].Email) {
			t.Errorf("an email is in the comments: %s", raw)
		}
	})
}

// Naming the people of a page costs the same statements for a page of one
// item as for a page of many: the names of a whole answer are looked up at once.
func TestEvidenceList_StatementsDoNotGrowWithThePage(t *testing.T) {
	t.Parallel()
	for _, dialect := range dialects {
		t.Run(dialect, func(t *testing.T) {
			w := seededWorld(t, dialect)
			n := countStatements(t, w.deps.DB)
			list := func() int64 {
				t.Helper()
				before := n.Load()
				if resp, body := w.call(t, http.MethodGet, "/api/v1/cases/"+w.caseID+"/evidence?limit=200", w.bearer["lead"], ""); resp.StatusCode != 200 {
					t.Fatalf("list: %d %s", resp.StatusCode, body)
				}
				return n.Load() - before
			}
			few := list()
			for i := range 20 {
				who := []string{"lead", "investigator", "analyst"}[i%3]
				if resp, body := w.call(t, http.MethodPost, "/api/v1/cases/"+w.caseID+"/evidence", w.bearer[who],
					fmt.Sprintf(`{"title":"Item %d","kind":"logs"}`, i)); resp.StatusCode != 201 {
					t.Fatalf("register: %d %s", resp.StatusCode, body)
				}
			}
			if many := list(); many != few {
				t.Errorf("listing the evidence ran %d statements for a few items, %d for many (N+1)", few, many)
			}
		})
	}
}

func mustDecode(t *testing.T, body string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(body), v); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
}

func containsAny(s string, subs ...string) bool {
	for _, sub := range subs {
		if sub != "" && strings.Contains(s, sub) {
			return true
		}
	}
	return false
}
