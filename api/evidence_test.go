package api

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/bevis-ir/bevis/access"
)

func decodeItem(t *testing.T, body string) itemJSON {
	t.Helper()
	var it itemJSON
	if err := json.Unmarshal([]byte(body), &it); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	return it
}

func TestEvidence_HandoverBetweenAgenciesThroughTheAPI(t *testing.T) {
	t.Parallel()
	forEachDatabase(t, func(t *testing.T, w *world) {
		// Agency B joins the case, so its people can take the item.
		if _, err := w.deps.Membership.SetAgency(t.Context(), w.principal(t, "lead"), w.caseID, w.agency["B"].ID, access.CaseInvestigator); err != nil {
			t.Fatal(err)
		}
		resp, body := w.call(t, http.MethodPost, "/api/v1/cases/"+w.caseID+"/evidence", w.bearer["investigator"],
			`{"title":"Mail server disk","kind":"disk_image","declared_hashes":{"sha256":"E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855"},"location":"Lab A"}`)
		if resp.StatusCode != 201 {
			t.Fatalf("register: %d %s", resp.StatusCode, body)
		}
		it := decodeItem(t, body)
		if !strings.HasSuffix(it.ExhibitNumber, "-E004") || it.Custody == nil || it.Custody.CustodianAgencyID != w.agency["A"].ID ||
			it.DeclaredHashes.SHA256[:4] != "e3b0" || it.ContentStatus != "none" || it.Hashes != nil {
			t.Fatalf("registered item: %s", body)
		}
		custody := "/api/v1/evidence/" + it.ID + "/custody"
		steps := []struct {
			who, body string
			status    int
		}{
			{"other_agency", `{"type":"transfer_accepted"}`, 409}, // nothing offered yet
			{"investigator", `{"type":"transfer_offered","counterparty_agency_id":"` + w.agency["B"].ID + `","purpose":"imaging"}`, 201},
			{"analyst", `{"type":"checked_out","purpose":"look"}`, 409}, // offered: no check-out now
			{"other_agency", `{"type":"transfer_accepted","location":"Lab B"}`, 201},
			{"investigator", `{"type":"location_changed","location":"Lab A"}`, 409}, // A no longer holds it
			{"other_agency", `{"type":"checked_out","purpose":"imaging"}`, 201},
			{"other_agency", `{"type":"checked_in"}`, 201},
		}
		for i, st := range steps {
			resp, body := w.call(t, http.MethodPost, custody, w.bearer[st.who], st.body)
			if resp.StatusCode != st.status {
				t.Fatalf("step %d as %s: %d, want %d: %s", i, st.who, resp.StatusCode, st.status, body)
			}
		}
		_, body = w.call(t, http.MethodGet, custody, w.bearer["observer"], "")
		var c custodyJSON
		if err := json.Unmarshal([]byte(body), &c); err != nil {
			t.Fatal(err)
		}
		if len(c.Events) != 5 || c.State.CustodianAgencyID != w.agency["B"].ID || c.State.Location != "Lab B" || c.State.CheckedOutBy != "" {
			t.Errorf("custody: %s", body)
		}
		for i := 1; i < len(c.Events); i++ {
			if c.Events[i].PrevHash != c.Events[i-1].Hash || c.Events[i].Seq != i+1 {
				t.Errorf("event %d does not chain to the one before", i+1)
			}
		}
		if err := w.deps.Items.VerifyItem(t.Context(), it.ID); err != nil {
			t.Error(err)
		}
	})
}

func TestEvidence_ItemsMarkedBeyondTheCallersClearanceAreNotFound(t *testing.T) {
	t.Parallel()
	forEachDatabase(t, func(t *testing.T, w *world) {
		// The investigator is named on the case; agency A's admin sees it
		// only through A's membership, which does not reach RED.
		resp, body := w.call(t, http.MethodPost, "/api/v1/cases/"+w.caseID+"/evidence", w.bearer["investigator"],
			`{"title":"Informant statement","kind":"document","tlp":"RED"}`)
		if resp.StatusCode != 201 {
			t.Fatalf("register: %d %s", resp.StatusCode, body)
		}
		red := decodeItem(t, body)
		if resp, _ := w.call(t, http.MethodGet, "/api/v1/evidence/"+red.ID, w.bearer["agency_admin"], ""); resp.StatusCode != 404 {
			t.Errorf("RED item for an agency-wide member: %d, want 404", resp.StatusCode)
		}
		if _, list := w.call(t, http.MethodGet, "/api/v1/cases/"+w.caseID+"/evidence", w.bearer["agency_admin"], ""); strings.Contains(list, red.ID) ||
			!strings.Contains(list, w.evidenceID) {
			t.Errorf("agency-wide member's list: %s", list)
		}
		if _, list := w.call(t, http.MethodGet, "/api/v1/cases/"+w.caseID+"/evidence", w.bearer["observer"], ""); !strings.Contains(list, red.ID) {
			t.Errorf("a named member's list lacks the RED item: %s", list)
		}
		resp, body = w.call(t, http.MethodPost, "/api/v1/cases/"+w.caseID+"/evidence", w.bearer["agency_admin"], `{"title":"x","kind":"logs","tlp":"RED"}`)
		if resp.StatusCode != 400 {
			t.Errorf("registering beyond one's clearance: %d %s", resp.StatusCode, body)
		}
	})
}

func TestEvidence_ServerOwnedFieldsAndBevisOwnStepsCannotBeSent(t *testing.T) {
	t.Parallel()
	forEachDatabase(t, func(t *testing.T, w *world) {
		register := "/api/v1/cases/" + w.caseID + "/evidence"
		custody := "/api/v1/evidence/" + w.evidenceID + "/custody"
		tests := []struct{ path, body string }{
			{register, `{"title":"x","kind":"logs","exhibit_number":"BEV-1-E999"}`},
			{register, `{"title":"x","kind":"logs","id":"x"}`},
			{register, `{"title":"x","kind":"logs","hashes":{"sha256":"00"}}`},
			{register, `{"title":"x","kind":"logs","content_status":"received"}`},
			{register, `{"title":"x","kind":"logs","created_by":"x"}`},
			{custody, `{"type":"received"}`},
			{custody, `{"type":"verified"}`},
			{custody, `{"type":"location_changed","location":"x","details":{"result":"ok"}}`},
			{custody, `{"type":"location_changed","location":"x","hash":"00"}`},
			{custody, `{"type":"location_changed","location":"x","actor_agency_id":"x"}`},
		}
		for _, tt := range tests {
			if resp, body := w.call(t, http.MethodPost, tt.path, w.bearer["lead"], tt.body); resp.StatusCode != 400 {
				t.Errorf("%s: %d %s", tt.body, resp.StatusCode, body)
			}
		}
		_, body := w.call(t, http.MethodGet, custody, w.bearer["lead"], "")
		if strings.Count(body, `"seq"`) != 1 {
			t.Errorf("refused steps were recorded: %s", body)
		}
		_, list := w.call(t, http.MethodGet, register, w.bearer["lead"], "")
		if strings.Count(list, `"exhibit_number"`) != 3 { // the fixture's items
			t.Errorf("refused items were registered: %s", list)
		}
	})
}
