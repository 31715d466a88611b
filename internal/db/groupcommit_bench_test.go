package db_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/bevis-ir/bevis/internal/db"
	"github.com/bevis-ir/bevis/internal/testenv"
)

// BenchmarkGroupCommit has 16 writers in flight, as the load run's 16
// requests, each commit small transactions of two INSERTs (a row and its
// audit-like record), side by side in the same loop with commit groups
// and with every writer committing alone (the same queue, MaxWriters 1).
// Reported: each one's transactions per second and nearest-rank p99, and
// grouped_x_alone, the throughput of groups over that of writers alone.
// On PostgreSQL, where Open does not group (16 writers at once already
// share WAL flushes), the grouped phase turns grouping on to show what it
// would give. Test databases on PostgreSQL do not wait for the disk (see
// README): there the comparison shows the cost of the savepoints, not the
// flushes saved.
func BenchmarkGroupCommit(b *testing.B) {
	const inFlight, each = 16, 25
	for _, d := range testenv.Databases(b) {
		b.Run(d.Name, func(b *testing.B) {
			if err := d.DB.Exec("CREATE TABLE IF NOT EXISTS bench_rows (n INTEGER NOT NULL, body TEXT NOT NULL)").Error; err != nil {
				b.Fatal(err)
			}
			if err := d.DB.Exec("CREATE TABLE IF NOT EXISTS bench_records (n INTEGER NOT NULL, action TEXT NOT NULL)").Error; err != nil {
				b.Fatal(err)
			}
			q := db.QueueOf(d.DB)
			ctx := context.Background()
			write := func(n int) error {
				return d.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
					if err := tx.Exec("INSERT INTO bench_rows (n, body) VALUES (?, ?)", n, "a small write").Error; err != nil {
						return err
					}
					return tx.Exec("INSERT INTO bench_records (n, action) VALUES (?, ?)", n, "bench.post").Error
				})
			}
			phase := func(g db.GroupCommit, lat *[]time.Duration) time.Duration {
				q.GroupCommits(g)
				var mu sync.Mutex
				var wg sync.WaitGroup
				start := time.Now()
				for w := range inFlight {
					wg.Go(func() {
						mine := make([]time.Duration, 0, each)
						for i := range each {
							t0 := time.Now()
							if err := write(w*each + i); err != nil {
								b.Error(err)
								return
							}
							mine = append(mine, time.Since(t0))
						}
						mu.Lock()
						*lat = append(*lat, mine...)
						mu.Unlock()
					})
				}
				wg.Wait()
				return time.Since(start)
			}
			grouped := db.GroupCommit{MaxWriters: 32, MaxWait: 10 * time.Millisecond}
			alone := db.GroupCommit{MaxWriters: 1}
			var tGrouped, tAlone time.Duration
			var lGrouped, lAlone []time.Duration
			n := 0
			for b.Loop() {
				n++
				tAlone += phase(alone, &lAlone)
				tGrouped += phase(grouped, &lGrouped)
			}
			ops := float64(n * inFlight * each)
			b.ReportMetric(ops/tGrouped.Seconds(), "grouped_tx/s")
			b.ReportMetric(ops/tAlone.Seconds(), "alone_tx/s")
			b.ReportMetric(float64(tAlone)/float64(tGrouped), "grouped_x_alone")
			b.ReportMetric(p99ms(lGrouped), "grouped_p99_ms")
			b.ReportMetric(p99ms(lAlone), "alone_p99_ms")
		})
	}
}

func p99ms(d []time.Duration) float64 {
	if len(d) == 0 {
		return 0
	}
	slices.Sort(d)
	i := (99*len(d)+99)/100 - 1 // nearest rank
	return float64(d[min(i, len(d)-1)].Microseconds()) / 1000
}
