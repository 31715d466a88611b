package cases

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/bevis-ir/bevis/access"
	"github.com/bevis-ir/bevis/internal/testenv"
)

// jsonLines is n json_line events, one second apart; bad maps a line
// number to the text of a malformed row put there instead.
func jsonLines(n int, bad map[int]string) string {
	var b strings.Builder
	for i := 1; i <= n; i++ {
		if row, ok := bad[i]; ok {
			b.WriteString(row + "\n")
			continue
		}
		fmt.Fprintf(&b, `{"__container_type__": "event", "__type__": "AttributeContainer", "data_type": "windows:evtx:record", `+
			`"display_name": "OS:/cases/hr-fs01/Security.evtx", "hostname": "hr-fs01", "message": "[4624 / 0x1210] logon %d", `+
			`"parser": "winevtx", "timestamp": %d, "timestamp_desc": "Creation Time", "username": "svc-backup", `+
			`"tag": {"labels": ["lateral"]}}`+"\n", i, 1768465800000000+int64(i)*1000000)
	}
	return b.String()
}

func (f timelineFixture) importFile(t *testing.T, format ImportFormat, body string) (ImportRecord, error) {
	t.Helper()
	return f.tl.Import(context.Background(), f.caseID, f.reader, ImportRequest{Format: format, TLP: access.TLPGreen},
		strings.NewReader(body))
}

func sha(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

func TestImport_AddsEveryRowAndKeepsARecord(t *testing.T) {
	l2t := l2tHeader +
		`06/27/2012,18:17:01,UTC,M...,FILE,Test log file,Content Modification Time,root,ubuntu,short,"Reporter <CRON> PID: 8442, ""quoted""",2,log/syslog.1,-,Malware,syslog,-` + "\n" +
		`06/27/2012,20:17:01,Europe/Oslo,M...,FILE,Test log file,Content Modification Time,-,ubuntu,short,"two
lines",2,log/syslog.1,-,-,syslog,-` + "\n"
	dynamic := "datetime,timestamp_desc,source,source_long,message,parser,display_name,tag\n" +
		"2012-06-27T18:17:01.000000+00:00,Metadata Modification Time,FILE,Test log file,first,filestat,OS:/var/log/syslog.1,-\n" +
		"2012-06-27T18:17:02.000000+00:00,Metadata Modification Time,FILE,Test log file,second,filestat,OS:/var/log/syslog.1,-\n"
	for _, d := range testenv.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			ctx := context.Background()
			f := newTimelineFixture(t, d)
			// 1,234 rows cross several INSERT batches.
			for _, tc := range []struct {
				format ImportFormat
				body   string
				events int64
			}{{FormatJSONLine, jsonLines(1234, nil), 1234}, {FormatL2TCSV, l2t, 2}, {FormatDynamic, dynamic, 2}} {
				rec, err := f.importFile(t, tc.format, tc.body)
				if err != nil {
					t.Fatalf("%s: %v", tc.format, err)
				}
				want := ImportRecord{ID: rec.ID, CaseID: f.caseID, Format: tc.format, Status: ImportCompleted, TLP: access.TLPGreen,
					FileSHA256: sha(tc.body), BytesRead: int64(len(tc.body)), RowsRead: tc.events, EventsImported: tc.events,
					CreatedBy: f.reader.Principal.UserID, StartedAt: rec.StartedAt, FinishedAt: rec.FinishedAt}
				if !reflect.DeepEqual(rec, want) {
					t.Errorf("%s record:\n got %+v\nwant %+v", tc.format, rec, want)
				}
				stored, err := f.tl.ImportRecordOf(ctx, f.caseID, rec.ID, f.reader)
				if err != nil || !reflect.DeepEqual(stored, want) {
					t.Errorf("%s stored record: %+v %v", tc.format, stored, err)
				}
			}
			events := f.list(t, f.reader, EventFilter{Source: "hr-fs01"})
			if len(events) != MaxPageSize {
				t.Fatalf("json_line events: %d on the first page, want %d", len(events), MaxPageSize)
			}
			ev := events[0]
			if ev.Description != "Creation Time: [4624 / 0x1210] logon 1" || ev.Actor != "svc-backup" || ev.TLP != access.TLPGreen ||
				ev.Source != (EventSource{Host: "hr-fs01", Log: "OS:/cases/hr-fs01/Security.evtx", System: "winevtx"}) ||
				!reflect.DeepEqual(ev.Tags, []string{"lateral"}) || ev.ImportID == "" || ev.SourceTimezone != "UTC" ||
				!ev.OccurredAt.Equal(at("2026-01-15T08:30:01Z")) {
				t.Errorf("first imported event: %+v", ev)
			}
			oslo := f.list(t, f.reader, EventFilter{Text: "two lines"})
			if len(oslo) != 1 || !oslo[0].OccurredAt.Equal(at("2012-06-27T18:17:01Z")) || oslo[0].SourceTimezone != "Europe/Oslo" {
				t.Errorf("l2tcsv event in local time: %+v", oslo)
			}
			if got := f.list(t, f.reader, EventFilter{Tag: "Malware"}); len(got) != 1 || got[0].Actor != "root" {
				t.Errorf("l2tcsv tagged event: %+v", got)
			}
			records, err := f.tl.Imports(ctx, f.caseID, f.reader)
			if err != nil || len(records) != 3 || records[0].Format != FormatDynamic {
				t.Errorf("import records: %+v %v", records, err)
			}
		})
	}
}

// TestImport_MalformedRowRollsBackEverything: one bad row anywhere, even
// after thousands of good ones already sent to the database, leaves the
// timeline as it was; every bad row is reported by line; the record stays.
func TestImport_MalformedRowRollsBackEverything(t *testing.T) {
	for _, d := range testenv.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			ctx := context.Background()
			f := newTimelineFixture(t, d)
			body := jsonLines(2500, map[int]string{
				3:    `{"timestamp": "2026-01-15", "message": "a date, not microseconds"}`,
				2400: `{"timestamp": 1768465800000000, "message": "cut off`,
				2500: `{"timestamp": 1768465800000000, "message": "", "data_type": ""}`,
			})
			rec, err := f.importFile(t, FormatJSONLine, body)
			var rejected *ImportRejectedError
			if !errors.As(err, &rejected) {
				t.Fatalf("err = %v, want ImportRejectedError", err)
			}
			wantRejections := []Rejection{
				{3, `timestamp "2026-01-15" is not microseconds since 1970`},
				{2400, "is not a JSON object"},
				{2500, "has no message"},
			}
			if rec.Status != ImportRejected || rec.EventsImported != 0 || rec.RowsRejected != 3 || rec.RowsRead != 2500 ||
				!reflect.DeepEqual(rec.Rejections, wantRejections) || rec.FileSHA256 != sha(body) || !reflect.DeepEqual(rejected.Record, rec) {
				t.Errorf("record: %+v", rec)
			}
			if n := len(f.list(t, f.reader, EventFilter{IncludeSuperseded: true})); n != 0 {
				t.Errorf("a rejected import left %d events", n)
			}
			stored, err := f.tl.ImportRecordOf(ctx, f.caseID, rec.ID, f.reader)
			if err != nil || !reflect.DeepEqual(stored, rec) {
				t.Errorf("stored record:\n got %+v %v\nwant %+v", stored, err, rec)
			}
		})
	}
}

func TestImport_CapsReportedRejections(t *testing.T) {
	d := testenv.SQLite(t)
	f := newTimelineFixture(t, d)
	bad := map[int]string{}
	for i := 1; i <= MaxReportedRejections+5; i++ {
		bad[i] = "not json"
	}
	rec, err := f.importFile(t, FormatJSONLine, jsonLines(MaxReportedRejections+10, bad))
	if !errors.As(err, new(*ImportRejectedError)) || rec.RowsRejected != MaxReportedRejections+5 ||
		len(rec.Rejections) != MaxReportedRejections || rec.RowsRead != MaxReportedRejections+10 {
		t.Errorf("record: status %s, rejected %d, reported %d, read %d (%v)", rec.Status, rec.RowsRejected,
			len(rec.Rejections), rec.RowsRead, err)
	}
}

func TestImport_WrongHeaderIsReportedOnLineOne(t *testing.T) {
	d := testenv.SQLite(t)
	f := newTimelineFixture(t, d)
	rec, err := f.importFile(t, FormatL2TCSV, "datetime,message\n2012-06-27T18:17:01+00:00,x\n")
	if !errors.As(err, new(*ImportRejectedError)) || rec.Status != ImportRejected || len(rec.Rejections) != 1 ||
		rec.Rejections[0].Line != 1 {
		t.Errorf("record %+v, err %v", rec, err)
	}
}

// failingReader stands for an upload cut off, or refused for its size,
// after some rows.
type failingReader struct {
	r   io.Reader
	err error
}

func (f failingReader) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if errors.Is(err, io.EOF) {
		return n, f.err
	}
	return n, err
}

func TestImport_UnreadableUploadAddsNothingAndIsRecorded(t *testing.T) {
	cut := errors.New("client went away")
	for _, d := range testenv.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			ctx := context.Background()
			f := newTimelineFixture(t, d)
			rec, err := f.tl.Import(ctx, f.caseID, f.reader, ImportRequest{Format: FormatJSONLine},
				failingReader{r: strings.NewReader(jsonLines(1200, nil)), err: cut})
			var failed *ImportFailedError
			if !errors.As(err, &failed) || !errors.Is(err, cut) {
				t.Fatalf("err = %v, want ImportFailedError wrapping the read error", err)
			}
			if rec.Status != ImportFailed || rec.EventsImported != 0 || rec.FileSHA256 != "" || rec.Failure == "" || rec.TLP != access.TLPAmber {
				t.Errorf("record: %+v", rec)
			}
			if n := len(f.list(t, f.reader, EventFilter{})); n != 0 {
				t.Errorf("a failed import left %d events", n)
			}
			if stored, err := f.tl.ImportRecordOf(ctx, f.caseID, rec.ID, f.reader); err != nil || stored.Status != ImportFailed {
				t.Errorf("stored: %+v %v", stored, err)
			}
		})
	}
}

func TestImport_RefusesBadRequestsBeforeReading(t *testing.T) {
	d := testenv.SQLite(t)
	f := newTimelineFixture(t, d)
	low := Reader{Principal: f.reader.Principal, Markings: allMarkings[:3]}
	for _, tc := range []struct {
		req   ImportRequest
		by    Reader
		field string
	}{
		{ImportRequest{Format: "csv"}, f.reader, "format"},
		{ImportRequest{Format: FormatJSONLine, TLP: "WHITE"}, f.reader, "tlp"},
		{ImportRequest{Format: FormatJSONLine, TLP: access.TLPRed}, low, "tlp"},
	} {
		body := &countingReader{r: strings.NewReader(jsonLines(3, nil))}
		_, err := f.tl.Import(context.Background(), f.caseID, tc.by, tc.req, body)
		if got := fieldsOf(err); !reflect.DeepEqual(got, []string{tc.field}) || body.n != 0 {
			t.Errorf("%+v: %v after reading %d bytes", tc.req, err, body.n)
		}
	}
	if records, _ := f.tl.Imports(context.Background(), f.caseID, f.reader); len(records) != 0 {
		t.Errorf("refused requests left records: %+v", records)
	}
}

// endOnce fails the test when read again after answering io.EOF: a
// chunked request body blocks on such a read, waiting for a next request.
type endOnce struct {
	t     *testing.T
	r     io.Reader
	ended bool
}

func (e *endOnce) Read(p []byte) (int, error) {
	if e.ended {
		e.t.Error("read again after io.EOF")
		return 0, io.EOF
	}
	n, err := e.r.Read(p)
	e.ended = errors.Is(err, io.EOF)
	return n, err
}

func TestImport_NeverReadsPastTheEnd(t *testing.T) {
	d := testenv.SQLite(t)
	f := newTimelineFixture(t, d)
	for _, tc := range []struct {
		format ImportFormat
		body   string
	}{
		{FormatJSONLine, jsonLines(3, nil)},
		{FormatJSONLine, jsonLines(3, map[int]string{2: "bad"})},
		{FormatL2TCSV, l2tHeader + `06/27/2012,18:17:01,UTC,M...,FILE,Test,Written,-,h,s,fine,2,f,-,-,p,-` + "\n"},
		{FormatL2TCSV, "not,the,header\n"},
		{FormatDynamic, "datetime,message\n2012-06-27T18:17:01+00:00,fine\n"},
	} {
		_, _ = f.tl.Import(context.Background(), f.caseID, f.reader, ImportRequest{Format: tc.format},
			&endOnce{t: t, r: strings.NewReader(tc.body)})
	}
}
