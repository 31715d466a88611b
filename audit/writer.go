package audit

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"gorm.io/gorm"
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
	w := &Writer{db: db, opts: opts, queue: make(chan *pending, opts.QueueSize)}
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

func (w *Writer) commitLoop() {
	defer w.running.Done()
	batch := make([]*pending, 0, w.opts.MaxBatch)
	rows := make([]entryRow, 0, w.opts.MaxBatch)
	for first := range w.queue {
		batch = append(batch[:0], first)
	collect:
		for len(batch) < w.opts.MaxBatch {
			select {
			case p, ok := <-w.queue:
				if !ok {
					break collect
				}
				batch = append(batch, p)
			default:
				break collect
			}
		}
		rows = rows[:0]
		for _, p := range batch {
			rows = append(rows, p.row)
		}
		err := w.commit(rows)
		for _, p := range batch {
			p.done <- err
		}
	}
}

// commit inserts one batch in one transaction. It does not use any caller's
// context: the batch belongs to all of them.
func (w *Writer) commit(rows []entryRow) error {
	ctx, cancel := context.WithTimeout(context.Background(), w.opts.CommitTimeout)
	defer cancel()
	err := w.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		return tx.Create(&rows).Error
	})
	if err != nil {
		return fmt.Errorf("audit: record: %w", err)
	}
	return nil
}
