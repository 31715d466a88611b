package api

import (
	"crypto/sha1" //nolint:gosec // tus checksums name SHA-1
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bevis-ir/bevis/evidence"
	"github.com/bevis-ir/bevis/internal/db"
)

func (w *world) registerItem(t *testing.T, body string) itemJSON {
	t.Helper()
	resp, out := w.call(t, http.MethodPost, "/api/v1/cases/"+w.caseID+"/evidence", w.bearer["investigator"], body)
	if resp.StatusCode != 201 {
		t.Fatalf("register: %d %s", resp.StatusCode, out)
	}
	return decodeItem(t, out)
}

// send makes a request with a raw body (no JSON content type) and the
// investigator's token.
func (w *world) send(t *testing.T, method, path, body string, header ...string) (*http.Response, string) {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+w.bearer["investigator"])
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := w.app.Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	return resp, readAndCheck(t, req, resp)
}

func TestContent_CurlUploadThenDownloadWithRanges(t *testing.T) {
	t.Parallel()
	forEachDatabase(t, func(t *testing.T, w *world) {
		data := strings.Repeat("pcap bytes \x00\xff ", 20_000) // 280 kB: several sealed chunks
		sum := sha256.Sum256([]byte(data))
		it := w.registerItem(t, `{"title":"Capture","kind":"network_capture","declared_hashes":{"sha256":"`+hex.EncodeToString(sum[:])+`"}}`)
		path := "/api/v1/evidence/" + it.ID + "/content"
		resp, body := w.send(t, http.MethodPut, path+"?filename="+"..%2F..%2Fevil%E2%80%AE.pcap%22%0D%0AX-Evil%3A+1", data)
		if resp.StatusCode != 201 {
			t.Fatalf("upload: %d %s", resp.StatusCode, body)
		}
		got := decodeItem(t, body)
		if got.ContentStatus != "received" || got.Hashes == nil || got.Hashes.SHA256 != hex.EncodeToString(sum[:]) || *got.Size != int64(len(data)) {
			t.Fatalf("received: %s", body)
		}
		resp, body = w.call(t, http.MethodGet, path, w.bearer["analyst"], "")
		if resp.StatusCode != 200 || body != data {
			t.Fatalf("download: %d, %d bytes", resp.StatusCode, len(body))
		}
		h := resp.Header
		disposition := h.Get("Content-Disposition")
		if !strings.HasPrefix(disposition, "attachment; ") || strings.ContainsAny(disposition, "\r\n\u202e") ||
			!strings.Contains(disposition, got.ExhibitNumber) || strings.Contains(disposition, "/") {
			t.Errorf("Content-Disposition %q", disposition)
		}
		if h.Get("X-Evil") != "" || h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Content-Type") != "application/octet-stream" ||
			h.Get("Repr-Digest") != "sha-256=:"+base64.StdEncoding.EncodeToString(sum[:])+":" || h.Get("Accept-Ranges") != "bytes" {
			t.Errorf("headers: %v", h)
		}
		ranges := []struct {
			spec      string
			from, end int
		}{{"bytes=70000-70099", 70000, 70100}, {"bytes=279990-", 279990, len(data)}, {"bytes=-10", len(data) - 10, len(data)}}
		for _, r := range ranges {
			resp, body := w.call(t, http.MethodGet, path, w.bearer["analyst"], "", "Range", r.spec)
			want := "bytes " + strconv.Itoa(r.from) + "-" + strconv.Itoa(r.end-1) + "/" + strconv.Itoa(len(data))
			if resp.StatusCode != 206 || body != data[r.from:r.end] || resp.Header.Get("Content-Range") != want {
				t.Errorf("%s: %d %q, %d bytes", r.spec, resp.StatusCode, resp.Header.Get("Content-Range"), len(body))
			}
		}
		if resp, _ := w.call(t, http.MethodGet, path, w.bearer["analyst"], "", "Range", "bytes=400000-"); resp.StatusCode != 416 {
			t.Errorf("range past the end: %d", resp.StatusCode)
		}
		if resp, _ := w.send(t, http.MethodPut, path, "again"); resp.StatusCode != 409 {
			t.Errorf("a second upload: %d, want 409", resp.StatusCode)
		}
		resp, body = w.call(t, http.MethodPost, "/api/v1/evidence/"+it.ID+"/verify", w.bearer["analyst"], "")
		if resp.StatusCode != 200 || !strings.Contains(body, `"result":"ok"`) {
			t.Errorf("verify: %d %s", resp.StatusCode, body)
		}
	})
}

func TestContent_HashMismatchIsRefusedAndRecorded(t *testing.T) {
	t.Parallel()
	forEachDatabase(t, func(t *testing.T, w *world) {
		it := w.registerItem(t, `{"title":"Image","kind":"disk_image","declared_hashes":{"md5":"d41d8cd98f00b204e9800998ecf8427e"}}`)
		resp, body := w.send(t, http.MethodPut, "/api/v1/evidence/"+it.ID+"/content", "not empty")
		if resp.StatusCode != 422 || problemCode(t, body) != "hash_mismatch" {
			t.Fatalf("upload: %d %s", resp.StatusCode, body)
		}
		_, item := w.call(t, http.MethodGet, "/api/v1/evidence/"+it.ID, w.bearer["lead"], "")
		if decodeItem(t, item).ContentStatus != "none" {
			t.Errorf("the item took the content: %s", item)
		}
		_, custody := w.call(t, http.MethodGet, "/api/v1/evidence/"+it.ID+"/custody", w.bearer["lead"], "")
		if !strings.Contains(custody, `"type":"content_rejected"`) {
			t.Errorf("the rejection is not on the record: %s", custody)
		}
		if resp, _ := w.call(t, http.MethodGet, "/api/v1/evidence/"+it.ID+"/content", w.bearer["lead"], ""); resp.StatusCode != 404 {
			t.Errorf("download of rejected content: %d", resp.StatusCode)
		}
	})
}

func TestTus_CreateResumeAndFinish(t *testing.T) {
	t.Parallel()
	forEachDatabase(t, func(t *testing.T, w *world) {
		data := strings.Repeat("memory page ", 30_000) // 360 kB
		it := w.registerItem(t, `{"title":"Memory","kind":"memory_dump"}`)
		tus := []string{"Tus-Resumable", "1.0.0"}
		resp, _ := w.call(t, http.MethodOptions, "/api/v1/evidence/"+it.ID+"/uploads", "", "")
		if resp.StatusCode != 204 || !strings.Contains(resp.Header.Get("Tus-Extension"), "creation") || resp.Header.Get("Tus-Version") != "1.0.0" {
			t.Fatalf("OPTIONS: %d %v", resp.StatusCode, resp.Header)
		}
		meta := "filename " + base64.StdEncoding.EncodeToString([]byte("mem.raw"))
		resp, body := w.send(t, http.MethodPost, "/api/v1/evidence/"+it.ID+"/uploads", "",
			append(tus, "Upload-Length", strconv.Itoa(len(data)), "Upload-Metadata", meta)...)
		if resp.StatusCode != 201 || !strings.HasPrefix(resp.Header.Get("Location"), "/api/v1/uploads/") {
			t.Fatalf("create: %d %s", resp.StatusCode, body)
		}
		if expires, err := http.ParseTime(resp.Header.Get("Upload-Expires")); err != nil || !expires.After(time.Now()) {
			t.Errorf("Upload-Expires %q: want an HTTP date in the future (%v)", resp.Header.Get("Upload-Expires"), err)
		}
		up := resp.Header.Get("Location")
		patch := func(offset int, chunk string, extra ...string) *http.Response {
			h := append(append([]string{}, tus...), "Content-Type", "application/offset+octet-stream", "Upload-Offset", strconv.Itoa(offset))
			resp, body := w.send(t, http.MethodPatch, up, chunk, append(h, extra...)...)
			if resp.StatusCode >= 500 {
				t.Fatalf("PATCH: %d %s", resp.StatusCode, body)
			}
			return resp
		}
		// 100,000 bytes arrive; the upload keeps them up to a chunk boundary.
		resp = patch(0, data[:100_000])
		offset, _ := strconv.Atoi(resp.Header.Get("Upload-Offset"))
		if resp.StatusCode != 204 || offset != 65536 {
			t.Fatalf("first PATCH: %d, offset %d", resp.StatusCode, offset)
		}
		resp, _ = w.send(t, http.MethodHead, up, "", tus...)
		if resp.Header.Get("Upload-Offset") != "65536" || resp.Header.Get("Upload-Length") != strconv.Itoa(len(data)) {
			t.Errorf("HEAD: %v", resp.Header)
		}
		if resp := patch(0, data[:10]); resp.StatusCode != 409 {
			t.Errorf("a stale offset: %d", resp.StatusCode)
		}
		if resp, _ := w.send(t, http.MethodHead, up, ""); resp.StatusCode != 412 {
			t.Errorf("no Tus-Resumable: %d", resp.StatusCode)
		}
		bad := sha1.Sum([]byte("other")) //nolint:gosec // see the import
		if resp := patch(offset, data[offset:], "Upload-Checksum", "sha1 "+base64.StdEncoding.EncodeToString(bad[:])); resp.StatusCode != 460 {
			t.Errorf("a wrong checksum: %d", resp.StatusCode)
		}
		good := sha1.Sum([]byte(data[offset:])) //nolint:gosec // see the import
		if resp := patch(offset, data[offset:], "Upload-Checksum", "sha1 "+base64.StdEncoding.EncodeToString(good[:])); resp.StatusCode != 204 ||
			resp.Header.Get("Upload-Offset") != strconv.Itoa(len(data)) {
			t.Fatalf("the rest: %d %v", resp.StatusCode, resp.Header)
		}
		_, body = w.call(t, http.MethodGet, "/api/v1/evidence/"+it.ID, w.bearer["lead"], "")
		sum := sha256.Sum256([]byte(data))
		if got := decodeItem(t, body); got.ContentStatus != "received" || got.Hashes.SHA256 != hex.EncodeToString(sum[:]) {
			t.Errorf("after the upload: %s", body)
		}
		if resp, _ := w.send(t, http.MethodHead, up, "", tus...); resp.StatusCode != 404 {
			t.Errorf("HEAD of a finished upload: %d", resp.StatusCode)
		}
	})
}

func TestReportAndManifest_ShowTheChainAndVerifyOffline(t *testing.T) {
	t.Parallel()
	w := seededWorld(t, db.SQLite)
	resp, body := w.call(t, http.MethodGet, "/api/v1/evidence/"+w.contentID+"/report?format=html", w.bearer["observer"], "")
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") ||
		!strings.Contains(body, "verifies") || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "style-src 'sha256-") {
		t.Fatalf("HTML report: %d %v %s", resp.StatusCode, resp.Header, body)
	}
	_, body = w.call(t, http.MethodGet, "/api/v1/evidence/"+w.contentID+"/report", w.bearer["observer"], "")
	if !strings.Contains(body, `"verifies":true`) {
		t.Errorf("JSON report: %s", body)
	}
	resp, body = w.call(t, http.MethodGet, "/api/v1/cases/"+w.caseID+"/evidence/manifest", w.bearer["observer"], "")
	if resp.StatusCode != 200 {
		t.Fatalf("manifest: %d %s", resp.StatusCode, body)
	}
	rep, err := evidence.VerifyManifest(strings.NewReader(body))
	if err != nil || len(rep.Problems) != 0 || rep.Items != 3 {
		t.Errorf("manifest verification: %+v %v", rep, err)
	}
}

func TestLegalHold_FollowsTheCustodyRecordIntoTheStore(t *testing.T) {
	t.Parallel()
	w := seededWorld(t, db.SQLite)
	it, err := w.deps.Items.Item(t.Context(), w.contentID)
	if err != nil {
		t.Fatal(err)
	}
	held := func() bool {
		info, err := w.store.Stat(t.Context(), it.ObjectKey, it.ObjectVersion)
		if err != nil {
			t.Fatal(err)
		}
		return info.LegalHold
	}
	path := "/api/v1/evidence/" + it.ID + "/custody"
	if resp, body := w.call(t, http.MethodPost, path, w.bearer["lead"], `{"type":"legal_hold_set","details":{"legal_basis":"Court order 2026-77"}}`); resp.StatusCode != 201 || !held() {
		t.Fatalf("hold set: %d %s, held %v", resp.StatusCode, body, held())
	}
	if resp, body := w.call(t, http.MethodPost, path, w.bearer["lead"], `{"type":"legal_hold_released","details":{"authority_reference":"PPS-1"}}`); resp.StatusCode != 201 || held() {
		t.Fatalf("hold released: %d %s, held %v", resp.StatusCode, body, held())
	}
	// A hold left in the store behind the record's back is put right by verification.
	if err := w.store.SetLegalHold(t.Context(), it.ObjectKey, it.ObjectVersion, true); err != nil {
		t.Fatal(err)
	}
	if resp, _ := w.call(t, http.MethodPost, "/api/v1/evidence/"+it.ID+"/verify", w.bearer["lead"], ""); resp.StatusCode != 200 || held() {
		t.Errorf("verification did not reconcile the hold: %d, held %v", resp.StatusCode, held())
	}
}

// A file name is data, but it must be text PostgreSQL can hold: valid
// UTF-8, no NUL, and bounded. Anything else is a 422 problem before any
// upload starts, on both dialects alike.
func TestContent_BadFileNamesAreRefusedWith422BeforeAnyUpload(t *testing.T) {
	t.Parallel()
	forEachDatabase(t, func(t *testing.T, w *world) {
		it := w.registerItem(t, `{"title":"Capture","kind":"network_capture"}`)
		b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
		long := strings.Repeat("ø", 256)
		bad := []struct {
			name, method, path string
			header             []string
		}{
			{"curl, not UTF-8", http.MethodPut, "/content?filename=capture%FF.pcap", nil},
			{"curl, a NUL", http.MethodPut, "/content?filename=capture%00.pcap", nil},
			{"curl, too long", http.MethodPut, "/content?filename=" + long, nil},
			{"tus, not UTF-8", http.MethodPost, "/uploads", []string{"Upload-Metadata", "filename " + b64("capture\xff.pcap")}},
			{"tus, a NUL", http.MethodPost, "/uploads", []string{"Upload-Metadata", "filename " + b64("capture\x00.pcap")}},
			{"tus, too long", http.MethodPost, "/uploads", []string{"Upload-Metadata", "name " + b64(long)}},
			{"tus, not base64", http.MethodPost, "/uploads", []string{"Upload-Metadata", "filename *not*base64*"}},
		}
		for _, tt := range bad {
			header := append([]string{"Tus-Resumable", "1.0.0", "Upload-Length", "4"}, tt.header...)
			resp, body := w.send(t, tt.method, "/api/v1/evidence/"+it.ID+tt.path, "data", header...)
			if resp.StatusCode != http.StatusUnprocessableEntity {
				t.Errorf("%s: %d, want 422: %s", tt.name, resp.StatusCode, body)
				continue
			}
			if p := decodeProblem(t, resp, body); p.Code != "invalid_filename" {
				t.Errorf("%s: problem %+v", tt.name, p)
			}
		}
		var uploads int64
		if err := w.deps.DB.Table("evidence_uploads").Where("item_id = ?", it.ID).Count(&uploads).Error; err != nil || uploads != 0 {
			t.Errorf("uploads started: %d (%v), want none", uploads, err)
		}
		// Any other name is kept as it was given, however odd.
		odd := "Skjermbilde 2026-01-05 kl. 08.00 «fw01» \u202e.pcap"
		resp, body := w.send(t, http.MethodPut, "/api/v1/evidence/"+it.ID+"/content?filename="+url.QueryEscape(odd), "data")
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("an odd but valid name: %d %s", resp.StatusCode, body)
		}
		var kept string
		if err := w.deps.DB.Table("evidence_items").Select("original_filename").Where("id = ?", it.ID).Scan(&kept).Error; err != nil || kept != odd {
			t.Errorf("name kept %q (%v), want %q", kept, err, odd)
		}
	})
}
