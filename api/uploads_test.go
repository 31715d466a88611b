package api

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// A writer cannot hold the case's quota with uploads nobody finishes: the
// lead sees every unfinished upload of the case, and discards another
// person's once it is stale, never while it is in progress. Nobody else
// may, and starting an upload does not discard a colleague's.
func TestUploads_LeadDiscardsOthersStaleUploadsOnly(t *testing.T) {
	t.Parallel()
	forEachDatabase(t, func(t *testing.T, w *world) {
		tus := []string{"Tus-Resumable", "1.0.0"}
		it := w.registerItem(t, `{"title":"Mail server disk","kind":"disk_image"}`) // as the investigator
		resp, body := w.call(t, http.MethodPost, "/api/v1/evidence/"+it.ID+"/uploads", w.bearer["investigator"], "",
			append([]string{"Upload-Length", "1073741824"}, tus...)...)
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("investigator declares 1 GiB: %d %s", resp.StatusCode, body)
		}
		upload := resp.Header.Get("Location")
		id := upload[strings.LastIndex(upload, "/")+1:]

		// A colleague starting an upload of the same item does not discard it.
		resp, body = w.call(t, http.MethodPost, "/api/v1/evidence/"+it.ID+"/uploads", w.bearer["analyst"], "",
			append([]string{"Upload-Length", "10"}, tus...)...)
		if p := decodeProblem(t, resp, body); resp.StatusCode != http.StatusConflict || p.Code != "upload_in_progress" {
			t.Errorf("analyst starts over the investigator's upload: %d %s", resp.StatusCode, body)
		}
		if resp, _ := w.call(t, http.MethodHead, upload, w.bearer["investigator"], "", tus...); resp.StatusCode != http.StatusOK {
			t.Errorf("the investigator's upload after the colleague's try: %d, want 200", resp.StatusCode)
		}

		list := func(who string) []uploadJSON {
			t.Helper()
			resp, body := w.call(t, http.MethodGet, "/api/v1/cases/"+w.caseID+"/uploads", w.bearer[who], "")
			var out struct{ Items []uploadJSON }
			if resp.StatusCode != http.StatusOK || json.Unmarshal([]byte(body), &out) != nil {
				t.Fatalf("%s lists uploads: %d %s", who, resp.StatusCode, body)
			}
			return out.Items
		}
		lead := list("lead") // the fixture's own upload, and the investigator's
		if len(lead) != 2 || lead[1].ID != id || lead[1].CreatedBy != w.user["investigator"].ID || lead[1].Stale ||
			lead[1].QuotaHeld >= 1<<30 || lead[1].QuotaHeld <= 0 {
			t.Fatalf("the lead's list: %+v", lead)
		}
		if mine := list("investigator"); len(mine) != 1 || mine[0].ID != id {
			t.Errorf("the investigator's list: %+v", mine)
		}
		if theirs := list("analyst"); len(theirs) != 0 {
			t.Errorf("the analyst's list: %+v", theirs)
		}

		del := func(who string) (int, string) {
			resp, body := w.call(t, http.MethodDelete, upload, w.bearer[who], "", tus...)
			var p problem
			_ = json.Unmarshal([]byte(body), &p)
			return resp.StatusCode, p.Code
		}
		if status, code := del("lead"); status != http.StatusConflict || code != "upload_in_progress" {
			t.Errorf("the lead discards an upload in progress: %d %s, want 409 upload_in_progress", status, code)
		}
		// An hour without a byte.
		past := time.Now().Add(-2 * time.Hour)
		if err := w.deps.DB.Table("evidence_uploads").Where("id = ?", id).Update("active_at", past).Error; err != nil {
			t.Fatal(err)
		}
		if lead := list("lead"); len(lead) != 2 || !lead[1].Stale {
			t.Errorf("the lead's list once stale: %+v", lead)
		}
		if status, _ := del("analyst"); status != http.StatusNotFound {
			t.Errorf("another writer discards it: %d, want 404", status)
		}
		if status, _ := del("lead"); status != http.StatusNoContent {
			t.Errorf("the lead discards a stale upload: %d, want 204", status)
		}
		if resp, _ := w.call(t, http.MethodHead, upload, w.bearer["investigator"], "", tus...); resp.StatusCode != http.StatusNotFound {
			t.Errorf("the discarded upload: %d, want 404", resp.StatusCode)
		}
	})
}
