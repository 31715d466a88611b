package db_test

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"gorm.io/gorm"

	"github.com/bevis-ir/bevis/internal/db"
	"github.com/bevis-ir/bevis/internal/testenv"
)

// Group commit is every writer's on SQLite, and Serial writers' on
// PostgreSQL (the others already share WAL flushes, see Open): the tests
// of its rules run on both, through the lane of Serial writers (on
// SQLite, the queue itself). The queue's tests in writequeue_test.go go
// through it too.

// groupOf queues Serial writers behind a held turn of their lane, one
// after another, so that they form one group when the turn frees (see
// free). Each runs body in a gorm Transaction with its own context.
type groupOf struct {
	t       *testing.T
	d       testenv.Database
	q       *db.WriteQueue
	held    []func()
	results []chan error
}

// The group is bounded by its writers alone, not by time: under the race
// detector on a loaded machine, the default 10 ms could pass while the
// writers run and split them into two groups.
func newGroup(t *testing.T, d testenv.Database) *groupOf {
	q := db.QueueOf(d.DB).SerialLane()
	q.GroupCommits(db.GroupCommit{MaxWriters: 32, MaxWait: time.Hour})
	return &groupOf{t: t, d: d, q: q, held: holdAll(t, q)}
}

func (g *groupOf) add(ctx context.Context, body func(tx *gorm.DB) error) {
	g.t.Helper()
	done := make(chan error, 1)
	g.results = append(g.results, done)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				done <- fmt.Errorf("panicked: %v", r)
			}
		}()
		done <- g.d.DB.WithContext(db.Serial(ctx)).Transaction(body)
	}()
	n := len(g.results)
	waitFor(g.t, fmt.Sprint(n, " writers waiting"), func() bool { return g.q.Waiting() == n })
}

func (g *groupOf) free() { g.held[0]() }

func (g *groupOf) wait() []error {
	errs := make([]error, len(g.results))
	for i, r := range g.results {
		errs[i] = <-r
	}
	return errs
}

// anotherProcess opens d as another process would, with a connection of
// its own.
func anotherProcess(t *testing.T, d testenv.Database) *sql.DB {
	t.Helper()
	driver, dsn := "pgx", d.URL
	if db.Dialect(d.DB) == db.SQLite {
		driver, dsn = "sqlite", strings.Replace(d.URL, "sqlite:", "file:", 1)
	}
	fresh, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = fresh.Close() })
	return fresh
}

func insert(n, part int) func(tx *gorm.DB) error {
	return func(tx *gorm.DB) error {
		return tx.Exec("INSERT INTO queue_probe (n, part) VALUES (?, ?)", n, part).Error
	}
}

func rows(t *testing.T, d testenv.Database) string {
	t.Helper()
	var got []struct{ N, Part int }
	if err := d.DB.Raw("SELECT n, part FROM queue_probe ORDER BY id").Scan(&got).Error; err != nil {
		t.Fatal(err)
	}
	var s []string
	for _, r := range got {
		s = append(s, fmt.Sprintf("%d.%d", r.N, r.Part))
	}
	return strings.Join(s, " ")
}

// groups reads the queue's histogram of group sizes: how many groups
// committed or failed, and how many writers' commits they carried.
func groups(t *testing.T, q *db.WriteQueue) (count uint64, writers float64) {
	t.Helper()
	h := metric(t, q, "bevis_db_group_commit_writers").GetHistogram()
	return h.GetSampleCount(), h.GetSampleSum()
}

// metric reads the queue's series named name.
func metric(t *testing.T, q *db.WriteQueue, name string) *dto.Metric {
	t.Helper()
	for _, c := range q.Collectors() {
		ch := make(chan prometheus.Metric, 1)
		c.Collect(ch)
		m := <-ch
		if !strings.Contains(m.Desc().String(), `"`+name+`"`) {
			continue
		}
		var out dto.Metric
		if err := m.Write(&out); err != nil {
			t.Fatal(err)
		}
		return &out
	}
	t.Fatalf("the queue has no series %s", name)
	return nil
}

func TestGroupCommit_AWritersFailureRollsBackOnlyItsOwnWork(t *testing.T) {
	for _, d := range testenv.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			queueProbe(t, d)
			g := newGroup(t, d)
			refused := errors.New("refused")
			killed, kill := context.WithCancel(context.Background())
			g.add(context.Background(), insert(0, 1))
			g.add(context.Background(), func(tx *gorm.DB) error {
				if err := insert(1, 1)(tx); err != nil {
					return err
				}
				return refused
			})
			g.add(context.Background(), func(tx *gorm.DB) error {
				if err := insert(2, 1)(tx); err != nil {
					return err
				}
				// gorm's nested transaction is a savepoint within the writer's.
				_ = tx.Transaction(func(tx *gorm.DB) error {
					if err := insert(2, 2)(tx); err != nil {
						return err
					}
					return refused
				})
				return insert(2, 3)(tx)
			})
			g.add(context.Background(), func(tx *gorm.DB) error {
				if err := insert(3, 1)(tx); err != nil {
					return err
				}
				panic("killed")
			})
			g.add(killed, func(tx *gorm.DB) error {
				if err := insert(4, 1)(tx); err != nil {
					return err
				}
				kill()
				return insert(4, 2)(tx)
			})
			g.add(context.Background(), insert(5, 1))
			g.free()
			errs := g.wait()
			for i, want := range []error{nil, refused, nil, errors.New("panicked"), context.Canceled, nil} {
				switch {
				case want == nil && errs[i] != nil:
					t.Errorf("writer %d: %v, want it committed", i, errs[i])
				case want != nil && errs[i] == nil:
					t.Errorf("writer %d committed, want %v", i, want)
				}
			}
			if got, want := rows(t, d), "0.1 2.1 2.3 5.1"; got != want {
				t.Fatalf("rows %s, want %s: each writer's own work, and only its own, is undone", got, want)
			}
			if n, w := groups(t, g.q); n != 1 || w != 3 {
				t.Fatalf("%d groups carrying %v commits, want the three writers that committed in one group", n, w)
			}
		})
	}
}

func TestGroupCommit_AFailedCommitFailsEveryWriterOfTheGroup(t *testing.T) {
	for _, d := range testenv.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			queueProbe(t, d)
			// A deferred foreign key is checked at COMMIT only: the one statement
			// that can make a COMMIT fail on demand.
			for _, ddl := range []string{"CREATE TABLE probe_parent (id INTEGER PRIMARY KEY)",
				"CREATE TABLE probe_child (parent INTEGER REFERENCES probe_parent (id) DEFERRABLE INITIALLY DEFERRED)"} {
				if err := d.DB.Exec(ddl).Error; err != nil {
					t.Fatal(err)
				}
			}
			g := newGroup(t, d)
			g.add(context.Background(), insert(0, 1))
			g.add(context.Background(), func(tx *gorm.DB) error {
				return tx.Exec("INSERT INTO probe_child (parent) VALUES (42)").Error
			})
			g.add(context.Background(), insert(2, 1))
			g.free()
			for i, err := range g.wait() {
				if !errors.Is(err, gorm.ErrForeignKeyViolated) {
					t.Errorf("writer %d: %v, want the failed COMMIT's error", i, err)
				}
			}
			if got := rows(t, d); got != "" {
				t.Fatalf("rows %q kept of a group whose COMMIT failed", got)
			}
			var orphans int64
			if err := d.DB.Raw("SELECT COUNT(*) FROM probe_child").Scan(&orphans).Error; err != nil || orphans != 0 {
				t.Fatalf("%d orphans kept (%v)", orphans, err)
			}
			// The connection was not given back with the transaction open.
			for i := range 2 * g.q.Width() {
				if err := d.DB.WithContext(db.Serial(context.Background())).Transaction(insert(10+i, 1)); err != nil {
					t.Fatalf("a write after the failed group: %v", err)
				}
			}
			if got := rows(t, d); got != "10.1 11.1" {
				t.Fatalf("rows %q after the failed group, want 10.1 11.1", got)
			}
		})
	}
}

func TestGroupCommit_CommitReturnsOnlyOnceTheGroupIsDurable(t *testing.T) {
	for _, d := range testenv.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			queueProbe(t, d)
			fresh := anotherProcess(t, d)
			seen := func() int64 {
				var n int64
				if err := fresh.QueryRow("SELECT COUNT(*) FROM queue_probe").Scan(&n); err != nil {
					t.Fatal(err)
				}
				return n
			}
			g := newGroup(t, d)
			inside, goOn := make(chan struct{}), make(chan struct{})
			g.add(context.Background(), insert(0, 1))
			g.add(context.Background(), func(tx *gorm.DB) error {
				if err := insert(1, 1)(tx); err != nil {
					return err
				}
				close(inside)
				<-goOn
				return nil
			})
			// Whenever the first writer's Commit returns, its row is there for
			// anyone to read.
			seenAtFirstCommit := make(chan int64, 1)
			first := g.results[0]
			g.results[0] = make(chan error, 1)
			go func() {
				err := <-first
				seenAtFirstCommit <- seen()
				g.results[0] <- err
			}()
			g.free()
			<-inside
			// The first writer's part is done, the group not committed: nobody
			// sees its row yet, and readers do not wait for the group.
			if n := seen(); n != 0 {
				t.Fatalf("another connection sees %d rows before the group's COMMIT", n)
			}
			rctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			var n int64
			if err := d.DB.WithContext(rctx).Raw("SELECT COUNT(*) FROM queue_probe").Scan(&n).Error; err != nil || n != 0 {
				t.Fatalf("a read while the group is open: %d rows, %v", n, err)
			}
			close(goOn)
			for i, err := range g.wait() {
				if err != nil {
					t.Fatalf("writer %d: %v", i, err)
				}
			}
			if n := <-seenAtFirstCommit; n != 2 {
				t.Fatalf("when the first writer's Commit returned another connection saw %d rows, want both of the group", n)
			}
		})
	}
}

func TestGroupCommit_GroupsAreBoundedInWritersAndTime(t *testing.T) {
	for _, c := range []struct {
		name   string
		bound  db.GroupCommit
		groups uint64
	}{
		{"writers", db.GroupCommit{MaxWriters: 3, MaxWait: time.Hour}, 3},
		{"time", db.GroupCommit{MaxWriters: 32, MaxWait: time.Nanosecond}, 7},
		{"none", db.GroupCommit{MaxWriters: 32, MaxWait: time.Hour}, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			for _, d := range testenv.Databases(t) {
				t.Run(d.Name, func(t *testing.T) {
					queueProbe(t, d)
					g := newGroup(t, d)
					g.q.GroupCommits(c.bound)
					for i := range 7 {
						g.add(context.Background(), insert(i, 1))
					}
					g.free()
					for i, err := range g.wait() {
						if err != nil {
							t.Fatalf("writer %d: %v", i, err)
						}
					}
					if got := rows(t, d); got != "0.1 1.1 2.1 3.1 4.1 5.1 6.1" {
						t.Fatalf("rows %s, want the writers' in the order they came", got)
					}
					if n, w := groups(t, g.q); n != c.groups || w != 7 {
						t.Fatalf("%d groups carrying %v commits, want %d carrying 7", n, w, c.groups)
					}
				})
			}
		})
	}
}

// On PostgreSQL, Serial writers have a lane of their own: while they wait
// for its turn, other writers pass them by, and the queue's depth counts
// them with its own waiters.
func TestGroupCommit_PostgresSerialWritersHoldBackOnlyEachOther(t *testing.T) {
	d := testenv.Postgres(t)
	queueProbe(t, d)
	g := newGroup(t, d)
	q := db.QueueOf(d.DB)
	if g.q == q {
		t.Fatal("Serial writers wait in the queue of every writer, want a lane of their own")
	}
	g.add(context.Background(), insert(0, 1))
	g.add(context.Background(), insert(1, 1))
	if n := metric(t, q, "bevis_db_write_queue_depth").GetGauge().GetValue(); n != 2 {
		t.Fatalf("queue depth %v, want the 2 Serial writers waiting", n)
	}
	if err := d.DB.Transaction(insert(9, 1)); err != nil {
		t.Fatal(err)
	}
	if got := rows(t, d); got != "9.1" {
		t.Fatalf("rows %q, want only the write that did not wait for the lane", got)
	}
	g.free()
	for i, err := range g.wait() {
		if err != nil {
			t.Fatalf("writer %d: %v", i, err)
		}
	}
	if got := rows(t, d); got != "9.1 0.1 1.1" {
		t.Fatalf("rows %q, want 9.1 0.1 1.1", got)
	}
	if n, w := groups(t, q); n != 1 || w != 2 {
		t.Fatalf("%d groups carrying %v commits, want the Serial writers' one, the other writer's commit its own", n, w)
	}
}

// The audit log's writer, which holds a connection of its own, never joins
// a group: the group before it commits, then it goes, before the writers
// waiting behind it.
func TestGroupCommit_TheAuditWriterEndsAGroup(t *testing.T) {
	d := testenv.SQLite(t)
	queueProbe(t, d)
	g := newGroup(t, d)
	inside, goOn := make(chan struct{}), make(chan struct{})
	g.add(context.Background(), func(tx *gorm.DB) error {
		if err := insert(0, 1)(tx); err != nil {
			return err
		}
		close(inside)
		<-goOn
		return nil
	})
	g.free()
	<-inside
	// While the first writer is in its part, a writer that could join its
	// group waits, and the audit writer behind it.
	second := make(chan error, 1)
	go func() { second <- d.DB.Transaction(insert(1, 1)) }()
	g.results = append(g.results, second)
	waitFor(t, "the second writer waiting", func() bool { return g.q.Waiting() == 1 })
	auditDone := make(chan error, 1)
	go func() {
		auditDone <- d.DB.Connection(func(conn *gorm.DB) error {
			return db.QueuedFirst(d.DB, conn).Transaction(insert(9, 1))
		})
	}()
	waitFor(t, "the audit writer waiting", func() bool { return g.q.Waiting() == 2 })
	close(goOn)
	for i, err := range g.wait() {
		if err != nil {
			t.Fatalf("writer %d: %v", i, err)
		}
	}
	if err := <-auditDone; err != nil {
		t.Fatal(err)
	}
	if got := rows(t, d); got != "0.1 9.1 1.1" {
		t.Fatalf("rows %s, want 0.1 9.1 1.1: the first writer, then the audit writer, then the next", got)
	}
	if n, w := groups(t, g.q); n != 2 || w != 2 {
		t.Fatalf("%d groups carrying %v commits, want two of one writer each", n, w)
	}
}

// crashChildEnv names the database a child process of
// TestGroupCommit_AKilledProcessLeavesNothingOfAnOpenGroup writes to.
const crashChildEnv = "BEVIS_GROUP_COMMIT_CHILD_DB"

func TestMain(m *testing.M) {
	if path := os.Getenv(crashChildEnv); path != "" {
		if err := crashChild(path); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// crashChild commits one write by itself, says so, then opens a group of
// three writers whose last never finishes, says so, and waits to be
// killed.
func crashChild(path string) error {
	gdb, err := db.Open(context.Background(), "sqlite:"+path, 0, slog.New(slog.DiscardHandler))
	if err != nil {
		return err
	}
	if err := gdb.Transaction(insert(0, 1)); err != nil {
		return err
	}
	fmt.Println("committed")
	q := db.QueueOf(gdb)
	release, err := q.Acquire(context.Background())
	if err != nil {
		return err
	}
	inside := make(chan struct{})
	for i := 1; i <= 3; i++ {
		go func() {
			_ = gdb.Transaction(func(tx *gorm.DB) error {
				if err := insert(i, 1)(tx); err != nil {
					return err
				}
				if i == 3 {
					close(inside)
					select {}
				}
				return nil
			})
		}()
		for q.Waiting() != i {
			time.Sleep(time.Millisecond)
		}
	}
	release()
	<-inside
	fmt.Println("inside")
	select {}
}

func TestGroupCommit_AKilledProcessLeavesNothingOfAnOpenGroup(t *testing.T) {
	d := testenv.SQLite(t)
	queueProbe(t, d)
	path := strings.TrimPrefix(d.URL, "sqlite:")
	if err := db.Close(d.DB); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	lines := bufio.NewScanner(out)
	for _, want := range []string{"committed", "inside"} {
		if !lines.Scan() || lines.Text() != want {
			t.Fatalf("the child said %q (%v), want %q", lines.Text(), lines.Err(), want)
		}
	}
	// Two writers have committed their part and wait for the group's
	// COMMIT; the third is in the middle of its own.
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	after, err := db.Open(context.Background(), "sqlite:"+path, 0, testenv.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close(after) })
	d.DB = after
	if got := rows(t, d); got != "0.1" {
		t.Fatalf("rows %q after the kill, want only 0.1, the write acknowledged before the group", got)
	}
	var check string
	if err := after.Raw("PRAGMA integrity_check").Scan(&check).Error; err != nil || check != "ok" {
		t.Fatalf("integrity check: %q, %v", check, err)
	}
	if err := after.Transaction(insert(7, 1)); err != nil {
		t.Fatalf("a write after the restart: %v", err)
	}
}
