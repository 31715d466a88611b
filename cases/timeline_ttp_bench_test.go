package cases

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/bevis-ir/bevis/internal/db"
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
			template := baselineTemplate(b, f)
			writeRows(b, f, n, func(i int) eventRow {
				r := genEvent(i).row(template)
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
			}, ttpBenchColumns, ttpBenchValues)
			if err := f.tl.db.Exec("ANALYZE").Error; err != nil {
				b.Fatal(err)
			}
			addCorrections(b, f, n/1000)
			sqlDB, err := d.DB.DB()
			if err != nil {
				b.Fatal(err)
			}
			baseline := rebind(dialect, `SELECT COUNT(*) FROM timeline_events WHERE case_id = ?`)
			var summaries, counts []time.Duration
			for b.Loop() {
				start := time.Now()
				s, err := f.tl.TTP(b.Context(), f.caseID, f.reader)
				summaries = append(summaries, time.Since(start))
				if err != nil || len(s.Tactics) != len(Tactics) || s.Truncated {
					b.Fatalf("summary of %d tactics (truncated %v): %v", len(s.Tactics), s.Truncated, err)
				}
				start = time.Now()
				var events int
				if err := sqlDB.QueryRowContext(b.Context(), baseline, f.caseID).Scan(&events); err != nil {
					b.Fatal(err)
				}
				counts = append(counts, time.Since(start))
			}
			b.ReportMetric(ms(percentile(summaries, 50)), "p50_ms")
			b.ReportMetric(ms(percentile(summaries, 99)), "p99_ms")
			b.ReportMetric(ms(percentile(counts, 50)), "baseline_count_p50_ms")
			b.ReportMetric(float64(percentile(summaries, 50))/float64(percentile(counts, 50)), "x_count")
		})
	}
}
