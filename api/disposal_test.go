package api

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/bevis-ir/bevis/access"
)

// Ending what a case keeps is the lead's: a writer sets a legal hold, only
// a lead releases it; one lead proposes a disposal and another person with
// the right (another lead) confirms it, never the proposer. Both steps are
// on the custody record.
func TestDisposal_LeadReleasesHoldsAndDisposalTakesTwoLeads(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, w *world) {
		later := time.Now().Add(48 * time.Hour) // past the fixture's 24-hour retention
		w.deps.Items.SetClock(func() time.Time { return later })
		path := "/api/v1/evidence/" + w.evidenceID + "/custody"
		step := func(who, body string, status int, code string) {
			t.Helper()
			resp, out := w.call(t, http.MethodPost, path, w.bearer[who], body)
			var p problem
			_ = json.Unmarshal([]byte(out), &p)
			if resp.StatusCode != status || (code != "" && p.Code != code) {
				t.Fatalf("%s records %s: %d %s, want %d %s", who, body, resp.StatusCode, out, status, code)
			}
		}
		step("investigator", `{"type":"legal_hold_set","details":{"legal_basis":"Court order 2026-77"}}`, 201, "")
		step("investigator", `{"type":"legal_hold_released","details":{"authority_reference":"PPS-1"}}`, 403, "forbidden")
		step("lead", `{"type":"legal_hold_released","details":{"authority_reference":"PPS-1"}}`, 201, "")

		step("investigator", `{"type":"disposal_proposed","details":{"authority_reference":"PPS-2"}}`, 403, "forbidden")
		step("investigator", `{"type":"disposed","details":{"authority_reference":"PPS-2"}}`, 403, "forbidden")
		step("lead", `{"type":"disposed","details":{"authority_reference":"PPS-2"}}`, 409, "conflict") // nothing proposed
		step("lead", `{"type":"disposal_proposed"}`, 400, "invalid_input")                             // no reference
		step("lead", `{"type":"disposal_proposed","details":{"authority_reference":"PPS-2"}}`, 201, "")
		step("lead", `{"type":"disposal_proposed","details":{"authority_reference":"PPS-3"}}`, 409, "conflict")
		step("lead", `{"type":"disposed"}`, 403, "self_confirmation")
		// The case gets a second lead, who confirms.
		if _, err := w.deps.Membership.SetUser(t.Context(), w.principal(t, "lead"), w.caseID, w.user["investigator"].ID, access.CaseLead); err != nil {
			t.Fatal(err)
		}
		step("investigator", `{"type":"disposed","details":{"authority_reference":"PPS-9"}}`, 409, "conflict") // not the proposal's
		step("investigator", `{"type":"disposed","notes":"shredded"}`, 201, "")

		_, body := w.call(t, http.MethodGet, path, w.bearer["lead"], "")
		var c custodyJSON
		if err := json.Unmarshal([]byte(body), &c); err != nil {
			t.Fatal(err)
		}
		n := len(c.Events)
		if n < 2 || c.State.Final != "disposed" {
			t.Fatalf("custody after disposal: %s", body)
		}
		proposed, confirmed := c.Events[n-2], c.Events[n-1]
		if proposed.Type != "disposal_proposed" || proposed.ActorUserID != w.user["lead"].ID ||
			confirmed.Type != "disposed" || confirmed.ActorUserID != w.user["investigator"].ID ||
			confirmed.Details.AuthorityReference != "PPS-2" {
			t.Errorf("the record of the disposal: %+v then %+v", proposed, confirmed)
		}
		if c.State.DisposalProposedBy != "" {
			t.Errorf("a disposed item still shows a proposal: %+v", c.State)
		}
	})
}

// A proposal can be withdrawn by a lead; a withdrawn one cannot be confirmed.
func TestDisposal_AWithdrawnProposalCannotBeConfirmed(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, w *world) {
		w.deps.Items.SetClock(func() time.Time { return time.Now().Add(48 * time.Hour) })
		if _, err := w.deps.Membership.SetUser(t.Context(), w.principal(t, "lead"), w.caseID, w.user["investigator"].ID, access.CaseLead); err != nil {
			t.Fatal(err)
		}
		path := "/api/v1/evidence/" + w.evidenceID + "/custody"
		for _, s := range []struct {
			who, body string
			status    int
		}{
			{"lead", `{"type":"disposal_withdrawn","details":{"reason":"nothing to withdraw"}}`, 409},
			{"lead", `{"type":"disposal_proposed","details":{"authority_reference":"PPS-2"}}`, 201},
			{"analyst", `{"type":"disposal_withdrawn","details":{"reason":"not mine"}}`, 403},
			{"investigator", `{"type":"disposal_withdrawn"}`, 400}, // say why
			{"investigator", `{"type":"disposal_withdrawn","details":{"reason":"the prosecutor wants it kept"}}`, 201},
			{"investigator", `{"type":"disposed"}`, 409},
		} {
			if resp, body := w.call(t, http.MethodPost, path, w.bearer[s.who], s.body); resp.StatusCode != s.status {
				t.Fatalf("%s records %s: %d %s, want %d", s.who, s.body, resp.StatusCode, body, s.status)
			}
		}
	})
}
