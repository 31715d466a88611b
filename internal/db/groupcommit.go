package db

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"strconv"
	"sync"
	"time"

	"gorm.io/gorm"
)

// GroupCommit makes several small write transactions durable with one
// commit, and so with one disk flush. On SQLite every COMMIT under
// synchronous=FULL waits for an fsync, and writers take turns anyway:
// the flush, not the work, bounds how many writes a second it takes. On
// PostgreSQL the writers of one lock take turns too (see Serial).
//
// When writers wait in the queue as one finishes its work, it does not
// commit alone: the next waiting writer's transaction runs in the same
// database transaction, inside a SAVEPOINT of its own, and so on, until
// none waits or the group is full or old; then one COMMIT makes them all
// durable. Each writer's Commit returns only once that COMMIT succeeded
// (on PostgreSQL its savepoint is left open for the COMMIT to release);
// if it fails, every writer of the group gets the error and nothing of
// theirs is kept. A writer's Rollback (its error
// or panic in a gorm Transaction, or its context ending) rolls back to its
// savepoint: only its own work. A writer's reads see the writes of the
// writers before it in the group, which are committed or, if the COMMIT
// fails, fail with it: no writer is told its write is durable before it
// is. Reads outside the transaction do not see them until the COMMIT: a
// writer whose insert gives way to a row another writer of its group just
// inserted must read that row in its own transaction (as the keyring's
// createOrTake does), not after it.
//
// Only transactions begun on the pool with default options join a group;
// a connection held for good (the audit writer, the sequencer), an Exec
// outside a transaction and a transaction begun with Alone commit by
// themselves, as before.
type GroupCommit struct {
	// MaxWriters bounds the writers in one group; 0 or 1 turns grouping off.
	MaxWriters int
	// MaxWait is how long after a group began writers may still join it.
	// The first writer's Commit waits for those that join after it.
	MaxWait time.Duration
}

// sqliteGroupCommit is the grouping Open sets on SQLite. At 16 requests in
// flight a group holds about as many writers; the wait bounds how long the
// first of them can be held back by the others.
var sqliteGroupCommit = GroupCommit{MaxWriters: 32, MaxWait: 10 * time.Millisecond}

// postgresLaneGroupCommit groups the writers of PostgreSQL's lanes (the
// Serial writers, see Serial, and RunPipelined's): as many as are in
// flight, a group open no longer than SQLite's. A pipeline
// (Prepared.RunSerial, RunPipelined) takes up to as many writes, those
// waiting as it begins: it waits for none.
var postgresLaneGroupCommit = GroupCommit{MaxWriters: 16, MaxWait: 10 * time.Millisecond}

// GroupCommits sets the queue's grouping of commits. Set it before the
// queue is used.
func (q *WriteQueue) GroupCommits(g GroupCommit) { q.group = g }

type aloneKey struct{}

// Alone marks ctx so that a transaction begun with it commits by itself,
// never in a group: one that holds the write lock for long (a timeline
// import reading its file) would hold back the commit of every writer
// grouped before it.
func Alone(ctx context.Context) context.Context { return context.WithValue(ctx, aloneKey{}, true) }

func isAlone(ctx context.Context) bool { v, _ := ctx.Value(aloneKey{}).(bool); return v }

type serialKey struct{}

// Serial marks ctx for a write transaction that takes a row lock every
// transaction of its kind takes (a case's creation takes its year's
// reference counter), so that they commit one after another however many
// run at once. On PostgreSQL each of them would hold the lock until its
// COMMIT, then hand it to the next from connection to connection, every
// hand-over waiting for two processes to be scheduled on a busy machine.
// There they wait instead in a lane of their own and run one group at a
// time, one after another in one transaction (see GroupCommit): the lock
// is taken once a group and the group's writers share its COMMIT. A write
// prepared as one statement waits there as data instead, and its group is
// sent in one pipeline (Prepared.RunSerial). On SQLite every writer is in
// that lane already.
func Serial(ctx context.Context) context.Context { return context.WithValue(ctx, serialKey{}, true) }

func isSerial(ctx context.Context) bool { v, _ := ctx.Value(serialKey{}).(bool); return v }

// batch is one database transaction that writers run in one after another.
// Only the writer holding it (the one let in last, until it commits or
// rolls back) touches it, so it needs no lock of its own: hand-overs go
// through the queue's mutex.
type batch struct {
	q       *WriteQueue
	conn    *sql.Conn
	db      *sql.DB
	release func() // the queue's turn, held by the batch
	started time.Time
	writers int            // let in so far
	done    []chan<- error // of the writers that committed, waiting for COMMIT
	failed  error          // once set, the batch can only roll back
}

// beginGrouped waits for a turn or a place in a batch, and begins the
// writer's part of it.
func (q *WriteQueue) beginGrouped(ctx context.Context, db *sql.DB) (gorm.ConnPool, error) {
	release, b, err := q.enter(ctx, false, waiter{joinable: true})
	if err != nil {
		return nil, err
	}
	if b == nil {
		if b, err = q.beginBatch(ctx, db, release); err != nil {
			release()
			return nil, err
		}
	}
	return b.admit(ctx)
}

// beginBatch begins the database transaction of a new batch. It belongs
// to every writer of the batch, so no one writer's context may end it.
func (q *WriteQueue) beginBatch(ctx context.Context, db *sql.DB, release func()) (*batch, error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	// The connection's statements are plain SQL, so that a failed COMMIT
	// (it leaves SQLite's transaction open) can still be rolled back.
	if _, err := conn.ExecContext(context.WithoutCancel(ctx), q.begin); err != nil {
		_ = conn.Close()
		return nil, err
	}
	return &batch{q: q, conn: conn, db: db, release: release, started: time.Now()}, nil
}

// admit lets the writer holding the batch begin its part, in a savepoint.
func (b *batch) admit(ctx context.Context) (gorm.ConnPool, error) {
	b.writers++
	w := &grouped{b: b, ctx: ctx, savepoint: "bevis_group_" + strconv.Itoa(b.writers)}
	if _, err := b.conn.ExecContext(context.Background(), "SAVEPOINT "+w.savepoint); err != nil {
		b.failed = err
		b.passOn()
		return nil, err
	}
	w.mu.Lock() // an AfterFunc of a context already ended waits for stop to be set
	w.stop = context.AfterFunc(ctx, func() { _ = w.end(false) })
	w.mu.Unlock()
	return w, nil
}

// passOn is called by the writer holding the batch once its part is done:
// it lets the next waiting writer in, or commits.
func (b *batch) passOn() {
	if b.failed == nil && b.writers < b.q.group.MaxWriters && time.Since(b.started) < b.q.group.MaxWait &&
		b.q.handOver(b) {
		return
	}
	b.commit()
}

// commit ends the batch: one COMMIT for the writers that committed their
// part, whose Commit returns its result; a ROLLBACK when none did or the
// batch failed.
func (b *batch) commit() {
	ctx := context.Background()
	err := b.failed
	switch {
	case err == nil && len(b.done) > 0:
		// The driver's error as it is, which gorm translates as it does
		// a transaction's own (PostgreSQL's dialector only an unwrapped
		// one): a deferred foreign key is gorm.ErrForeignKeyViolated.
		_, err = b.conn.ExecContext(ctx, "COMMIT")
	case err != nil:
		err = fmt.Errorf("database: a write committed with it failed: %w", err)
	}
	if len(b.done) == 0 || err != nil {
		// Also after a failed COMMIT, which on SQLite can leave the
		// transaction open. A connection that cannot be rolled back is
		// not given back to the pool.
		if _, rbErr := b.conn.ExecContext(ctx, "ROLLBACK"); rbErr != nil && err != nil {
			_ = b.conn.Raw(func(any) error { return driver.ErrBadConn })
		}
	}
	_ = b.conn.Close()
	b.release()
	b.q.batched.Observe(float64(len(b.done)))
	for _, done := range b.done {
		done <- err
	}
}

// grouped is one writer's part of a batch: its transaction as gorm sees it.
type grouped struct {
	b         *batch
	ctx       context.Context
	savepoint string
	stop      func() bool // the AfterFunc ending the part when ctx ends

	mu    sync.Mutex // held by a statement, so that ctx ending waits for it
	ended bool
	cause error // why the part ended before Commit, if it did
}

var _ gorm.TxCommitter = (*grouped)(nil)

// statement runs f on the batch's connection unless the part has ended.
// f gets ctx without its cancellation: on SQLite a statement interrupted
// inside a transaction may roll the whole transaction back, the other
// writers' parts with it. A context that has ended stops the writer before
// its next statement instead.
func (w *grouped) statement(f func(ctx context.Context) error) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.ended {
		return w.endedErr()
	}
	if err := w.ctx.Err(); err != nil {
		return err
	}
	return f(context.WithoutCancel(w.ctx))
}

func (w *grouped) endedErr() error {
	if w.cause != nil {
		return w.cause
	}
	return sql.ErrTxDone
}

func (w *grouped) ExecContext(_ context.Context, query string, args ...any) (res sql.Result, err error) {
	err = w.statement(func(ctx context.Context) error {
		res, err = w.b.conn.ExecContext(ctx, query, args...)
		return err
	})
	return res, err
}

func (w *grouped) QueryContext(_ context.Context, query string, args ...any) (rows *sql.Rows, err error) {
	err = w.statement(func(ctx context.Context) error {
		rows, err = w.b.conn.QueryContext(ctx, query, args...) //nolint:sqlclosecheck // the caller closes them, as with any ConnPool
		return err
	})
	return rows, err
}

func (w *grouped) QueryRowContext(_ context.Context, query string, args ...any) (row *sql.Row) {
	err := w.statement(func(ctx context.Context) error {
		row = w.b.conn.QueryRowContext(ctx, query, args...)
		return nil
	})
	if err != nil {
		// A Row that fails (with the context's error) without running:
		// database/sql makes Rows only from queries.
		ctx, cancel := context.WithCancelCause(context.Background())
		cancel(err)
		return w.b.db.QueryRowContext(ctx, query, args...)
	}
	return row
}

func (w *grouped) PrepareContext(_ context.Context, query string) (stmt *sql.Stmt, err error) {
	err = w.statement(func(ctx context.Context) error {
		stmt, err = w.b.conn.PrepareContext(ctx, query) //nolint:sqlclosecheck // the caller closes it, as with any ConnPool
		return err
	})
	return stmt, err
}

func (w *grouped) GetDBConn() (*sql.DB, error) { return w.b.db, nil }

// Commit ends the writer's part and waits for the batch's COMMIT,
// returning its error.
func (w *grouped) Commit() error { return w.end(true) }

// Rollback undoes the writer's part, and only it.
func (w *grouped) Rollback() error { return w.end(false) }

func (w *grouped) end(commit bool) error {
	w.mu.Lock()
	if w.ended {
		w.mu.Unlock()
		return w.endedErr()
	}
	w.ended = true
	if err := w.ctx.Err(); err != nil {
		w.cause = err
		commit = false // as database/sql does for a transaction whose context ended
	}
	stop := w.stop
	w.mu.Unlock()
	stop()
	b := w.b
	ctx := context.Background()
	var done chan error
	if commit {
		// On PostgreSQL the savepoint stays until the batch's COMMIT, which
		// releases it with the others: releasing it now would cost a round
		// trip, and a later writer's rollback to its own savepoint, opened
		// after this one, undoes nothing of this writer's. SQLite, whose
		// statements cost no round trip, pays for each savepoint left open
		// on every page a later writer changes: it releases it.
		if !b.q.keepSavepoints {
			if _, err := b.conn.ExecContext(ctx, "RELEASE SAVEPOINT "+w.savepoint); err != nil {
				b.failed = err
			}
		}
		done = make(chan error, 1)
		b.done = append(b.done, done)
	} else if _, err := b.conn.ExecContext(ctx, "ROLLBACK TO SAVEPOINT "+w.savepoint); err != nil {
		b.failed = err
	} else if _, err := b.conn.ExecContext(ctx, "RELEASE SAVEPOINT "+w.savepoint); err != nil {
		b.failed = err
	}
	b.passOn()
	if done == nil {
		if w.cause != nil {
			return w.cause
		}
		return nil
	}
	return <-done
}
