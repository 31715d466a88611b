package db_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/bevis-ir/bevis/internal/db"
	"github.com/bevis-ir/bevis/internal/testenv"
)

// queueProbe is a throwaway table the write-queue tests write to; id
// follows the order of the inserts.
func queueProbe(t *testing.T, d testenv.Database) {
	t.Helper()
	id := "id INTEGER PRIMARY KEY"
	if db.Dialect(d.DB) == db.Postgres {
		id = "id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY"
	}
	if err := d.DB.Exec("CREATE TABLE queue_probe (" + id + ", n INTEGER NOT NULL, part INTEGER NOT NULL)").Error; err != nil {
		t.Fatal(err)
	}
}

// holdAll takes every turn of the queue of d, as writers in the middle of
// their transactions would, and returns their releases.
func holdAll(t *testing.T, q *db.WriteQueue) []func() {
	t.Helper()
	var held []func()
	for range q.Width() {
		release, err := q.Acquire(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, release)
	}
	t.Cleanup(func() {
		for _, r := range held {
			r()
		}
	})
	return held
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func count(t *testing.T, d testenv.Database) int64 {
	t.Helper()
	var n int64
	if err := d.DB.Raw("SELECT COUNT(*) FROM queue_probe").Scan(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

func TestWriteQueue_WritersCommitInTheOrderTheyCame(t *testing.T) {
	for _, d := range testenv.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			queueProbe(t, d)
			q := db.QueueOf(d.DB)
			if q == nil {
				t.Fatal("the database has no write queue")
			}
			held := holdAll(t, q)
			const writers = 12
			var order []int
			var mu sync.Mutex
			var wg sync.WaitGroup
			for i := range writers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					err := d.DB.Transaction(func(tx *gorm.DB) error {
						mu.Lock()
						order = append(order, i)
						mu.Unlock()
						return tx.Exec("INSERT INTO queue_probe (n, part) VALUES (?, 1)", i).Error
					})
					if err != nil {
						t.Error(err)
					}
				}()
				waitFor(t, fmt.Sprint(i+1, " writers waiting"), func() bool { return q.Waiting() == i+1 })
			}
			// One turn frees: the writers pass through it one at a time.
			held[0]()
			wg.Wait()
			for i, n := range order {
				if n != i {
					t.Fatalf("writers began in the order %v, want the order they came in", order)
				}
			}
			if n := count(t, d); n != writers {
				t.Fatalf("%d rows, want %d", n, writers)
			}
		})
	}
}

func TestWriteQueue_HonoursTheDeadlineOfAWaitingWriter(t *testing.T) {
	for _, d := range testenv.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			queueProbe(t, d)
			q := db.QueueOf(d.DB)
			holdAll(t, q)
			ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
			defer cancel()
			start := time.Now()
			err := d.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
				return tx.Exec("INSERT INTO queue_probe (n, part) VALUES (1, 1)").Error
			})
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("err = %v, want the deadline", err)
			}
			if took := time.Since(start); took > 2*time.Second {
				t.Fatalf("the writer gave up after %v, past its deadline of 100ms", took)
			}
			// An Exec outside a transaction waits in the same queue.
			ctx2, cancel2 := context.WithTimeout(context.Background(), 100*time.Millisecond)
			defer cancel2()
			if err := d.DB.WithContext(ctx2).Exec("INSERT INTO queue_probe (n, part) VALUES (2, 1)").Error; !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("exec: err = %v, want the deadline", err)
			}
			if q.Waiting() != 0 {
				t.Fatalf("%d writers still counted as waiting", q.Waiting())
			}
			if n := count(t, d); n != 0 {
				t.Fatalf("%d rows written past the deadline", n)
			}
		})
	}
}

func TestWriteQueue_ReadersNeverWait(t *testing.T) {
	for _, d := range testenv.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			queueProbe(t, d)
			q := db.QueueOf(d.DB)
			// A writer in its transaction holds the turn (on SQLite, the
			// write lock too) while more writers than the pool has
			// connections wait behind it.
			holdAll(t, q)
			sqlDB, err := d.DB.DB()
			if err != nil {
				t.Fatal(err)
			}
			waiters := sqlDB.Stats().MaxOpenConnections + 4
			ctx, cancel := context.WithCancel(context.Background())
			var wg sync.WaitGroup
			for range waiters {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_ = d.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
						return tx.Exec("INSERT INTO queue_probe (n, part) VALUES (1, 1)").Error
					})
				}()
			}
			waitFor(t, "the writers to queue", func() bool { return q.Waiting() == waiters })
			for i := range 20 {
				rctx, rcancel := context.WithTimeout(context.Background(), time.Second)
				var n int64
				err := d.DB.WithContext(rctx).Raw("SELECT COUNT(*) FROM queue_probe").Scan(&n).Error
				rcancel()
				if err != nil {
					t.Fatalf("read %d while %d writers wait: %v", i, waiters, err)
				}
			}
			cancel()
			wg.Wait()
		})
	}
}

func TestWriteQueue_AKilledWriterLeavesNothingHalfDone(t *testing.T) {
	for _, d := range testenv.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			queueProbe(t, d)
			q := db.QueueOf(d.DB)
			// Killed between its two statements: by its context ending ...
			ctx, cancel := context.WithCancel(context.Background())
			err := d.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
				if err := tx.Exec("INSERT INTO queue_probe (n, part) VALUES (1, 1)").Error; err != nil {
					return err
				}
				cancel()
				return tx.Exec("INSERT INTO queue_probe (n, part) VALUES (1, 2)").Error
			})
			if err == nil {
				t.Fatal("the cancelled writer committed")
			}
			// ... and by a panic.
			func() {
				defer func() { _ = recover() }()
				_ = d.DB.Transaction(func(tx *gorm.DB) error {
					if err := tx.Exec("INSERT INTO queue_probe (n, part) VALUES (2, 1)").Error; err != nil {
						return err
					}
					panic("killed")
				})
			}()
			if n := count(t, d); n != 0 {
				t.Fatalf("%d rows of killed writers were kept", n)
			}
			// Their turns were given back: every turn can be taken again at once.
			wctx, wcancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer wcancel()
			for range q.Width() {
				release, err := q.Acquire(wctx)
				if err != nil {
					t.Fatalf("a killed writer kept its turn: %v", err)
				}
				defer release()
			}
		})
	}
}

// The audit writer, whose commits audited reads wait for, goes before the
// writers waiting, so that a read waits for one write at most.
func TestWriteQueue_TheAuditWriterGoesBeforeWaitingWriters(t *testing.T) {
	q := db.NewWriteQueue(1)
	held := holdAll(t, q)
	var order []string
	var mu sync.Mutex
	var wg sync.WaitGroup
	enter := func(name string, acquire func(context.Context) (func(), error)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			release, err := acquire(context.Background())
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			order = append(order, name)
			mu.Unlock()
			release()
		}()
	}
	for i, name := range []string{"w1", "w2", "w3"} {
		enter(name, q.Acquire)
		waitFor(t, name+" waiting", func() bool { return q.Waiting() == i+1 })
	}
	enter("audit", q.AcquireFirst)
	waitFor(t, "the audit writer waiting", func() bool { return q.Waiting() == 4 })
	held[0]()
	wg.Wait()
	if got := fmt.Sprint(order); got != "[audit w1 w2 w3]" {
		t.Fatalf("turns went %s, want [audit w1 w2 w3]", got)
	}
	if q.Waiting() != 0 {
		t.Fatalf("%d still counted as waiting", q.Waiting())
	}
}
