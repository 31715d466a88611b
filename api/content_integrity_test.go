package api

import (
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bevis-ir/bevis/evidence"
)

// tamperStored changes the item's stored object in the store's folder, as
// someone with access to the disk would: flips the byte at offset, or
// removes the object when offset is -1.
func (w *world) tamperStored(t *testing.T, it evidence.Item, offset int64) {
	t.Helper()
	dir := filepath.Join(w.storeDir, filepath.FromSlash(it.ObjectKey))
	if offset < 0 {
		_ = os.Chmod(dir, 0o700)
		if err := os.RemoveAll(dir); err != nil {
			t.Fatal(err)
		}
		return
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), "_data-") {
			continue
		}
		path := filepath.Join(dir, e.Name())
		_ = os.Chmod(path, 0o600)
		b, err := os.ReadFile(path) //nolint:gosec // the test's own store
		if err != nil {
			t.Fatal(err)
		}
		b[offset] ^= 0x01
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Fatalf("no stored data under %s", dir)
}

// integrityAlerts are the evidence_integrity alerts the named user sees.
func (w *world) integrityAlerts(t *testing.T, name string) []alertJSON {
	t.Helper()
	resp, body := w.call(t, http.MethodGet, "/api/v1/alerts", w.bearer[name], "")
	if resp.StatusCode != 200 {
		t.Fatalf("alerts as %s: %d %s", name, resp.StatusCode, body)
	}
	var page struct{ Items []alertJSON }
	if err := json.Unmarshal([]byte(body), &page); err != nil {
		t.Fatal(err)
	}
	var out []alertJSON
	for _, a := range page.Items {
		if a.Rule == "evidence_integrity" {
			out = append(out, a)
		}
	}
	return out
}

// downloadEntries are the item's download entries on the (sealed) audit
// log, oldest first, once there are want of them (or after 10 s).
func (w *world) downloadEntries(t *testing.T, itemID string, want int) []auditEntryJSON {
	t.Helper()
	var out []auditEntryJSON
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		resp, body := w.call(t, http.MethodGet, "/api/v1/evidence/"+itemID+"/access", w.bearer["lead"], "")
		if resp.StatusCode != 200 {
			t.Fatalf("access log: %d %s", resp.StatusCode, body)
		}
		var page struct{ Items []auditEntryJSON }
		if err := json.Unmarshal([]byte(body), &page); err != nil {
			t.Fatal(err)
		}
		out = out[:0]
		for i := len(page.Items) - 1; i >= 0; i-- {
			if e := page.Items[i]; e.Action == "evidence.download" {
				out = append(out, e)
			}
		}
		if len(out) >= want {
			break
		}
	}
	return out
}

// lastCustody is the item's newest custody event, as the API shows it.
func (w *world) lastCustody(t *testing.T, itemID string) custodyEventJSON {
	t.Helper()
	_, body := w.call(t, http.MethodGet, "/api/v1/evidence/"+itemID+"/custody", w.bearer["lead"], "")
	var c struct{ Events []custodyEventJSON }
	if err := json.Unmarshal([]byte(body), &c); err != nil || len(c.Events) == 0 {
		t.Fatalf("custody: %v %s", err, body)
	}
	return c.Events[len(c.Events)-1]
}

func TestDownload_MissingContentIsA409OnTheRecordAndAlerted(t *testing.T) {
	t.Parallel()
	forEachDatabase(t, func(t *testing.T, w *world) {
		runSequencer(t, w)
		it := w.uploadContent(t, w.principal(t, "lead"), "BEV", "Mail logs", strings.Repeat("smtp ", 1000))
		w.tamperStored(t, it, -1)
		path := "/api/v1/evidence/" + it.ID + "/content"
		resp, body := w.call(t, http.MethodGet, path, w.bearer["analyst"], "")
		if resp.StatusCode != http.StatusConflict || problemCode(t, body) != "content_missing" {
			t.Fatalf("download: %d %s", resp.StatusCode, body)
		}
		ev := w.lastCustody(t, it.ID)
		if ev.Type != "verified" || ev.Details.Result != "missing" || ev.ActorUserID != w.user["analyst"].ID ||
			!strings.Contains(ev.Notes, "found while sending") {
			t.Errorf("custody event: %+v", ev)
		}
		entries := w.downloadEntries(t, it.ID, 1)
		if len(entries) != 1 || entries[0].Outcome != "failed" || entries[0].Detail["status"] != "409" {
			t.Errorf("audit entries of the download: %+v", entries)
		}
		for _, who := range []string{"lead", "admin"} {
			got := w.integrityAlerts(t, who)
			if len(got) != 1 || len(got[0].CaseIDs) != 1 || got[0].CaseIDs[0] != w.caseID || !strings.Contains(got[0].Note, "content missing") {
				t.Errorf("integrity alerts seen by %s: %+v", who, got)
			}
		}
		if resp, _ := w.call(t, http.MethodGet, "/api/v1/alerts", w.bearer["analyst"], ""); resp.StatusCode != http.StatusForbidden {
			t.Errorf("alerts for an analyst: %d", resp.StatusCode)
		}
		// Asked again: the same answer, no second event, no second alert.
		if resp, _ := w.call(t, http.MethodGet, path, w.bearer["analyst"], ""); resp.StatusCode != http.StatusConflict {
			t.Errorf("second download: %d", resp.StatusCode)
		}
		if again := w.lastCustody(t, it.ID); again.ID != ev.ID {
			t.Errorf("the known finding was recorded again: %+v", again)
		}
		got := w.integrityAlerts(t, "lead")
		if len(got) != 1 {
			t.Fatalf("%d integrity alerts after a second download, want 1", len(got))
		}
		// An integrity alert is acknowledged, not approved.
		alertPath := "/api/v1/alerts/" + got[0].ID
		if resp, body := w.call(t, http.MethodPost, alertPath+"/approve", w.bearer["lead"], ""); resp.StatusCode != http.StatusConflict {
			t.Errorf("approve: %d %s", resp.StatusCode, body)
		}
		if resp, body := w.call(t, http.MethodPost, alertPath+"/acknowledge", w.bearer["lead"], ""); resp.StatusCode != 200 {
			t.Errorf("acknowledge: %d %s", resp.StatusCode, body)
		}
		// One of no case (an audit checkpoint written to behind Bevis's back)
		// is the admins' alone.
		w.deps.Alerts.RaiseIntegrity(t.Context(), "", "audit/checkpoints/7.txt", "", "foreign version of a checkpoint")
		admins := w.integrityAlerts(t, "admin")
		if len(admins) != 2 || len(w.integrityAlerts(t, "lead")) != 1 {
			t.Fatalf("after a checkpoint incident: %d alerts for admins, %d for the lead", len(admins), len(w.integrityAlerts(t, "lead")))
		}
		checkpoint := "/api/v1/alerts/" + admins[0].ID + "/acknowledge"
		if resp, body := w.call(t, http.MethodPost, checkpoint, w.bearer["lead"], ""); resp.StatusCode != http.StatusNotFound {
			t.Errorf("a lead acknowledges a checkpoint alert: %d %s", resp.StatusCode, body)
		}
		if resp, body := w.call(t, http.MethodPost, checkpoint, w.bearer["admin"], ""); resp.StatusCode != 200 {
			t.Errorf("an admin acknowledges a checkpoint alert: %d %s", resp.StatusCode, body)
		}
	})
}

// A chunk failing authentication after the download began: the connection
// is cut, so the client gets fewer bytes than Content-Length (an error for
// any HTTP client), and the record shows the download failed, the custody
// event what was found, and an alert is raised.
func TestDownload_ContentFailingMidStreamIsCutOffAndRecorded(t *testing.T) {
	t.Parallel()
	forEachDatabase(t, func(t *testing.T, w *world) {
		runSequencer(t, w)
		data := strings.Repeat("disk sector bytes ", 150_000) // 2.7 MB: past the chunks Open authenticates before sending
		it := w.uploadContent(t, w.principal(t, "lead"), "BEV", "Disk image", data)
		w.tamperStored(t, it, 2_000_000)

		// Over a real connection, as a client sees it.
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		go func() { _ = w.app.Listener(ln) }()
		t.Cleanup(func() { _ = w.app.Shutdown() })
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, "http://"+ln.Addr().String()+"/api/v1/evidence/"+it.ID+"/content", nil)
		req.Header.Set("Authorization", "Bearer "+w.bearer["analyst"])
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != 200 || !errors.Is(err, io.ErrUnexpectedEOF) || int64(len(got)) >= resp.ContentLength {
			t.Fatalf("download: %d, %d of %d bytes, read error %v; want the body cut short", resp.StatusCode, len(got), resp.ContentLength, err)
		}
		if !strings.HasPrefix(data, string(got)) {
			t.Error("the bytes sent before the cut are not the content's")
		}
		ev := w.lastCustody(t, it.ID)
		if ev.Type != "verified" || ev.Details.Result != "mismatch" || ev.ActorUserID != w.user["analyst"].ID ||
			!strings.Contains(ev.Notes, "failed authentication") {
			t.Errorf("custody event: %+v", ev)
		}
		entries := w.downloadEntries(t, it.ID, 2)
		if len(entries) != 2 || entries[0].Outcome != "success" || entries[1].Outcome != "failed" ||
			entries[1].Detail["cut_short"] != "content_mismatch" {
			t.Errorf("audit entries of the download: %+v", entries)
		}
		if got := w.integrityAlerts(t, "lead"); len(got) != 1 || !strings.Contains(got[0].Note, "content mismatch") {
			t.Errorf("integrity alerts: %+v", got)
		}
		// A range inside the changed chunk now fails before its first byte.
		resp, body := w.call(t, http.MethodGet, "/api/v1/evidence/"+it.ID+"/content", w.bearer["analyst"], "", "Range", "bytes=1999000-2001000")
		if resp.StatusCode != http.StatusConflict || problemCode(t, body) != "content_mismatch" {
			t.Errorf("range over the changed chunk: %d %s", resp.StatusCode, body)
		}
	})
}
