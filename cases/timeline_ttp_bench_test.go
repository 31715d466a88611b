package cases

import (
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bevis-ir/bevis/internal/db"
	"github.com/bevis-ir/bevis/internal/testenv"
	"github.com/bevis-ir/bevis/migrations"
)

var ttpBenchColumns = append(slices.Clone(importColumns), "tactics", "techniques")

func ttpBenchValues(r *eventRow, dst []any) []any {
	return append(importValues(r, dst), r.Tactics, r.Techniques)
}

// BenchmarkTimelineTTP summarises an n-event timeline in which every event
// carries one or two of the 14 tactics and one to three of 60 techniques
// (about three tactic and technique pairs an event, the worst case of a
// timeline marked up by hand) and n/1000 events are corrected, through
// Timeline.TTP; beside each run, as the baseline, a plain COUNT(*) of the
// case's events. It reports the 50th and 99th percentile of each.
func BenchmarkTimelineTTP(b *testing.B) {
	n := benchEvents(b)
	for _, dialect := range []string{db.SQLite, db.Postgres} {
		b.Run(dialect, func(b *testing.B) {
			d := benchDatabase(b, dialect)
			f := newTimelineFixture(b, d)
			seedTallied(b, f, n, func(i int, r eventRow) eventRow {
				tactics := []string{Tactics[i%len(Tactics)].ID}
				if i%2 == 0 {
					tactics = append(tactics, Tactics[(i/2)%len(Tactics)].ID)
				}
				techniques := []string{fmt.Sprintf("T%04d", 1000+i%60)}
				for k := range i % 3 {
					techniques = append(techniques, fmt.Sprintf("T%04d.%03d", 1000+(i/7+k)%60, 1+k))
				}
				r.Tactics, r.Techniques = joinList(dedupe(tactics)), joinList(techniques)
				return r
			})
			addCorrections(b, f, n/1000)
			count := countBaseline(b, d, dialect, f.caseID)
			var summaries, counts []time.Duration
			for b.Loop() {
				start := time.Now()
				s, err := f.tl.TTP(b.Context(), f.caseID, f.reader)
				summaries = append(summaries, time.Since(start))
				if err != nil || len(s.Tactics) != len(Tactics) || s.Truncated {
					b.Fatalf("summary of %d tactics (truncated %v): %v", len(s.Tactics), s.Truncated, err)
				}
				counts = append(counts, count())
			}
			b.ReportMetric(ms(percentile(summaries, 50)), "p50_ms")
			b.ReportMetric(ms(percentile(summaries, 99)), "p99_ms")
			b.ReportMetric(ms(percentile(counts, 50)), "baseline_count_p50_ms")
			b.ReportMetric(float64(percentile(summaries, 50))/float64(percentile(counts, 50)), "x_count")
		})
	}
}

// seedTallied writes events 0 to n-1 of f's case as the import would, each
// as mark makes it from the generated event (its tactics and techniques),
// fills their tallies and analyses the database.
func seedTallied(b *testing.B, f timelineFixture, n int, mark func(i int, r eventRow) eventRow) {
	b.Helper()
	template := baselineTemplate(b, f)
	writeRows(b, f, n, func(i int) eventRow { return mark(i, genEvent(i).row(template)) }, ttpBenchColumns, ttpBenchValues)
	backfillTally(b, f)
	if err := f.tl.db.Exec("ANALYZE").Error; err != nil {
		b.Fatal(err)
	}
}

// countBaseline is the tally benchmarks' baseline: it times a plain
// COUNT(*) of the events of caseID.
func countBaseline(b *testing.B, d testenv.Database, dialect, caseID string) func() time.Duration {
	b.Helper()
	sqlDB, err := d.DB.DB()
	if err != nil {
		b.Fatal(err)
	}
	query := rebind(dialect, `SELECT COUNT(*) FROM timeline_events WHERE case_id = ?`)
	return func() time.Duration {
		start := time.Now()
		var events int
		if err := sqlDB.QueryRowContext(b.Context(), query, caseID).Scan(&events); err != nil {
			b.Fatal(err)
		}
		return time.Since(start)
	}
}

// backfillTally fills the tallies of rows the benchmarks wrote straight
// into timeline_events (as the fastest baseline does, without them) with
// the back-fill statements of migration 00085 itself.
func backfillTally(b *testing.B, f timelineFixture) {
	dialect := db.Dialect(f.tl.db)
	dir := "sqlite"
	if dialect == db.Postgres {
		dir = "postgres"
	}
	fsys, err := migrations.FS(dir)
	if err != nil {
		b.Fatal(err)
	}
	text, err := fs.ReadFile(fsys, "00085_timeline_tally.sql")
	if err != nil {
		b.Fatal(err)
	}
	s := string(text)
	s = s[strings.Index(s, "INSERT INTO timeline_tally"):strings.Index(s, "-- +goose Down")]
	for stmt := range strings.SplitSeq(s, ";\n") {
		if stmt = strings.TrimSpace(stmt); stmt == "" {
			continue
		}
		if err := f.tl.db.Exec(stmt).Error; err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTimelineHistogram counts an n-event timeline (20 hosts, one
// event a second, a tenth marked with a tactic) for the time axis through
// Timeline.Histogram: the whole timeline in 180 buckets, and a one-day span;
// beside each run, as the baseline, a plain COUNT(*) of the case's events.
func BenchmarkTimelineHistogram(b *testing.B) {
	n := benchEvents(b)
	for _, dialect := range []string{db.SQLite, db.Postgres} {
		b.Run(dialect, func(b *testing.B) {
			d := benchDatabase(b, dialect)
			f := newTimelineFixture(b, d)
			seedTallied(b, f, n, func(i int, r eventRow) eventRow {
				if i%10 == 3 {
					r.Tactics = " " + Tactics[i%len(Tactics)].ID + " "
				}
				return r
			})
			count := countBaseline(b, d, dialect, f.caseID)
			dayFrom, dayTo := benchStart.Add(time.Duration(n/2)*time.Second), benchStart.Add(time.Duration(n/2)*time.Second+24*time.Hour)
			var wholes, days, counts []time.Duration
			for b.Loop() {
				start := time.Now()
				h, err := f.tl.Histogram(b.Context(), f.caseID, f.reader, HistogramRequest{Buckets: 180})
				wholes = append(wholes, time.Since(start))
				if err != nil || h.Events != int64(n) || len(h.Lanes) != MaxHistogramLanes {
					b.Fatalf("the whole timeline: %d events in %d lanes: %v", h.Events, len(h.Lanes), err)
				}
				start = time.Now()
				if _, err := f.tl.Histogram(b.Context(), f.caseID, f.reader,
					HistogramRequest{From: &dayFrom, To: &dayTo, Buckets: 180, Lane: LaneLog}); err != nil {
					b.Fatal(err)
				}
				days = append(days, time.Since(start))
				counts = append(counts, count())
			}
			b.ReportMetric(ms(percentile(wholes, 50)), "whole_p50_ms")
			b.ReportMetric(ms(percentile(wholes, 99)), "whole_p99_ms")
			b.ReportMetric(ms(percentile(days, 50)), "day_p50_ms")
			b.ReportMetric(ms(percentile(counts, 50)), "baseline_count_p50_ms")
			b.ReportMetric(float64(percentile(wholes, 50))/float64(percentile(counts, 50)), "x_count")
		})
	}
}
