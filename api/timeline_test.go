package api

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bevis-ir/bevis/access"
	"github.com/bevis-ir/bevis/cases"
)

func (w *world) timeline(caseID string) string { return "/api/v1/cases/" + caseID + "/timeline" }

func decodeInto[T any](t *testing.T, body string) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	return v
}

// eventCount is how many versions of events the lead sees on the case.
func (w *world) eventCount(t *testing.T) int {
	t.Helper()
	resp, body := w.call(t, http.MethodGet, w.timeline(w.caseID)+"?include_superseded=true&limit=500", w.bearer["lead"], "")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("list: %d %s", resp.StatusCode, body)
	}
	return len(decodeInto[eventPageJSON](t, body).Items)
}

func TestTimelineAPI_AddCorrectAndReadHistory(t *testing.T) {
	t.Parallel()
	forEachDatabase(t, func(t *testing.T, w *world) {
		resp, body := w.call(t, http.MethodPost, w.timeline(w.caseID), w.bearer["analyst"], `{
			"occurred_at": "2026-01-15T09:30:00+01:00", "source_timezone": "Europe/Oslo",
			"source": {"host": "hr-fs01", "log": "Security.evtx", "system": "Windows"},
			"actor": "CORP\\svc-backup", "description": "Logon with a stolen service account",
			"tactics": ["TA0001"], "techniques": ["T1078.002"], "tags": ["insider"], "confidence": "medium", "tlp": "AMBER"}`)
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("add: %d %s", resp.StatusCode, body)
		}
		ev := decodeInto[eventJSON](t, body)
		if resp.Header.Get("Location") != w.timeline(w.caseID)+"/"+ev.ID || ev.OccurredAt != "2026-01-15T08:30:00Z" ||
			ev.RecordedBy != w.user["analyst"].ID || ev.Confidence == nil || *ev.Confidence != "medium" || ev.Supersedes != nil {
			t.Errorf("added: %s (Location %s)", body, resp.Header.Get("Location"))
		}
		resp, body = w.call(t, http.MethodPost, w.timeline(w.caseID)+"/"+ev.ID+"/corrections", w.bearer["investigator"], `{
			"occurred_at": "2026-01-15T09:31:00+01:00", "description": "Logon with a stolen service account",
			"techniques": ["T1078.002"], "reason": "clock skew of the domain controller"}`)
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("correct: %d %s", resp.StatusCode, body)
		}
		fix := decodeInto[eventJSON](t, body)
		if fix.Supersedes == nil || *fix.Supersedes != ev.ID || fix.CorrectionReason != "clock skew of the domain controller" {
			t.Errorf("correction: %s", body)
		}
		resp, body = w.call(t, http.MethodPost, w.timeline(w.caseID)+"/"+ev.ID+"/corrections", w.bearer["lead"],
			`{"occurred_at": "2026-01-15T09:31:00+01:00", "description": "again", "reason": "a second view"}`)
		if resp.StatusCode != http.StatusConflict || !strings.Contains(body, `"code":"superseded"`) {
			t.Errorf("correcting a superseded version: %d %s", resp.StatusCode, body)
		}
		_, body = w.call(t, http.MethodGet, w.timeline(w.caseID)+"/"+fix.ID+"/history", w.bearer["observer"], "")
		history := decodeInto[listJSON[eventJSON]](t, body)
		if len(history.Items) != 2 || history.Items[0].ID != ev.ID || *history.Items[0].SupersededBy != fix.ID ||
			history.Items[1].ID != fix.ID {
			t.Errorf("history: %s", body)
		}
		_, body = w.call(t, http.MethodGet, w.timeline(w.caseID)+"?technique=T1078", w.bearer["observer"], "")
		page := decodeInto[eventPageJSON](t, body)
		if len(page.Items) != 1 || page.Items[0].ID != fix.ID || page.NextCursor != nil {
			t.Errorf("current events with T1078: %s", body)
		}
		// Keyset pages through the API: one event per page.
		seen := 0
		for next := w.timeline(w.caseID) + "?limit=1"; next != ""; seen++ {
			resp, body := w.call(t, http.MethodGet, next, w.bearer["observer"], "")
			if resp.StatusCode != http.StatusOK || seen > 5 {
				t.Fatalf("page %d: %d %s", seen, resp.StatusCode, body)
			}
			p := decodeInto[eventPageJSON](t, body)
			next = ""
			if p.NextCursor != nil {
				next = w.timeline(w.caseID) + "?limit=1&cursor=" + *p.NextCursor
			}
		}
		if seen != 3 { // the fixture's event, the correction, the fixture's imported one
			t.Errorf("%d pages, want 3", seen)
		}
	})
}

// TestTimelineAPI_RefusesBadInputAndChangesNothing: malformed ATT&CK IDs,
// unknown fields and server-owned fields each get a clear problem.
func TestTimelineAPI_RefusesBadInputAndChangesNothing(t *testing.T) {
	t.Parallel()
	forEachDatabase(t, func(t *testing.T, w *world) {
		before := w.eventCount(t)
		valid := `"occurred_at": "2026-01-15T09:30:00Z", "description": "Logon"`
		tests := []struct {
			name, path, body, code, field string
		}{
			{"technique without T", "", `{` + valid + `, "techniques": ["1078"]}`, "invalid_input", "techniques"},
			{"sub-technique of two digits", "", `{` + valid + `, "techniques": ["T1078.02"]}`, "invalid_input", "techniques"},
			{"tactic in technique form", "", `{` + valid + `, "tactics": ["T1078"]}`, "invalid_input", "tactics"},
			{"time without offset", "", `{"occurred_at": "2026-01-15 09:30", "description": "x"}`, "invalid_input", "occurred_at"},
			{"unknown field", "", `{` + valid + `, "severity": 4}`, "invalid_json", ""},
			{"unknown source field", "", `{` + valid + `, "source": {"ip": "10.0.0.1"}}`, "invalid_json", ""},
			{"server-owned id", "", `{` + valid + `, "id": "01900000-0000-7000-8000-000000000000"}`, "invalid_json", ""},
			{"server-owned recorder", "", `{` + valid + `, "recorded_by": "someone"}`, "invalid_json", ""},
			{"server-owned recorded_at", "", `{` + valid + `, "recorded_at": "2020-01-01T00:00:00Z"}`, "invalid_json", ""},
			{"server-owned supersedes", "", `{` + valid + `, "supersedes": "x"}`, "invalid_json", ""},
			{"server-owned import", "", `{` + valid + `, "import_id": "x"}`, "invalid_json", ""},
			{"server-owned case", "", `{` + valid + `, "case_id": "x"}`, "invalid_json", ""},
			{"correction with a malformed technique", "/{event}/corrections", `{` + valid + `, "reason": "r", "techniques": ["T99"]}`, "invalid_input", "techniques"},
			{"correction naming what it supersedes", "/{event}/corrections", `{` + valid + `, "reason": "r", "supersedes": "x"}`, "invalid_json", ""},
		}
		for _, tc := range tests {
			path := w.timeline(w.caseID) + strings.ReplaceAll(tc.path, "{event}", w.eventID)
			resp, body := w.call(t, http.MethodPost, path, w.bearer["lead"], tc.body)
			p := decodeInto[problem](t, body)
			if resp.StatusCode != http.StatusBadRequest || p.Code != tc.code ||
				(tc.field != "" && (len(p.Errors) != 1 || p.Errors[0].Field != tc.field)) {
				t.Errorf("%s: %d %s", tc.name, resp.StatusCode, body)
			}
		}
		resp, body := w.call(t, http.MethodGet, w.timeline(w.caseID)+"?technique=T1078.2", w.bearer["lead"], "")
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, `"field":"technique"`) {
			t.Errorf("malformed technique filter: %d %s", resp.StatusCode, body)
		}
		resp, body = w.call(t, http.MethodGet, w.timeline(w.caseID)+"?host=hr-fs01", w.bearer["lead"], "")
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, `"field":"host"`) {
			t.Errorf("unknown filter: %d %s", resp.StatusCode, body)
		}
		if after := w.eventCount(t); after != before {
			t.Errorf("refused requests changed the timeline: %d events, were %d", after, before)
		}
	})
}

// TestTimelineAPI_MarkingsFollowMembership: on an AMBER case, an event
// marked AMBER+STRICT is for named users of member agencies and one marked
// RED for named users, as cases so marked are; hidden events are missing
// from lists and answer 404.
func TestTimelineAPI_MarkingsFollowMembership(t *testing.T) {
	t.Parallel()
	forEachDatabase(t, func(t *testing.T, w *world) {
		ctx := context.Background()
		lead := w.principal(t, "lead")
		caseID, ids := markedTimeline(t, w, nil)
		// Named beside the analyst and the outsider: a person of agency B,
		// which is a member too.
		if _, err := w.deps.Membership.SetUser(ctx, lead, caseID, w.user["other_agency"].ID, access.CaseObserver); err != nil {
			t.Fatal(err)
		}
		if _, err := w.deps.Membership.SetAgency(ctx, lead, caseID, w.agency["B"].ID, access.CaseObserver); err != nil {
			t.Fatal(err)
		}
		// investigator and observer: only through agency A; outsider: named,
		// but agency D is not a member; admin: not on the case.
		sees := map[string][]string{
			"lead": {"AMBER", "AMBER+STRICT", "RED"}, "analyst": {"AMBER", "AMBER+STRICT", "RED"},
			"other_agency": {"AMBER", "AMBER+STRICT", "RED"}, "investigator": {"AMBER"}, "observer": {"AMBER"},
			"outsider": {"AMBER", "RED"}, "admin": nil,
		}
		for who, want := range sees {
			resp, body := w.call(t, http.MethodGet, w.timeline(caseID), w.bearer[who], "")
			if want == nil {
				if resp.StatusCode != http.StatusNotFound {
					t.Errorf("%s lists a case they are not on: %d", who, resp.StatusCode)
				}
				continue
			}
			var got []string
			for _, e := range decodeInto[eventPageJSON](t, body).Items {
				got = append(got, e.TLP)
			}
			if strings.Join(got, ",") != strings.Join(want, ",") {
				t.Errorf("%s sees %v, want %v", who, got, want)
			}
			for tlp, id := range ids {
				resp, _ := w.call(t, http.MethodGet, w.timeline(caseID)+"/"+id, w.bearer[who], "")
				visible := strings.Contains(","+strings.Join(want, ",")+",", ","+tlp+",")
				if (resp.StatusCode == http.StatusOK) != visible || (!visible && resp.StatusCode != http.StatusNotFound) {
					t.Errorf("%s reading the %s event: %d", who, tlp, resp.StatusCode)
				}
			}
		}
		// Nobody marks an event beyond what they may see.
		resp, body := w.call(t, http.MethodPost, w.timeline(caseID), w.bearer["investigator"],
			`{"occurred_at": "2026-01-15T09:30:00Z", "description": "x", "tlp": "RED"}`)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, `"field":"tlp"`) {
			t.Errorf("investigator marking RED: %d %s", resp.StatusCode, body)
		}
	})
}

func TestTimelineAPI_ImportReportsMalformedRowsByLineAndAddsNothing(t *testing.T) {
	t.Parallel()
	forEachDatabase(t, func(t *testing.T, w *world) {
		before := w.eventCount(t)
		file := `{"timestamp": 1768465800000000, "message": "one", "hostname": "hr-fs01"}` + "\n" +
			`{"timestamp": 1768465801000000, "message": "two", "hostname": "hr-fs01"}` + "\n" +
			`{"timestamp": "15.01.2026", "message": "three"}` + "\n" +
			`{"timestamp": 1768465803000000, "message": "four", "tag": {"labels": ["not a tag"]}}` + "\n"
		resp, body := w.call(t, http.MethodPost, w.timeline(w.caseID)+"/imports?format=json_line", w.bearer["analyst"], file)
		p := decodeInto[problem](t, body)
		if resp.StatusCode != http.StatusUnprocessableEntity || p.Code != "import_rejected" || len(p.Errors) != 2 ||
			p.Errors[0] != (fieldError{Field: "line 3", Message: `timestamp "15.01.2026" is not microseconds since 1970`}) ||
			p.Errors[1] != (fieldError{Field: "line 4", Message: `tag "not" is not a tag`}) && p.Errors[1].Field != "line 4" {
			t.Fatalf("rejected import: %d %s", resp.StatusCode, body)
		}
		if after := w.eventCount(t); after != before {
			t.Errorf("a rejected import changed the timeline: %d events, were %d", after, before)
		}
		resp, body = w.call(t, http.MethodGet, resp.Header.Get("Location"), w.bearer["observer"], "")
		rec := decodeInto[importJSON](t, body)
		if resp.StatusCode != http.StatusOK || rec.Status != "rejected" || rec.RowsRejected != 2 || rec.EventsImported != 0 ||
			rec.CreatedBy != w.user["analyst"].ID || len(rec.Rejections) != 2 || rec.Rejections[0].Line != 3 {
			t.Errorf("import record: %d %s", resp.StatusCode, body)
		}

		good := "date,time,timezone,MACB,source,sourcetype,type,user,host,short,desc,version,filename,inode,notes,format,extra\n" +
			`01/15/2026,09:30:00,Europe/Oslo,M...,REG,NTUSER.DAT Registry,Last Written,alice,hr-ws12,run key,"Run key ""Updater"" added",2,NTUSER.DAT,-,persistence,winreg,-` + "\n"
		resp, body = w.call(t, http.MethodPost, w.timeline(w.caseID)+"/imports?format=l2tcsv&tlp=GREEN", w.bearer["analyst"], good)
		rec = decodeInto[importJSON](t, body)
		if resp.StatusCode != http.StatusCreated || rec.Status != "completed" || rec.EventsImported != 1 || rec.TLP != "GREEN" ||
			rec.FileSHA256 == nil || resp.Header.Get("Location") != w.timeline(w.caseID)+"/imports/"+rec.ID {
			t.Fatalf("import: %d %s", resp.StatusCode, body)
		}
		_, body = w.call(t, http.MethodGet, w.timeline(w.caseID)+"?tag=persistence", w.bearer["observer"], "")
		page := decodeInto[eventPageJSON](t, body)
		if len(page.Items) != 1 || page.Items[0].OccurredAt != "2026-01-15T08:30:00Z" || page.Items[0].ImportID == nil ||
			*page.Items[0].ImportID != rec.ID {
			t.Errorf("imported event: %s", body)
		}
		_, body = w.call(t, http.MethodGet, w.timeline(w.caseID)+"/imports", w.bearer["observer"], "")
		if n := len(decodeInto[listJSON[importJSON]](t, body).Items); n != 3 { // the fixture's, the rejected, this one
			t.Errorf("%d import records, want 3", n)
		}
		for _, bad := range []string{"?format=csv", "", "?format=json_line&tlp=PURPLE"} {
			resp, body := w.call(t, http.MethodPost, w.timeline(w.caseID)+"/imports"+bad, w.bearer["analyst"], file)
			if resp.StatusCode != http.StatusBadRequest {
				t.Errorf("import%s: %d %s", bad, resp.StatusCode, body)
			}
		}
	})
}

// serve runs the app on a real socket, so a test can send what app.Test
// cannot: a body that never arrives, or one sent in chunks.
func serve(t *testing.T, d Deps) string {
	t.Helper()
	app, err := New(d)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = app.Listener(ln) }()
	t.Cleanup(func() { _ = app.ShutdownWithTimeout(5 * time.Second) })
	return ln.Addr().String()
}

// TestTimelineAPI_ImportOverLimitIs413Unread: a declared length past the
// limit is refused before a byte of the body is read; a chunked body is
// cut off at the limit. Neither adds anything.
func TestTimelineAPI_ImportOverLimitIs413Unread(t *testing.T) {
	t.Parallel()
	forEachDatabase(t, func(t *testing.T, w *world) {
		d := w.deps
		d.Config.ImportLimit = 64 << 10
		addr := serve(t, d)
		before := w.eventCount(t)

		// 10 GB declared, 16 KiB sent: the answer comes without the body.
		// (fasthttp reads up to 8 KiB of a large body before the handler
		// runs; that prefix is all that is ever read.)
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		fmt.Fprintf(conn, "POST %s/imports?format=json_line HTTP/1.1\r\nHost: bevis\r\nAuthorization: Bearer %s\r\n"+
			"Content-Type: application/x-ndjson\r\nContent-Length: 10000000000\r\n\r\n%s", w.timeline(w.caseID), w.bearer["lead"],
			strings.Repeat("x", 16<<10))
		_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatalf("no answer before the body: %v", err)
		}
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(string(body), "body_too_large") || !resp.Close {
			t.Errorf("declared too large: %d, closing %v: %s", resp.StatusCode, resp.Close, body)
		}

		client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
		// Chunked, past the limit: refused at the limit, recorded as failed.
		line := `{"timestamp": 1768465800000000, "message": "row", "hostname": "hr-fs01"}` + "\n"
		rows := strings.Repeat(line, (128<<10)/len(line))
		req, _ := http.NewRequest(http.MethodPost, "http://"+addr+w.timeline(w.caseID)+"/imports?format=json_line",
			io.NopCloser(strings.NewReader(rows)))
		req.ContentLength = -1 // sent chunked
		req.Header.Set("Authorization", "Bearer "+w.bearer["lead"])
		resp, err = client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ = io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Errorf("chunked too large: %d %s", resp.StatusCode, body)
		}
		_, list := w.call(t, http.MethodGet, w.timeline(w.caseID)+"/imports", w.bearer["lead"], "")
		records := decodeInto[listJSON[importJSON]](t, list).Items
		if len(records) != 2 || records[0].Status != "failed" || records[0].EventsImported != 0 || records[0].BytesRead > 65<<10 {
			t.Errorf("records after the chunked upload: %s", list)
		}

		// Within the limit, chunked works.
		req, _ = http.NewRequest(http.MethodPost, "http://"+addr+w.timeline(w.caseID)+"/imports?format=json_line",
			io.NopCloser(strings.NewReader(strings.Repeat(line, 10))))
		req.ContentLength = -1
		req.Header.Set("Authorization", "Bearer "+w.bearer["lead"])
		resp, err = client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			t.Errorf("chunked within the limit: %d", resp.StatusCode)
		}
		if after := w.eventCount(t); after != before+10 {
			t.Errorf("%d events, want %d", after, before+10)
		}
	})
}

// TestTimelineAPI_ListsRunConstantStatements: the statements behind each
// list request do not grow with the rows listed (no N+1).
func TestTimelineAPI_ListsRunConstantStatements(t *testing.T) {
	t.Parallel()
	forEachDatabase(t, func(t *testing.T, w *world) {
		ctx := context.Background()
		lead := w.principal(t, "lead")
		markings, err := w.deps.Authz.ItemMarkings(ctx, lead, w.caseID)
		if err != nil {
			t.Fatal(err)
		}
		reader := cases.Reader{Principal: lead, Markings: markings}
		counter := countStatements(t, w.deps.DB)
		lists := []string{
			w.timeline(w.caseID),
			w.timeline(w.caseID) + "?include_superseded=true&tag=bulk&q=record",
			w.timeline(w.caseID) + "/" + w.eventID + "/history",
			w.timeline(w.caseID) + "/imports",
			w.timeline(w.caseID) + "/ttp",
		}
		statements := func() []int64 {
			var out []int64
			for _, path := range lists {
				counter.Store(0)
				resp, body := w.call(t, http.MethodGet, path, w.bearer["observer"], "")
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("%s: %d %s", path, resp.StatusCode, body)
				}
				out = append(out, counter.Load())
			}
			return out
		}
		few := statements()
		// Many more rows in every list: events, corrections in the history, imports.
		last := w.eventID
		for i := range 40 {
			if _, err := w.deps.Timeline.Add(ctx, w.caseID, reader, cases.NewEvent{OccurredAt: time.Now(),
				Description: fmt.Sprintf("record %d", i), Tags: []string{"bulk"}, Tactics: []string{"TA0009"},
				Techniques: []string{"T1005", fmt.Sprintf("T%04d", 1100+i)}}); err != nil {
				t.Fatal(err)
			}
			fix, err := w.deps.Timeline.Correct(ctx, w.caseID, last, reader, cases.NewEvent{OccurredAt: time.Now(),
				Description: "record corrected", Tags: []string{"bulk"}}, fmt.Sprintf("correction %d", i))
			if err != nil {
				t.Fatal(err)
			}
			last = fix.ID
			if _, err := w.deps.Timeline.Import(ctx, w.caseID, reader, cases.ImportRequest{Format: cases.FormatJSONLine},
				strings.NewReader(`{"timestamp": 1768465800000000, "message": "record"}`+"\n")); err != nil {
				t.Fatal(err)
			}
		}
		many := statements()
		for i := range lists {
			if few[i] != many[i] || few[i] == 0 || few[i] > 6 {
				t.Errorf("%s: %d statements with a few rows, %d with many", lists[i], few[i], many[i])
			}
		}
	})
}
