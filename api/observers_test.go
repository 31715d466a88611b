package api

import (
	"encoding/json"
	"net/http"
	"testing"
)

// Observers (leadership) read a case; whether they may also download its
// evidence is the case's setting, off until a lead turns it on. The change
// is on the audit log.
func TestObservers_DownloadEvidenceOnlyWhereTheCaseAllowsIt(t *testing.T) {
	t.Parallel()
	forEachDatabase(t, func(t *testing.T, w *world) {
		c := "/api/v1/cases/" + w.caseID
		content := "/api/v1/evidence/" + w.contentID + "/content"
		setting := func() bool {
			resp, body := w.call(t, http.MethodGet, c, w.bearer["observer"], "")
			var k caseJSON
			if resp.StatusCode != http.StatusOK || json.Unmarshal([]byte(body), &k) != nil {
				t.Fatalf("observer reads the case: %d %s", resp.StatusCode, body)
			}
			return k.ObserversMayDownload
		}
		if setting() {
			t.Fatal("a new case lets observers download evidence")
		}
		if resp, body := w.call(t, http.MethodGet, content, w.bearer["observer"], ""); resp.StatusCode != http.StatusForbidden {
			t.Errorf("observer downloads by default: %d, want 403: %s", resp.StatusCode, body)
		}
		// Only the lead changes the setting.
		for _, who := range []string{"observer", "analyst", "investigator"} {
			resp, _ := w.call(t, http.MethodPatch, c, w.bearer[who], `{"observers_may_download":true}`, "If-Match", w.caseETag(t))
			if resp.StatusCode != http.StatusForbidden {
				t.Errorf("%s turns observer downloads on: %d, want 403", who, resp.StatusCode)
			}
		}
		resp, body := w.call(t, http.MethodPatch, c, w.bearer["lead"], `{"observers_may_download":true}`, "If-Match", w.caseETag(t))
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("lead turns observer downloads on: %d %s", resp.StatusCode, body)
		}
		if !setting() {
			t.Error("the setting did not stick")
		}
		if resp, body := w.call(t, http.MethodGet, content, w.bearer["observer"], ""); resp.StatusCode != http.StatusOK || body != fixtureContent {
			t.Errorf("observer downloads once allowed: %d %s", resp.StatusCode, body)
		}
		var recorded int64
		err := w.deps.DB.Table("audit_entries").Where("action = ? AND case_id = ? AND user_id = ? AND detail LIKE ?",
			"cases.patch", w.caseID, w.user["lead"].ID, `%"observers_may_download":"true"%`).Count(&recorded).Error
		if err != nil || recorded != 1 {
			t.Errorf("audit entries of the change: %d (%v), want 1", recorded, err)
		}
		// Off again, even on a closed case: it is about who may do what, not the case's content.
		w.transition(t, "closed")
		resp, body = w.call(t, http.MethodPatch, c, w.bearer["lead"], `{"observers_may_download":false}`, "If-Match", w.caseETag(t))
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("lead turns observer downloads off on a closed case: %d %s", resp.StatusCode, body)
		}
		if resp, _ := w.call(t, http.MethodGet, content, w.bearer["observer"], ""); resp.StatusCode != http.StatusForbidden {
			t.Errorf("observer downloads once forbidden again: %d, want 403", resp.StatusCode)
		}
		if resp, _ := w.call(t, http.MethodGet, content, w.bearer["analyst"], ""); resp.StatusCode != http.StatusOK {
			t.Errorf("analyst downloads: %d, want 200", resp.StatusCode)
		}
	})
}
