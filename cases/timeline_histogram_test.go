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

// histogramLines flattens a histogram: its span, its lanes, then each cell
// as bucket/lane/tactic=events.
func histogramLines(h Histogram) []string {
	out := []string{fmt.Sprintf("%s..%s by %s in %d, %d events", h.From.Format("01-02T15"), h.To.Format("01-02T15"),
		h.BucketWidth, h.Buckets, h.Events)}
	for _, l := range h.Lanes {
		name := l.Name
		if l.Other {
			name = "(other)"
		}
		out = append(out, fmt.Sprintf("lane %s=%d", name, l.Events))
	}
	for _, c := range h.Cells {
		out = append(out, fmt.Sprintf("%d/%s/%s=%d", c.Bucket, h.Lanes[c.Lane].Name, c.Tactic, c.Events))
	}
	return out
}

// TestTimeline_HistogramCountsOnlyWhatTheReaderMaySee: an event marked
// AMBER+STRICT or RED, or corrected into one, is neither counted nor named
// as a lane for a reader who may see only CLEAR to AMBER; one who may see
// every marking gets them all.
func TestTimeline_HistogramCountsOnlyWhatTheReaderMaySee(t *testing.T) {
	for _, d := range testenv.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			ctx := context.Background()
			f := newTimelineFixture(t, d)
			add := func(at, host string, tlp access.TLP, tactics ...string) Event {
				return f.add(t, NewEvent{OccurredAt: time.Date(2026, 1, 12, 0, 0, 0, 0, time.UTC).Add(mustDuration(at)),
					Description: "e", Source: EventSource{Host: host, System: "winevtx"}, Tactics: tactics, TLP: tlp})
			}
			add("8h10m", "hr-fs01", access.TLPAmber, "TA0001", "TA0002")
			add("8h50m", "hr-fs01", access.TLPAmber)
			add("9h10m", "secret-host", access.TLPRed, "TA0010")
			add("10h05m", "strict-host", access.TLPAmberStrict, "TA0010")
			add("11h30m", "hr-fs01", access.TLPGreen)
			moved := add("12h00m", "hr-ws12", access.TLPAmber)
			if _, err := f.tl.Correct(ctx, f.caseID, moved.ID, f.reader, NewEvent{OccurredAt: moved.OccurredAt,
				Description: "e", Source: EventSource{Host: "hr-ws12"}, TLP: access.TLPRed}, "it is RED"); err != nil {
				t.Fatal(err)
			}

			low := Reader{Principal: f.reader.Principal, Markings: allMarkings[:3]}
			got, err := f.tl.Histogram(ctx, f.caseID, low, HistogramRequest{Buckets: 4})
			if err != nil {
				t.Fatal(err)
			}
			want := []string{"01-12T08..01-12T12 by 1h0m0s in 4, 3 events", "lane hr-fs01=3",
				"0/hr-fs01/=1", "0/hr-fs01/TA0001=1", "3/hr-fs01/=1"}
			if lines := histogramLines(got); !reflect.DeepEqual(lines, want) {
				t.Errorf("what AMBER may see:\n%q\nwant\n%q", lines, want)
			}
			got, err = f.tl.Histogram(ctx, f.caseID, f.reader, HistogramRequest{Buckets: 3})
			if err != nil {
				t.Fatal(err)
			}
			want = []string{"01-12T08..01-12T14 by 2h0m0s in 3, 6 events", "lane hr-fs01=3", "lane hr-ws12=1",
				"lane secret-host=1", "lane strict-host=1",
				"0/hr-fs01/=1", "0/hr-fs01/TA0001=1", "0/secret-host/TA0010=1", "1/hr-fs01/=1", "1/strict-host/TA0010=1",
				"2/hr-ws12/=1"}
			if lines := histogramLines(got); !reflect.DeepEqual(lines, want) {
				t.Errorf("what RED may see:\n%q\nwant\n%q", lines, want)
			}
			// A narrower span, by system: the hour From falls in counts whole.
			from, to := at("2026-01-12T08:30:00Z"), at("2026-01-12T10:00:00Z")
			got, err = f.tl.Histogram(ctx, f.caseID, low, HistogramRequest{From: &from, To: &to, Lane: LaneSystem})
			if err != nil {
				t.Fatal(err)
			}
			want = []string{"01-12T08..01-12T10 by 1h0m0s in 2, 2 events", "lane winevtx=2",
				"0/winevtx/=1", "0/winevtx/TA0001=1"}
			if lines := histogramLines(got); !reflect.DeepEqual(lines, want) {
				t.Errorf("a span by system:\n%q\nwant\n%q", lines, want)
			}
			// A case without events the reader may see has an empty histogram.
			none := Reader{Principal: f.reader.Principal, Markings: []access.TLP{access.TLPClear}}
			if got, err := f.tl.Histogram(ctx, f.caseID, none, HistogramRequest{}); err != nil || got.Events != 0 ||
				len(got.Lanes) != 0 || len(got.Cells) != 0 || !got.From.IsZero() {
				t.Errorf("what CLEAR may see: %+v %v", got, err)
			}
		})
	}
}

func mustDuration(s string) time.Duration {
	d, err := time.ParseDuration(s)
	if err != nil {
		panic(err)
	}
	return d
}

// TestTimeline_HistogramLumpsTheQuieterLanes: past the busiest seven lanes
// the rest are one lane, with their events.
func TestTimeline_HistogramLumpsTheQuieterLanes(t *testing.T) {
	d := testenv.SQLite(t)
	ctx := context.Background()
	f := newTimelineFixture(t, d)
	for h := range 10 {
		for range 10 - h {
			f.add(t, NewEvent{OccurredAt: at("2026-01-12T08:00:00Z"), Description: "e",
				Source: EventSource{Host: fmt.Sprintf("host-%d", h)}})
		}
	}
	got, err := f.tl.Histogram(ctx, f.caseID, f.reader, HistogramRequest{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"01-12T08..01-12T09 by 1h0m0s in 1, 55 events", "lane host-0=10", "lane host-1=9", "lane host-2=8",
		"lane host-3=7", "lane host-4=6", "lane host-5=5", "lane host-6=4", "lane (other)=6",
		"0/host-0/=10", "0/host-1/=9", "0/host-2/=8", "0/host-3/=7", "0/host-4/=6", "0/host-5/=5", "0/host-6/=4", "0//=6"}
	if lines := histogramLines(got); !reflect.DeepEqual(lines, want) {
		t.Errorf("%q\nwant\n%q", lines, want)
	}
}

func TestTimeline_HistogramRefusesWhatItCannotAnswer(t *testing.T) {
	d := testenv.SQLite(t)
	f := newTimelineFixture(t, d)
	from, to := at("2026-01-12T08:00:00Z"), at("2026-01-12T07:00:00Z")
	early := time.Date(1500, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		req   HistogramRequest
		field string
	}{
		{HistogramRequest{Buckets: MaxHistogramBuckets + 1}, "buckets"},
		{HistogramRequest{Buckets: -1}, "buckets"},
		{HistogramRequest{Lane: "actor"}, "lane"},
		{HistogramRequest{From: &from, To: &to}, "to"},
		{HistogramRequest{From: &early}, "from"},
	} {
		_, err := f.tl.Histogram(context.Background(), f.caseID, f.reader, tc.req)
		var invalid *validate.Error
		if !errors.As(err, &invalid) || len(invalid.Fields) != 1 || invalid.Fields[0].Field != tc.field {
			t.Errorf("%+v: %v, want a complaint about %s", tc.req, err, tc.field)
		}
	}
}

// TestTimeline_TallyMigrationCountsTheEventsBefore: migration 00085 back-fills
// the tallies from the events already there, current versions only.
func TestTimeline_TallyMigrationCountsTheEventsBefore(t *testing.T) {
	for _, d := range testenv.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			ctx := context.Background()
			f := newTimelineFixture(t, d)
			log := testenv.Logger(t)
			if _, err := db.MigrateDownTo(ctx, d.DB, log, 84); err != nil {
				t.Fatal(err)
			}
			// Rows as the code before the tallies wrote them, a correction among them.
			var ids []string
			for i, in := range []NewEvent{
				{OccurredAt: at("1969-12-31T23:30:00Z"), Source: EventSource{Host: "old-host", Log: strings.Repeat("ø", 250)},
					Tactics: []string{"TA0001"}, Techniques: []string{"T1078"}, TLP: access.TLPRed},
				{OccurredAt: at("2026-01-12T08:10:00.123456Z"), Source: EventSource{Host: "hr-fs01"},
					Tactics: []string{"TA0001", "TA0008"}, Techniques: []string{"T1078", "T1021"}, TLP: access.TLPAmber},
				{OccurredAt: at("2026-01-12T23:59:59Z"), OccurredUntil: pointer(at("2026-01-14T02:00:00Z")),
					Source: EventSource{Host: "hr-fs01"}, Techniques: []string{"T1048"}, TLP: access.TLPGreen},
				{OccurredAt: at("2026-01-13T01:00:00Z"), Source: EventSource{Host: "dc01"}, Tactics: []string{"TA0008"},
					Techniques: []string{"T1021"}, TLP: access.TLPAmber},
			} {
				in.Description = "e"
				in.normalize()
				row := f.tl.newRow(f.caseID, f.reader.Principal, in)
				if i == 3 { // corrects the second
					row.Supersedes, row.CorrectionReason = &ids[1], "wrong host"
				}
				if err := d.DB.Create(&row).Error; err != nil {
					t.Fatal(err)
				}
				ids = append(ids, row.ID)
			}
			if _, err := db.Migrate(ctx, d.DB, log); err != nil {
				t.Fatal(err)
			}
			checkTally(t, f, "the migration")
			if hist, ttp := tallyRows(t, f); len(hist) != 9 || len(ttp) != 3 {
				t.Errorf("the tallies of three current events: %d and %d groups\n%s\n%s", len(hist), len(ttp),
					strings.Join(hist, "\n"), strings.Join(ttp, "\n"))
			}
		})
	}
}
