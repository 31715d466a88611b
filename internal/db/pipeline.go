package db

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// On PostgreSQL a Serial writer's turn is spent waiting: for the round
// trip of its SAVEPOINT, then of its statement, each answered only once
// the writer's goroutine is scheduled again among every request's, and
// for the BEGIN and COMMIT of each group. The server sat idle for most
// of each turn, and the creations of cases, which take their year's
// reference counter one after another, ran at the pace of those waits.
//
// A write prepared as one statement (PrepareOneStatement) that runs in a
// transaction of its own (RunSerial) waits in the lane as data instead:
// the writer whose turn comes takes every such write waiting behind it
// and sends them all in one pipeline, each in a savepoint of its own,
// with the group's BEGIN and COMMIT:
//
//	BEGIN; SAVEPOINT p; <write 0>; SAVEPOINT p; <write 1>; …; COMMIT
//
// in one round trip, which the server runs back to back. When a write
// fails, the server skips the rest up to the pipeline's end and the
// transaction is left failed: the leader rolls back to the failed
// write's savepoint and sends the writes after it again, with COMMIT.
// Each write gets its own statement's error, or the COMMIT's; as with
// GroupCommit, no write is told it is durable before it is.

// job is a write of one statement waiting in the Serial lane.
type job struct {
	ctx   context.Context // the writer's, for the log of its statement
	query string          // PostgreSQL's, with $n parameters
	args  []any
	into  *string // the statement's answer, one row of one column
	err   error   // its outcome, set before its waiter's turn closes
}

// RunSerial runs the prepared write in a transaction of its own, in the
// lane of Serial writers (see Serial). On PostgreSQL a write of one
// statement runs in a pipeline with the others waiting (see job); any
// other runs as w.Run in a transaction begun with Serial(ctx).
func (w *Prepared) RunSerial(ctx context.Context, gdb *gorm.DB) error {
	q := QueueOf(gdb)
	if len(w.stmts) != 1 || q == nil || q.serial == nil {
		return gdb.WithContext(Serial(ctx)).Transaction(w.Run)
	}
	st := w.stmts[0]
	return runInLane(ctx, gdb, q.serial, &job{ctx: ctx, query: numbered(st.sql), args: st.vars, into: w.lead.Into})
}

// RunPipelined runs query, one statement answering at most one row of one
// column (into takes it as text, and an empty text when there is none or
// it is NULL), in a transaction of its own. On PostgreSQL it waits in the
// lane of pipelined writes and runs in a pipeline with the others waiting
// there (see job): one transaction, one round trip and one WAL flush for
// the group, where each would have its own. Unlike Serial writers they
// take no lock in common; what they gain is the PostgreSQL work of a
// transaction per write. Elsewhere query runs in a transaction of its own.
func RunPipelined(ctx context.Context, gdb *gorm.DB, into *string, query string, args ...any) error {
	q := QueueOf(gdb)
	if q == nil || q.pipelined == nil {
		return gdb.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			var answer any
			err := tx.Raw(query, args...).Row().Scan(&answer)
			if errors.Is(err, sql.ErrNoRows) {
				err = nil
			}
			*into = answerText(answer)
			return translated(gdb, err)
		})
	}
	return runInLane(ctx, gdb, q.pipelined, &job{ctx: ctx, query: numbered(query), args: args, into: into})
}

// runInLane runs j in a pipeline of lane's: its own, when its turn comes,
// or the one of the writer before it.
func runInLane(ctx context.Context, gdb *gorm.DB, lane *WriteQueue, j *job) error {
	sqlDB, err := gdb.DB()
	if err != nil {
		return err
	}
	release, _, err := lane.enter(ctx, false, waiter{job: j})
	if err != nil {
		return err
	}
	if release != nil { // its turn: it leads
		lane.lead(sqlDB, gdb.Logger, j, release)
	}
	if j.err != nil {
		return translated(gdb, j.err)
	}
	return nil
}

// translated is err as GORM gives a statement's error to the caller.
func translated(gdb *gorm.DB, err error) error {
	if t, ok := gdb.Dialector.(gorm.ErrorTranslator); ok && gdb.TranslateError {
		return t.Translate(err)
	}
	return err
}

// numbered is query with its ? parameters written $1, $2, … as PostgreSQL
// takes them (GORM writes them so as it sends a statement).
func numbered(query string) string {
	n := 0
	return eachParameter(query, '?', func(string) string {
		n++
		return "$" + strconv.Itoa(n)
	})
}

// lead runs mine and the pipelined writes waiting right behind it, up to
// the lane's group, then ends the turn and lets the others know.
func (q *WriteQueue) lead(sqlDB *sql.DB, log logger.Interface, mine *job, release func()) {
	taken := q.takeJobs(q.group.MaxWriters - 1)
	jobs := make([]*job, 0, 1+len(taken))
	jobs = append(jobs, mine)
	for _, w := range taken {
		jobs = append(jobs, w.job)
	}
	start := time.Now()
	q.runJobs(sqlDB, jobs)
	release()
	for _, w := range taken {
		close(w.turn)
	}
	committed := 0
	for _, j := range jobs {
		if j.err == nil {
			committed++
		}
		log.Trace(j.ctx, start, func() (string, int64) { return j.query, 1 }, j.err)
	}
	q.batched.Observe(float64(committed))
}

// takeJobs takes up to n pipelined writes from the head of the queue, in
// their order, stopping at any other writer (whose turn comes first).
func (q *WriteQueue) takeJobs(n int) []*waiter {
	q.mu.Lock()
	defer q.mu.Unlock()
	var taken []*waiter
	for len(taken) < n && len(q.first) == 0 && len(q.waiters) > 0 && q.waiters[0].job != nil {
		w := q.waiters[0]
		q.waiters = q.waiters[1:]
		q.waiting.Add(-1)
		q.wait.Observe(time.Since(w.since).Seconds())
		w.taken = true
		taken = append(taken, w)
	}
	return taken
}

// runJobs runs jobs in one transaction on a connection of sqlDB, and sets
// each one's outcome.
func (q *WriteQueue) runJobs(sqlDB *sql.DB, jobs []*job) {
	// The transaction is every writer's: no one writer's context ends it.
	ctx := context.Background()
	fail := func(err error) {
		for _, j := range jobs {
			if j.err == nil {
				j.err = err
			}
		}
	}
	conn, err := q.conn.take(ctx, sqlDB)
	if err != nil {
		fail(err)
		return
	}
	clean := false
	defer func() {
		if clean {
			q.conn.keep(conn)
		} else {
			_ = conn.Close()
		}
	}()
	err = conn.Raw(func(dc any) error {
		c, ok := dc.(interface{ Conn() *pgx.Conn })
		if !ok {
			return fmt.Errorf("database: unexpected PostgreSQL connection %T", dc)
		}
		if err := q.pipeline(ctx, c.Conn(), jobs); err != nil {
			fail(err)
			// A transaction left open, or a connection in a state
			// unknown, is not given back to the pool.
			if c.Conn().PgConn().TxStatus() != 'I' {
				if _, rbErr := c.Conn().Exec(ctx, "ROLLBACK"); rbErr != nil {
					return driver.ErrBadConn
				}
			}
			return nil
		}
		clean = true
		return nil
	})
	if err != nil {
		fail(err)
	}
}

// laneConn is the connection the lane's pipelines run on, kept from one
// to the next. A PostgreSQL backend runs its first case creation 20 to
// 120 ms slower than the next ones: it loads the catalogs of the tables
// written, their indexes and triggers, and plans each foreign key's
// check. Each pipeline on a connection of the pool's (the most recently
// given back, often a reader's) took the lane through up to 15 backends
// in the first seconds after a start, every creation waiting behind each
// stall; kept, the lane pays it once.
//
// A connection left unused for more than laneIdle goes back through the
// pool on the way to the next pipeline, as pgx checks (pings) a pool
// connection idle for more than a second before handing it out. It is
// given back to the pool after a pipeline that did not end cleanly, and
// when the database is closed.
type laneConn struct {
	mu     sync.Mutex
	conn   *sql.Conn
	used   time.Time // when it was kept
	closed bool
}

const laneIdle = time.Second

// take returns the kept connection, or one of sqlDB's.
func (l *laneConn) take(ctx context.Context, sqlDB *sql.DB) (*sql.Conn, error) {
	l.mu.Lock()
	c, used := l.conn, l.used
	l.conn = nil
	l.mu.Unlock()
	if c != nil {
		if time.Since(used) <= laneIdle {
			return c, nil
		}
		_ = c.Close() // to the pool, which checks it (and likely hands it back)
	}
	return sqlDB.Conn(ctx)
}

// keep keeps c for the next pipeline, or gives it back to the pool once
// the lane is closed.
func (l *laneConn) keep(c *sql.Conn) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		_ = c.Close()
		return
	}
	l.conn, l.used = c, time.Now()
}

// close gives the kept connection back to the pool, and every one kept
// from now on.
func (l *laneConn) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	if l.conn != nil {
		_ = l.conn.Close()
		l.conn = nil
	}
}

// pipeline runs jobs in one transaction on c, in one round trip unless a
// write fails (see job). It returns the error that fails every write not
// failed already: the BEGIN's, a SAVEPOINT's, the COMMIT's, the
// connection's.
func (q *WriteQueue) pipeline(ctx context.Context, c *pgx.Conn, jobs []*job) error {
	begun := false
	rest := 0 // the first write not yet sent, or sent and skipped
	for {
		b := &pgx.Batch{}
		if !begun {
			b.Queue("BEGIN")
		}
		for i := rest; i < len(jobs); i++ {
			b.Queue("SAVEPOINT " + savepoint)
			b.Queue(jobs[i].query, jobs[i].args...)
		}
		b.Queue("COMMIT")
		q.mu.Lock()
		observers := q.onPipeline
		q.mu.Unlock()
		for _, f := range observers {
			f(b)
		}
		results := c.SendBatch(ctx, b)
		failed, err := readPipeline(results, begun, jobs, rest)
		if closeErr := results.Close(); err == nil && failed < 0 {
			err = closeErr
		}
		if err != nil {
			return err
		}
		if failed < 0 {
			return nil
		}
		begun = true
		// The failed write's statement left the transaction failed:
		// back to before it, and on with the writes after it.
		if _, err := c.Exec(ctx, "ROLLBACK TO SAVEPOINT "+savepoint); err != nil {
			return err
		}
		rest = failed + 1
	}
}

// readPipeline reads the results of a pipeline sent by pipeline, up to the
// first write that failed, whose index it returns (-1 when none did), its
// outcome set. err is an error that fails every write.
func readPipeline(results pgx.BatchResults, begun bool, jobs []*job, rest int) (failed int, err error) {
	if !begun {
		if _, err := results.Exec(); err != nil {
			return -1, err
		}
	}
	for i := rest; i < len(jobs); i++ {
		if _, err := results.Exec(); err != nil {
			return -1, err
		}
		// Into any, which takes whatever the server answers: the write
		// ran unless the server said otherwise, and commits with the rest
		// (the COMMIT is on its way), so nothing about its answer may
		// fail it: no row, or NULL, answers an empty text.
		var answer any
		err := results.QueryRow().Scan(&answer)
		if errors.Is(err, pgx.ErrNoRows) {
			err = nil
		}
		if err != nil {
			var pgErr interface{ SQLState() string }
			if !errors.As(err, &pgErr) {
				return -1, err // not the statement's: the connection's
			}
			jobs[i].err = err
			return i, nil
		}
		*jobs[i].into = answerText(answer)
	}
	_, err = results.Exec() // COMMIT
	return -1, err
}

// answerText is a pipelined write's answer as text.
func answerText(answer any) string {
	switch a := answer.(type) {
	case nil:
		return ""
	case string:
		return a
	case []byte:
		return string(a)
	default:
		return fmt.Sprint(a)
	}
}

// savepoint is the name of every write's savepoint. ROLLBACK TO SAVEPOINT
// goes back to the latest of that name, which is the failed write's: the
// writes after it were skipped. One name is one statement for pgx to
// prepare on each connection, not one per place in a group.
const savepoint = "bevis_pipeline"

// ObservePipelines has f called with every pipeline the queue sends (see
// job) as it sends it: the statements GORM does not see, for whoever
// counts them.
func (q *WriteQueue) ObservePipelines(f func(*pgx.Batch)) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.onPipeline = append(slices.Clip(q.onPipeline), f)
}
