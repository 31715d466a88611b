package audit

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/bevis-ir/bevis/internal/testenv"
)

// A transaction that wrote its entry early but commits late must not be
// skipped: a sequencer sealing "everything past the last sealed pos" would
// seal the later entry, move past the early one's pos, and never seal it.
// Nor may the open transaction hold the others back. And a new leader,
// after the one that saw the slow transaction open is gone, must find it.
func TestSequencer_PostgresSealsSlowTransactionWithoutWaitingForIt(t *testing.T) {
	d := testenv.Postgres(t)
	ctx := context.Background()
	signer := newSigner(t)

	slow := d.DB.Begin()
	if err := Append(ctx, slow, Entry{Action: "case.update", Outcome: Success, ResourceID: "slow"}); err != nil {
		t.Fatal(err)
	}
	w := NewWriter(d.DB, WriterOptions{})
	defer w.Close()
	if err := w.Record(ctx, Entry{Action: "case.read", Outcome: Success, ResourceID: "fast"}); err != nil {
		t.Fatal(err)
	}
	// The first leader seals around the open transaction, in two rounds,
	// the second starting from the first's snapshot.
	first := newSequencer(t, d.DB, signer, nil)
	err := first.db.Connection(func(conn *gorm.DB) error {
		conn = conn.Session(&gorm.Session{})
		st, err := first.loadState(conn)
		if err != nil {
			return err
		}
		if err := first.round(conn, &st, false); err != nil {
			return err
		}
		if err := w.Record(ctx, Entry{Action: "case.read", Outcome: Success, ResourceID: "mid"}); err != nil {
			return err
		}
		return first.round(conn, &st, false)
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := sealedResources(t, d.DB); len(got) != 2 || got[0] != "fast" || got[1] != "mid" {
		t.Fatalf("with the slow transaction open the chain holds %v, want [fast mid]", got)
	}

	if err := slow.Commit().Error; err != nil {
		t.Fatal(err)
	}
	if err := w.Record(ctx, Entry{Action: "case.read", Outcome: Success, ResourceID: "later"}); err != nil {
		t.Fatal(err)
	}
	// A new leader, knowing only what the database says.
	oneRound(t, newSequencer(t, d.DB, signer, nil))
	if got := sealedResources(t, d.DB); strings.Join(got, " ") != "fast mid slow later" {
		t.Errorf("chain holds %v, want [fast mid slow later]", got)
	}
	if _, err := VerifyDB(ctx, d.DB, keysOf(signer), nil); err != nil {
		t.Fatal(err)
	}
}

// oneRound runs one sealing round of s, as its leader would.
func oneRound(t *testing.T, s *Sequencer) {
	t.Helper()
	err := s.db.Connection(func(conn *gorm.DB) error {
		conn = conn.Session(&gorm.Session{})
		st, err := s.loadState(conn)
		if err != nil {
			return err
		}
		return s.round(conn, &st, false)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func sealedResources(t *testing.T, db *gorm.DB) []string {
	t.Helper()
	var order []string
	err := db.Raw("SELECT e.resource_id FROM audit_chain c JOIN audit_entries e ON e.id = c.entry_id ORDER BY c.seq").Scan(&order).Error
	if err != nil {
		t.Fatal(err)
	}
	return order
}

// Two nodes run a sequencer on one database; the leader stops half way and
// the other takes over. The chain stays one and gapless.
func TestSequencer_PostgresTwoNodesMakeOneChain(t *testing.T) {
	d := testenv.Postgres(t)
	signer := newSigner(t)
	a, b := newSequencer(t, d.DB, signer, nil), newSequencer(t, d.DB, signer, nil)
	ctxA, stopA := context.WithCancel(context.Background())
	ctxB, stopB := context.WithCancel(context.Background())
	var running sync.WaitGroup
	for _, run := range []struct {
		s   *Sequencer
		ctx context.Context
	}{{a, ctxA}, {b, ctxB}} {
		running.Go(func() {
			if err := run.s.Run(run.ctx); err != nil {
				t.Errorf("Run: %v", err)
			}
		})
	}
	w := NewWriter(d.DB, WriterOptions{})
	write := func(n int) {
		var wg sync.WaitGroup
		for g := range 8 {
			wg.Go(func() {
				for i := range n {
					if err := w.Record(context.Background(), entry(g*n+i)); err != nil {
						t.Error(err)
					}
				}
			})
		}
		wg.Wait()
	}
	// Sealed (by whichever leads) before a node goes away, and sealed
	// again by the other after: waiting for it, not for a fixed time,
	// keeps the test true on a loaded machine.
	allSealed := func() {
		t.Helper()
		for deadline := time.Now().Add(30 * time.Second); unsealedCount(t, d.DB) > 0; time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%d entries still unsealed after 30s", unsealedCount(t, d.DB))
			}
		}
	}
	write(50)
	allSealed()
	stopA() // whichever led, one of them goes away
	write(50)
	allSealed()
	w.Close()
	stopB()
	running.Wait()

	rep, err := VerifyDB(context.Background(), d.DB, keysOf(signer), nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Entries != 800 || rep.Unsealed != 0 {
		t.Errorf("chain of %d entries, %d unsealed; want 800 and 0", rep.Entries, rep.Unsealed)
	}
}

// Only one of two sequencers holds the lock at a time.
func TestSequencer_PostgresElectsOneLeader(t *testing.T) {
	d := testenv.Postgres(t)
	s := newSequencer(t, d.DB, newSigner(t), nil)
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	defer func() { stop(); <-done }()

	deadline := time.Now().Add(5 * time.Second)
	for {
		var held bool
		err := d.DB.Raw("SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database()))").Scan(&held).Error
		if err != nil {
			t.Fatal(err)
		}
		if held {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the sequencer never took the lock")
		}
		time.Sleep(10 * time.Millisecond)
	}
	other := newSequencer(t, d.DB, newSigner(t), nil)
	if err := other.lead(context.Background()); !errors.Is(err, errNotLeader) {
		t.Errorf("a second sequencer led while the first held the lock: %v", err)
	}
}

type memStore struct {
	mu   sync.Mutex
	objs map[string][]byte
}

func (m *memStore) PutLocked(_ context.Context, key string, data []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.objs == nil {
		m.objs = map[string][]byte{}
	}
	m.objs[key] = data
	return nil
}

func TestSequencer_CopiesCheckpointsToTheStore(t *testing.T) {
	d := testenv.SQLite(t)
	signer := newSigner(t)
	store := &memStore{}
	appendCommitted(t, d.DB, 3)
	sealAll(t, newSequencer(t, d.DB, signer, store))
	note, ok := store.objs[CheckpointKey(3)]
	if !ok {
		t.Fatalf("no checkpoint at %s; store has %v", CheckpointKey(3), store.objs)
	}
	cp, err := ParseCheckpoint(string(note), keysOf(signer))
	if err != nil || cp.Seq != 3 {
		t.Errorf("stored checkpoint %+v: %v", cp, err)
	}
}

func TestSequencer_CheckpointsAtLeastEveryInterval(t *testing.T) {
	d := testenv.SQLite(t)
	signer := newSigner(t)
	s, err := NewSequencer(d.DB, SequencerOptions{Signer: signer, Log: testenv.Discard, Interval: 10 * time.Millisecond,
		CheckpointEvery: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	// Each new entry gets its checkpoint; on a loaded machine that may
	// take more than the interval, so the test waits for it (a few
	// seconds at most) rather than for a fixed time, and then checks that
	// no second one came.
	for i := range 3 {
		appendCommitted(t, d.DB, 1)
		deadline := time.Now().Add(10 * time.Second)
		for count(t, d.DB, "audit_checkpoints") < int64(i+1) && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		time.Sleep(150 * time.Millisecond) // three checkpoint intervals
		if n := count(t, d.DB, "audit_checkpoints"); n != int64(i+1) {
			t.Errorf("after %d entries %d checkpoints, want %d", i+1, n, i+1)
		}
	}
	// No new entries, no new checkpoints.
	time.Sleep(150 * time.Millisecond)
	if n := count(t, d.DB, "audit_checkpoints"); n != 3 {
		t.Errorf("%d checkpoints without new entries, want 3", n)
	}
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := NewSequencer(d.DB, SequencerOptions{Signer: signer, CheckpointEvery: 2 * time.Minute}); err == nil {
		t.Error("a checkpoint interval over a minute was accepted")
	}
}

func TestSequencer_OnSealedStreamsEntriesInChainOrder(t *testing.T) {
	d := testenv.SQLite(t)
	var got []Recorded
	s, err := NewSequencer(d.DB, SequencerOptions{Signer: newSigner(t), Log: testenv.Discard, BatchSize: 2,
		OnSealed: func(batch []Recorded) { got = append(got, batch...) }})
	if err != nil {
		t.Fatal(err)
	}
	appendCommitted(t, d.DB, 5)
	sealAll(t, s)
	if len(got) != 5 {
		t.Fatalf("OnSealed saw %d entries, want 5", len(got))
	}
	for i, r := range got {
		if r.Seq != int64(i+1) || r.RequestID != entry(i).RequestID || r.ID == "" {
			t.Errorf("entry %d: seq %d request %q, want seq %d request %q", i, r.Seq, r.RequestID, i+1, entry(i).RequestID)
		}
	}
}
