package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/bevis-ir/bevis/access"
	"github.com/bevis-ir/bevis/evidence"
)

// Ending what a case keeps is the lead's: a writer sets a legal hold, only
// a lead releases it; one lead proposes a disposal and another person with
// the right (another lead) confirms it, never the proposer. Both steps are
// on the custody record.
func TestDisposal_LeadReleasesHoldsAndDisposalTakesTwoLeads(t *testing.T) {
	t.Parallel()
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
	t.Parallel()
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

// Disposal ends access: the content of a disposed item is gone (410, the
// attempt on the record), the object is deleted once the store's retention
// allows and the deletion is on the custody record, and the record stays.
func TestDisposal_EndsAccessAndDeletesTheObjectOnceRetentionAllows(t *testing.T) {
	t.Parallel()
	forEachDatabase(t, func(t *testing.T, w *world) {
		runSequencer(t, w)
		w.deps.Items.SetClock(func() time.Time { return time.Now().Add(48 * time.Hour) })
		if _, err := w.deps.Membership.SetUser(t.Context(), w.principal(t, "lead"), w.caseID, w.user["investigator"].ID, access.CaseLead); err != nil {
			t.Fatal(err)
		}
		id := w.contentID
		for who, body := range map[string]string{"lead": `{"type":"disposal_proposed","details":{"authority_reference":"PPS-7"}}`} {
			if st, out := w.custodyStep(t, who, id, body); st != 201 {
				t.Fatalf("propose: %d %s", st, out)
			}
		}
		if resp, _ := w.call(t, http.MethodGet, "/api/v1/evidence/"+id+"/content", w.bearer["analyst"], ""); resp.StatusCode != 200 {
			t.Fatalf("proposed, not yet disposed: %d", resp.StatusCode)
		}
		if st, out := w.custodyStep(t, "investigator", id, `{"type":"disposed","notes":"court order 2026-3"}`); st != 201 {
			t.Fatalf("confirm: %d %s", st, out)
		}
		it, err := w.deps.Items.Item(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		// Within the store's retention (an hour): the object stays for now.
		if _, err := w.store.Stat(t.Context(), it.ObjectKey, it.ObjectVersion); err != nil {
			t.Fatalf("the object went before its retention passed: %v", err)
		}
		resp, body := w.call(t, http.MethodGet, "/api/v1/evidence/"+id+"/content", w.bearer["analyst"], "")
		var p problem
		_ = json.Unmarshal([]byte(body), &p)
		if resp.StatusCode != 410 || p.Code != "disposed" {
			t.Errorf("download of a disposed item: %d %s", resp.StatusCode, body)
		}
		if entries := w.downloadEntries(t, id, 2); len(entries) < 2 || entries[len(entries)-1].Outcome != "failed" ||
			entries[len(entries)-1].UserID != w.user["analyst"].ID {
			t.Errorf("the refused download is not on the record: %+v", entries)
		}
		if resp, body := w.call(t, http.MethodPost, "/api/v1/evidence/"+id+"/verify", w.bearer["lead"], ""); resp.StatusCode != 410 {
			t.Errorf("verification of a disposed item: %d %s", resp.StatusCode, body)
		}

		// The retention runs out; the scheduled round deletes the object.
		if err := w.store.SetRetention(t.Context(), it.ObjectKey, it.ObjectVersion,
			evidence.Retention{Mode: evidence.Governance, Until: time.Now().Add(time.Second)}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2100 * time.Millisecond) // the store rounds retention up to the second
		if n, err := w.deps.Content.SweepDisposed(t.Context(), 10); err != nil || n != 1 {
			t.Fatalf("sweep: %d %v", n, err)
		}
		if _, err := w.store.Versions(t.Context(), it.ObjectKey); !errors.Is(err, evidence.ErrObjectNotFound) {
			t.Errorf("the object after its retention: %v", err)
		}
		c := w.custody(t, id)
		last := c.Events[len(c.Events)-1]
		if !c.State.ContentDeleted || last.Type != "content_deleted" || last.Details.ObjectKey != it.ObjectKey ||
			last.Details.ObjectVersion != it.ObjectVersion {
			t.Errorf("the deletion on the record: %+v %+v", c.State, last)
		}
		if resp, _ := w.call(t, http.MethodGet, "/api/v1/evidence/"+id, w.bearer["analyst"], ""); resp.StatusCode != 200 {
			t.Errorf("the record of a disposed item: %d", resp.StatusCode)
		}
		if resp, _ := w.call(t, http.MethodGet, "/api/v1/evidence/"+id+"/content", w.bearer["analyst"], ""); resp.StatusCode != 410 {
			t.Errorf("download after deletion: %d", resp.StatusCode)
		}
		if err := w.deps.Items.VerifyItem(t.Context(), id); err != nil {
			t.Errorf("the chain after deletion: %v", err)
		}
	})
}
