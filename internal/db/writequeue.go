package db

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

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
// held for good (the audit writer and sequencer) goes through it with
// Queued. Reads outside transactions never touch it. The wait honours the
// context's deadline.
type WriteQueue struct {
	slots   chan struct{}
	waiting atomic.Int64
	wait    prometheus.Histogram
	depth   prometheus.GaugeFunc
}

// NewWriteQueue returns a queue letting width writers in at once.
func NewWriteQueue(width int) *WriteQueue {
	q := &WriteQueue{slots: make(chan struct{}, max(width, 1))}
	q.wait = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "bevis_db_write_queue_wait_seconds",
		Help:    "Time write transactions waited in the process's write queue before they began.",
		Buckets: []float64{.0001, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
	})
	q.depth = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "bevis_db_write_queue_depth",
		Help: "Write transactions waiting in the process's write queue now.",
	}, func() float64 { return float64(q.waiting.Load()) })
	return q
}

// Collectors are the queue's /metrics series: its depth and its wait.
func (q *WriteQueue) Collectors() []prometheus.Collector {
	return []prometheus.Collector{q.depth, q.wait}
}

// Width is how many writers the queue lets in at once.
func (q *WriteQueue) Width() int { return cap(q.slots) }

// Waiting is how many writers wait now.
func (q *WriteQueue) Waiting() int { return int(q.waiting.Load()) }

// Acquire waits for the writer's turn, or for ctx to end. Waiters are let
// in in the order they came (Go's channels wake blocked senders first in,
// first out). The release it returns may be called more than once.
func (q *WriteQueue) Acquire(ctx context.Context) (release func(), err error) {
	start := time.Now()
	select {
	case q.slots <- struct{}{}:
	default:
		q.waiting.Add(1)
		select {
		case q.slots <- struct{}{}:
			q.waiting.Add(-1)
		case <-ctx.Done():
			q.waiting.Add(-1)
			q.wait.Observe(time.Since(start).Seconds())
			return nil, fmt.Errorf("database: waiting to write: %w", ctx.Err())
		}
	}
	q.wait.Observe(time.Since(start).Seconds())
	var once sync.Once
	return func() { once.Do(func() { <-q.slots }) }, nil
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
func Queued(gdb, conn *gorm.DB) *gorm.DB {
	q := QueueOf(gdb)
	c, ok := conn.Statement.ConnPool.(*sql.Conn)
	if q == nil || !ok {
		return conn
	}
	conn = conn.Session(&gorm.Session{})
	conn.Statement.ConnPool = &queuedConn{conn: c, q: q}
	return conn
}

// useQueue puts q in front of gdb's connection pool.
func useQueue(gdb *gorm.DB, q *WriteQueue) error {
	sqlDB, ok := gdb.Config.ConnPool.(*sql.DB)
	if !ok {
		return fmt.Errorf("database: unexpected connection pool %T", gdb.Config.ConnPool)
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
	return beginQueued(ctx, p.q, opts, p.DB.BeginTx, p.DB)
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
	conn *sql.Conn
	q    *WriteQueue
}

func (c *queuedConn) PrepareContext(ctx context.Context, query string) (*sql.Stmt, error) {
	return c.conn.PrepareContext(ctx, query)
}

func (c *queuedConn) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if isRead(query) {
		return c.conn.ExecContext(ctx, query, args...)
	}
	release, err := c.q.Acquire(ctx)
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
	return beginQueued(ctx, c.q, opts, c.conn.BeginTx, nil)
}

// beginQueued waits for the writer's turn, then begins; the turn ends
// with the transaction: at its commit or rollback, or when ctx ends, after
// which database/sql rolls the transaction back itself.
func beginQueued(ctx context.Context, q *WriteQueue, opts *sql.TxOptions,
	begin func(context.Context, *sql.TxOptions) (*sql.Tx, error), db *sql.DB) (gorm.ConnPool, error) {
	release, err := q.Acquire(ctx)
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
