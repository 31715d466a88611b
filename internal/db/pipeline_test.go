package db_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"gorm.io/gorm"

	"github.com/bevis-ir/bevis/internal/db"
	"github.com/bevis-ir/bevis/internal/testenv"
)

// serialWrites queues prepared writes (PrepareOneStatement, then RunSerial)
// behind a held turn of the Serial lane, one after another, so that they
// run together when the turn frees (see free). Each write counts one up
// (oneCounter) and writes a family under that number. On PostgreSQL they
// run in pipelines (see db.RunSerial), which sent records.
type serialWrites struct {
	t       *testing.T
	d       testenv.Database
	q       *db.WriteQueue
	held    []func()
	ids     []*string
	results []chan error

	mu   sync.Mutex
	sent [][]string // the statements of each pipeline
}

func newSerialWrites(t *testing.T, d testenv.Database) *serialWrites {
	oneCounterTable(t, d)
	oneStatementTables(t, d)
	return heldLane(t, d, db.QueueOf(d.DB).SerialLane())
}

// heldLane holds every turn of the lane q, recording the pipelines it
// sends, for writes to queue behind it.
func heldLane(t *testing.T, d testenv.Database, q *db.WriteQueue) *serialWrites {
	q.GroupCommits(db.GroupCommit{MaxWriters: 32, MaxWait: time.Hour}) // see newGroup
	s := &serialWrites{t: t, d: d, q: q}
	q.ObservePipelines(func(b *pgx.Batch) {
		var sent []string
		for _, st := range b.QueuedQueries {
			sent = append(sent, strings.Fields(st.SQL)[0])
		}
		s.mu.Lock()
		s.sent = append(s.sent, sent)
		s.mu.Unlock()
	})
	s.held = holdAll(t, q)
	return s
}

// add queues a write whose parts f makes, given the lead's answer.
func (s *serialWrites) add(ctx context.Context, f func(tx *gorm.DB, id string) error) {
	s.t.Helper()
	id := new(string)
	s.ids = append(s.ids, id)
	s.queue(func() error {
		w, err := db.PrepareOneStatement(s.d.DB, oneCounter(id), func(tx *gorm.DB) error { return f(tx, *id) })
		if err != nil {
			return err
		}
		return w.RunSerial(ctx, s.d.DB)
	})
}

// addTransaction queues a Serial writer of a transaction of its own
// making, which counts one up as the prepared writes do.
func (s *serialWrites) addTransaction(prefix string) {
	s.t.Helper()
	id := new(string)
	s.ids = append(s.ids, id)
	s.queue(func() error {
		return s.d.DB.WithContext(db.Serial(context.Background())).Transaction(func(tx *gorm.DB) error {
			return asOneStatementAfter(tx, oneCounter(id), func(tx *gorm.DB) error { return ledFamily(tx, *id, prefix, 1) })
		})
	})
}

func (s *serialWrites) queue(write func() error) {
	s.t.Helper()
	done := make(chan error, 1)
	s.results = append(s.results, done)
	go func() { done <- write() }()
	n := len(s.results)
	waitFor(s.t, fmt.Sprint(n, " writers waiting"), func() bool { return s.q.Waiting() == n })
}

func (s *serialWrites) free() { s.held[0]() }

// wait returns each write's error and answer, in the order they came.
func (s *serialWrites) wait() (errs []error, answers string) {
	var a []string
	for i, r := range s.results {
		errs = append(errs, <-r)
		if errs[i] == nil {
			a = append(a, *s.ids[i])
		} else {
			a = append(a, "-")
		}
	}
	return errs, strings.Join(a, " ")
}

// wrote checks the children written, each with its parent.
func (s *serialWrites) wrote(want string) {
	s.t.Helper()
	if got := children(s.t, s.d); got != want {
		s.t.Errorf("wrote %s, want %s", got, want)
	}
}

// sentOnPostgres checks, on PostgreSQL, the pipelines sent, each given as
// the first words of its statements.
func (s *serialWrites) sentOnPostgres(want ...string) {
	s.t.Helper()
	if s.d.Name != db.Postgres {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var got []string
	for _, p := range s.sent {
		got = append(got, strings.Join(p, " "))
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		s.t.Errorf("sent:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// writeNow runs a write of a family of one child, named name, at once
// (the lane free), and returns its answer.
func writeNow(d testenv.Database, name string) (string, error) {
	var id string
	w, err := db.PrepareOneStatement(d.DB, oneCounter(&id), func(tx *gorm.DB) error { return child(name, 0)(tx, id) })
	if err != nil {
		return "", err
	}
	err = w.RunSerial(context.Background(), d.DB)
	return id, err
}

// child writes a family of one child under id, the child's n given.
func child(prefix string, n int) func(tx *gorm.DB, id string) error {
	return func(tx *gorm.DB, id string) error {
		note := "a note"
		if err := tx.Table("one_parents").Create(&oneParent{ID: id, At: time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC),
			Note: &note}).Error; err != nil {
			return err
		}
		return tx.Table("one_children").Create(&oneChild{ID: prefix, ParentID: id, N: n}).Error
	}
}

// children lists the children written, each with its parent.
func children(t *testing.T, d testenv.Database) string {
	t.Helper()
	var got []oneChild
	if err := d.DB.Table("one_children").Order("id").Find(&got).Error; err != nil {
		t.Fatal(err)
	}
	var s []string
	for _, c := range got {
		s = append(s, c.ID+"<"+c.ParentID)
	}
	return strings.Join(s, " ")
}

// TestRunSerial_WritesWaitingRunInOnePipeline: prepared writes waiting in
// the Serial lane run in the order they came, each with its own answer, in
// one group; on PostgreSQL in one round trip: BEGIN, a savepoint and the
// statement of each, COMMIT.
func TestRunSerial_WritesWaitingRunInOnePipeline(t *testing.T) {
	for _, d := range testenv.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			s := newSerialWrites(t, d)
			for i := range 4 {
				s.add(context.Background(), child(fmt.Sprint("w", i), i))
			}
			s.free()
			errs, answers := s.wait()
			if err := errors.Join(errs...); err != nil || answers != "p1 p2 p3 p4" {
				t.Fatalf("answered %s (%v), want p1 p2 p3 p4", answers, err)
			}
			s.wrote("w0<p1 w1<p2 w2<p3 w3<p4")
			if n, w := groups(t, s.q); n != 1 || w != 4 {
				t.Errorf("%d groups carrying %v commits, want one of 4", n, w)
			}
			s.sentOnPostgres("BEGIN " + strings.Repeat("SAVEPOINT WITH ", 4) + "COMMIT")
		})
	}
}

// TestRunSerial_AFailingWriteFailsAlone: a write that fails gets its own
// error and gives back the number it took; the writes before it and after
// it commit, numbered without a gap. On PostgreSQL the writes after a
// failed one are sent again, in a pipeline of their own.
func TestRunSerial_AFailingWriteFailsAlone(t *testing.T) {
	for _, d := range testenv.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			s := newSerialWrites(t, d)
			for i := range 5 {
				n := i
				if i == 1 || i == 3 {
					n = 101 // refused by the children's CHECK
				}
				s.add(context.Background(), child(fmt.Sprint("w", i), n))
			}
			s.free()
			errs, answers := s.wait()
			for i, err := range errs {
				if failing := i == 1 || i == 3; failing != (err != nil) {
					t.Errorf("write %d: %v, want it to fail: %v", i, err, failing)
				}
			}
			if answers != "p1 - p2 - p3" {
				t.Errorf("answered %s, want p1 - p2 - p3: the failed writes' numbers given back", answers)
			}
			s.wrote("w0<p1 w2<p2 w4<p3")
			if n, w := groups(t, s.q); n != 1 || w != 3 {
				t.Errorf("%d groups carrying %v commits, want one of 3", n, w)
			}
			s.sentOnPostgres(
				"BEGIN "+strings.Repeat("SAVEPOINT WITH ", 5)+"COMMIT",
				strings.Repeat("SAVEPOINT WITH ", 3)+"COMMIT",
				"SAVEPOINT WITH COMMIT")
		})
	}
}

// TestRunSerial_AFailedCommitFailsEveryWrite: when the group's COMMIT
// fails, every write of it gets the error and nothing of theirs is kept;
// the connection is not given back with the transaction open.
func TestRunSerial_AFailedCommitFailsEveryWrite(t *testing.T) {
	for _, d := range testenv.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			for _, ddl := range []string{"CREATE TABLE probe_parent (id INTEGER PRIMARY KEY)",
				"CREATE TABLE probe_child (parent INTEGER REFERENCES probe_parent (id) DEFERRABLE INITIALLY DEFERRED)"} {
				if err := d.DB.Exec(ddl).Error; err != nil {
					t.Fatal(err)
				}
			}
			s := newSerialWrites(t, d)
			s.add(context.Background(), child("w0", 0))
			s.add(context.Background(), func(tx *gorm.DB, id string) error {
				if err := child("w1", 1)(tx, id); err != nil {
					return err
				}
				return tx.Exec("INSERT INTO probe_child (parent) VALUES (42)").Error // checked at COMMIT
			})
			s.add(context.Background(), child("w2", 2))
			s.free()
			errs, _ := s.wait()
			for i, err := range errs {
				if !errors.Is(err, gorm.ErrForeignKeyViolated) {
					t.Errorf("write %d: %v, want the failed COMMIT's error", i, err)
				}
			}
			if got := children(t, d); got != "" {
				t.Fatalf("kept %s of a group whose COMMIT failed", got)
			}
			for i := range 3 {
				if id, err := writeNow(d, fmt.Sprint("after", i)); err != nil || id != fmt.Sprint("p", i+1) {
					t.Fatalf("a write after the failed group answered %q, %v; want p%d", id, err, i+1)
				}
			}
		})
	}
}

// TestRunSerial_AWriteWhoseContextEndsWhileWaitingNeverRuns: a writer
// gone before its turn gets its context's error, and the writes around it
// run without it.
func TestRunSerial_AWriteWhoseContextEndsWhileWaitingNeverRuns(t *testing.T) {
	for _, d := range testenv.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			s := newSerialWrites(t, d)
			gone, cancel := context.WithCancel(context.Background())
			s.add(context.Background(), child("w0", 0))
			s.add(gone, child("w1", 1))
			s.add(context.Background(), child("w2", 2))
			cancel()
			waitFor(t, "the gone writer to leave", func() bool { return s.q.Waiting() == 2 })
			s.free()
			errs, answers := s.wait()
			if !errors.Is(errs[1], context.Canceled) || errs[0] != nil || errs[2] != nil || answers != "p1 - p2" {
				t.Fatalf("answered %s (%v), want p1 - p2 and the gone writer's context error", answers, errs)
			}
			s.wrote("w0<p1 w2<p2")
			s.sentOnPostgres("BEGIN SAVEPOINT WITH SAVEPOINT WITH COMMIT")
		})
	}
}

// TestRunSerial_KeepsItsPlaceAmongOtherSerialWriters: a pipeline takes
// only the prepared writes right behind its leader; a Serial writer of
// another kind runs in its turn, and the numbers follow the order the
// writers came in.
func TestRunSerial_KeepsItsPlaceAmongOtherSerialWriters(t *testing.T) {
	for _, d := range testenv.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			s := newSerialWrites(t, d)
			s.add(context.Background(), child("a", 0))
			s.addTransaction("t")
			s.add(context.Background(), child("b", 0))
			s.add(context.Background(), child("c", 0))
			s.free()
			errs, answers := s.wait()
			if err := errors.Join(errs...); err != nil || answers != "p1 p2 p3 p4" {
				t.Fatalf("answered %s (%v), want p1 p2 p3 p4", answers, err)
			}
			s.wrote("a<p1 b<p3 c<p4 t0<p2 tlast<p2")
			// The first write alone; the Serial writer's transaction; the last two.
			s.sentOnPostgres("BEGIN SAVEPOINT WITH COMMIT", "BEGIN SAVEPOINT WITH SAVEPOINT WITH COMMIT")
		})
	}
}

// TestRunSerial_AConnectionLostMidPipelineKeepsNothing: when the server
// ends the pipeline's connection while it runs (as when it, or Bevis,
// dies), every write of it fails, none is kept, and the lane goes on on
// another connection.
func TestRunSerial_AConnectionLostMidPipelineKeepsNothing(t *testing.T) {
	d := testenv.Postgres(t)
	if err := d.DB.Exec("CREATE TABLE probe_slow (at TIMESTAMPTZ)").Error; err != nil {
		t.Fatal(err)
	}
	s := newSerialWrites(t, d)
	s.add(context.Background(), child("w0", 0))
	s.add(context.Background(), func(tx *gorm.DB, id string) error {
		if err := child("w1", 1)(tx, id); err != nil {
			return err
		}
		return tx.Exec("INSERT INTO probe_slow (at) SELECT now() FROM pg_sleep(30)").Error
	})
	s.add(context.Background(), child("w2", 2))
	s.free()
	var pid int64
	waitFor(t, "the pipeline to sleep", func() bool {
		err := d.DB.Raw("SELECT pid FROM pg_stat_activity WHERE wait_event = 'PgSleep' AND datname = current_database()").Scan(&pid).Error
		return err == nil && pid != 0
	})
	if err := d.DB.Exec("SELECT pg_terminate_backend(?)", pid).Error; err != nil {
		t.Fatal(err)
	}
	errs, answers := s.wait()
	for i, err := range errs {
		if err == nil {
			t.Errorf("write %d committed on a connection lost before its COMMIT", i)
		}
	}
	if got := children(t, d); got != "" {
		t.Fatalf("kept %s (answered %s)", got, answers)
	}
	if id, err := writeNow(d, "after"); err != nil || id != "p1" {
		t.Fatalf("the write after answered %q, %v; want p1, no number taken by the lost group", id, err)
	}
}

// backendWrites writes, through gdb's Serial lane, rows naming the
// PostgreSQL backend (connection) each pipeline ran on: its lead answers
// pg_backend_pid().
type backendWrites struct {
	gdb *gorm.DB
	n   int
}

func newBackendWrites(t *testing.T, d testenv.Database) *backendWrites {
	if err := d.DB.Exec("CREATE TABLE probe_backends (n INTEGER PRIMARY KEY, pid TEXT NOT NULL)").Error; err != nil {
		t.Fatal(err)
	}
	return &backendWrites{gdb: d.DB}
}

// write runs one write and returns the backend it ran on.
func (b *backendWrites) write() (string, error) {
	var pid string
	b.n++
	w, err := db.PrepareOneStatement(b.gdb, db.Lead{SQL: "SELECT pg_backend_pid()::text AS pid", Answer: "pid", Into: &pid},
		func(tx *gorm.DB) error {
			return tx.Exec("INSERT INTO probe_backends (n, pid) VALUES (?, ?)", b.n, pid).Error
		})
	if err != nil {
		return "", err
	}
	err = w.RunSerial(context.Background(), b.gdb)
	return pid, err
}

// churn checks out two connections of the pool and gives them back in
// the order that leaves the pool handing out, next, one the lane did not
// use last (the pool gives the connection given back last).
func churn(t *testing.T, gdb *gorm.DB) {
	t.Helper()
	sqlDB, err := gdb.DB()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var conns []*sql.Conn
	for range 2 {
		c, err := sqlDB.Conn(ctx)
		if err == nil {
			err = c.PingContext(ctx)
		}
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	for _, c := range conns {
		_ = c.Close()
	}
}

// TestRunSerial_PipelinesKeepTheirConnection: pipelines one after another
// run on one backend, whatever the pool hands out in between: a backend
// runs its first creation of a case tens of milliseconds slower than the
// next, and every creation waits behind it (see laneConn).
func TestRunSerial_PipelinesKeepTheirConnection(t *testing.T) {
	d := testenv.Postgres(t)
	b := newBackendWrites(t, d)
	var pids []string
	for range 4 {
		pid, err := b.write()
		if err != nil {
			t.Fatal(err)
		}
		pids = append(pids, pid)
		churn(t, d.DB)
	}
	if len(slices.Compact(slices.Clone(pids))) != 1 {
		t.Errorf("pipelines ran on backends %v, want one", pids)
	}
}

// TestRunSerial_ALaneConnectionLostWhileIdleIsLeftBehind: the lane's
// connection ended by the server while no pipeline used it (a restart, an
// administrator's pg_terminate_backend) costs no write once it has been
// idle for a second: the pool checks it on the way, as it checks its
// own, and the lane goes on on another.
func TestRunSerial_ALaneConnectionLostWhileIdleIsLeftBehind(t *testing.T) {
	d := testenv.Postgres(t)
	b := newBackendWrites(t, d)
	pid, err := b.write()
	if err != nil {
		t.Fatal(err)
	}
	if err := d.DB.Exec("SELECT pg_terminate_backend(?::int)", pid).Error; err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond) // past laneIdle, and pgx's own second
	next, err := b.write()
	if err != nil {
		t.Fatalf("the write after the lane's connection was lost: %v", err)
	}
	if next == pid {
		t.Errorf("the write ran on backend %s, which was ended", pid)
	}
}

// TestClose_GivesBackTheLanesConnection: closing the database ends the
// connection the lane kept, as it ends the pool's.
func TestClose_GivesBackTheLanesConnection(t *testing.T) {
	d := testenv.Postgres(t)
	newBackendWrites(t, d)
	gdb, err := db.Open(context.Background(), d.URL, 5*time.Second, testenv.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	b := &backendWrites{gdb: gdb}
	pid, err := b.write()
	if err != nil {
		t.Fatal(err)
	}
	var piped string
	if err := db.RunPipelined(context.Background(), gdb, &piped, "SELECT pg_backend_pid()::text"); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(gdb); err != nil {
		t.Fatal(err)
	}
	for _, pid := range []string{pid, piped} {
		waitFor(t, "backend "+pid+" to end", func() bool {
			var n int64
			err := d.DB.Raw("SELECT count(*) FROM pg_stat_activity WHERE pid = ?::int", pid).Scan(&n).Error
			return err == nil && n == 0
		})
	}
	runtime.KeepAlive(gdb) // whose connections the collector would end
}

// pipelinedWrites queues RunPipelined writes behind a held turn of their
// lane, recording the pipelines sent (see serialWrites).
type pipelinedWrites struct {
	*serialWrites
}

func newPipelinedWrites(t *testing.T, d testenv.Database) *pipelinedWrites {
	if err := d.DB.Exec("CREATE TABLE piped (id TEXT PRIMARY KEY, n INTEGER NOT NULL CHECK (n <= 100))").Error; err != nil {
		t.Fatal(err)
	}
	return &pipelinedWrites{heldLane(t, d, db.QueueOf(d.DB).PipelineLane())}
}

// add queues the insert of a row, answering its id.
func (p *pipelinedWrites) add(ctx context.Context, id string, n int) {
	p.t.Helper()
	answer := new(string)
	p.ids = append(p.ids, answer)
	p.queue(func() error {
		return db.RunPipelined(ctx, p.d.DB, answer, "INSERT INTO piped (id, n) VALUES (?, ?) RETURNING id", id, n)
	})
}

func (p *pipelinedWrites) rows() string {
	p.t.Helper()
	var ids []string
	if err := p.d.DB.Raw("SELECT id FROM piped ORDER BY id").Scan(&ids).Error; err != nil {
		p.t.Fatal(err)
	}
	return strings.Join(ids, " ")
}

// TestRunPipelined_WritesWaitingRunInOnePipelineEachWithItsOutcome: the
// writes waiting in the lane run together, in the order they came, each
// with its own answer; one that fails (a CHECK) fails alone, and one whose
// context ends while it waits never runs. On PostgreSQL the group is one
// round trip (the writes after a failed one are sent again), and each
// write is one transaction's work, not one transaction.
func TestRunPipelined_WritesWaitingRunInOnePipelineEachWithItsOutcome(t *testing.T) {
	for _, d := range testenv.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			p := newPipelinedWrites(t, d)
			gone, cancel := context.WithCancel(context.Background())
			p.add(context.Background(), "w0", 0)
			p.add(context.Background(), "w1", 101) // refused by the CHECK
			p.add(gone, "w2", 2)
			p.add(context.Background(), "w3", 3)
			cancel()
			waitFor(t, "the gone writer to leave", func() bool { return p.q.Waiting() == 3 })
			p.free()
			errs, answers := p.wait()
			if errs[0] != nil || errs[3] != nil || !errors.Is(errs[1], gorm.ErrCheckConstraintViolated) ||
				!errors.Is(errs[2], context.Canceled) {
				t.Fatalf("errors %v, want the CHECK's for w1 and the context's for w2", errs)
			}
			if answers != "w0 - - w3" {
				t.Errorf("answered %s, want w0 - - w3", answers)
			}
			if got := p.rows(); got != "w0 w3" {
				t.Errorf("wrote %s, want w0 w3", got)
			}
			if n, w := groups(t, p.q); n != 1 || w != 2 {
				t.Errorf("%d groups carrying %v commits, want one of 2", n, w)
			}
			p.sentOnPostgres("BEGIN SAVEPOINT INSERT SAVEPOINT INSERT SAVEPOINT INSERT COMMIT", "SAVEPOINT INSERT COMMIT")
		})
	}
}

// TestRunPipelined_AWriteAnsweringNoRowSucceedsWithAnEmptyAnswer: a write
// is told it failed only when it did: one whose statement wrote nothing
// and answered no row commits with the rest of its group (on PostgreSQL
// the pipeline's COMMIT is sent with it) and answers an empty text; so
// does a NULL answer.
func TestRunPipelined_AWriteAnsweringNoRowSucceedsWithAnEmptyAnswer(t *testing.T) {
	for _, d := range testenv.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			p := newPipelinedWrites(t, d)
			p.add(context.Background(), "w0", 0)
			for _, query := range []string{"INSERT INTO piped (id, n) SELECT ?, ? WHERE 1 = 0 RETURNING id",
				"INSERT INTO piped (id, n) VALUES (?, ?) RETURNING NULL"} {
				answer := new(string)
				*answer = "unset"
				p.ids = append(p.ids, answer)
				n := len(p.ids)
				p.queue(func() error {
					return db.RunPipelined(context.Background(), p.d.DB, answer, query, fmt.Sprint("w", n-1), n)
				})
			}
			p.free()
			errs, answers := p.wait()
			if err := errors.Join(errs...); err != nil || answers != "w0  " {
				t.Fatalf("answered %q (%v), want w0 and two empty answers", answers, err)
			}
			if got := p.rows(); got != "w0 w2" {
				t.Errorf("wrote %q, want w0 w2", got)
			}
			p.sentOnPostgres("BEGIN SAVEPOINT INSERT SAVEPOINT INSERT SAVEPOINT INSERT COMMIT")
		})
	}
}

// TestRunPipelined_WaitsInALaneOfItsOwn: on PostgreSQL, pipelined writes
// wait neither for the writers of the queue nor for the Serial lane's.
func TestRunPipelined_WaitsInALaneOfItsOwn(t *testing.T) {
	d := testenv.Postgres(t)
	if err := d.DB.Exec("CREATE TABLE piped (id TEXT PRIMARY KEY)").Error; err != nil {
		t.Fatal(err)
	}
	q := db.QueueOf(d.DB)
	holdAll(t, q)
	holdAll(t, q.SerialLane())
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var id string
	if err := db.RunPipelined(ctx, d.DB, &id, "INSERT INTO piped (id) VALUES (?) RETURNING id", "w0"); err != nil || id != "w0" {
		t.Fatalf("answered %q, %v; want w0 with every other writer's turn held", id, err)
	}
}
