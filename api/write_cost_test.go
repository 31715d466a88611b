package api

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http/httptest"
	"os"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"gorm.io/gorm"

	"github.com/bevis-ir/bevis/internal/db"
)

// writeProfile names a file for the CPU profile of the writes alone (16
// in flight), without the world's setup that -cpuprofile also records:
// go test -run '^$' -bench BenchmarkWrite ./api -args -write.cpuprofile=/tmp/write
// writes /tmp/write.<dialect>.<write>.pprof.
var writeProfile = flag.String("write.cpuprofile", "", "prefix of the CPU profiles of BenchmarkWrite's writes in flight")

// statementLog counts the SQL statements GORM sends to one database
// (every Create, Query, Update, Delete, Row and Raw/Exec), and those the
// Serial lane sends in its pipelines, and keeps their text while asked to.
// BEGIN, COMMIT and savepoints are not counted: a write's transaction adds
// those.
type statementLog struct {
	n    atomic.Int64
	mu   sync.Mutex
	keep bool
	list []string
}

func recordStatements(tb testing.TB, gdb *gorm.DB) *statementLog {
	tb.Helper()
	sc := &statementLog{}
	add := func(query string) {
		sc.n.Add(1)
		sc.mu.Lock()
		if sc.keep {
			sc.list = append(sc.list, strings.Join(strings.Fields(query), " "))
		}
		sc.mu.Unlock()
	}
	record := func(tx *gorm.DB) {
		if db.Gathered(tx) {
			return // a part of the one statement that follows
		}
		add(tx.Statement.SQL.String())
	}
	if q := db.QueueOf(gdb); q != nil {
		// The statements of pipelines (a case's creation, a timeline
		// append on PostgreSQL), which GORM does not see.
		for _, lane := range slices.Compact([]*db.WriteQueue{q.SerialLane(), q.PipelineLane()}) {
			lane.ObservePipelines(func(b *pgx.Batch) {
				for _, st := range b.QueuedQueries {
					if verb, _, _ := strings.Cut(st.SQL, " "); !slices.Contains([]string{"BEGIN", "COMMIT", "SAVEPOINT"}, verb) {
						add(st.SQL)
					}
				}
			})
		}
	}
	// The callbacks stay: each test has a database of its own.
	name := "test:count:" + tb.Name()
	cb := gdb.Callback()
	for _, err := range []error{
		cb.Create().After("gorm:create").Register(name, record),
		cb.Query().After("gorm:query").Register(name, record),
		cb.Update().After("gorm:update").Register(name, record),
		cb.Delete().After("gorm:delete").Register(name, record),
		cb.Row().After("gorm:row").Register(name, record),
		cb.Raw().After("gorm:raw").Register(name, record),
	} {
		if err != nil {
			tb.Fatal(err)
		}
	}
	return sc
}

// countStatements counts every SQL statement run through gdb from now on.
func countStatements(tb testing.TB, gdb *gorm.DB) *atomic.Int64 {
	tb.Helper()
	return &recordStatements(tb, gdb).n
}

// during returns the statements run while f ran (f runs alone).
func (sc *statementLog) during(f func()) []string {
	sc.mu.Lock()
	sc.keep, sc.list = true, nil
	sc.mu.Unlock()
	f()
	sc.mu.Lock()
	defer sc.mu.Unlock()
	sc.keep = false
	return sc.list
}

// writeKind is one of the writes whose cost is measured: a breach of
// personal data opened as a case (one tag, the GDPR clock running), or an
// event added to the world's case timeline, each by the case's lead.
type writeKind struct {
	name   string
	method string
	path   func(w *world) string
	body   func(i int) string
}

var writeKinds = []writeKind{
	{name: "case_create", method: "POST", path: func(*world) string { return "/api/v1/cases" },
		body: func(i int) string {
			aware := time.Now().UTC().Add(-time.Hour).Format(time.RFC3339)
			return fmt.Sprintf(`{"title":"Write cost %d","severity":%d,"tlp":"AMBER","tags":["ransomware"],`+
				`"personal_data_breach":true,"aware_at":%q}`, i, 1+i%4, aware)
		}},
	{name: "timeline_append", method: "POST", path: func(w *world) string { return "/api/v1/cases/" + w.caseID + "/timeline" },
		body: func(i int) string {
			at := time.Now().UTC().Add(-time.Duration(i+1) * time.Second).Format(time.RFC3339)
			return fmt.Sprintf(`{"occurred_at":%q,"description":"Write cost %d","source":{"host":"bench-host"}}`, at, i)
		}},
}

// write sends one write as the case's lead; an error unless it is created.
func (w *world) write(k writeKind, i int) error {
	req := httptest.NewRequest(k.method, k.path(w), strings.NewReader(k.body(i)))
	req.Header.Set("Authorization", "Bearer "+w.bearer["lead"])
	req.Header.Set("Content-Type", "application/json")
	resp, err := w.app.Test(req, -1)
	if err != nil {
		return fmt.Errorf("%s: %w", k.name, err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != 201 {
		body, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("%s: status %d, want 201: %s", k.name, resp.StatusCode, body)
	}
	return nil
}

// BenchmarkWrite measures what a case create and a timeline append cost
// through the real app and stores, on both dialects: one at a time (time,
// allocations and SQL statements per write) and with 16 in flight (writes
// per second and the 99th percentile). -write.cpuprofile profiles the
// writes in flight.
func BenchmarkWrite(b *testing.B) {
	for _, dialect := range []string{db.SQLite, db.Postgres} {
		b.Run(dialect, func(b *testing.B) {
			w := seededWorld(b, dialect)
			sc := recordStatements(b, w.deps.DB)
			for _, k := range writeKinds {
				b.Run(k.name, func(b *testing.B) {
					b.ReportAllocs()
					before, cpu := sc.n.Load(), cpuTime()
					b.ResetTimer()
					for i := 0; i < b.N; i++ {
						if err := w.write(k, i); err != nil {
							b.Fatal(err)
						}
					}
					b.StopTimer()
					b.ReportMetric(float64(sc.n.Load()-before)/float64(b.N), "stmts/op")
					b.ReportMetric(float64((cpuTime()-cpu).Microseconds())/float64(b.N), "cpu_us/op")
				})
				b.Run(k.name+"_c16", func(b *testing.B) {
					if *writeProfile != "" {
						f, err := os.Create(fmt.Sprintf("%s.%s.%s.pprof", *writeProfile, dialect, k.name))
						if err != nil {
							b.Fatal(err)
						}
						if err := pprof.StartCPUProfile(f); err != nil {
							b.Fatal(err)
						}
						defer func() { pprof.StopCPUProfile(); _ = f.Close() }()
					}
					const inFlight = 16
					var next atomic.Int64
					lat := make([][]time.Duration, inFlight)
					var wg sync.WaitGroup
					b.ResetTimer()
					start, cpu := time.Now(), cpuTime()
					for g := range inFlight {
						wg.Go(func() {
							for {
								i := int(next.Add(1))
								if i > b.N {
									return
								}
								t0 := time.Now()
								if err := w.write(k, i); err != nil {
									b.Error(err)
									return
								}
								lat[g] = append(lat[g], time.Since(t0))
							}
						})
					}
					wg.Wait()
					elapsed := time.Since(start)
					b.StopTimer()
					all := slices.Concat(lat...)
					if len(all) == 0 {
						return
					}
					slices.Sort(all)
					b.ReportMetric(float64(b.N)/elapsed.Seconds(), "writes/s")
					b.ReportMetric(float64((cpuTime()-cpu).Microseconds())/float64(b.N), "cpu_us/op")
					b.ReportMetric(float64(nearestRank(all, 0.99).Microseconds())/1000, "p99_ms")
					b.ReportMetric(float64(all[len(all)-1].Microseconds())/1000, "worst_ms")
				})
			}
		})
	}
}

// cpuTime is the CPU time the process has used (user and system): what a
// write costs the machine, apart from the time it waits for the disk. On
// PostgreSQL the server's own CPU is not in it.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// nearestRank is the p-th percentile of sorted by the nearest-rank method.
func nearestRank(sorted []time.Duration, p float64) time.Duration {
	i := int(float64(len(sorted))*p+0.999999) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

// writeStatements pins the SQL statements of each write (BEGIN and COMMIT
// aside) on each dialect. The README's "What a write costs" says what each
// is for; on PostgreSQL a timeline append writes in one statement (a WITH
// query) what SQLite writes in three, and a case create what SQLite writes in
// eight, its reference included.
var writeStatements = map[string]map[string]int{
	db.SQLite:   {"case_create": 9, "timeline_append": 4},
	db.Postgres: {"case_create": 2, "timeline_append": 2},
}

// TestWrite_RunsThePinnedStatements: a case create and a timeline append
// run no more statements than the guarantees they pay for. A change that
// adds a round trip fails here; one that needs it raises the pin, and the
// README's account of the write, with it.
func TestWrite_RunsThePinnedStatements(t *testing.T) {
	t.Parallel()
	for _, dialect := range dialects {
		t.Run(dialect, func(t *testing.T) {
			w := seededWorld(t, dialect)
			sc := recordStatements(t, w.deps.DB)
			for _, k := range writeKinds {
				var err error
				ran := sc.during(func() { err = w.write(k, 1) })
				if err != nil {
					t.Fatal(err)
				}
				if want := writeStatements[dialect][k.name]; len(ran) != want {
					t.Errorf("a %s ran %d SQL statements, pinned at %d; they were:\n%s\n"+
						"If the new one pays for a guarantee, raise the pin in writeStatements and the README's "+
						"\"What a write costs\"; otherwise take it out of the request.",
						k.name, len(ran), want, strings.Join(ran, "\n"))
				}
			}
		})
	}
}

// TestCaseCreate_AnswersWhatAReadReturns: the create answers with the case
// as written, without reading it back, and that answer is what a read of
// the case returns, reference, tags and clocks included.
func TestCaseCreate_AnswersWhatAReadReturns(t *testing.T) {
	t.Parallel()
	for _, dialect := range dialects {
		t.Run(dialect, func(t *testing.T) {
			w := seededWorld(t, dialect)
			body := `{"title":"  Exfiltration via the print spooler ","severity":3,"tlp":"AMBER",` +
				`"tags":["Spooler","apt","apt"],"affected_organisations":["Helse Vest"],"personal_data_breach":true,` +
				`"aware_at":"` + time.Now().Add(-2*time.Hour).Format(time.RFC3339Nano) + `","jurisdictions":["nis2","gdpr"],` +
				`"party_awareness":[{"party":"processor","aware_at":"` + time.Now().Add(-3*time.Hour).Format(time.RFC3339Nano) + `"}]}`
			resp, created := w.call(t, "POST", "/api/v1/cases", w.bearer["lead"], body)
			if resp.StatusCode != 201 {
				t.Fatalf("create: %d %s", resp.StatusCode, created)
			}
			var k caseJSON
			if err := json.Unmarshal([]byte(created), &k); err != nil {
				t.Fatal(err)
			}
			if len(k.Clocks) != 4 || len(k.Tags) != 2 || k.Reference == "" {
				t.Fatalf("create answered %s, want the reference, 2 tags and 4 clocks", created)
			}
			get, read := w.call(t, "GET", "/api/v1/cases/"+k.ID, w.bearer["lead"], "")
			if get.StatusCode != 200 {
				t.Fatalf("read: %d %s", get.StatusCode, read)
			}
			if created != read {
				t.Errorf("create answered\n%s\na read returns\n%s", created, read)
			}
			if resp.Header.Get("ETag") != get.Header.Get("ETag") {
				t.Errorf("ETag %s on create, %s on read", resp.Header.Get("ETag"), get.Header.Get("ETag"))
			}
		})
	}
}
