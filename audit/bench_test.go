package audit

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/bevis-ir/bevis/internal/db"
	"github.com/bevis-ir/bevis/internal/testenv"
)

// BenchmarkWriter_GroupCommit has 32 or 256 goroutines, as concurrent
// requests would, each record entries through the Writer, and side by side in the
// same loop do the same number of plain one-row SELECTs (what a read
// endpoint costs without auditing) and of one committed INSERT per entry
// (auditing without group commit). Reported: each one's operations per
// second, record_x_select (the Writer's throughput over the SELECTs'),
// audited_x_select (a SELECT followed by its Record, as an audited read
// endpoint does, over the SELECT alone) and record_x_insert_each (group
// commit's gain over an INSERT per read).
func BenchmarkWriter_GroupCommit(b *testing.B) {
	const each = 10
	for _, d := range testenv.Databases(b) {
		for _, goroutines := range []int{32, 256} {
			b.Run(fmt.Sprintf("%s/%d_goroutines", d.Name, goroutines), func(b *testing.B) {
				w := NewWriter(d.DB, WriterOptions{})
				defer w.Close()
				appendCommitted(b, d.DB, 1)
				var someID string
				if err := d.DB.Model(&entryRow{}).Limit(1).Pluck("id", &someID).Error; err != nil {
					b.Fatal(err)
				}
				ctx := context.Background()
				phase := func(op func(i int) error) time.Duration {
					var wg sync.WaitGroup
					start := time.Now()
					for g := range goroutines {
						wg.Go(func() {
							for i := range each {
								if err := op(g*each + i); err != nil {
									b.Error(err)
									return
								}
							}
						})
					}
					wg.Wait()
					return time.Since(start)
				}
				var record, sel, audited, insertEach time.Duration
				selectOne := func() error {
					var r entryRow
					return d.DB.WithContext(ctx).Where("id = ?", someID).Take(&r).Error
				}
				n := 0
				for b.Loop() {
					n++
					record += phase(func(i int) error { return w.Record(ctx, entry(i)) })
					sel += phase(func(int) error { return selectOne() })
					audited += phase(func(i int) error {
						if err := selectOne(); err != nil {
							return err
						}
						return w.Record(ctx, entry(i))
					})
					insertEach += phase(func(i int) error {
						return d.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error { return Append(ctx, tx, entry(i)) })
					})
				}
				ops := float64(n * goroutines * each)
				b.ReportMetric(ops/record.Seconds(), "record/s")
				b.ReportMetric(ops/sel.Seconds(), "select/s")
				b.ReportMetric(ops/insertEach.Seconds(), "insert_each/s")
				b.ReportMetric(ops/audited.Seconds(), "select_and_record/s")
				b.ReportMetric(float64(sel)/float64(record), "record_x_select")
				b.ReportMetric(float64(sel)/float64(audited), "audited_x_select")
				b.ReportMetric(float64(insertEach)/float64(record), "record_x_insert_each")
			})
		}
	}
}

// BenchmarkSequencer_Seal seals 5,000 committed entries per iteration and,
// as the baseline, times the plain batched INSERT of those same entries.
// Reported: sealed/s (the sequencer's rate; the target is at least 5,000),
// insert/s of the baseline, and seal_x_insert (sealing's speed over
// inserting's).
func BenchmarkSequencer_Seal(b *testing.B) {
	const batch = 5000
	for _, d := range testenv.Databases(b) {
		b.Run(d.Name, func(b *testing.B) {
			s := newSequencer(b, d.DB, newSigner(b), nil)
			// The baseline's statements are as large as each dialect binds
			// fastest, as the sequencer's are.
			perStatement := 1000
			if d.Name == db.SQLite {
				perStatement = db.RowsPerInsert(16)
			}
			err := d.DB.Connection(func(conn *gorm.DB) error {
				conn = conn.Session(&gorm.Session{})
				st, err := s.loadState(conn)
				if err != nil {
					return err
				}
				var seal, insert time.Duration
				n := 0
				for b.Loop() {
					n++
					rows := make([]entryRow, batch)
					for i := range rows {
						if rows[i], err = normalize(entry(i), time.Now()); err != nil {
							return err
						}
					}
					start := time.Now()
					if err := d.DB.Transaction(func(tx *gorm.DB) error { return tx.CreateInBatches(&rows, perStatement).Error }); err != nil {
						return err
					}
					insert += time.Since(start)

					start = time.Now()
					if err := s.round(conn, &st, false); err != nil {
						return err
					}
					if st.seq != int64(n*batch) {
						return fmt.Errorf("sealed %d of %d entries", st.seq, n*batch)
					}
					seal += time.Since(start)
				}
				total := float64(n * batch)
				b.ReportMetric(total/seal.Seconds(), "sealed/s")
				b.ReportMetric(total/insert.Seconds(), "insert/s")
				b.ReportMetric(float64(insert)/float64(seal), "seal_x_insert")
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
		})
	}
}
