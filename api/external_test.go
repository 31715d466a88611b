package api

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// custodyStep records a custody step on an item as who and returns the
// status and the answer.
func (w *world) custodyStep(t *testing.T, who, itemID, body string) (int, string) {
	t.Helper()
	resp, out := w.call(t, http.MethodPost, "/api/v1/evidence/"+itemID+"/custody", w.bearer[who], body)
	return resp.StatusCode, out
}

func (w *world) custody(t *testing.T, itemID string) custodyJSON {
	t.Helper()
	_, body := w.call(t, http.MethodGet, "/api/v1/evidence/"+itemID+"/custody", w.bearer["lead"], "")
	var c custodyJSON
	if err := json.Unmarshal([]byte(body), &c); err != nil {
		t.Fatal(err)
	}
	return c
}

const toLab = `{"type":"released","counterparty_external":"Dr. Eva Lund","identity_check":"passport checked",` +
	`"details":{"organisation":"National Forensic Centre","reference":"NFC-2026-117"%s}}`

// An item released to a laboratory is out: nothing else happens to it
// until it returns, sealed as it left, and its chain verifies across the
// round trip. A digital copy sent out leaves the original as it was.
func TestExternalCustody_ReleaseAndReturnWithTheSealCheckedAndContentReHashed(t *testing.T) {
	t.Parallel()
	forEachDatabase(t, func(t *testing.T, w *world) {
		id := w.evidenceID
		if st, out := w.custodyStep(t, "lead", id, `{"type":"seal_applied","details":{"seal_number":"S-100"}}`); st != 201 {
			t.Fatalf("seal: %d %s", st, out)
		}
		if st, out := w.custodyStep(t, "lead", id, `{"type":"released","counterparty_external":"Dr. Eva Lund","identity_check":"passport"}`); st != 400 ||
			!strings.Contains(out, "details.organisation") {
			t.Errorf("a release to nobody's organisation: %d %s", st, out)
		}
		if st, out := w.custodyStep(t, "lead", id, strings.Replace(toLab, "%s", `,"due_back":"2099-01-31"`, 1)); st != 201 {
			t.Fatalf("release: %d %s", st, out)
		}
		c := w.custody(t, id)
		if o := c.State.Out; o == nil || o.Name != "Dr. Eva Lund" || o.Organisation != "National Forensic Centre" ||
			o.Reference != "NFC-2026-117" || o.DueBack != "2099-01-31" || o.Overdue || c.State.Final != "" {
			t.Fatalf("state while out: %+v", c.State)
		}
		for _, body := range []string{
			`{"type":"transfer_offered","counterparty_agency_id":"` + w.agency["B"].ID + `"}`,
			`{"type":"seal_broken","details":{"seal_number":"S-100","reason":"look"}}`,
			`{"type":"checked_out","purpose":"imaging"}`,
			`{"type":"disposal_proposed","details":{"authority_reference":"PPS-1"}}`,
			`{"type":"location_changed","location":"Room 9"}`,
			strings.Replace(toLab, "%s", "", 1),
		} {
			if st, out := w.custodyStep(t, "lead", id, body); st != 409 {
				t.Errorf("while out, %s: %d %s", body, st, out)
			}
		}
		ret := `{"type":"returned","counterparty_external":"Dr. Eva Lund","identity_check":"passport","location":"Evidence room 1"%s}`
		if st, out := w.custodyStep(t, "lead", id, strings.Replace(ret, "%s", "", 1)); st != 400 || !strings.Contains(out, "seal_intact") {
			t.Errorf("a return that does not say how the seal came back: %d %s", st, out)
		}
		if st, out := w.custodyStep(t, "lead", id, strings.Replace(ret, "%s", `,"details":{"seal_intact":true}`, 1)); st != 201 {
			t.Fatalf("return: %d %s", st, out)
		}
		c = w.custody(t, id)
		last := c.Events[len(c.Events)-1]
		if c.State.Out != nil || !c.State.Sealed || c.State.SealNumber != "S-100" || c.State.ReturnProblem != "" ||
			last.Details.SealNumber != "S-100" || last.Details.SealIntact == nil || !*last.Details.SealIntact {
			t.Errorf("after the return: %+v, %+v", c.State, last)
		}
		if st, out := w.custodyStep(t, "lead", id, strings.Replace(ret, "%s", `,"details":{"seal_intact":true}`, 1)); st != 409 {
			t.Errorf("a second return: %d %s", st, out)
		}
		if st, out := w.custodyStep(t, "lead", id, `{"type":"location_changed","location":"Room 2"}`); st != 201 {
			t.Errorf("back, the item is in custody again: %d %s", st, out)
		}
		if err := w.deps.Items.VerifyItem(t.Context(), id); err != nil {
			t.Errorf("the chain across the round trip: %v", err)
		}

		// Content: a copy goes out and the item stays; the item itself
		// goes out, and comes back re-hashed.
		cid := w.contentID
		if st, out := w.custodyStep(t, "lead", cid, strings.Replace(toLab, "%s", `,"copy":true`, 1)); st != 201 {
			t.Fatalf("copy out: %d %s", st, out)
		}
		if c := w.custody(t, cid); c.State.Out != nil || c.Events[len(c.Events)-1].Details.Copy != true {
			t.Errorf("a copy out moved the original: %+v", c.State)
		}
		if st, out := w.custodyStep(t, "lead", cid, strings.Replace(toLab, "%s", "", 1)); st != 201 {
			t.Fatalf("release: %d %s", st, out)
		}
		if st, out := w.custodyStep(t, "lead", cid, strings.Replace(ret, "%s", "", 1)); st != 201 {
			t.Fatalf("return: %d %s", st, out)
		}
		c = w.custody(t, cid)
		if n := len(c.Events); c.Events[n-2].Type != "returned" || c.Events[n-1].Type != "verified" ||
			c.Events[n-1].Details.Result != "ok" || c.Events[n-1].ActorUserID != w.user["lead"].ID {
			t.Errorf("the content is not re-hashed on return: %+v", c.Events[n-2:])
		}
		if err := w.deps.Items.VerifyItem(t.Context(), cid); err != nil {
			t.Errorf("the chain across the round trip: %v", err)
		}
		if st, out := w.custodyStep(t, "lead", w.evidenceID, strings.Replace(toLab, "%s", `,"copy":true`, 1)); st != 400 {
			t.Errorf("a copy of a physical item: %d %s", st, out)
		}
	})
}

// A seal that comes back broken is on the record, flags the item and
// raises an alert; the item is kept.
func TestExternalCustody_AReturnWithABrokenSealIsRecordedFlaggedAndKept(t *testing.T) {
	t.Parallel()
	forEachDatabase(t, func(t *testing.T, w *world) {
		id := w.evidenceID
		for _, body := range []string{`{"type":"seal_applied","details":{"seal_number":"S-200"}}`, strings.Replace(toLab, "%s", "", 1),
			`{"type":"returned","counterparty_external":"Dr. Eva Lund","identity_check":"passport","details":{"seal_intact":false}}`} {
			if st, out := w.custodyStep(t, "lead", id, body); st != 201 {
				t.Fatalf("%s: %d %s", body, st, out)
			}
		}
		c := w.custody(t, id)
		if c.State.Sealed || !c.State.SealBroken || !strings.Contains(c.State.ReturnProblem, "S-200") || c.State.Final != "" {
			t.Errorf("after a return with a broken seal: %+v", c.State)
		}
		var found bool
		for deadline := time.Now().Add(5 * time.Second); !found && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			for _, a := range w.integrityAlerts(t, "lead") {
				found = found || strings.Contains(a.Note, "S-200")
			}
		}
		if !found {
			t.Error("no integrity alert for the broken seal")
		}
		// Kept, and resealed like any broken seal.
		if st, out := w.custodyStep(t, "lead", id, `{"type":"resealed","details":{"seal_number":"S-201"}}`); st != 201 {
			t.Errorf("reseal: %d %s", st, out)
		}
		if _, err := w.deps.Items.Item(t.Context(), id); err != nil {
			t.Error(err)
		}
	})
}

// A return that never comes shows as overdue in the case's list of items.
func TestExternalCustody_AReturnThatNeverComesIsOverdueInTheCase(t *testing.T) {
	t.Parallel()
	forEachDatabase(t, func(t *testing.T, w *world) {
		past := time.Now().AddDate(0, 0, -30).UTC()
		due := time.Now().AddDate(0, 0, -10).UTC().Format(time.DateOnly)
		body := `{"type":"released","counterparty_external":"Judge Berg","identity_check":"court ID","occurred_at":"` +
			past.Format(time.RFC3339) + `","details":{"organisation":"Oslo District Court","reference":"22-1234","due_back":"` + due + `"}}`
		if st, out := w.custodyStep(t, "lead", w.evidenceID, body); st != 201 {
			t.Fatalf("release: %d %s", st, out)
		}
		if st, out := w.custodyStep(t, "lead", w.evidenceID, strings.Replace(body, due, "31-01-2026", 1)); st != 400 {
			t.Errorf("a malformed return date: %d %s", st, out)
		}
		_, out := w.call(t, http.MethodGet, "/api/v1/cases/"+w.caseID+"/evidence?limit=100", w.bearer["observer"], "")
		var page pageJSON[itemJSON]
		if err := json.Unmarshal([]byte(out), &page); err != nil {
			t.Fatal(err)
		}
		for _, it := range page.Items {
			overdue := it.Custody.Out != nil && it.Custody.Out.Overdue
			if overdue != (it.ID == w.evidenceID) {
				t.Errorf("%s overdue: %v (%+v)", it.ExhibitNumber, overdue, it.Custody.Out)
			}
		}
	})
}
