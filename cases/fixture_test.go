package cases

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/bevis-ir/bevis/access"
	"github.com/bevis-ir/bevis/internal/testenv"
)

// fakeClock is an injected clock that tests move by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// env is a store on one database with two agencies and a person in each.
type env struct {
	store *Store
	clock *fakeClock
	dir   *access.Directory
	alice access.Principal // agency A
	bob   access.Principal // agency B
	d     testenv.Database
}

var start = time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)

func newEnv(t testing.TB, d testenv.Database, opts ...Option) *env {
	t.Helper()
	clock := &fakeClock{t: start}
	e := &env{clock: clock, dir: access.NewDirectory(d.DB), d: d}
	e.store = NewStore(d.DB, append([]Option{WithClock(clock.Now)}, opts...)...)
	e.alice = e.person(t, "A", "alice")
	e.bob = e.person(t, "B", "bob")
	return e
}

func (e *env) person(t testing.TB, agencyCode, name string) access.Principal {
	t.Helper()
	ctx := context.Background()
	var agencyID string
	if list, err := e.dir.Agencies(ctx); err == nil {
		for _, a := range list {
			if a.Code == "AG-"+agencyCode {
				agencyID = a.ID
			}
		}
	}
	if agencyID == "" {
		a, err := e.dir.CreateAgency(ctx, access.NewAgency{Code: "AG-" + agencyCode, Name: "Agency " + agencyCode, Kind: "other"})
		if err != nil {
			t.Fatal(err)
		}
		agencyID = a.ID
	}
	u, err := e.dir.CreateUser(ctx, access.NewUser{AgencyID: agencyID, Email: name + "@bevis.test", Name: name, SystemRole: access.RoleMember})
	if err != nil {
		t.Fatal(err)
	}
	return access.Principal{UserID: u.ID, AgencyID: u.AgencyID, SystemRole: u.SystemRole}
}

func (e *env) create(t testing.TB, p access.Principal, in NewCase) Case {
	t.Helper()
	if in.Title == "" {
		in.Title = "Breach"
	}
	k, err := e.store.Create(context.Background(), p, in)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func ptr[T any](v T) *T { return &v }

func clockOf(t *testing.T, k Case, id string) Clock {
	t.Helper()
	for _, c := range k.Clocks {
		if c.ID == id {
			return c
		}
	}
	t.Fatalf("case has no clock %s; has %+v", id, k.Clocks)
	return Clock{}
}
