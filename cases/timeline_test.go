package cases

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/bevis-ir/bevis/access"
	"github.com/bevis-ir/bevis/internal/db"
	"github.com/bevis-ir/bevis/internal/testenv"
	"github.com/bevis-ir/bevis/internal/validate"
)

var allMarkings = []access.TLP{access.TLPClear, access.TLPGreen, access.TLPAmber, access.TLPAmberStrict, access.TLPRed}

type timelineFixture struct {
	tl     *Timeline
	caseID string
	reader Reader
}

// newTimelineFixture is one case on a fresh database, with its lead as a
// reader who may see every marking.
func newTimelineFixture(t testing.TB, d testenv.Database) timelineFixture {
	t.Helper()
	ctx := context.Background()
	dir := access.NewDirectory(d.DB)
	ag, err := dir.CreateAgency(ctx, access.NewAgency{Code: "CERT", Name: "Sector CERT", Kind: "cert"})
	if err != nil {
		t.Fatal(err)
	}
	u, err := dir.CreateUser(ctx, access.NewUser{AgencyID: ag.ID, Email: "lead@bevis.test", Name: "Lead",
		SystemRole: access.RoleMember, Password: "correct horse battery staple"})
	if err != nil {
		t.Fatal(err)
	}
	p := access.Principal{UserID: u.ID, AgencyID: ag.ID, SystemRole: u.SystemRole}
	k, err := NewStore(d.DB).Create(ctx, p, NewCase{Title: "Health authority breach", TLP: access.TLPAmber})
	if err != nil {
		t.Fatal(err)
	}
	return timelineFixture{tl: NewTimeline(d.DB), caseID: k.ID, reader: Reader{Principal: p, Markings: allMarkings}}
}

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func (f timelineFixture) add(t *testing.T, in NewEvent) Event {
	t.Helper()
	ev, err := f.tl.Add(context.Background(), f.caseID, f.reader, in)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

func (f timelineFixture) list(t *testing.T, r Reader, filter EventFilter) []Event {
	t.Helper()
	page, err := f.tl.List(context.Background(), f.caseID, r, filter, PageRequest{Limit: MaxPageSize})
	if err != nil {
		t.Fatal(err)
	}
	return page.Events
}

func fieldsOf(err error) []string {
	var invalid *validate.Error
	if !errors.As(err, &invalid) {
		return nil
	}
	var out []string
	for _, f := range invalid.Fields {
		out = append(out, f.Field)
	}
	return out
}

func TestTimeline_AddKeepsEveryField(t *testing.T) {
	for _, d := range testenv.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			f := newTimelineFixture(t, d)
			until := at("2026-01-15T09:45:00+01:00")
			in := NewEvent{OccurredAt: at("2026-01-15T09:30:00.123456789+01:00"), OccurredUntil: &until,
				SourceTimezone: "Europe/Oslo", Source: EventSource{Host: "hr-fs01", Log: "Security.evtx", System: "Windows"},
				Actor: `CORP\svc-backup`, Description: "Logon with a stolen service account",
				Tactics: []string{"TA0001", "TA0004"}, Techniques: []string{"T1078", "T1078.002", "T1078"},
				Tags: []string{"lateral", "insider?"[:7]}, Confidence: ConfidenceHigh, TLP: access.TLPAmberStrict}
			ev := f.add(t, in)
			got, err := f.tl.Get(context.Background(), f.caseID, ev.ID, f.reader)
			if err != nil {
				t.Fatal(err)
			}
			want := Event{ID: ev.ID, CaseID: f.caseID, OccurredAt: at("2026-01-15T08:30:00.123456Z"), SourceTimezone: "Europe/Oslo",
				OccurredUntil: pointer(at("2026-01-15T08:45:00Z")), RecordedAt: ev.RecordedAt, RecordedBy: f.reader.Principal.UserID,
				Source: in.Source, Actor: in.Actor, Description: in.Description, Tactics: []string{"TA0001", "TA0004"},
				Techniques: []string{"T1078", "T1078.002"}, Tags: []string{"lateral", "insider"}, Confidence: ConfidenceHigh,
				TLP: access.TLPAmberStrict}
			if !reflect.DeepEqual(got, want) || !reflect.DeepEqual(ev, want) {
				t.Errorf("stored:\n got %+v\n add %+v\nwant %+v", got, ev, want)
			}
			if got.RecordedAt.IsZero() || !got.RecordedAt.After(got.OccurredAt) {
				t.Errorf("recorded_at %v should be when Bevis learnt of the back-dated event", got.RecordedAt)
			}
		})
	}
}

func pointer[T any](v T) *T { return &v }

func TestTimeline_AddRefusesMalformedInputAndChangesNothing(t *testing.T) {
	valid := NewEvent{OccurredAt: at("2026-01-15T09:30:00Z"), Description: "Phishing mail opened"}
	tests := []struct {
		name   string
		change func(*NewEvent)
		field  string
	}{
		{"technique without T", func(e *NewEvent) { e.Techniques = []string{"1078"} }, "techniques"},
		{"sub-technique with two digits", func(e *NewEvent) { e.Techniques = []string{"T1078.02"} }, "techniques"},
		{"technique in lower case", func(e *NewEvent) { e.Techniques = []string{"t1078.002"} }, "techniques"},
		{"tactic given as technique", func(e *NewEvent) { e.Techniques = []string{"TA0001"} }, "techniques"},
		{"technique given as tactic", func(e *NewEvent) { e.Tactics = []string{"T1078"} }, "tactics"},
		{"tactic with five digits", func(e *NewEvent) { e.Tactics = []string{"TA00001"} }, "tactics"},
		{"no description", func(e *NewEvent) { e.Description = "  " }, "description"},
		{"no time", func(e *NewEvent) { e.OccurredAt = time.Time{} }, "occurred_at"},
		{"end before start", func(e *NewEvent) { e.OccurredUntil = pointer(at("2026-01-15T09:29:59Z")) }, "occurred_until"},
		{"unknown zone", func(e *NewEvent) { e.SourceTimezone = "Mars/Olympus" }, "source_timezone"},
		{"local zone", func(e *NewEvent) { e.SourceTimezone = "Local" }, "source_timezone"},
		{"tag with a space", func(e *NewEvent) { e.Tags = []string{"two words"} }, "tags"},
		{"confidence out of scale", func(e *NewEvent) { e.Confidence = "certain" }, "confidence"},
		{"unknown TLP", func(e *NewEvent) { e.TLP = "WHITE" }, "tlp"},
		{"host over two lines", func(e *NewEvent) { e.Source.Host = "a\nb" }, "source.host"},
	}
	for _, d := range testenv.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			f := newTimelineFixture(t, d)
			for _, tc := range tests {
				in := valid
				tc.change(&in)
				_, err := f.tl.Add(context.Background(), f.caseID, f.reader, in)
				if got := fieldsOf(err); !reflect.DeepEqual(got, []string{tc.field}) {
					t.Errorf("%s: error %v, want a field error on %s", tc.name, err, tc.field)
				}
			}
			if n := len(f.list(t, f.reader, EventFilter{IncludeSuperseded: true})); n != 0 {
				t.Errorf("refused input left %d events", n)
			}
		})
	}
}

// TestTimeline_AddThatCannotLandChangesNothing: an event for a closed or
// missing case, or one whose audit entry the database refuses, leaves no
// event, no count in either tally and no audit entry; on PostgreSQL these
// are the parts of one statement (addInOneStatement), on SQLite of one
// transaction.
func TestTimeline_AddThatCannotLandChangesNothing(t *testing.T) {
	for _, d := range testenv.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			ctx := context.Background()
			f := newTimelineFixture(t, d)
			in := NewEvent{OccurredAt: at("2026-01-15T09:30:00Z"), Description: "Valid account used",
				Tactics: []string{"TA0001"}, Techniques: []string{"T1078", "T1133"}, Source: EventSource{Host: "vpn01"}}
			f.add(t, in) // the groups exist: a refused add must not count into them either
			rows := func() map[string]int64 {
				out := map[string]int64{}
				for _, table := range []string{"timeline_events", "audit_entries"} {
					var n int64
					if err := d.DB.Table(table).Count(&n).Error; err != nil {
						t.Fatal(err)
					}
					out[table] = n
				}
				for _, table := range []string{"timeline_tally", "timeline_ttp_tally"} {
					var n int64
					if err := d.DB.Raw("SELECT COALESCE(SUM(events), 0) FROM " + table).Scan(&n).Error; err != nil {
						t.Fatal(err)
					}
					out[table+" events"] = n
				}
				return out
			}
			before := rows()

			refuseAudit := map[string][]string{
				db.SQLite: {`CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_entries
					BEGIN SELECT RAISE(ABORT, 'audit refused by the test'); END`},
				db.Postgres: {`CREATE FUNCTION refuse_audit() RETURNS trigger LANGUAGE plpgsql AS $$
					BEGIN RAISE EXCEPTION 'audit refused by the test'; END $$`,
					`CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_entries FOR EACH ROW EXECUTE FUNCTION refuse_audit()`},
			}[d.Name]
			for _, stmt := range refuseAudit {
				if err := d.DB.Exec(stmt).Error; err != nil {
					t.Fatal(err)
				}
			}
			if _, err := f.tl.Add(ctx, f.caseID, f.reader, in); err == nil {
				t.Fatal("an add whose audit entry was refused succeeded")
			}
			if err := d.DB.Exec("DROP TRIGGER refuse_audit" + map[string]string{db.Postgres: " ON audit_entries"}[d.Name]).Error; err != nil {
				t.Fatal(err)
			}
			if got := rows(); !reflect.DeepEqual(got, before) {
				t.Errorf("after an add whose audit entry was refused: %v, want %v", got, before)
			}

			if _, err := f.tl.Add(ctx, "no-such-case", f.reader, in); !errors.Is(err, ErrNotFound) {
				t.Errorf("an add to a missing case: %v, want ErrNotFound", err)
			}
			if err := d.DB.Exec("UPDATE cases SET status = ? WHERE id = ?", string(StatusClosed), f.caseID).Error; err != nil {
				t.Fatal(err)
			}
			if _, err := f.tl.Add(ctx, f.caseID, f.reader, in); !errors.Is(err, ErrClosed) {
				t.Errorf("an add to a closed case: %v, want ErrClosed", err)
			}
			if got := rows(); !reflect.DeepEqual(got, before) {
				t.Errorf("after refused adds: %v, want %v", got, before)
			}
		})
	}
}

func TestTimeline_CorrectionSupersedesAndKeepsHistory(t *testing.T) {
	for _, d := range testenv.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			ctx := context.Background()
			f := newTimelineFixture(t, d)
			first := f.add(t, NewEvent{OccurredAt: at("2026-01-15T09:30:00Z"), Description: "Logon by svc-backup",
				Techniques: []string{"T1078"}})
			second, err := f.tl.Correct(ctx, f.caseID, first.ID, f.reader, NewEvent{OccurredAt: at("2026-01-15T08:30:00Z"),
				Description: "Logon by svc-backup", Techniques: []string{"T1078.002"}}, "the log was in local time")
			if err != nil {
				t.Fatal(err)
			}
			third, err := f.tl.Correct(ctx, f.caseID, second.ID, f.reader, NewEvent{OccurredAt: at("2026-01-15T08:30:00Z"),
				Description: "Logon by svc-backup from the IT provider's jump host", Techniques: []string{"T1078.002"}}, "source found")
			if err != nil {
				t.Fatal(err)
			}
			if second.Supersedes != first.ID || third.Supersedes != second.ID || third.CorrectionReason != "source found" {
				t.Errorf("links: second %+v third %+v", second, third)
			}
			// Only the current version is listed; every version stays readable.
			current := f.list(t, f.reader, EventFilter{})
			if len(current) != 1 || current[0].ID != third.ID {
				t.Fatalf("current events = %+v, want only the last correction", current)
			}
			if all := f.list(t, f.reader, EventFilter{IncludeSuperseded: true}); len(all) != 3 {
				t.Errorf("with superseded: %d events, want 3", len(all))
			}
			for _, id := range []string{first.ID, second.ID, third.ID} {
				h, err := f.tl.History(ctx, f.caseID, id, f.reader)
				if err != nil {
					t.Fatal(err)
				}
				var ids []string
				for _, e := range h {
					ids = append(ids, e.ID)
				}
				if !reflect.DeepEqual(ids, []string{first.ID, second.ID, third.ID}) {
					t.Errorf("history of %s = %v", id, ids)
				}
				if h[0].SupersededBy != second.ID || h[1].SupersededBy != third.ID || h[2].SupersededBy != "" ||
					h[0].Description != "Logon by svc-backup" || !h[0].OccurredAt.Equal(at("2026-01-15T09:30:00Z")) {
					t.Errorf("history of %s: %+v", id, h)
				}
			}
			// A superseded version cannot be corrected again: the chain stays linear.
			_, err = f.tl.Correct(ctx, f.caseID, first.ID, f.reader, NewEvent{OccurredAt: at("2026-01-15T08:00:00Z"),
				Description: "fork"}, "a second opinion")
			if !errors.Is(err, ErrSuperseded) {
				t.Errorf("correcting a superseded event: %v, want ErrSuperseded", err)
			}
			_, err = f.tl.Correct(ctx, f.caseID, third.ID, f.reader, NewEvent{OccurredAt: at("2026-01-15T08:00:00Z"),
				Description: "no reason"}, " ")
			if got := fieldsOf(err); !reflect.DeepEqual(got, []string{"reason"}) {
				t.Errorf("correction without a reason: %v", err)
			}
			if _, err := f.tl.Correct(ctx, f.caseID, "no-such-event", f.reader, NewEvent{OccurredAt: at("2026-01-15T08:00:00Z"),
				Description: "x"}, "r"); !errors.Is(err, ErrNotFound) {
				t.Errorf("correcting a missing event: %v", err)
			}
			if all := f.list(t, f.reader, EventFilter{IncludeSuperseded: true}); len(all) != 3 {
				t.Errorf("refused corrections left %d events, want 3", len(all))
			}
		})
	}
}

// TestTimeline_EventsAreAppendOnly: the database itself refuses to change
// an event in place, whatever code asks.
func TestTimeline_EventsAreAppendOnly(t *testing.T) {
	for _, d := range testenv.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			f := newTimelineFixture(t, d)
			ev := f.add(t, NewEvent{OccurredAt: at("2026-01-15T09:30:00Z"), Description: "original"})
			err := d.DB.Exec("UPDATE timeline_events SET description = 'rewritten' WHERE id = ?", ev.ID).Error
			if err == nil || !strings.Contains(err.Error(), "append-only") {
				t.Fatalf("update in place: %v, want refused", err)
			}
			got, _ := f.tl.Get(context.Background(), f.caseID, ev.ID, f.reader)
			if got.Description != "original" {
				t.Errorf("description = %q", got.Description)
			}
		})
	}
}

func TestTimeline_ListFilters(t *testing.T) {
	for _, d := range testenv.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			f := newTimelineFixture(t, d)
			phish := f.add(t, NewEvent{OccurredAt: at("2026-01-10T08:00:00Z"), Description: "Phishing mail with invoice.xlsm opened",
				Source: EventSource{Host: "hr-ws12", Log: "mail.log", System: "Exchange"}, Actor: "alice",
				Tactics: []string{"TA0001"}, Techniques: []string{"T1566.001"}, Tags: []string{"initial_access"}})
			logon := f.add(t, NewEvent{OccurredAt: at("2026-01-12T08:00:00Z"), Description: "Logon with svc-backup credentials",
				Source:     EventSource{Host: "hr-fs01", Log: "Security.evtx", System: "Windows"},
				Techniques: []string{"T1078.002"}, Tags: []string{"lateral", "insider"}})
			exfil := f.add(t, NewEvent{OccurredAt: at("2026-01-14T08:00:00Z"), Description: "2.8 million patient records archived and sent out",
				Source: EventSource{Host: "hr-fs01", Log: "proxy.log", System: "Squid"}, Actor: "svc-backup",
				Techniques: []string{"T1048", "T1078"}, Tags: []string{"exfiltration"}})
			tests := []struct {
				name   string
				filter EventFilter
				want   []Event
			}{
				{"everything, in time order", EventFilter{}, []Event{phish, logon, exfil}},
				{"from", EventFilter{From: pointer(at("2026-01-12T08:00:00Z"))}, []Event{logon, exfil}},
				{"to is exclusive", EventFilter{To: pointer(at("2026-01-12T08:00:00Z"))}, []Event{phish}},
				{"source host", EventFilter{Source: "hr-fs01"}, []Event{logon, exfil}},
				{"source log", EventFilter{Source: "mail.log"}, []Event{phish}},
				{"source system", EventFilter{Source: "Squid"}, []Event{exfil}},
				{"technique finds its sub-techniques", EventFilter{Technique: "T1078"}, []Event{logon, exfil}},
				{"sub-technique", EventFilter{Technique: "T1078.002"}, []Event{logon}},
				{"technique not a prefix of another", EventFilter{Technique: "T1566"}, []Event{phish}},
				{"tag", EventFilter{Tag: "insider"}, []Event{logon}},
				{"tag with an underscore is literal", EventFilter{Tag: "initial_access"}, []Event{phish}},
				{"tag wildcard finds nothing", EventFilter{Tag: "initial.access"}, nil},
				{"text", EventFilter{Text: "patient records"}, []Event{exfil}},
				{"text matches the actor", EventFilter{Text: "alice"}, []Event{phish}},
				{"text with every word", EventFilter{Text: "svc-backup logon"}, []Event{logon}},
				{"text with FTS syntax is taken literally", EventFilter{Text: `"invoice AND NOT) *`}, nil},
				{"filters combine", EventFilter{Source: "hr-fs01", Tag: "exfiltration", Technique: "T1048"}, []Event{exfil}},
			}
			for _, tc := range tests {
				got := f.list(t, f.reader, tc.filter)
				if len(got) != len(tc.want) {
					t.Errorf("%s: %d events, want %d: %+v", tc.name, len(got), len(tc.want), got)
					continue
				}
				for i := range got {
					if got[i].ID != tc.want[i].ID {
						t.Errorf("%s: event %d is %q, want %q", tc.name, i, got[i].Description, tc.want[i].Description)
					}
				}
			}
			for _, bad := range []struct {
				filter EventFilter
				field  string
			}{
				{EventFilter{Technique: "T10"}, "technique"},
				{EventFilter{Tag: "a b"}, "tag"},
				{EventFilter{From: pointer(at("2026-01-12T00:00:00Z")), To: pointer(at("2026-01-11T00:00:00Z"))}, "to"},
			} {
				_, err := f.tl.List(context.Background(), f.caseID, f.reader, bad.filter, PageRequest{})
				if got := fieldsOf(err); !reflect.DeepEqual(got, []string{bad.field}) {
					t.Errorf("filter %+v: %v, want a field error on %s", bad.filter, err, bad.field)
				}
			}
		})
	}
}

func TestTimeline_KeysetPagesCoverEveryEventOnce(t *testing.T) {
	for _, d := range testenv.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			ctx := context.Background()
			f := newTimelineFixture(t, d)
			want := map[string]bool{}
			for i := range 23 {
				// Groups of events at the same instant: the ID breaks ties.
				ev := f.add(t, NewEvent{OccurredAt: at("2026-01-10T08:00:00Z").Add(time.Duration(i/4) * time.Second),
					Description: fmt.Sprintf("event %d", i)})
				want[ev.ID] = true
			}
			var seen []Event
			p := PageRequest{Limit: 5}
			for pages := 0; ; pages++ {
				if pages > 10 {
					t.Fatal("pagination does not end")
				}
				page, err := f.tl.List(ctx, f.caseID, f.reader, EventFilter{}, p)
				if err != nil {
					t.Fatal(err)
				}
				seen = append(seen, page.Events...)
				if page.NextCursor == "" {
					break
				}
				p.Cursor = page.NextCursor
			}
			if len(seen) != len(want) {
				t.Fatalf("pages held %d events, want %d", len(seen), len(want))
			}
			for i, ev := range seen {
				if !want[ev.ID] {
					t.Errorf("event %s seen twice or unknown", ev.ID)
				}
				delete(want, ev.ID)
				if i > 0 && (ev.OccurredAt.Before(seen[i-1].OccurredAt) ||
					ev.OccurredAt.Equal(seen[i-1].OccurredAt) && ev.ID < seen[i-1].ID) {
					t.Errorf("event %d out of order", i)
				}
			}
			_, err := f.tl.List(ctx, f.caseID, f.reader, EventFilter{}, PageRequest{Cursor: "not-a-cursor"})
			if got := fieldsOf(err); !reflect.DeepEqual(got, []string{"cursor"}) {
				t.Errorf("forged cursor: %v", err)
			}
		})
	}
}

// TestTimeline_MarkingsHideEvents: an event marked beyond the reader's
// markings does not exist for them, in lists, pages, reads and histories.
func TestTimeline_MarkingsHideEvents(t *testing.T) {
	for _, d := range testenv.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			ctx := context.Background()
			f := newTimelineFixture(t, d)
			amber := f.add(t, NewEvent{OccurredAt: at("2026-01-10T08:00:00Z"), Description: "amber", TLP: access.TLPAmber})
			red := f.add(t, NewEvent{OccurredAt: at("2026-01-11T08:00:00Z"), Description: "red", TLP: access.TLPRed})
			redFix, err := f.tl.Correct(ctx, f.caseID, amber.ID, f.reader, NewEvent{OccurredAt: at("2026-01-10T08:00:00Z"),
				Description: "amber, corrected with red detail", TLP: access.TLPRed}, "source is a human informant")
			if err != nil {
				t.Fatal(err)
			}
			low := Reader{Principal: f.reader.Principal, Markings: allMarkings[:3]}
			if got := f.list(t, low, EventFilter{IncludeSuperseded: true}); len(got) != 1 || got[0].ID != amber.ID || got[0].SupersededBy != "" {
				t.Errorf("low reader sees %+v, want only the amber event without its hidden correction", got)
			}
			// The page is filled from what the reader may see, not cut after paging.
			page, err := f.tl.List(ctx, f.caseID, low, EventFilter{IncludeSuperseded: true}, PageRequest{Limit: 1})
			if err != nil || len(page.Events) != 1 || page.NextCursor != "" {
				t.Errorf("first page of one: %+v %v", page, err)
			}
			for _, id := range []string{red.ID, redFix.ID} {
				if _, err := f.tl.Get(ctx, f.caseID, id, low); !errors.Is(err, ErrNotFound) {
					t.Errorf("get hidden %s: %v", id, err)
				}
				if _, err := f.tl.History(ctx, f.caseID, id, low); !errors.Is(err, ErrNotFound) {
					t.Errorf("history of hidden %s: %v", id, err)
				}
			}
			if h, err := f.tl.History(ctx, f.caseID, amber.ID, low); err != nil || len(h) != 1 {
				t.Errorf("history as low reader: %+v %v", h, err)
			}
			// What the low reader takes for the current version was corrected
			// out of their sight; the database refuses a second correction.
			if _, err := f.tl.Correct(ctx, f.caseID, amber.ID, low, NewEvent{OccurredAt: at("2026-01-10T08:00:00Z"),
				Description: "amber, corrected again"}, "seen from below"); !errors.Is(err, ErrSuperseded) {
				t.Errorf("correcting a version superseded out of sight: %v", err)
			}
			if _, err := f.tl.Add(ctx, f.caseID, low, NewEvent{OccurredAt: at("2026-01-10T08:00:00Z"), Description: "x",
				TLP: access.TLPRed}); !reflect.DeepEqual(fieldsOf(err), []string{"tlp"}) {
				t.Errorf("marking beyond one's own reach: %v", err)
			}
			// Events of another case are not in this one.
			if _, err := f.tl.Get(ctx, "another-case", red.ID, f.reader); !errors.Is(err, ErrNotFound) {
				t.Errorf("event through another case: %v", err)
			}
		})
	}
}
