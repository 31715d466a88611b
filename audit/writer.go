package audit

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"gorm.io/gorm"

	"github.com/bevis-ir/bevis/internal/db"
	"gorm.io/gorm/logger"
)

// ErrClosed is a Record on a Writer that was closed.
var ErrClosed = errors.New("audit: writer closed")

// WriterOptions tune a Writer; zero values take the defaults.
type WriterOptions struct {
	// QueueSize bounds the entries waiting for a batch (default 4096); a
	// Record finding it full waits, within its context, for room.
	QueueSize int
	// MaxBatch bounds the entries committed in one transaction (default 512).
	MaxBatch int
	// Committers is how many batches may commit at once (default 1 on
	// SQLite, which serialises writes anyway, 4 on PostgreSQL).
	Committers int
	// CommitTimeout bounds one batch's transaction (default 10s).
	CommitTimeout time.Duration
	// Linger is how long a batch waits, after its first entry, for more to
	// join it before it commits (unless it fills first). Each commit costs
	// a disk flush, and on SQLite also the page cache of every connection
	// reading; a busy server commits fewer, larger batches and so answers
	// more reads. Default 2ms on SQLite, none on PostgreSQL, whose several
	// committers flush in parallel; negative means none.
	Linger time.Duration
}

// Writer records entries of reads by group commit: it collects the entries
// of many concurrent requests into one transaction, and releases each caller
// once the batch holding its entry has committed. One INSERT transaction per
// read would cost a round trip and a disk flush each; writing after the
// response would let a read go unrecorded.
type Writer struct {
	db      *gorm.DB
	opts    WriterOptions
	queue   chan *pending
	mu      sync.RWMutex // held for reading while sending to queue, for writing to close it
	closed  bool
	running sync.WaitGroup
}

type pending struct {
	row  entryRow
	done chan error
}

// NewWriter starts a Writer on db. Close it to stop, after the last Record.
func NewWriter(db *gorm.DB, opts WriterOptions) *Writer {
	if opts.QueueSize <= 0 {
		opts.QueueSize = 4096
	}
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 512
	}
	if opts.Committers <= 0 {
		opts.Committers = 1
		if db.Dialector.Name() == "postgres" {
			opts.Committers = 4
		}
	}
	if opts.CommitTimeout <= 0 {
		opts.CommitTimeout = 10 * time.Second
	}
	if opts.Linger == 0 && db.Dialector.Name() != "postgres" {
		opts.Linger = 2 * time.Millisecond
	}
	w := &Writer{db: quiet(db), opts: opts, queue: make(chan *pending, opts.QueueSize)}
	w.running.Add(opts.Committers)
	for range opts.Committers {
		go w.commitLoop()
	}
	return w
}

// Record stores e and returns once it is committed, so a caller that gets
// nil may answer the request, and one that gets an error must not: the read
// would go unrecorded. The actor and request ID come from ctx (see
// WithActor) when e has none. When ctx ends first Record returns its error;
// the entry may still be committed, which errs on the side of the record.
func (w *Writer) Record(ctx context.Context, e Entry) error {
	r, err := normalize(fromContext(ctx, e), time.Now())
	if err != nil {
		return err
	}
	p := &pending{row: r, done: make(chan error, 1)}
	w.mu.RLock()
	if w.closed {
		w.mu.RUnlock()
		return ErrClosed
	}
	select {
	case w.queue <- p:
		w.mu.RUnlock()
	case <-ctx.Done():
		w.mu.RUnlock()
		return fmt.Errorf("audit: record: %w", ctx.Err())
	}
	select {
	case err := <-p.done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("audit: record: %w", ctx.Err())
	}
}

// Close stops taking entries, commits those queued and waits for the
// batches in flight.
func (w *Writer) Close() {
	w.mu.Lock()
	if !w.closed {
		w.closed = true
		close(w.queue)
	}
	w.mu.Unlock()
	w.running.Wait()
}

// commitLoop commits batches on a connection of its own, so that a pool
// drained by busy request handlers never holds the audit log (and with it
// every audited request) back.
func (w *Writer) commitLoop() {
	defer w.running.Done()
	for {
		connected := false
		err := w.db.Connection(func(conn *gorm.DB) error {
			connected = true
			return w.commitOn(db.QueuedFirst(w.db, conn.Session(&gorm.Session{})))
		})
		if err == nil {
			return // queue closed and drained
		}
		if !connected {
			// No connection to be had: fail the next batch rather than
			// leave its callers waiting, then try again.
			batch, ok := w.nextBatch(nil)
			if !ok {
				return
			}
			for _, p := range batch {
				p.done <- fmt.Errorf("audit: record: %w", err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}

// commitOn commits batches on conn until the queue is closed (nil) or a
// commit fails (its error, after failing the batch: the connection may be
// broken, so the loop takes a new one).
func (w *Writer) commitOn(conn *gorm.DB) error {
	batch := make([]*pending, 0, w.opts.MaxBatch)
	rows := make([]entryRow, 0, w.opts.MaxBatch)
	for {
		var ok bool
		if batch, ok = w.nextBatch(batch[:0]); !ok {
			return nil
		}
		rows = rows[:0]
		for _, p := range batch {
			rows = append(rows, p.row)
		}
		err := w.commit(conn, rows)
		for _, p := range batch {
			p.done <- err
		}
		if err != nil {
			return err
		}
	}
}

// nextBatch waits for one entry, then takes those that join it within
// Linger, up to MaxBatch. It reports false when the queue is closed and
// empty.
func (w *Writer) nextBatch(batch []*pending) ([]*pending, bool) {
	first, ok := <-w.queue
	if !ok {
		return nil, false
	}
	batch = append(batch, first)
	var deadline <-chan time.Time // nil without a linger: take only what is queued
	if w.opts.Linger > 0 {
		t := time.NewTimer(w.opts.Linger)
		defer t.Stop()
		deadline = t.C
	}
	for len(batch) < w.opts.MaxBatch {
		select {
		case p, ok := <-w.queue:
			if !ok {
				return batch, true
			}
			batch = append(batch, p)
			continue
		default:
		}
		if deadline == nil {
			return batch, true
		}
		select {
		case p, ok := <-w.queue:
			if !ok {
				return batch, true
			}
			batch = append(batch, p)
		case <-deadline:
			return batch, true
		}
	}
	return batch, true
}

// quiet returns db without gorm's query log: the writer and sequencer
// return their errors instead, and the text of a failed batch of hundreds
// of rows would cost more to write out than the insert.
func quiet(db *gorm.DB) *gorm.DB {
	return db.Session(&gorm.Session{Logger: db.Logger.LogMode(logger.Silent)})
}

// commit inserts one batch: one INSERT when it fits in one, which is
// atomic by itself and so needs no BEGIN and COMMIT (on PostgreSQL two
// round trips of three), else its INSERTs in one transaction. It does not
// use any caller's context: the batch belongs to all of them.
func (w *Writer) commit(conn *gorm.DB, rows []entryRow) error {
	ctx, cancel := context.WithTimeout(context.Background(), w.opts.CommitTimeout)
	defer cancel()
	conn = conn.WithContext(ctx)
	var err error
	if len(rows) <= insertChunk {
		err = insertRows(conn, rows)
	} else {
		err = conn.Transaction(func(tx *gorm.DB) error {
			for chunk := range slices.Chunk(rows, insertChunk) {
				if err := insertRows(tx, chunk); err != nil {
					return err
				}
			}
			return nil
		})
	}
	if err != nil {
		return fmt.Errorf("audit: record: %w", err)
	}
	return nil
}

// insertChunk is the rows per INSERT statement within a batch: binding
// thousands of parameters to one statement costs the SQLite driver more
// than the statements it saves.
const insertChunk = 32

// insertRowsSQL[n] inserts n entryRows, their values in the order of
// values, row after row: built once, not by GORM's reflection each time.
var insertRowsSQL = func() (out [insertChunk + 1]string) {
	row := insertEntry[strings.Index(insertEntry, "VALUES ")+len("VALUES "):]
	for n := 1; n <= insertChunk; n++ {
		out[n] = insertEntry + strings.Repeat(", "+row, n-1)
	}
	return out
}()

// insertRows inserts rows (at most insertChunk) in one statement.
func insertRows(tx *gorm.DB, rows []entryRow) error {
	args := make([]any, 0, len(rows)*len(rows[0].values()))
	for _, r := range rows {
		args = append(args, r.values()...)
	}
	return tx.Exec(insertRowsSQL[len(rows)], args...).Error
}
