package audit

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/bevis-ir/bevis/internal/db"
	"github.com/bevis-ir/bevis/internal/testenv"
)

func newSigner(t testing.TB) *Signer {
	t.Helper()
	pemData, err := GenerateKeyPEM()
	if err != nil {
		t.Fatal(err)
	}
	s, err := ParseSigner(pemData)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func keysOf(signers ...*Signer) Keys {
	k := Keys{}
	for _, s := range signers {
		k[s.KeyID()] = s.PublicKey()
	}
	return k
}

func newSequencer(t testing.TB, db *gorm.DB, signer *Signer, store CheckpointStore) *Sequencer {
	t.Helper()
	s, err := NewSequencer(db, SequencerOptions{Signer: signer, Store: store, Log: testenv.Discard,
		Interval: 20 * time.Millisecond, LeaderRetry: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// sealAll seals every committed entry with s, without the lead, then
// signs a checkpoint of the head.
func sealAll(t testing.TB, s *Sequencer) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	err := s.db.Connection(func(conn *gorm.DB) error {
		conn = conn.Session(&gorm.Session{})
		st, err := s.loadState(conn)
		if err != nil {
			return err
		}
		for unsealedCount(t, s.db) > 0 {
			if time.Now().After(deadline) {
				t.Fatal("entries stayed unsealed for 30s")
			}
			if _, err := s.sealBatch(conn, &st); err != nil {
				return err
			}
			time.Sleep(5 * time.Millisecond)
		}
		return s.round(conn, &st, true)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func unsealedCount(t testing.TB, db *gorm.DB) int64 {
	t.Helper()
	var n int64
	err := db.Raw("SELECT COUNT(*) FROM audit_entries e WHERE NOT EXISTS (SELECT 1 FROM audit_chain c WHERE c.entry_id = e.id)").Scan(&n).Error
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func entry(i int) Entry {
	return Entry{
		Actor:        Actor{UserID: fmt.Sprintf("user-%d", i%3), AgencyID: "agency-a", ClientIP: "192.0.2.7", UserAgent: "test"},
		Action:       "case.read",
		ResourceType: "case",
		ResourceID:   fmt.Sprintf("case-%d", i),
		CaseID:       fmt.Sprintf("case-%d", i),
		Outcome:      Success,
		RequestID:    fmt.Sprintf("req-%d", i),
	}
}

// appendCommitted writes n entries, each in its own committed transaction.
func appendCommitted(t testing.TB, db *gorm.DB, n int) {
	t.Helper()
	for i := range n {
		err := db.Transaction(func(tx *gorm.DB) error { return Append(context.Background(), tx, entry(i)) })
		if err != nil {
			t.Fatal(err)
		}
	}
}

func count(t testing.TB, db *gorm.DB, table string) int64 {
	t.Helper()
	var n int64
	if err := db.Table(table).Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

func TestAppend_RolledBackChangeLeavesNoEntry(t *testing.T) {
	for _, d := range testenv.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			ctx := context.Background()
			err := d.DB.Transaction(func(tx *gorm.DB) error {
				if err := Append(ctx, tx, entry(1)); err != nil {
					return err
				}
				return fmt.Errorf("the change failed")
			})
			if err == nil {
				t.Fatal("transaction did not fail")
			}
			if n := count(t, d.DB, "audit_entries"); n != 0 {
				t.Fatalf("rolled-back change left %d entries", n)
			}
			err = d.DB.Transaction(func(tx *gorm.DB) error { return Append(ctx, tx, entry(2)) })
			if err != nil {
				t.Fatal(err)
			}
			if n := count(t, d.DB, "audit_entries"); n != 1 {
				t.Fatalf("committed change left %d entries, want 1", n)
			}
		})
	}
}

func TestAppend_TakesActorAndRequestIDFromContext(t *testing.T) {
	d := testenv.SQLite(t)
	actor := Actor{UserID: "u1", AgencyID: "a1", TokenID: "t1", ClientIP: "198.51.100.4", UserAgent: "curl/8"}
	ctx := WithRequestID(WithActor(context.Background(), actor), "req-42")
	err := d.DB.Transaction(func(tx *gorm.DB) error {
		return Append(ctx, tx, Entry{Action: "case.update", ResourceType: "case", ResourceID: "c1", CaseID: "c1", Outcome: Success})
	})
	if err != nil {
		t.Fatal(err)
	}
	var got entryRow
	if err := d.DB.First(&got).Error; err != nil {
		t.Fatal(err)
	}
	if got.UserID != "u1" || got.AgencyID != "a1" || got.TokenID != "t1" || got.ClientIP != "198.51.100.4" ||
		got.UserAgent != "curl/8" || got.RequestID != "req-42" {
		t.Errorf("stored %+v, want the context's actor and request ID", got)
	}
}

func TestWriter_ConcurrentWritersMakeOneGaplessChain(t *testing.T) {
	const writers, each = 24, 40
	for _, d := range testenv.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			signer := newSigner(t)
			w := NewWriter(d.DB, WriterOptions{})
			seq := newSequencer(t, d.DB, signer, nil)
			ctx, stop := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- seq.Run(ctx) }()
			// The last round at stop is the leader's: a sequencer stopped
			// before it ever led leaves the sealing to the next one.
			for deadline := time.Now().Add(10 * time.Second); !seq.Leading(); time.Sleep(5 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatal("the sequencer did not take the lead")
				}
			}

			var wg sync.WaitGroup
			errs := make(chan error, writers*each)
			for g := range writers {
				wg.Go(func() {
					for i := range each {
						if err := w.Record(context.Background(), entry(g*each+i)); err != nil {
							errs <- err
						}
					}
				})
			}
			// Changes audited in their own transactions, at the same time.
			wg.Go(func() { appendCommitted(t, d.DB, each) })
			wg.Wait()
			w.Close()
			stop()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			close(errs)
			for err := range errs {
				t.Fatalf("Record: %v", err)
			}
			// Nothing is left to seal after the last round at stop.
			if n := unsealedCount(t, d.DB); n != 0 {
				t.Errorf("%d entries unsealed after the sequencer stopped", n)
			}
			rep, err := VerifyDB(context.Background(), d.DB, keysOf(signer), nil)
			if err != nil {
				t.Fatal(err)
			}
			if want := int64(writers*each + each); rep.Entries != want || rep.Unsealed != 0 {
				t.Errorf("chain of %d entries with %d unsealed, want %d and 0", rep.Entries, rep.Unsealed, want)
			}
			if rep.Checkpoints == 0 || rep.LastCheckpoint.Seq != rep.Entries {
				t.Errorf("no final checkpoint of the head: %+v", rep)
			}
		})
	}
}

// A batch waits Linger after its first entry for others to join it, so
// the first caller is released with the later ones; a batch that fills
// commits without waiting out the linger.
func TestWriter_BatchLingersForMoreEntriesUnlessFull(t *testing.T) {
	d := testenv.SQLite(t)
	ctx := context.Background()

	w := NewWriter(d.DB, WriterOptions{Committers: 1, Linger: time.Minute, MaxBatch: 4})
	defer w.Close()
	released := make(chan int, 4)
	go func() {
		if err := w.Record(ctx, entry(0)); err != nil {
			t.Error(err)
		}
		released <- 0
	}()
	time.Sleep(50 * time.Millisecond) // the batch has its first entry and lingers
	select {
	case <-released:
		t.Fatal("the first entry committed alone, without lingering for others")
	default:
	}
	start := time.Now()
	var wg sync.WaitGroup
	for i := 1; i < 4; i++ {
		wg.Go(func() {
			if err := w.Record(ctx, entry(i)); err != nil {
				t.Error(err)
			}
			released <- i
		})
	}
	// The fourth entry fills the batch: all four commit long before the
	// minute of linger is out.
	wg.Wait()
	if took := time.Since(start); took > 30*time.Second {
		t.Errorf("a full batch waited %v to commit", took)
	}
	select {
	case <-released:
	case <-time.After(30 * time.Second):
		t.Fatal("the first entry was not released with the batch that filled")
	}
	var n int64
	if err := d.DB.Table("audit_entries").Count(&n).Error; err != nil || n != 4 {
		t.Errorf("%d entries committed (%v), want 4", n, err)
	}
}

func TestWriter_RefusesAfterCloseAndHonoursContext(t *testing.T) {
	d := testenv.SQLite(t)
	w := NewWriter(d.DB, WriterOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := w.Record(ctx, entry(1)); err == nil {
		t.Error("Record with an ended context returned nil")
	}
	w.Close()
	if err := w.Record(context.Background(), entry(2)); !errors.Is(err, ErrClosed) {
		t.Errorf("Record after Close: %v, want ErrClosed", err)
	}
}

// With the database unreachable, Record fails (so the read is refused)
// rather than answering nil or hanging; when it is back, Record works again.
func TestWriter_DatabaseFailureIsReturned(t *testing.T) {
	d := testenv.Postgres(t)
	u, err := url.Parse(d.URL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := testenv.NewProxy(t, u.Host)
	u.Host = proxy.Addr()
	ctx := context.Background()
	gdb, err := db.Open(ctx, u.String(), 5*time.Second, testenv.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(gdb)
	w := NewWriter(gdb, WriterOptions{Committers: 1})
	defer w.Close()
	if err := w.Record(ctx, entry(1)); err != nil {
		t.Fatal(err)
	}

	proxy.Down()
	short, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := w.Record(short, entry(2)); err == nil || errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Record with the database down: %v, want the database's error", err)
	}

	proxy.Up()
	deadline := time.Now().Add(10 * time.Second)
	for w.Record(ctx, entry(3)) != nil {
		if time.Now().After(deadline) {
			t.Fatal("Record still failing 10s after the database came back")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestEntry_Validation(t *testing.T) {
	long := make([]byte, 2000)
	for i := range long {
		long[i] = 'x'
	}
	tests := []struct {
		name string
		edit func(*Entry)
		ok   bool
	}{
		{"valid", func(*Entry) {}, true},
		{"no action", func(e *Entry) { e.Action = "" }, false},
		{"action with spaces", func(e *Entry) { e.Action = "case read" }, false},
		{"unknown outcome", func(e *Entry) { e.Outcome = "maybe" }, false},
		{"oversized case ID", func(e *Entry) { e.CaseID = string(long) }, false},
		{"control character in user ID", func(e *Entry) { e.Actor.UserID = "u\n1" }, false},
		{"negative range", func(e *Entry) { e.Range = &ByteRange{Offset: -1, Length: 5} }, false},
		{"range", func(e *Entry) { e.Range = &ByteRange{Offset: 0, Length: -1} }, true},
		{"detail naming a password", func(e *Entry) { e.Detail = map[string]string{"new_password": "x"} }, false},
		{"detail naming a token", func(e *Entry) { e.Detail = map[string]string{"api_token": "x"} }, false},
		{"plain detail", func(e *Entry) { e.Detail = map[string]string{"username": "kari"} }, true},
		{"long user agent is cut, not refused", func(e *Entry) { e.Actor.UserAgent = string(long) }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := entry(1)
			tt.edit(&e)
			r, err := normalize(e, time.Now())
			if (err == nil) != tt.ok {
				t.Fatalf("normalize: %v, want ok=%v", err, tt.ok)
			}
			if err == nil && (len(r.UserAgent) > MaxUserAgentLen) {
				t.Errorf("user agent of %d bytes kept", len(r.UserAgent))
			}
		})
	}
}

func TestClean_StripsControlsAndCutsOnCharacterBoundary(t *testing.T) {
	if got := clean("a\x00b\r\nc", 10); got != "abc" {
		t.Errorf("clean kept controls: %q", got)
	}
	if got := clean("ææææ", 3); got != "æ" {
		t.Errorf("clean cut inside a character: %q", got)
	}
}
