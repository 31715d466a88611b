package db

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"
	"gorm.io/gorm"
)

// WriteQueue admits the process's write transactions a few at a time, in
// the order they asked: one at a time on SQLite, which has one writer
// anyway. Without it, every pooled connection that opens BEGIN IMMEDIATE
// while another writes sleeps in SQLite's busy handler, and misses the
// moment the lock frees by up to its back-off: tens to hundreds of
// milliseconds for a write that takes one. Waiting in the queue costs a
// channel hand-over instead, and a waiter holds no connection, so readers
// are never short of one. On PostgreSQL it bounds the writers so that
// readers keep connections of the pool, and makes the wait observable.
//
// Every transaction begun through the *gorm.DB that Open returns goes
// through it, and so does every Exec outside a transaction; a connection
// held for good goes through it with Queued (the sequencer) or
// QueuedFirst (the audit writer, which audited reads wait for, goes before
// the writers waiting). Reads outside transactions never touch it. The wait honours the
// context's deadline.
type WriteQueue struct {
	mu      sync.Mutex
	width   int
	busy    int       // turns taken
	waiters []*waiter // in the order they came
	first   []*waiter // the audit log's writers, let in before them
	waiting atomic.Int64
	wait    prometheus.Histogram
	depth   prometheus.GaugeFunc
	group   GroupCommit // off unless set with GroupCommits
	begin   string      // the statement beginning a group's transaction
	// keepSavepoints leaves a grouped writer's savepoint open until the
	// group's COMMIT (see grouped.end).
	keepSavepoints bool
	batched        prometheus.Histogram
	serial         *WriteQueue        // the lane of Serial writers, when they have one of their own
	pipelined      *WriteQueue        // the lane of RunPipelined's writes, when they have one
	onPipeline     []func(*pgx.Batch) // see ObservePipelines
	conn           laneConn           // the connection of its pipelines
}

// waiter is one writer waiting for its turn.
type waiter struct {
	turn     chan struct{} // closed when the turn is theirs
	joinable bool          // may be let into a batch (see GroupCommit)
	batch    *batch        // the batch it was let into, set before turn closes
	// A pipelined write (see pipeline): taken into another's pipeline
	// (taken set as it is), its turn closes once it has run.
	job   *job
	taken bool
	since time.Time // when it began to wait
}

// NewWriteQueue returns a queue letting width writers in at once.
func NewWriteQueue(width int) *WriteQueue {
	q := &WriteQueue{width: max(width, 1)}
	q.wait = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "bevis_db_write_queue_wait_seconds",
		Help:    "Time write transactions waited in the process's write queue before they began.",
		Buckets: []float64{.0001, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
	})
	q.batched = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "bevis_db_group_commit_writers",
		Help:    "Write transactions made durable by one commit of a group (1 when none joined the first).",
		Buckets: []float64{1, 2, 4, 8, 16, 32, 64},
	})
	q.depth = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "bevis_db_write_queue_depth",
		Help: "Write transactions waiting in the process's write queue now.",
	}, func() float64 {
		n := q.waiting.Load()
		for _, lane := range []*WriteQueue{q.serial, q.pipelined} {
			if lane != nil {
				n += lane.waiting.Load()
			}
		}
		return float64(n)
	})
	return q
}

// SerialLane is the queue Serial writers wait in: a lane of its own, one
// group at a time, when the queue has one (PostgreSQL, see Open), and
// otherwise the queue itself (SQLite's, one writer at a time anyway).
func (q *WriteQueue) SerialLane() *WriteQueue {
	if q.serial != nil {
		return q.serial
	}
	return q
}

// PipelineLane is the queue RunPipelined's writes wait in: a lane of
// their own on PostgreSQL, and otherwise the queue itself.
func (q *WriteQueue) PipelineLane() *WriteQueue {
	if q.pipelined != nil {
		return q.pipelined
	}
	return q
}

// newLane returns a lane beside q for writers of one kind (the Serial
// writers, RunPipelined's writes): one group at a time, grouped by g. Its
// waits and groups are counted in q's own series.
func (q *WriteQueue) newLane(g GroupCommit) *WriteQueue {
	return &WriteQueue{width: 1, wait: q.wait, batched: q.batched, depth: q.depth, group: g}
}

// Collectors are the queue's /metrics series: its depth, its wait and
// the size of its commit groups.
func (q *WriteQueue) Collectors() []prometheus.Collector {
	return []prometheus.Collector{q.depth, q.wait, q.batched}
}

// Width is how many writers the queue lets in at once.
func (q *WriteQueue) Width() int { return q.width }

// Waiting is how many writers wait now.
func (q *WriteQueue) Waiting() int { return int(q.waiting.Load()) }

// Acquire waits for the writer's turn, or for ctx to end. Writers are let
// in in the order they came. The release it returns may be called more
// than once.
func (q *WriteQueue) Acquire(ctx context.Context) (release func(), err error) {
	return q.acquire(ctx, false)
}

// AcquireFirst is Acquire for the audit log's writer, whose commit every
// audited read waits for: it goes before the writers waiting, so that a
// read waits for one write at most, never for the queue.
func (q *WriteQueue) AcquireFirst(ctx context.Context) (release func(), err error) {
	return q.acquire(ctx, true)
}

func (q *WriteQueue) acquire(ctx context.Context, first bool) (func(), error) {
	release, _, err := q.enter(ctx, first, waiter{})
	return release, err
}

// enter waits for a turn, or, when joinable, for a turn or a place in the
// batch of the writer before it (then release is nil: the turn is the
// batch's), or, for a pipelined write, for a turn or its run in another
// writer's pipeline (then release and b are nil). as gives joinable or job.
func (q *WriteQueue) enter(ctx context.Context, first bool, as waiter) (release func(), b *batch, err error) {
	start := time.Now()
	q.mu.Lock()
	if q.busy < q.width && len(q.waiters)+len(q.first) == 0 {
		q.busy++
		q.mu.Unlock()
		q.wait.Observe(0)
		return q.releaser(), nil, nil
	}
	w := &as
	w.turn, w.since = make(chan struct{}), start
	if first {
		q.first = append(q.first, w)
	} else {
		q.waiters = append(q.waiters, w)
	}
	q.waiting.Add(1)
	q.mu.Unlock()
	select {
	case <-w.turn:
		if w.taken { // its wait was observed as it was taken
			return nil, nil, nil
		}
		q.wait.Observe(time.Since(start).Seconds())
		if w.batch != nil {
			return nil, w.batch, nil
		}
		return q.releaser(), nil, nil
	case <-ctx.Done():
	}
	q.mu.Lock()
	gone := remove(&q.waiters, w) || remove(&q.first, w)
	if gone {
		q.waiting.Add(-1)
	}
	q.mu.Unlock()
	if !gone { // the turn came as ctx ended: pass it on
		<-w.turn
		if w.taken { // it ran: the write's outcome stands, whatever ctx says
			return nil, nil, nil
		}
		if w.batch != nil {
			w.batch.passOn()
		} else {
			q.releaser()()
		}
	}
	q.wait.Observe(time.Since(start).Seconds())
	return nil, nil, fmt.Errorf("database: waiting to write: %w", ctx.Err())
}

// handOver lets the next waiting writer into b, when it may join a batch
// and no audit writer waits before it; it reports whether it did.
func (q *WriteQueue) handOver(b *batch) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.first) > 0 || len(q.waiters) == 0 || !q.waiters[0].joinable {
		return false
	}
	next := q.waiters[0]
	q.waiters = q.waiters[1:]
	q.waiting.Add(-1)
	next.batch = b
	close(next.turn)
	return true
}

// releaser ends a turn, handing it to the next writer waiting.
func (q *WriteQueue) releaser() func() {
	var once sync.Once
	return func() {
		once.Do(func() {
			q.mu.Lock()
			defer q.mu.Unlock()
			var next *waiter
			switch {
			case len(q.first) > 0:
				next, q.first = q.first[0], q.first[1:]
			case len(q.waiters) > 0:
				next, q.waiters = q.waiters[0], q.waiters[1:]
			default:
				q.busy--
				return
			}
			q.waiting.Add(-1)
			close(next.turn) // the turn passes on: busy stays as it is
		})
	}
}

func remove(list *[]*waiter, w *waiter) bool {
	for i, x := range *list {
		if x == w {
			*list = append((*list)[:i], (*list)[i+1:]...)
			return true
		}
	}
	return false
}

// QueueOf returns the write queue of a *gorm.DB made by Open, or nil.
func QueueOf(gdb *gorm.DB) *WriteQueue {
	if p, ok := gdb.Config.ConnPool.(*queuedPool); ok {
		return p.q
	}
	return nil
}

// Queued returns conn, a session on a connection held for good (see
// gorm's Connection), with its transactions going through gdb's write
// queue like those of the pool.
func Queued(gdb, conn *gorm.DB) *gorm.DB { return queued(gdb, conn, false) }

// QueuedFirst is Queued for the audit log's writer: its transactions go
// before the writers waiting (see AcquireFirst).
func QueuedFirst(gdb, conn *gorm.DB) *gorm.DB { return queued(gdb, conn, true) }

func queued(gdb, conn *gorm.DB, first bool) *gorm.DB {
	q := QueueOf(gdb)
	c, ok := conn.Statement.ConnPool.(*sql.Conn)
	if q == nil || !ok {
		return conn
	}
	conn = conn.Session(&gorm.Session{})
	conn.Statement.ConnPool = &queuedConn{conn: c, q: q, first: first}
	return conn
}

// useQueue puts q in front of gdb's connection pool.
func useQueue(gdb *gorm.DB, q *WriteQueue) error {
	sqlDB, ok := gdb.Config.ConnPool.(*sql.DB)
	if !ok {
		return fmt.Errorf("database: unexpected connection pool %T", gdb.Config.ConnPool)
	}
	q.begin = "BEGIN"
	if Dialect(gdb) == SQLite {
		q.begin = "BEGIN IMMEDIATE" // take the write lock now, as _txlock=immediate does
	}
	q.keepSavepoints = Dialect(gdb) == Postgres
	if q.serial != nil {
		q.serial.begin, q.serial.keepSavepoints = q.begin, q.keepSavepoints
	}
	p := &queuedPool{DB: sqlDB, q: q}
	gdb.Config.ConnPool = p
	gdb.Statement.ConnPool = p
	return nil
}

// queuedPool is the connection pool with writes going through the queue.
type queuedPool struct {
	*sql.DB
	q *WriteQueue
}

func (p *queuedPool) GetDBConn() (*sql.DB, error) { return p.DB, nil }

func (p *queuedPool) BeginTx(ctx context.Context, opts *sql.TxOptions) (gorm.ConnPool, error) {
	q := p.q
	if isSerial(ctx) {
		q = q.SerialLane()
	}
	if q.group.MaxWriters > 1 && (opts == nil || *opts == sql.TxOptions{}) && !isAlone(ctx) {
		return q.beginGrouped(ctx, p.DB)
	}
	return beginQueued(ctx, q.Acquire, opts, p.DB.BeginTx, p.DB)
}

// ExecContext outside a transaction is a write (or a pragma): it waits
// its turn too.
func (p *queuedPool) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if isRead(query) {
		return p.DB.ExecContext(ctx, query, args...)
	}
	release, err := p.q.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	return p.DB.ExecContext(ctx, query, args...)
}

func isRead(query string) bool {
	q := strings.TrimSpace(query)
	return len(q) >= 6 && strings.EqualFold(q[:6], "SELECT")
}

// queuedConn is one connection held for good, its transactions queued.
type queuedConn struct {
	conn  *sql.Conn
	q     *WriteQueue
	first bool
}

func (c *queuedConn) acquire(ctx context.Context) (func(), error) {
	if c.first {
		return c.q.AcquireFirst(ctx)
	}
	return c.q.Acquire(ctx)
}

func (c *queuedConn) PrepareContext(ctx context.Context, query string) (*sql.Stmt, error) {
	return c.conn.PrepareContext(ctx, query)
}

func (c *queuedConn) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if isRead(query) {
		return c.conn.ExecContext(ctx, query, args...)
	}
	release, err := c.acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	return c.conn.ExecContext(ctx, query, args...)
}

func (c *queuedConn) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return c.conn.QueryContext(ctx, query, args...)
}

func (c *queuedConn) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return c.conn.QueryRowContext(ctx, query, args...)
}

func (c *queuedConn) BeginTx(ctx context.Context, opts *sql.TxOptions) (gorm.ConnPool, error) {
	return beginQueued(ctx, c.acquire, opts, c.conn.BeginTx, nil)
}

// beginQueued waits for the writer's turn, then begins; the turn ends
// with the transaction: at its commit or rollback, or when ctx ends, after
// which database/sql rolls the transaction back itself.
func beginQueued(ctx context.Context, acquire func(context.Context) (func(), error), opts *sql.TxOptions,
	begin func(context.Context, *sql.TxOptions) (*sql.Tx, error), db *sql.DB) (gorm.ConnPool, error) {
	release, err := acquire(ctx)
	if err != nil {
		return nil, err
	}
	tx, err := begin(ctx, opts)
	if err != nil {
		release()
		return nil, err
	}
	stop := context.AfterFunc(ctx, release)
	return &queuedTx{Tx: tx, db: db, release: func() { stop(); release() }}, nil
}

// queuedTx is a transaction that holds a turn of the queue.
type queuedTx struct {
	*sql.Tx
	db      *sql.DB // the pool it came from; nil on a connection held for good
	release func()
}

func (t *queuedTx) GetDBConn() (*sql.DB, error) {
	if t.db == nil {
		return nil, gorm.ErrInvalidDB
	}
	return t.db, nil
}

func (t *queuedTx) Commit() error {
	defer t.release()
	return t.Tx.Commit()
}

func (t *queuedTx) Rollback() error {
	defer t.release()
	return t.Tx.Rollback()
}
