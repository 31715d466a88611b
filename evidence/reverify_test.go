package evidence

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bevis-ir/bevis/access"
	"github.com/bevis-ir/bevis/internal/testenv"
)

// reverifyEnv is an upload environment whose clocks (receipt, verification,
// rounds) are the test's.
type reverifyEnv struct {
	*uploadEnv
	now time.Time
	r   *Reverifier
}

func newReverifyEnv(t *testing.T, d testenv.Database, interval, every time.Duration) *reverifyEnv {
	t.Helper()
	e := &reverifyEnv{uploadEnv: newUploadEnv(t, newTestFSStore(t), d), now: time.Now().UTC().Truncate(time.Second)}
	clock := func() time.Time { return e.now }
	e.uploads.now, e.content.now = clock, clock
	e.r = NewReverifier(e.content, interval, every)
	e.r.now = clock
	return e
}

// round runs one round and returns the items it verified, in order.
func (e *reverifyEnv) round(t *testing.T) []string {
	t.Helper()
	done, err := e.r.Round(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]string, len(done))
	for i, v := range done {
		ids[i] = v.Event.ItemID
	}
	return ids
}

// The item whose last check is oldest goes first, whatever order the items
// arrived in; one not yet near its deadline waits.
func TestReverifier_TakesTheOldestCheckFirst(t *testing.T) {
	for _, d := range testenv.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			e := newReverifyEnv(t, d, 8*time.Hour, time.Hour)
			t0 := e.now
			a, b, c := e.received(t, 1000), e.received(t, 1000), e.received(t, 1000)
			for _, step := range []struct {
				it Item
				at time.Duration
			}{{c, time.Hour}, {a, 2 * time.Hour}, {b, 3 * time.Hour}} {
				e.now = t0.Add(step.at)
				if _, err := e.content.Verify(t.Context(), access.Principal{}, step.it); err != nil {
					t.Fatal(err)
				}
			}
			e.now = t0.Add(10 * time.Hour)
			late := e.received(t, 1000) // due at t0+18h: not yet near
			e.now = t0.Add(12 * time.Hour)
			if got, want := e.round(t), []string{c.ID, a.ID, b.ID}; !slices.Equal(got, want) {
				t.Errorf("round at t0+12h verified %v, want %v (oldest check first), not %s", got, want, late.ID)
			}
			if got := e.round(t); len(got) != 0 {
				t.Errorf("a second round at once verified %v again", got)
			}
		})
	}
}

// Many items coming due together are spread over the quarter interval
// before their deadline, each checked once and in time, not in one burst.
func TestReverifier_SpreadsItemsDueTogetherAndChecksEachWithinTheInterval(t *testing.T) {
	for _, d := range testenv.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			const items = 24
			interval := 24 * time.Hour
			e := newReverifyEnv(t, d, interval, time.Hour)
			t0 := e.now
			for range items {
				e.received(t, 100)
			}
			checked := map[string]time.Duration{}
			most := 0
			for h := 1; h <= 24; h++ {
				e.now = t0.Add(time.Duration(h) * time.Hour)
				got := e.round(t)
				most = max(most, len(got))
				for _, id := range got {
					if _, twice := checked[id]; twice {
						t.Errorf("item %s checked twice in one interval", id)
					}
					checked[id] = e.now.Sub(t0)
				}
			}
			if len(checked) != items {
				t.Fatalf("%d of %d items checked within the interval", len(checked), items)
			}
			for id, after := range checked {
				if after < interval*3/4 || after > interval {
					t.Errorf("item %s checked %s after its receipt, want between %s and %s", id, after, interval*3/4, interval)
				}
			}
			if most > items/4 {
				t.Errorf("one round checked %d items: a burst, not a spread", most)
			}
		})
	}
}

// A scheduled round finds a blob changed behind Bevis's back, records the
// mismatch and raises an alert.
func TestReverifier_FindsACorruptedBlobAndRaisesAnAlert(t *testing.T) {
	for _, d := range testenv.Databases(t) {
		t.Run(d.Name, func(t *testing.T) { findsACorruptedBlob(t, d) })
	}
}

func findsACorruptedBlob(t *testing.T, d testenv.Database) {
	e := newReverifyEnv(t, d, time.Hour, time.Minute)
	raised := &raisedAlerts{}
	e.content.ReportIncidentsTo(raised)
	it := e.received(t, 100_000)
	root := e.store.(*FSStore).root
	if err := flipFSByte(root, it.ObjectKey, 50_000); err != nil {
		t.Fatal(err)
	}
	e.now = e.now.Add(time.Hour)
	done, err := e.r.Round(t.Context())
	if err != nil || len(done) != 1 || done[0].Result != "mismatch" {
		t.Fatalf("round: %+v, %v", done, err)
	}
	if ev := e.lastEvent(t, it); ev.Type != EventVerified || ev.Details.Result != "mismatch" || ev.ActorUserID != "" {
		t.Errorf("custody event: %+v", ev)
	}
	if got := raised.all(); len(got) != 1 || !strings.Contains(got[0], it.ExhibitNumber+": content mismatch (found by verification)") {
		t.Errorf("alerts: %q", got)
	}
}

// A disposed item is not verified any more: a round deletes its content
// once the store's retention allows, and records the deletion.
func TestReverifier_DeletesADisposedItemsContentInsteadOfCheckingIt(t *testing.T) {
	for _, d := range testenv.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			e := newReverifyEnv(t, d, time.Hour, time.Minute)
			it := e.received(t, 1000)
			e.clock = e.clock.AddDate(2, 0, 0) // past the items' retention
			e.step(t, e.a1, it.ID, Step{Type: EventDisposalProposed, Details: Details{AuthorityReference: "PPS-1"}})
			e.step(t, e.a2, it.ID, Step{Type: EventDisposed})
			e.now = e.now.Add(2 * time.Hour) // due for verification, were it not disposed of
			if done := e.round(t); len(done) != 0 {
				t.Errorf("verified a disposed item: %v", done)
			}
			if ev := e.lastEvent(t, it); ev.Type != EventDisposed {
				t.Fatalf("within the store's retention the content stays: %+v", ev)
			}
			if err := e.store.SetRetention(t.Context(), it.ObjectKey, it.ObjectVersion,
				Retention{Mode: Governance, Until: time.Now().Add(time.Second)}); err != nil {
				t.Fatal(err)
			}
			time.Sleep(2100 * time.Millisecond) // the store rounds retention up to the second
			e.round(t)
			ev := e.lastEvent(t, it)
			if ev.Type != EventContentDeleted || ev.Details.ObjectKey != it.ObjectKey || ev.Details.ObjectVersion != it.ObjectVersion {
				t.Errorf("the deletion on the record: %+v", ev)
			}
			if _, err := e.store.Versions(t.Context(), it.ObjectKey); !errors.Is(err, ErrObjectNotFound) {
				t.Errorf("the object: %v", err)
			}
			if err := e.items.VerifyItem(t.Context(), it.ID); err != nil {
				t.Errorf("the chain after the deletion: %v", err)
			}
			if _, err := e.content.Verify(t.Context(), e.a1, it); !errors.Is(err, ErrDisposed) {
				t.Errorf("verify a disposed item: %v", err)
			}
		})
	}
}
