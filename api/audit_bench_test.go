package api

import (
	"context"
	"net/http/httptest"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/bevis-ir/bevis/audit"
	"github.com/bevis-ir/bevis/internal/testenv"
)

// offRecord is auditing off: the baseline the audited endpoint is held to.
type offRecord struct{}

func (offRecord) Record(context.Context, audit.Entry) error { return nil }

// BenchmarkAuditedRead measures a typical read endpoint (the task list of a
// case) with every read recorded through group commit, beside the same
// endpoint with auditing off, in alternating rounds of the same run, at 32
// and at 128 requests in flight. The target is speed_x_unaudited ≥ 0.85 for
// a loaded server: with few requests in flight, each one's wait for its
// batch to commit leaves the CPU idle and the ratio is lower (reported as
// _c32 beside it).
func BenchmarkAuditedRead(b *testing.B) {
	const (
		round  = 1500 * time.Millisecond
		rounds = 3
	)
	for _, d := range testenv.Databases(b) {
		b.Run(d.Name, func(b *testing.B) {
			w := newWorld(b, d)
			unaudited := w.deps
			unaudited.Audit = offRecord{}
			off, err := New(unaudited)
			if err != nil {
				b.Fatal(err)
			}
			path := "/api/v1/cases/" + w.caseID + "/tasks"
			token := w.bearer["observer"]
			throughput := func(app *fiber.App, workers int) float64 {
				var n atomic.Int64
				var wg sync.WaitGroup
				stop := time.Now().Add(round)
				for range workers {
					wg.Go(func() {
						for time.Now().Before(stop) {
							req := httptest.NewRequest("GET", path, nil)
							req.Header.Set("Authorization", "Bearer "+token)
							resp, err := app.Test(req, -1)
							if err != nil || resp.StatusCode != 200 {
								b.Errorf("GET %s: %v %v", path, err, resp)
								return
							}
							_ = resp.Body.Close()
							n.Add(1)
						}
					})
				}
				wg.Wait()
				return float64(n.Load()) / round.Seconds()
			}
			for _, workers := range []int{32, 128} {
				var on, base, ratios []float64
				for i := 0; i < b.N; i++ {
					for range rounds {
						o, a := throughput(off, workers), throughput(w.app, workers)
						base, on = append(base, o), append(on, a)
						ratios = append(ratios, a/o)
					}
				}
				suffix := ""
				if workers == 32 {
					suffix = "_c32"
				}
				b.ReportMetric(median(base), "unaudited_req/s"+suffix)
				b.ReportMetric(median(on), "audited_req/s"+suffix)
				b.ReportMetric(median(ratios), "speed_x_unaudited"+suffix)
			}
		})
	}
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return s[len(s)/2]
}
