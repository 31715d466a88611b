package cases

import (
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

// FuzzPlasoReaders: no export, however malformed, panics a reader, loops
// it, or makes it accept a row without a time; refused rows name a line
// within the file.
func FuzzPlasoReaders(f *testing.F) {
	f.Add(string(FormatJSONLine), `{"timestamp": 1768465800000000, "message": "logon", "hostname": "hr-fs01"}`+"\n"+`{"timestamp": "x"}`)
	f.Add(string(FormatL2TCSV), "date,time,timezone,MACB,source,sourcetype,type,user,host,short,desc,version,filename,inode,notes,format,extra\n"+
		"01/15/2026,08:30:00,UTC,M...,FILE,OS mtime,Modified,-,hr-fs01,short,a file,2,/a,1,-,filestat,-\n")
	f.Add(string(FormatDynamic), "datetime,timestamp_desc,source,source_long,message,parser,display_name,tag\n"+
		"2026-01-15T08:30:00.000000+00:00,Content Modification Time,FILE,File stat,a file,filestat,OS:/a,-\n")
	f.Add(string(FormatDynamic), "datetime,message\n\"unterminated")
	f.Fuzz(func(t *testing.T, format, data string) {
		r, err := newPlasoReader(ImportFormat(format), strings.NewReader(data))
		if err != nil {
			return
		}
		lines := int64(strings.Count(data, "\n") + 1)
		for range len(data) + 2 {
			ev, err := r.Next()
			var row *rowError
			switch {
			case errors.Is(err, io.EOF):
				return
			case errors.As(err, &row):
				if row.Line < 1 || row.Line > lines {
					t.Fatalf("a refused row names line %d of %d", row.Line, lines)
				}
			case err != nil:
				return // the file cannot be read further: the import fails as a whole
			case ev.OccurredAt.Before(earliestEvent) || ev.OccurredAt.After(latestEvent) || ev.OccurredAt.Location() != time.UTC:
				t.Fatalf("a row accepted with time %v", ev.OccurredAt)
			}
		}
		t.Fatalf("the reader did not end within %d rows of %d bytes", len(data)+2, len(data))
	})
}

// FuzzCursors: a cursor from the client is either refused or read back to
// a position, and a cursor the server made reads back to itself.
func FuzzCursors(f *testing.F) {
	f.Add("eyJzIjoiY3JlYXRlZF9hdCJ9", "created_at")
	f.Add(encodeCursor("severity", caseRow{ID: "x", Severity: 3}), "severity")
	f.Add(eventCursor{at: time.Date(2026, 1, 15, 8, 30, 0, 0, time.UTC), id: "e1"}.encode(), "reference")
	f.Fuzz(func(t *testing.T, s, key string) {
		if c, err := decodeCursor(s, key); err == nil && (c.ID == "" || c.Sort != key) {
			t.Fatalf("case cursor %q read as %+v", s, c)
		}
		c, err := decodeEventCursor(s)
		if err != nil {
			return
		}
		if again, err := decodeEventCursor(c.encode()); err != nil || !again.at.Equal(c.at) || again.id != c.id {
			t.Fatalf("event cursor %q does not read back: %+v, %v", s, again, err)
		}
	})
}
