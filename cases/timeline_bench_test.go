package cases

import (
	"bufio"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"gorm.io/gorm"

	"github.com/bevis-ir/bevis/internal/db"
	"github.com/bevis-ir/bevis/internal/testenv"
)

// benchEvents is the size of the timelines the benchmarks build: the
// 1,000,000 events of the targets unless BEVIS_BENCH_TIMELINE_EVENTS says
// otherwise (a smaller figure for a quick run on a shared machine).
func benchEvents(b *testing.B) int {
	n := 1_000_000
	if v := os.Getenv("BEVIS_BENCH_TIMELINE_EVENTS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1000 {
			b.Fatalf("BEVIS_BENCH_TIMELINE_EVENTS=%q: want a whole number of at least 1000", v)
		}
	}
	return n
}

var benchStart = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// benchEvent is event i of a synthetic super-timeline: 20 hosts, a tag on
// one event in ten, words for full-text search of varying frequency.
type benchEvent struct {
	micros                                   int64
	host, log, parser, user, desc, msg, word string
	tags                                     []string
}

func genEvent(i int) benchEvent {
	e := benchEvent{micros: benchStart.UnixMicro() + int64(i)*1_000_000,
		host: fmt.Sprintf("host-%02d", i%20), log: fmt.Sprintf("OS:/cases/host-%02d/Security.evtx", i%20),
		parser: "winevtx", user: fmt.Sprintf("user%03d", i%500), desc: "Creation Time",
		word: fmt.Sprintf("w%02d", i%20)}
	e.msg = fmt.Sprintf("[4624 / 0x1210] Logon type 3 by %s from 10.0.%d.%d process %d marker %s", e.user, i%256, i%200, i%65536, e.word)
	if i%10 == 0 {
		e.tags = []string{"lateral"}
	}
	return e
}

func (e benchEvent) jsonLine() string {
	tag := ""
	if len(e.tags) > 0 {
		tag = `, "tag": {"__container_type__": "event_tag", "__type__": "AttributeContainer", "labels": ["` + e.tags[0] + `"]}`
	}
	return fmt.Sprintf(`{"__container_type__": "event", "__type__": "AttributeContainer", "data_type": "windows:evtx:record", `+
		`"display_name": %q, "hostname": %q, "inode": 0, "message": %q, "parser": %q, "timestamp": %d, `+
		`"timestamp_desc": %q, "username": %q%s}`+"\n", e.log, e.host, e.msg, e.parser, e.micros, e.desc, e.user, tag)
}

// row is the event row an import of the event writes.
func (e benchEvent) row(template eventRow) eventRow {
	r := template
	r.ID = newID()
	r.OccurredAt = time.UnixMicro(e.micros).UTC()
	r.SourceTimezone, r.SourceHost, r.SourceLog, r.SourceSystem, r.Actor = "UTC", e.host, e.log, e.parser, e.user
	r.Description, r.Tags = describe(e.desc, e.msg, ""), joinList(e.tags)
	return r
}

func writeJSONLines(b *testing.B, n int) (string, int64) {
	path := filepath.Join(b.TempDir(), "timeline.jsonl")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	for i := range n {
		if _, err := w.WriteString(genEvent(i).jsonLine()); err != nil {
			b.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	info, _ := f.Stat()
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	return path, info.Size()
}

// benchDatabase is a fresh database of one dialect, by name.
func benchDatabase(b *testing.B, dialect string) testenv.Database {
	if dialect == db.Postgres {
		return testenv.Postgres(b)
	}
	return testenv.SQLite(b)
}

// BenchmarkTimelineImport imports an n-event json_line file through
// Timeline.Import and, side by side, writes the same rows into the same
// table the fastest plain way: one COPY (PostgreSQL) or one transaction of
// batched INSERTs (SQLite). speed_x_baseline is the import's throughput
// over the baseline's; the target is at least 0.5.
func BenchmarkTimelineImport(b *testing.B) {
	n := benchEvents(b)
	path, size := writeJSONLines(b, n)
	for _, dialect := range []string{db.SQLite, db.Postgres} {
		b.Run(dialect, func(b *testing.B) {
			var imported, baseline time.Duration
			runs := 0
			for b.Loop() {
				runs++
				// Each side starts from an empty table in a fresh database.
				f := newTimelineFixture(b, benchDatabase(b, dialect))
				file, err := os.Open(path)
				if err != nil {
					b.Fatal(err)
				}
				start := time.Now()
				rec, err := f.tl.Import(b.Context(), f.caseID, f.reader, ImportRequest{Format: FormatJSONLine}, file)
				imported += time.Since(start)
				_ = file.Close()
				if err != nil || rec.EventsImported != int64(n) {
					b.Fatalf("import: %v (%d events)", err, rec.EventsImported)
				}

				g := newTimelineFixture(b, benchDatabase(b, dialect))
				template := baselineTemplate(b, g)
				start = time.Now()
				writeBaseline(b, g, n, func(i int) eventRow { return genEvent(i).row(template) })
				baseline += time.Since(start)
			}
			events := float64(n) * float64(runs)
			b.ReportMetric(events/imported.Seconds(), "import_events/s")
			b.ReportMetric(events/baseline.Seconds(), "baseline_events/s")
			b.ReportMetric(float64(size)*float64(runs)/1e6/imported.Seconds(), "import_MB/s")
			b.ReportMetric(float64(baseline)/float64(imported), "speed_x_baseline")
		})
	}
}

// baselineTemplate is the constant part of the baseline's rows, under an
// import record of their own, as an import's rows are.
func baselineTemplate(b *testing.B, f timelineFixture) eventRow {
	now := f.tl.now()
	rec := toImportRow(ImportRecord{ID: newID(), CaseID: f.caseID, Format: FormatJSONLine, Status: ImportCompleted,
		TLP: "AMBER", CreatedBy: f.reader.Principal.UserID, StartedAt: now, FinishedAt: now})
	if err := f.tl.db.Create(&rec).Error; err != nil {
		b.Fatal(err)
	}
	return eventRow{CaseID: f.caseID, RecordedAt: now, RecordedBy: f.reader.Principal.UserID, TLP: "AMBER", ImportID: &rec.ID}
}

// writeBaseline writes rows 0..n-1 in one transaction without parsing
// anything: pgx CopyFrom, or the prepared multi-row INSERT; the columns
// an import writes, and the techniques.
func writeBaseline(b *testing.B, f timelineFixture, n int, row func(int) eventRow) {
	writeRows(b, f, n, row, importColumns, importValues)
}

var benchColumns = append(slices.Clone(importColumns), "techniques")

func benchValues(r *eventRow, dst []any) []any { return append(importValues(r, dst), r.Techniques) }

func writeRows(b *testing.B, f timelineFixture, n int, row func(int) eventRow, columns []string,
	valuesOf func(*eventRow, []any) []any) {
	ctx := b.Context()
	if db.Dialect(f.tl.db) == db.Postgres {
		withPgx(b, f.tl.db, func(conn *pgx.Conn) error {
			tx, err := conn.Begin(ctx)
			if err != nil {
				return err
			}
			defer func() { _ = tx.Rollback(ctx) }()
			i := -1
			var values []any
			_, err = tx.CopyFrom(ctx, pgx.Identifier{"timeline_events"}, columns, pgx.CopyFromFunc(func() ([]any, error) {
				i++
				if i == n {
					return nil, nil
				}
				r := row(i)
				values = valuesOf(&r, values[:0])
				return values, nil
			}))
			if err != nil {
				return err
			}
			return tx.Commit(ctx)
		})
		return
	}
	err := f.tl.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		ins, err := newBatchInserter(ctx, tx.Statement.ConnPool, columns, valuesOf)
		if err != nil {
			return err
		}
		defer ins.close()
		for i := range n {
			r := row(i)
			if err := ins.add(&r); err != nil {
				return err
			}
		}
		return ins.flush()
	})
	if err != nil {
		b.Fatal(err)
	}
}

func withPgx(b *testing.B, gdb *gorm.DB, f func(*pgx.Conn) error) {
	sqlDB, err := gdb.DB()
	if err != nil {
		b.Fatal(err)
	}
	conn, err := sqlDB.Conn(b.Context())
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	if err := conn.Raw(func(dc any) error { return f(dc.(*stdlib.Conn).Conn()) }); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkTimelinePage fetches filtered 100-event pages at random places
// in an n-event timeline, through Timeline.List, and beside each the plain
// unfiltered keyset page in raw SQL as the baseline. It reports the 50th
// and 99th percentile of each; the target is p99 under 20 ms on PostgreSQL.
func BenchmarkTimelinePage(b *testing.B) {
	n := benchEvents(b)
	for _, dialect := range []string{db.SQLite, db.Postgres} {
		b.Run(dialect, func(b *testing.B) {
			d := benchDatabase(b, dialect)
			f := newTimelineFixture(b, d)
			template := baselineTemplate(b, f)
			writeRows(b, f, n, func(i int) eventRow {
				r := genEvent(i).row(template)
				if i%10 == 3 {
					r.Techniques = " T1078 T1078.002 "
				}
				return r
			}, benchColumns, benchValues)
			backfillTally(b, f)
			if err := f.tl.db.Exec("ANALYZE").Error; err != nil {
				b.Fatal(err)
			}
			addCorrections(b, f, n/1000)
			span := time.Duration(n) * time.Second
			filters := []struct {
				name   string
				filter EventFilter
			}{
				{"source_5pct", EventFilter{Source: "host-07"}},
				{"tag_10pct", EventFilter{Tag: "lateral"}},
				{"technique_10pct", EventFilter{Technique: "T1078"}},
				{"text_5pct", EventFilter{Text: "w13"}},
				{"window_and_source", EventFilter{Source: "host-03"}}, // plus a one-day window, below
			}
			sqlDB, err := d.DB.DB()
			if err != nil {
				b.Fatal(err)
			}
			baselineQuery := rebind(dialect, `SELECT id, occurred_at, description FROM timeline_events
				WHERE case_id = ? AND (occurred_at, id) > (?, ?) ORDER BY occurred_at, id LIMIT 100`)
			for _, fc := range filters {
				b.Run(fc.name, func(b *testing.B) {
					rng := rand.New(rand.NewPCG(1, uint64(len(fc.name))))
					var pages, plain []time.Duration
					for b.Loop() {
						at := benchStart.Add(time.Duration(rng.Int64N(int64(span))))
						filter := fc.filter
						if fc.name == "window_and_source" {
							from, to := at.Add(-12*time.Hour), at.Add(12*time.Hour)
							filter.From, filter.To = &from, &to
						}
						start := time.Now()
						page, err := f.tl.List(b.Context(), f.caseID, f.reader, filter,
							PageRequest{Cursor: eventCursor{at: at, id: "0"}.encode(), Limit: DefaultPageSize})
						pages = append(pages, time.Since(start))
						if err != nil {
							b.Fatal(err)
						}
						if len(page.Events) == 0 && at.Before(benchStart.Add(span*9/10)) {
							b.Fatalf("an empty page at %v", at)
						}

						start = time.Now()
						rows, err := sqlDB.QueryContext(b.Context(), baselineQuery, f.caseID, at, "")
						if err != nil {
							b.Fatal(err)
						}
						drain(b, rows)
						plain = append(plain, time.Since(start))
					}
					b.ReportMetric(ms(percentile(pages, 50)), "p50_ms")
					b.ReportMetric(ms(percentile(pages, 99)), "p99_ms")
					b.ReportMetric(ms(percentile(plain, 50)), "baseline_p50_ms")
					b.ReportMetric(ms(percentile(plain, 99)), "baseline_p99_ms")
				})
			}
		})
	}
}

// addCorrections supersedes count events through Timeline.Correct, so the
// listing's "current versions only" rule has something to leave out.
func addCorrections(b *testing.B, f timelineFixture, count int) {
	for i := range count {
		page, err := f.tl.List(b.Context(), f.caseID, f.reader, EventFilter{},
			PageRequest{Cursor: eventCursor{at: benchStart.Add(time.Duration(i*997) * time.Second), id: "0"}.encode(), Limit: 1})
		if err != nil || len(page.Events) == 0 {
			b.Fatalf("pick an event to correct: %v", err)
		}
		ev := page.Events[0]
		if _, err := f.tl.Correct(b.Context(), f.caseID, ev.ID, f.reader, NewEvent{OccurredAt: ev.OccurredAt,
			Description: ev.Description + " (corrected)", Source: ev.Source, Tags: ev.Tags}, "benchmark correction"); err != nil {
			b.Fatal(err)
		}
	}
}

func rebind(dialect, query string) string {
	if dialect != db.Postgres {
		return query
	}
	out, n := []byte{}, 0
	for i := 0; i < len(query); i++ {
		if query[i] == '?' {
			n++
			out = append(out, '$')
			out = strconv.AppendInt(out, int64(n), 10)
			continue
		}
		out = append(out, query[i])
	}
	return string(out)
}

func drain(b *testing.B, rows *sql.Rows) {
	defer rows.Close()
	var id, desc string
	var at time.Time
	for rows.Next() {
		if err := rows.Scan(&id, &at, &desc); err != nil {
			b.Fatal(err)
		}
	}
	if err := rows.Err(); err != nil {
		b.Fatal(err)
	}
}

func percentile(d []time.Duration, p int) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return s[min(len(s)-1, len(s)*p/100)]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
