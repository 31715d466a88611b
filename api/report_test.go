package api

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

func (w *world) report(t *testing.T, who, path string) reportJSON {
	t.Helper()
	resp, body := w.call(t, http.MethodGet, path, w.bearer[who], "")
	var r reportJSON
	if err := json.Unmarshal([]byte(body), &r); err != nil || resp.StatusCode != 200 {
		t.Fatalf("%s reads %s: %d %s", who, path, resp.StatusCode, body)
	}
	return r
}

// The custody report names people and agencies with their IDs, sets the
// declared hashes beside the computed ones by algorithm, lists the seals,
// the events with who handed and who received, the chain head and the
// verification history; printed, it is A4 with page numbers and its
// marking on every page.
func TestCustodyReport_IsWhatACourtReads(t *testing.T) {
	t.Parallel()
	forEachDatabase(t, func(t *testing.T, w *world) {
		id := w.evidenceID
		for _, body := range []string{`{"type":"seal_applied","details":{"seal_number":"S-300"}}`,
			`{"type":"seal_broken","details":{"seal_number":"S-300","reason":"court-ordered examination"}}`,
			`{"type":"resealed","details":{"seal_number":"S-301"}}`,
			`{"type":"transfer_offered","counterparty_agency_id":"` + w.agency["B"].ID + `","purpose":"examination"}`} {
			if st, out := w.custodyStep(t, "lead", id, body); st != 201 {
				t.Fatalf("%s: %d %s", body, st, out)
			}
		}
		if resp, body := w.call(t, http.MethodPost, "/api/v1/evidence/"+w.contentID+"/verify", w.bearer["lead"], ""); resp.StatusCode != 200 {
			t.Fatalf("verify: %d %s", resp.StatusCode, body)
		}

		r := w.report(t, "observer", "/api/v1/evidence/"+id+"/report")
		if r.Format != "bevis-custody-report-v1" || len(r.Items) != 1 || r.TLP != "AMBER" || r.HowToVerify == "" ||
			!strings.Contains(r.HowToVerify, "verify-manifest") {
			t.Fatalf("report: %+v", r)
		}
		it := r.Items[0]
		if lead := r.People[w.user["lead"].ID]; lead.Name != "lead" || r.Agencies[w.agency["A"].ID].Name != "Agency A" ||
			r.Agencies[w.agency["B"].ID].Name == "" {
			t.Errorf("names: %+v %+v", r.People, r.Agencies)
		}
		if len(it.Seals) != 2 || it.Seals[0].Number != "S-300" || it.Seals[0].BrokenAt == nil ||
			it.Seals[0].Reason != "court-ordered examination" || it.Seals[1].Number != "S-301" || it.Seals[1].BrokenAt != nil {
			t.Errorf("seals: %+v", it.Seals)
		}
		evs := it.Custody.Events
		if !it.Chain.Verifies || it.Chain.Events != len(evs) || it.Chain.Head != evs[len(evs)-1].Hash {
			t.Errorf("chain: %+v", it.Chain)
		}
		if offer := evs[len(evs)-1]; offer.ActorUserID != w.user["lead"].ID || offer.CounterpartyAgencyID != w.agency["B"].ID {
			t.Errorf("who handed and who received: %+v", offer)
		}

		c := w.report(t, "lead", "/api/v1/evidence/"+w.contentID+"/report").Items[0]
		if len(c.Hashes) != 3 || c.Hashes[0].Algorithm != "SHA-256" || c.Hashes[2].Algorithm != "MD5" ||
			len(c.Hashes[2].Computed) != 32 || len(c.Verifications) != 1 || c.Verifications[0].Result != "ok" ||
			c.Verifications[0].By != w.user["lead"].ID {
			t.Errorf("hashes and verifications: %+v %+v", c.Hashes, c.Verifications)
		}

		resp, html := w.call(t, http.MethodGet, "/api/v1/evidence/"+id+"/report?format=html", w.bearer["observer"], "")
		for _, want := range []string{"size:A4", "counter(page)", `@top-center{content:"TLP:AMBER"`, `TLP:AMBER \2014  page`,
			"lead (" + w.user["lead"].ID + ")", "Agency B (" + w.agency["B"].ID + ")", "S-301", it.Chain.Head, "verify-manifest"} {
			if !strings.Contains(html, want) {
				t.Errorf("the printable report lacks %q", want)
			}
		}
		if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "style-src 'sha256-") {
			t.Errorf("HTML report: %d %v", resp.StatusCode, resp.Header)
		}
		if resp, _ := w.call(t, http.MethodGet, "/api/v1/evidence/"+id+"/report?format=pdf", w.bearer["observer"], ""); resp.StatusCode != 400 {
			t.Errorf("an unknown format: %d", resp.StatusCode)
		}

		// The case's report holds every item the reader may see, marked as
		// the highest of them.
		redID, _ := hiddenItem(t, w)
		all := w.report(t, "lead", "/api/v1/cases/"+w.caseID+"/evidence/report")
		seen := w.report(t, "spare", "/api/v1/cases/"+w.caseID+"/evidence/report")
		if all.TLP != "RED" || seen.TLP != "AMBER" || len(all.Items) != len(seen.Items)+1 {
			t.Errorf("case reports: lead %s %d items, spare %s %d items", all.TLP, len(all.Items), seen.TLP, len(seen.Items))
		}
		for _, it := range seen.Items {
			if it.Item.ID == redID {
				t.Error("the case report shows spare a RED item")
			}
		}
	})
}

// An item whose MD5, size or exhibit number was edited in the database is
// named by the report's verdict (and so by the API's verification).
func TestCustodyReport_NamesAnItemEditedInTheDatabase(t *testing.T) {
	t.Parallel()
	forEachDatabase(t, func(t *testing.T, w *world) {
		unguard := "DROP TRIGGER evidence_items_identity_fixed ON evidence_items"
		if w.deps.DB.Dialector.Name() == "sqlite" {
			unguard = "DROP TRIGGER evidence_items_identity_fixed"
		}
		if err := w.deps.DB.Exec(unguard).Error; err != nil {
			t.Fatal(err)
		}
		k, err := w.deps.Cases.Get(t.Context(), w.caseID)
		if err != nil {
			t.Fatal(err)
		}
		for field, stmt := range map[string]string{
			"MD5":            "UPDATE evidence_items SET md5 = 'ffffffffffffffffffffffffffffffff' WHERE id = ?",
			"size":           "UPDATE evidence_items SET size = 1 WHERE id = ?",
			"exhibit number": "UPDATE evidence_items SET exhibit_number = exhibit_number || 'X' WHERE id = ?",
		} {
			it := w.uploadContent(t, w.principal(t, "lead"), k.Reference, "Proxy logs "+field, "GET /payload 200\n")
			if err := w.deps.DB.Exec(stmt, it.ID).Error; err != nil {
				t.Fatal(err)
			}
			v := w.report(t, "lead", "/api/v1/evidence/"+it.ID+"/report").Items[0].Chain
			if v.Verifies || !strings.Contains(v.Problem, "its "+field+" is") || !strings.Contains(v.Problem, it.ID) {
				t.Errorf("after editing the %s: %+v", field, v)
			}
		}
	})
}
