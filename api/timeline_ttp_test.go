package api

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/bevis-ir/bevis/access"
	"github.com/bevis-ir/bevis/cases"
)

// ttpTechniques lists the summary as tactic/technique=events.
func ttpTechniques(t *testing.T, body string) []string {
	t.Helper()
	var out []string
	for _, g := range decodeInto[ttpJSON](t, body).Tactics {
		tactic := "none"
		if g.ID != nil {
			tactic = *g.ID
		}
		for _, u := range g.Techniques {
			if u.Filter.Technique != u.ID {
				t.Errorf("%s links to the filter %+v", u.ID, u.Filter)
			}
			out = append(out, tactic+"/"+u.ID+"="+strconv.FormatInt(u.Events, 10))
		}
	}
	return out
}

// markedTimeline opens an AMBER case of the lead's, with the analyst and the
// outsider (of another agency) named on it, and adds three events marked
// AMBER, AMBER+STRICT and RED, each with the JSON fields fields(tlp) gives
// beside its time, description and marking (nil: none). It returns the
// case's ID and the events' IDs by marking.
func markedTimeline(t *testing.T, w *world, fields func(tlp string) string) (string, map[string]string) {
	t.Helper()
	ctx := context.Background()
	lead := w.principal(t, "lead")
	k, err := w.deps.Cases.Create(ctx, lead, cases.NewCase{Title: "Exfiltration", TLP: access.TLPAmber})
	if err != nil {
		t.Fatal(err)
	}
	namedFromOutside(t, w)
	for name, role := range map[string]access.CaseRole{"analyst": access.CaseAnalyst, "outsider": access.CaseObserver} {
		if _, err := w.deps.Membership.SetUser(ctx, lead, k.ID, w.user[name].ID, role); err != nil {
			t.Fatal(err)
		}
	}
	ids := map[string]string{}
	for _, tlp := range []string{"AMBER", "AMBER+STRICT", "RED"} {
		extra := ""
		if fields != nil {
			extra = ", " + fields(tlp)
		}
		resp, body := w.call(t, http.MethodPost, w.timeline(k.ID), w.bearer["lead"], `{"occurred_at": "2026-01-15T09:30:00Z",
			"description": "marked `+tlp+`", "tlp": "`+tlp+`"`+extra+`}`)
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("%s: %d %s", tlp, resp.StatusCode, body)
		}
		ids[tlp] = decodeInto[eventJSON](t, body).ID
	}
	return k.ID, ids
}

// checkSeenBy reads path as each person of sees and checks what parse makes
// of the answer against what they should see; nil: they are not on the
// case, and get a 404.
func checkSeenBy(t *testing.T, w *world, path string, sees map[string][]string, parse func(*testing.T, string) []string) {
	t.Helper()
	for who, want := range sees {
		resp, body := w.call(t, http.MethodGet, path, w.bearer[who], "")
		if want == nil {
			if resp.StatusCode != http.StatusNotFound {
				t.Errorf("%s reads %s of a case they are not on: %d", who, path, resp.StatusCode)
			}
			continue
		}
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d %s", who, resp.StatusCode, body)
		}
		if got := parse(t, body); !slices.Equal(got, want) {
			t.Errorf("%s reads %s: %v, want %v", who, path, got, want)
		}
	}
}

// TestTimelineAPI_TTPSummaryFollowsMembership: on an AMBER case, the
// technique of an event marked AMBER+STRICT or RED is in the summary only of
// those who may read the event, as the listing shows it.
func TestTimelineAPI_TTPSummaryFollowsMembership(t *testing.T) {
	t.Parallel()
	forEachDatabase(t, func(t *testing.T, w *world) {
		k, _ := markedTimeline(t, w, func(tlp string) string {
			technique := map[string]string{"AMBER": "T1566.001", "AMBER+STRICT": "T1199", "RED": "T1021.001"}[tlp]
			return `"tactics": ["TA0001"], "techniques": ["` + technique + `"]`
		})
		// investigator and observer: only through agency A; outsider: named,
		// but agency D is not a member; admin: not on the case.
		sees := map[string][]string{
			"lead":         {"TA0001/T1021.001=1", "TA0001/T1199=1", "TA0001/T1566.001=1"},
			"analyst":      {"TA0001/T1021.001=1", "TA0001/T1199=1", "TA0001/T1566.001=1"},
			"investigator": {"TA0001/T1566.001=1"},
			"observer":     {"TA0001/T1566.001=1"},
			"outsider":     {"TA0001/T1021.001=1", "TA0001/T1566.001=1"},
			"admin":        nil,
		}
		checkSeenBy(t, w, w.timeline(k)+"/ttp", sees, ttpTechniques)
	})
}

// TestTimelineAPI_TTPSummaryNamesTacticsAndRefusesParameters: the answer
// names Enterprise tactics in kill-chain order with first and last times,
// and a query parameter, which it does not take, is a 400 problem.
func TestTimelineAPI_TTPSummaryNamesTacticsAndRefusesParameters(t *testing.T) {
	t.Parallel()
	forEachDatabase(t, func(t *testing.T, w *world) {
		for _, ev := range []string{
			`{"occurred_at": "2026-01-14T08:00:00Z", "description": "exfiltration", "tactics": ["TA0010"], "techniques": ["T1048"]}`,
			`{"occurred_at": "2026-01-10T08:00:00Z", "occurred_until": "2026-01-10T09:15:00Z", "description": "phishing",
				"tactics": ["TA0001"], "techniques": ["T1566.001"]}`,
			`{"occurred_at": "2026-01-11T08:00:00Z", "description": "no tactic", "techniques": ["T1078"]}`,
		} {
			if resp, body := w.call(t, http.MethodPost, w.timeline(w.caseID), w.bearer["lead"], ev); resp.StatusCode != http.StatusCreated {
				t.Fatalf("add: %d %s", resp.StatusCode, body)
			}
		}
		resp, body := w.call(t, http.MethodGet, w.timeline(w.caseID)+"/ttp", w.bearer["observer"], "")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
		got := decodeInto[ttpJSON](t, body)
		var names []string
		for _, g := range got.Tactics {
			name := "null"
			if g.Name != nil {
				name = *g.Name
			}
			names = append(names, name)
		}
		if strings.Join(names, ",") != "Initial Access,Exfiltration,null" || got.Truncated {
			t.Errorf("tactics %v (truncated %v): %s", names, got.Truncated, body)
		}
		if phish := got.Tactics[0].Techniques[0]; phish.ID != "T1566.001" || phish.FirstSeen != "2026-01-10T08:00:00Z" ||
			phish.LastSeen != "2026-01-10T09:15:00Z" {
			t.Errorf("phishing: %+v", phish)
		}
		for _, query := range []string{"?technique=T1078", "?from=2026-01-01T00:00:00Z"} {
			resp, body := w.call(t, http.MethodGet, w.timeline(w.caseID)+"/ttp"+query, w.bearer["observer"], "")
			if resp.StatusCode != http.StatusBadRequest || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/problem+json") {
				t.Errorf("%s: %d %s", query, resp.StatusCode, body)
			}
		}
	})
}
