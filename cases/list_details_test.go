package cases

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/bevis-ir/bevis/access"
	"github.com/bevis-ir/bevis/internal/testenv"
)

// TestList_ShowsEveryChangeOfACase lists as two nodes (two stores on one
// database) while a case changes in every way the store changes cases,
// on either node: each list shows the case exactly as a read of it does,
// clocks included, though the list keeps the cases it showed; and a list
// with nothing changed reads no case again.
func TestList_ShowsEveryChangeOfACase(t *testing.T) {
	for _, d := range testenv.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			e := newEnv(t, d)
			other := NewStore(d.DB, WithClock(e.clock.Now)) // a second node
			fresh := func() *Store { return NewStore(d.DB, WithClock(e.clock.Now)) }
			ctx := context.Background()
			aware := start.Add(-time.Hour)
			k := e.create(t, e.alice, NewCase{Title: "Cached", Tags: []string{"spooler"}, PersonalDataBreach: true,
				AwareAt: &aware, Jurisdictions: []string{"gdpr"}})
			e.create(t, e.alice, NewCase{Title: "Beside it"})
			queries := testenv.RecordQueries(t, d.DB)
			shows := func(what string) {
				t.Helper()
				want, err := fresh().Get(ctx, k.ID)
				if err != nil {
					t.Fatal(err)
				}
				for node, s := range []*Store{e.store, other} {
					page, err := s.List(ctx, e.alice, ListQuery{})
					if err != nil {
						t.Fatal(err)
					}
					if len(page.Cases) != 2 || page.Cases[1].ID != k.ID {
						t.Fatalf("%s: node %d lists %d cases, the case second: %+v", what, node, len(page.Cases), page.Cases)
					}
					if got := page.Cases[1]; !reflect.DeepEqual(got, want) {
						t.Fatalf("%s: node %d lists\n%+v\na read gives\n%+v", what, node, got, want)
					}
				}
			}
			shows("first list")
			queries.Reset()
			shows("again")
			if n := len(queries.With("case_tags")); n != 1 { // the read of the case; the lists read none
				t.Fatalf("two lists with nothing changed read tags %d times, want none (the read: 1)", n-1)
			}

			var err error
			for _, step := range []struct {
				what   string
				change func() (Case, error)
			}{
				{"its title and tags are edited", func() (Case, error) {
					return e.store.Update(ctx, e.alice, k.ID, k.Version, Update{Title: Optional[string]{Set: true, Value: "Edited"},
						Tags: Optional[[]string]{Set: true, Value: []string{"apt", "spooler"}}})
				}},
				{"it moves to triage on the other node", func() (Case, error) {
					return other.Transition(ctx, e.alice, k.ID, k.Version, Move{To: StatusTriage})
				}},
				{"a clock is met", func() (Case, error) {
					return e.store.MeetClock(ctx, e.alice, k.ID, k.Version, "gdpr.art33", Meeting{Reference: "DPA-1"})
				}},
				{"the awareness moves, and its clocks with it", func() (Case, error) {
					earlier := aware.Add(-24 * time.Hour)
					return other.Update(ctx, e.alice, k.ID, k.Version, Update{AwareAt: Optional[*time.Time]{Set: true, Value: &earlier},
						Jurisdictions: Optional[[]string]{Set: true, Value: []string{"gdpr", "nis2"}}})
				}},
				{"it becomes AMBER+STRICT", func() (Case, error) {
					return e.store.Update(ctx, e.alice, k.ID, k.Version, Update{TLP: Optional[access.TLP]{Set: true, Value: access.TLPAmberStrict}})
				}},
			} {
				if k, err = step.change(); err != nil {
					t.Fatalf("%s: %v", step.what, err)
				}
				shows(step.what)
			}
			// Time passes: a cached clock is overdue now, as read.
			if st := clockOf(t, k, "nis2.art23.notification").State; st != ClockPending {
				t.Fatalf("the notification clock is %s before the month passes, want pending", st)
			}
			e.clock.Advance(30 * 24 * time.Hour)
			shows("a month later")
			if k, err = fresh().Get(ctx, k.ID); err != nil || clockOf(t, k, "nis2.art23.notification").State != ClockOverdue {
				t.Fatalf("a month later the notification clock is not overdue (%v)", err)
			}
		})
	}
}

// TestList_CasesAreTheCallers: a page's cases share nothing with what the
// list keeps, so a caller that changes one changes no later page.
func TestList_CasesAreTheCallers(t *testing.T) {
	d := testenv.SQLite(t)
	e := newEnv(t, d)
	aware := start.Add(-time.Hour)
	e.create(t, e.alice, NewCase{Title: "Kept", Tags: []string{"a"}, AffectedSystems: []string{"dc01"}, AwareAt: &aware,
		PersonalDataBreach: true, Jurisdictions: []string{"gdpr"}})
	ctx := context.Background()
	first, err := e.store.List(ctx, e.alice, ListQuery{})
	if err != nil {
		t.Fatal(err)
	}
	k := first.Cases[0]
	k.Tags[0], k.AffectedSystems[0], k.Jurisdictions[0], k.Clocks[0].State = "changed", "changed", "changed", ClockMet
	*k.AwareAt = time.Time{}
	again, err := e.store.List(ctx, e.alice, ListQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if k := again.Cases[0]; k.Tags[0] != "a" || k.AffectedSystems[0] != "dc01" || k.Jurisdictions[0] != "gdpr" ||
		k.Clocks[0].State != ClockPending || !k.AwareAt.Equal(aware) {
		t.Fatalf("a change to one page's case shows in the next: %+v", k)
	}
}
