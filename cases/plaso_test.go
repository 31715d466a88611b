package cases

import (
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"
)

// readAll reads an export to its end, returning the events and the
// rejected rows, or the error that stopped reading.
func readAll(t *testing.T, format ImportFormat, in string) ([]plasoEvent, []rowError, error) {
	t.Helper()
	r, err := newPlasoReader(format, strings.NewReader(in))
	if err != nil {
		return nil, nil, err
	}
	var events []plasoEvent
	var rejected []rowError
	for {
		ev, err := r.Next()
		var re *rowError
		switch {
		case errors.Is(err, io.EOF):
			return events, rejected, nil
		case errors.As(err, &re):
			rejected = append(rejected, *re)
		case err != nil:
			return events, rejected, err
		default:
			events = append(events, ev)
		}
	}
}

const l2tHeader = "date,time,timezone,MACB,source,sourcetype,type,user,host,short,desc,version,filename,inode,notes,format,extra\n"

func TestPlasoReaders(t *testing.T) {
	utc := func(s string) time.Time {
		at, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return at.UTC()
	}
	cron := "Reporter <CRON> PID: 8442 (pam_unix(cron:session): session closed for user root)"
	tests := []struct {
		name     string
		format   ImportFormat
		in       string
		want     []plasoEvent
		rejected []rowError
	}{
		{
			name:   "json_line as psort writes it",
			format: FormatJSONLine,
			in: `{"__container_type__": "event", "__type__": "AttributeContainer", "data_type": "syslog:line", "display_name": "OS: /var/log/syslog.1", "hostname": "ubuntu", "inode": 12345678, "message": "` + cron + `", "parser": "syslog", "pathspec": {"__type__": "PathSpec", "location": "/var/log/syslog.1", "type_indicator": "OS"}, "text": "Reporter <CRON> PID: 8442 (pam_unix(cron:session): session\n closed for user root)", "timestamp": 1340821021000000, "timestamp_desc": "Content Modification Time", "username": "root", "tag": {"__container_type__": "event_tag", "__type__": "AttributeContainer", "labels": ["Malware", "Printed"]}}` + "\n" +
				`{"__container_type__": "event", "data_type": "fs:stat", "filename": "/Windows/System32/evil.dll", "message": "TSK:/Windows/System32/evil.dll Type: file", "timestamp": 1340821021123456, "timestamp_desc": "Creation Time"}` + "\n",
			want: []plasoEvent{
				{Line: 1, OccurredAt: utc("2012-06-27T18:17:01Z"), Zone: "UTC", Host: "ubuntu", Log: "OS: /var/log/syslog.1",
					System: "syslog", Actor: "root", Description: "Content Modification Time: " + cron, Tags: []string{"Malware", "Printed"}},
				{Line: 2, OccurredAt: utc("2012-06-27T18:17:01.123456Z"), Zone: "UTC", Log: "/Windows/System32/evil.dll",
					System: "fs:stat", Description: "Creation Time: TSK:/Windows/System32/evil.dll Type: file"},
			},
		},
		{
			name:   "json_line bad rows are reported by line and reading goes on",
			format: FormatJSONLine,
			in: `{"timestamp": 1340821021000000, "message": "ok"}` + "\n" +
				`{"timestamp": "yesterday", "message": "bad time"}` + "\n" +
				`{"timestamp": 0, "message": "no time"}` + "\n" +
				`{"message": "missing time"}` + "\n" +
				`{"timestamp": 1340821021000000, "message": ` + "\n" +
				`{"__container_type__": "event_source", "timestamp": 1}` + "\n" +
				`{"timestamp": 1340821021000000, "hostname": 7, "message": "x"}` + "\n" +
				"\n" +
				`{"timestamp": 1340821022000000, "message": "last, without a final newline"}`,
			want: []plasoEvent{
				{Line: 1, OccurredAt: utc("2012-06-27T18:17:01Z"), Zone: "UTC", Description: "ok"},
				{Line: 9, OccurredAt: utc("2012-06-27T18:17:02Z"), Zone: "UTC", Description: "last, without a final newline"},
			},
			rejected: []rowError{
				{2, `timestamp "yesterday" is not microseconds since 1970`},
				{3, "has no timestamp (plaso writes 0 for a missing one)"},
				{4, "has no timestamp"},
				{5, "is not a JSON object"},
				{6, `is a "event_source" container, not an event`},
				{7, `field "hostname" has the wrong type`},
			},
		},
		{
			name:   "l2tcsv with quoting, a multi-line field and local time zones",
			format: FormatL2TCSV,
			in: l2tHeader +
				`06/27/2012,18:17:01,UTC,M...,FILE,Test log file,Content Modification Time,-,ubuntu,` + cron + `,` + cron + `,2,FAKE:log/syslog.1,-,Malware Printed,test_parser,a_binary_field: binary; my_number: 123` + "\n" +
				`01/15/2026,09:30:00,Europe/Oslo,.A..,REG,NTUSER.DAT Registry,Last Written,alice,hr-fs01,"Key, with comma","Run key ""Updater"" points to
C:\Users\alice\AppData\evil.exe",2,NTUSER.DAT,1234,-,winreg,-` + "\n" +
				`07/01/2026,12:00:00,Europe/Oslo,M...,LOG,Syslog,Entry Written,-,web01,short,summer,2,-,-,-,syslog,-` + "\n",
			want: []plasoEvent{
				{Line: 2, OccurredAt: utc("2012-06-27T18:17:01Z"), Zone: "UTC", Host: "ubuntu", Log: "FAKE:log/syslog.1",
					System: "Test log file", Description: "Content Modification Time: " + cron, Tags: []string{"Malware", "Printed"}},
				{Line: 3, OccurredAt: utc("2026-01-15T08:30:00Z"), Zone: "Europe/Oslo", Host: "hr-fs01", Log: "NTUSER.DAT",
					System: "NTUSER.DAT Registry", Actor: "alice",
					Description: "Last Written: Run key \"Updater\" points to\nC:\\Users\\alice\\AppData\\evil.exe"},
				{Line: 5, OccurredAt: utc("2026-07-01T10:00:00Z"), Zone: "Europe/Oslo", Host: "web01", System: "Syslog",
					Description: "Entry Written: summer"},
			},
		},
		{
			name:   "l2tcsv bad timestamps, zones, field counts and quotes",
			format: FormatL2TCSV,
			in: l2tHeader +
				`00/00/0000,00:00:00,UTC,....,FILE,Test,Unknown,-,h,s,no time,2,f,-,-,p,-` + "\n" +
				`13/45/2012,18:17:01,UTC,M...,FILE,Test,Written,-,h,s,bad date,2,f,-,-,p,-` + "\n" +
				`06/27/2012,18:17:01,Mars/Olympus,M...,FILE,Test,Written,-,h,s,bad zone,2,f,-,-,p,-` + "\n" +
				`06/27/2012,18:17:01,UTC,M...,FILE,Test,Written` + "\n" +
				`06/27/2012,18:17:01,UTC,M...,FILE,Test,Written,-,h,s,a "bare" quote,2,f,-,-,p,-` + "\n" +
				`06/27/2012,18:17:01,UTC,M...,FILE,Test,Written,-,h,s,bad tag,2,f,-,no;tag,p,-` + "\n" +
				`06/27/2012,18:17:02,UTC,M...,FILE,Test,Written,-,h,s,fine,2,f,-,-,p,-` + "\n",
			want: []plasoEvent{
				{Line: 8, OccurredAt: utc("2012-06-27T18:17:02Z"), Zone: "UTC", Host: "h", Log: "f", System: "Test",
					Description: "Written: fine"},
			},
			rejected: []rowError{
				{2, `date and time "00/00/0000 00:00:00" are not MM/DD/YYYY and HH:MM:SS`},
				{3, `date and time "13/45/2012 18:17:01" are not MM/DD/YYYY and HH:MM:SS`},
				{4, `time zone "Mars/Olympus" is unknown`},
				{5, "has 7 fields, the header 17"},
				{6, `is not valid CSV: bare " in non-quoted-field`},
				{7, `tag "no;tag" is not a tag`},
			},
		},
		{
			name:   "dynamic with psort's default fields",
			format: FormatDynamic,
			in: "datetime,timestamp_desc,source,source_long,message,parser,display_name,tag\n" +
				`2012-06-27T18:17:01.000000+00:00,Metadata Modification Time,FILE,Test log file,` + cron + `,filestat,OS:/var/log/syslog.1,Malware Printed` + "\n" +
				`2026-01-15T09:30:00.250000+01:00,Creation Time,FILE,NTFS,"TSK:/evil.exe
second line",mft,"NTFS:\\.\C:\evil.exe",-` + "\n" +
				`0000-00-00T00:00:00.000000+00:00,Unknown Time,FILE,NTFS,no time,mft,x,-` + "\n",
			want: []plasoEvent{
				{Line: 2, OccurredAt: utc("2012-06-27T18:17:01Z"), Zone: "UTC", Log: "OS:/var/log/syslog.1", System: "Test log file",
					Description: "Metadata Modification Time: " + cron, Tags: []string{"Malware", "Printed"}},
				{Line: 3, OccurredAt: utc("2026-01-15T08:30:00.25Z"), Zone: "+01:00", Log: `NTFS:\\.\C:\evil.exe`, System: "NTFS",
					Description: "Creation Time: TSK:/evil.exe\nsecond line"},
			},
			rejected: []rowError{{5, `datetime "0000-00-00T00:00:00.000000+00:00" is not ISO 8601 with an offset`}},
		},
		{
			name:   "dynamic with chosen fields: date, time, zone, host and user",
			format: FormatDynamic,
			in: "date,time,timezone,macb,source,sourcetype,type,user,host,message_short,message,filename,inode,notes,format,extra\n" +
				`2012-06-27,18:17:01,UTC,..C.,FILE,Test log file,Metadata Modification Time,-,ubuntu,short,` + cron + `,log/syslog.1,-,-,-,-` + "\n",
			want: []plasoEvent{
				{Line: 2, OccurredAt: utc("2012-06-27T18:17:01Z"), Zone: "UTC", Host: "ubuntu", Log: "log/syslog.1",
					System: "Test log file", Description: "Metadata Modification Time: " + cron},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			events, rejected, err := readAll(t, tc.format, tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(events, tc.want) {
				t.Errorf("events:\n got %+v\nwant %+v", events, tc.want)
			}
			if !reflect.DeepEqual(rejected, tc.rejected) {
				t.Errorf("rejected:\n got %+v\nwant %+v", rejected, tc.rejected)
			}
		})
	}
}

func TestPlasoReaders_RefuseWrongHeaders(t *testing.T) {
	tests := []struct {
		name   string
		format ImportFormat
		in     string
		reason string
	}{
		{"empty l2tcsv", FormatL2TCSV, "", "the file is empty; the header is missing"},
		{"dynamic header given as l2tcsv", FormatL2TCSV, "datetime,timestamp_desc,source,source_long,message,parser,display_name,tag\n",
			"the header is not l2tcsv's (" + strings.TrimSuffix(l2tHeader, "\n") + ")"},
		{"dynamic without a time", FormatDynamic, "message,parser\nx,y\n", "the header names no datetime column (nor date and time)"},
		{"dynamic without a message", FormatDynamic, "datetime,parser\n2012-06-27T18:17:01+00:00,y\n", "the header names no message column"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := readAll(t, tc.format, tc.in)
			var re *rowError
			if !errors.As(err, &re) || re.Line != 1 || re.Reason != tc.reason {
				t.Fatalf("err = %v, want line 1: %s", err, tc.reason)
			}
		})
	}
}

// TestPlasoReaders_BoundRowSize: a row past maxRowBytes (an unterminated
// quote, a runaway line) stops the import instead of filling memory.
func TestPlasoReaders_BoundRowSize(t *testing.T) {
	huge := strings.Repeat("x", maxRowBytes+8<<10) // past the bound and the CSV reader's read-ahead
	for _, tc := range []struct {
		format ImportFormat
		in     string
	}{
		{FormatJSONLine, `{"timestamp": 1, "message": "` + huge + `"}` + "\n"},
		{FormatL2TCSV, l2tHeader + `06/27/2012,18:17:01,UTC,M...,FILE,Test,Written,-,h,s,"never closed` + huge},
		{FormatDynamic, "datetime,message\n2012-06-27T18:17:01+00:00,\"" + strings.Repeat("line\n", (maxRowBytes+8<<10)/5)},
	} {
		t.Run(string(tc.format), func(t *testing.T) {
			_, _, err := readAll(t, tc.format, tc.in)
			if !errors.Is(err, errRowTooLong) {
				t.Fatalf("err = %v, want errRowTooLong", err)
			}
		})
	}
}
