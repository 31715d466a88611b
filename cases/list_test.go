package cases

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/bevis-ir/bevis/access"
	"github.com/bevis-ir/bevis/internal/testenv"
	"github.com/bevis-ir/bevis/internal/validate"
)

func refs(cs []Case) []string {
	out := make([]string, len(cs))
	for i, k := range cs {
		out[i] = k.Reference
	}
	return out
}

func TestList_FiltersSortsPagesAndCounts(t *testing.T) {
	for _, d := range testenv.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			e := newEnv(t, d)
			ctx := context.Background()
			// Seven cases of alice's: severities 1..4 repeating, every third tagged,
			// the first two personal-data breaches long past their GDPR clock.
			var all []Case
			for i := range 7 {
				in := NewCase{Title: fmt.Sprint("case ", i), Severity: Severity(i%4 + 1)}
				if i%3 == 0 {
					in.Tags = []string{"Ransomware"}
				}
				if i < 2 {
					in.PersonalDataBreach, in.AwareAt = true, ptr(start.Add(-100*time.Hour))
				}
				all = append(all, e.create(t, e.alice, in))
				e.clock.Advance(time.Second)
			}
			if _, err := e.store.Transition(ctx, e.alice, all[6].ID, all[6].Version, Move{To: StatusTriage}); err != nil {
				t.Fatal(err)
			}
			e.create(t, e.bob, NewCase{Title: "bob's, invisible to alice"})

			list := func(q ListQuery) Page {
				t.Helper()
				p, err := e.store.List(ctx, e.alice, q)
				if err != nil {
					t.Fatal(err)
				}
				return p
			}
			p := list(ListQuery{})
			if got := refs(p.Cases); len(got) != 7 || got[0] != "BEV-2026-0007" || got[6] != "BEV-2026-0001" || p.NextCursor != "" {
				t.Errorf("default order %v next %q", got, p.NextCursor)
			}
			if p.Counts[StatusNew] != 6 || p.Counts[StatusTriage] != 1 || p.Counts[StatusClosed] != 0 || len(p.Counts) != len(Statuses) {
				t.Errorf("counts %v", p.Counts)
			}
			if !slices.Equal(p.Cases[6].Tags, []string{"ransomware"}) || len(p.Cases[6].Clocks) != 1 {
				t.Errorf("details of the first case: %+v", p.Cases[6])
			}
			for name, tc := range map[string]struct {
				q    ListQuery
				want []string
			}{
				"status":   {ListQuery{Statuses: []Status{StatusTriage}}, []string{"BEV-2026-0007"}},
				"severity": {ListQuery{Severities: []Severity{4, 1}, Sort: "reference"}, []string{"BEV-2026-0001", "BEV-2026-0004", "BEV-2026-0005"}},
				"tag":      {ListQuery{Tag: "RANSOMWARE", Sort: "reference"}, []string{"BEV-2026-0001", "BEV-2026-0004", "BEV-2026-0007"}},
				"overdue":  {ListQuery{ClockState: ClockOverdue, Sort: "reference"}, []string{"BEV-2026-0001", "BEV-2026-0002"}},
				"pending":  {ListQuery{ClockState: ClockPending}, nil},
				"agency":   {ListQuery{AgencyID: e.bob.AgencyID}, nil},
				"severity sort": {ListQuery{Sort: "-severity", Limit: 3},
					[]string{"BEV-2026-0004", "BEV-2026-0007", "BEV-2026-0003"}},
			} {
				if got := refs(list(tc.q).Cases); !slices.Equal(got, tc.want) && (len(got) != 0 || len(tc.want) != 0) {
					t.Errorf("%s: %v, want %v", name, got, tc.want)
				}
			}
			if c := list(ListQuery{Statuses: []Status{StatusTriage}}).Counts; c[StatusNew] != 6 {
				t.Errorf("counts ignore the status filter: %v", c)
			}

			// Walking every sort key page by page visits each case once, in order.
			for _, sort := range []string{"created_at", "-created_at", "updated_at", "-severity", "severity", "reference", "-status_changed_at"} {
				var seen []string
				q := ListQuery{Sort: sort, Limit: 2}
				for range 10 {
					p := list(q)
					seen = append(seen, refs(p.Cases)...)
					if p.NextCursor == "" {
						break
					}
					q.Cursor = p.NextCursor
				}
				want := refs(list(ListQuery{Sort: sort, Limit: 100}).Cases)
				if !slices.Equal(seen, want) || len(seen) != 7 {
					t.Errorf("sort %s: pages %v, one page %v", sort, seen, want)
				}
			}
		})
	}
}

func TestList_RefusesUnknownSortKeysAndForeignCursors(t *testing.T) {
	e := newEnv(t, testenv.SQLite(t))
	for range 3 {
		e.create(t, e.alice, NewCase{})
	}
	ctx := context.Background()
	p, err := e.store.List(ctx, e.alice, ListQuery{Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	for name, q := range map[string]ListQuery{
		"sort":            {Sort: "title; DROP TABLE cases"},
		"status":          {Statuses: []Status{"done"}},
		"severity":        {Severities: []Severity{0}},
		"clock":           {ClockState: "late"},
		"limit":           {Limit: 201},
		"garbage cursor":  {Cursor: "!!!"},
		"cursor for sort": {Cursor: p.NextCursor, Sort: "severity"},
	} {
		var invalid *validate.Error
		if _, err := e.store.List(ctx, e.alice, q); !errors.As(err, &invalid) {
			t.Errorf("%s: %v, want a validation error", name, err)
		}
	}
}

func TestList_ShowsOnlyWhatTheCallerMaySee(t *testing.T) {
	for _, d := range testenv.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			e := newEnv(t, d)
			ctx := context.Background()
			carol := e.person(t, "A", "carol") // alice's colleague
			amber := e.create(t, e.alice, NewCase{Title: "amber"})
			e.create(t, e.alice, NewCase{Title: "red", TLP: access.TLPRed})
			for _, tt := range []struct {
				who  access.Principal
				want []string
			}{{e.alice, []string{"red", "amber"}}, {carol, []string{"amber"}}, {e.bob, []string{}}} {
				who, want := tt.who, tt.want
				p, err := e.store.List(ctx, who, ListQuery{})
				if err != nil {
					t.Fatal(err)
				}
				var titles []string
				for _, k := range p.Cases {
					titles = append(titles, k.Title)
				}
				if !slices.Equal(titles, want) && len(titles)+len(want) > 0 {
					t.Errorf("%s sees %v, want %v", who.UserID, titles, want)
				}
			}
			if _, err := access.NewMembership(d.DB).Exclude(ctx, e.alice, amber.ID, carol.UserID, "suspected insider"); err != nil {
				t.Fatal(err)
			}
			if p, _ := e.store.List(ctx, carol, ListQuery{}); len(p.Cases) != 0 || p.Counts[StatusNew] != 0 {
				t.Errorf("an excluded user still lists %d cases, counts %v", len(p.Cases), p.Counts)
			}
		})
	}
}
