package cases

import (
	"context"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bevis-ir/bevis/access"
	"github.com/bevis-ir/bevis/internal/testenv"
)

// TestListPlans reads the query plan of the case list's page in every
// order it offers, then those of the task lists across cases
// (checkTaskListPlans), and fails when one sorts the visible set instead of
// walking an index in that order (a temporary B-tree for ORDER BY on
// SQLite, a Sort node on PostgreSQL): such a page costs what the user can
// see, not what the page holds. The database holds 3,000 cases, a tenth of
// them visible to the reader, and is analysed, so that PostgreSQL plans as
// it would in service; both lists share it, as seeding is most of the time.
func TestListPlans(t *testing.T) {
	for _, d := range testenv.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			t.Parallel() // the dialects share nothing; most of the time is seeding
			reader := seedCaseList(t, d, 3000, 300)
			s := NewStore(d.DB)
			s.gatherMax = 0 // the walk, as for a reader of more than defaultGatherMax cases
			queries := testenv.RecordQueries(t, d.DB)
			for _, sort := range allSorts() {
				testenv.CheckWalksInOrder(t, d, firstPageStatement(t, s, reader, queries, sort, 20), "sort "+sort)
			}
			checkGatheredPlans(t, d, reader, queries)
			checkClockPlans(t, d, reader, queries)
			checkTaskListPlans(t, d, reader) // records the queries itself from here
		})
	}
}

// TestList_PageAgreesWithCaseScope walks every page of the list, in five
// orders (cursors made of keys the walk reads and of keys the cases show),
// gathering the reader's cases and walking the order's index, and finds
// exactly the cases CaseScope gives: the row-by-row test the walk uses and
// the set the counts use must not drift apart.
func TestList_PageAgreesWithCaseScope(t *testing.T) {
	for _, d := range testenv.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			t.Parallel() // the dialects share nothing; most of the time is seeding
			reader := seedCaseList(t, d, 600, 60)
			// The reader is named on the cases numbered 1, 21, 41…, their
			// agency on 11, 31, 51…. Markings and an exclusion hide some:
			// AMBER+STRICT where only the agency is a member (…31) or only
			// the reader (…81), RED where only the agency is (…51), and the
			// reader is excluded from case 1; RED where they are named (…41)
			// stays visible.
			for _, stmt := range []string{
				`UPDATE cases SET tlp = 'AMBER+STRICT' WHERE reference LIKE '%31' OR reference LIKE '%81'`,
				`UPDATE cases SET tlp = 'RED' WHERE reference LIKE '%51' OR reference LIKE '%41'`,
			} {
				if err := d.DB.Exec(stmt).Error; err != nil {
					t.Fatal(err)
				}
			}
			if err := d.DB.Exec(`INSERT INTO case_exclusions (case_id, user_id, reason, excluded_by, excluded_at)
				SELECT id, ?, 'conflict of interest', ?, created_at FROM cases WHERE reference = 'BEV-2026-00001'`,
				reader.UserID, reader.UserID).Error; err != nil {
				t.Fatal(err)
			}
			s := NewStore(d.DB)
			ctx := context.Background()
			var scope []string
			if err := d.DB.Raw("SELECT id FROM (?) s ORDER BY id", access.CaseScope(d.DB, reader)).Scan(&scope).Error; err != nil {
				t.Fatal(err)
			}
			// 60, less 6 + 6 + 6 hidden by markings and 1 excluded.
			if len(scope) != 41 {
				t.Fatalf("the scope holds %d cases, want 41", len(scope))
			}
			// 41² ≤ (7 + 1) × 600: pages of 7 gather; 41² > (1 + 1) × 600.
			for limit, want := range map[int]bool{7: true, 1: false} {
				if got, err := s.gathers(d.DB, len(scope), limit); err != nil || got != want {
					t.Fatalf("pages of %d among 41 of 600 cases: gathers %v (%v), want %v", limit, got, err, want)
				}
			}
			for _, c := range []struct {
				gatherMax int
				sort      string
			}{{defaultGatherMax, ""}, {defaultGatherMax, "reference"}, {0, ""}, {0, "reference"}, {0, "-severity"}, {0, "-updated_at"}, {defaultGatherMax, "status_changed_at"}} {
				s.gatherMax = c.gatherMax
				sort := c.sort
				var got []string
				q := ListQuery{Sort: sort, Limit: 7}
				for {
					page, err := s.List(ctx, reader, q)
					if err != nil {
						t.Fatal(err)
					}
					for _, c := range page.Cases {
						got = append(got, c.ID)
					}
					total := 0
					for _, n := range page.Counts {
						total += n
					}
					if total != len(scope) {
						t.Fatalf("sort %q, gathering up to %d: counts add up to %d, want %d", sort, s.gatherMax, total, len(scope))
					}
					if page.NextCursor == "" {
						break
					}
					q.Cursor = page.NextCursor
				}
				slices.Sort(got)
				if !slices.Equal(got, scope) {
					t.Errorf("sort %q, gathering up to %d: the pages hold %d cases, the scope %d, or other ones", sort, s.gatherMax, len(got), len(scope))
				}
			}
			// Each source of a count (countSource) gives the same counts, and
			// a list of a clock state gathered from the clocks the same pages.
			// Every other case has an overdue clock; those numbered 1, 101…
			// get a pending one instead (the reader sees 101 to 501).
			now := time.Now()
			if err := d.DB.Exec("UPDATE case_clocks SET due_at = ? WHERE case_id IN (SELECT id FROM cases WHERE reference LIKE '%01')",
				now.Add(1000*time.Hour)).Error; err != nil {
				t.Fatal(err)
			}
			wantSource := func(p access.Principal, q ListQuery, estimate int, want sourceKind) {
				t.Helper()
				if got, err := s.countSource(d.DB, p, q, now, estimate); err != nil || got.kind != want {
					t.Fatalf("%+v, estimated at %d of 600 cases: source %v (%v), want %v", q, estimate, got, err, want)
				}
			}
			// 60 memberships: the scope, unless estimated at half the cases.
			// The clocks of an open state, up to gatherMax of them; past it,
			// the 6 pending clocks, not the 294 overdue ones.
			for estimate, want := range map[int]sourceKind{-1: fromScope, 0: fromScope, 299: fromScope, 300: fromAll} {
				wantSource(reader, ListQuery{}, estimate, want)
			}
			token := reader
			token.TokenCaseIDs = scope[:3]
			wantSource(token, ListQuery{}, 600, fromScope)
			wantSource(reader, ListQuery{ClockState: ClockMet}, -1, fromScope)
			s.gatherMax = defaultGatherMax
			wantSource(reader, ListQuery{ClockState: ClockOverdue}, -1, fromClockCases)
			s.gatherMax = 0
			wantSource(reader, ListQuery{ClockState: ClockPending}, -1, fromClocks)
			wantSource(reader, ListQuery{ClockState: ClockOverdue}, -1, fromScope)
			for _, q := range []ListQuery{{}, {Severities: []Severity{SeverityLow, SeverityHigh}}, {Tag: "tag0"},
				{AgencyID: reader.AgencyID}, {ClockState: ClockPending}, {ClockState: ClockOverdue}} {
				gathered, err := s.countStatuses(d.DB, reader, q, now, source{kind: fromScope})
				if err != nil {
					t.Fatal(err)
				}
				sources := []source{{kind: fromAll}}
				if q.ClockState != "" {
					cond, args := clockCondition(q.ClockState, now)
					var ids []string
					if err := d.DB.Raw("SELECT case_id FROM case_clocks k WHERE "+cond, args...).Scan(&ids).Error; err != nil {
						t.Fatal(err)
					}
					sources = append(sources, source{kind: fromClocks}, source{kind: fromClockCases, caseIDs: ids})
				}
				for _, src := range sources {
					counts, err := s.countStatuses(d.DB, reader, q, now, src)
					if err != nil {
						t.Fatal(err)
					}
					if !maps.Equal(gathered, counts) {
						t.Errorf("%+v: counts gathered from the scope %v, from source %v %v", q, gathered, src, counts)
					}
				}
				if reflect.DeepEqual(q, ListQuery{}) && total(gathered) != len(scope) {
					t.Errorf("%+v: counted %d cases, want the scope's %d", q, total(gathered), len(scope))
				}
				if total(gathered) == 0 {
					t.Errorf("%+v: counted nothing", q)
				}
			}
			// The pages, found from the clocks' cases read first (up to
			// gatherMax) or from the clocks; past that, of the overdue ones'
			// walked.
			for state, n := range map[ClockState]int{ClockPending: 5, ClockOverdue: 36} {
				cond, args := clockCondition(state, now)
				var want []string
				if err := d.DB.Raw(`SELECT id FROM (?) s WHERE EXISTS (SELECT 1 FROM case_clocks k WHERE k.case_id = s.id AND `+cond+`)
					ORDER BY id`, append([]any{access.CaseScope(d.DB, reader)}, args...)...).Scan(&want).Error; err != nil {
					t.Fatal(err)
				}
				if len(want) != n {
					t.Fatalf("the reader sees %d cases with a %s clock, want %d", len(want), state, n)
				}
				for _, gatherMax := range []int{defaultGatherMax, 0} {
					s.gatherMax = gatherMax
					for _, sort := range []string{"", "reference"} {
						got := pagedIDs(t, s, reader, ListQuery{ClockState: state, Sort: sort, Limit: 2})
						if !slices.Equal(got, want) {
							t.Errorf("%s clocks, gathering up to %d, sort %q: the pages hold %v, want %v", state, gatherMax, sort, got, want)
						}
					}
				}
			}
			// 300 memberships once the agency joins 240 more cases: every
			// case is tested, even estimated at the 60 of before.
			if err := d.DB.Exec(`INSERT INTO case_agency_members (case_id, agency_id, role, added_by, added_at)
				SELECT id, ?, 'analyst', ?, created_at FROM cases c WHERE NOT EXISTS (SELECT 1 FROM case_agency_members am
				WHERE am.case_id = c.id AND am.agency_id = ?) AND NOT EXISTS (SELECT 1 FROM case_user_members um
				WHERE um.case_id = c.id AND um.user_id = ?) ORDER BY id LIMIT 240`,
				reader.AgencyID, reader.UserID, reader.AgencyID, reader.UserID).Error; err != nil {
				t.Fatal(err)
			}
			for _, estimate := range []int{-1, 60} {
				wantSource(reader, ListQuery{}, estimate, fromAll)
			}
			// Testing every case tests 600; the clocks are the source while
			// they are no more than half of that: 294 overdue, then 594.
			wantSource(reader, ListQuery{ClockState: ClockOverdue}, -1, fromClocks)
			if err := d.DB.Exec(`INSERT INTO case_clocks (case_id, clock, jurisdiction, title, due_at)
				SELECT id, 'gdpr.art33', 'gdpr', 'GDPR Art. 33', ? FROM cases c
				WHERE NOT EXISTS (SELECT 1 FROM case_clocks k WHERE k.case_id = c.id)`, now.Add(-time.Hour)).Error; err != nil {
				t.Fatal(err)
			}
			wantSource(reader, ListQuery{ClockState: ClockOverdue}, -1, fromAll)
			wantSource(reader, ListQuery{ClockState: ClockPending}, -1, fromClocks)
		})
	}
}

// checkGatheredPlans reads the plan of the case list's page of 50, in every
// order, for a reader who chooses among few cases of many (300 of 3,000:
// see gathers): the page gathers them from the reader's memberships and
// sorts them. On SQLite it must read cases by ID only, never walk an index
// of all of them, whatever their number. PostgreSQL weighs the two ways
// itself from its statistics (here, with a tenth of the cases visible, it
// walks the order's index), so its plan is the planner's to choose.
func checkGatheredPlans(t *testing.T, d testenv.Database, reader access.Principal, queries *testenv.Queries) {
	t.Helper()
	s := NewStore(d.DB)
	for _, sort := range allSorts() {
		stmt := firstPageStatement(t, s, reader, queries, sort, 50)
		if d.Name != "sqlite" {
			continue
		}
		plan := testenv.Plan(t, d, stmt)
		if len(plan) == 0 || plan[0] != "SEARCH cases USING INDEX sqlite_autoindex_cases_1 (id=?)" ||
			slices.ContainsFunc(plan, func(l string) bool { return strings.HasPrefix(strings.TrimSpace(l), "SCAN cases") }) {
			t.Errorf("sort %s: the page of a reader of few cases does not read them by ID:\n%s", sort, strings.Join(plan, "\n"))
		}
	}
}

// checkClockPlans reads the plans of the case list of the cases with a
// pending clock, when 30 of the 3,000 cases have one (1,470 others an
// overdue one), all of them the reader's: the cases are read first from an
// index of the open clocks (on SQLite, the whole of it: a pending clock is
// one due later or not yet due at all), then the count and the page read
// them by ID. Gathering none from a list (gatherMax 0), the count and the
// page find them from the open clocks themselves. Neither reads every case.
func checkClockPlans(t *testing.T, d testenv.Database, reader access.Principal, queries *testenv.Queries) {
	t.Helper()
	if err := d.DB.Exec("UPDATE case_clocks SET due_at = ? WHERE case_id IN (SELECT id FROM cases WHERE reference LIKE '%01')",
		time.Now().Add(1000*time.Hour)).Error; err != nil {
		t.Fatal(err)
	}
	s := NewStore(d.DB)
	plan := func(what string, parts ...string) string {
		t.Helper()
		stmts := queries.With(parts...)
		if len(stmts) != 1 {
			t.Fatalf("%d %s statements recorded, want 1", len(stmts), what)
		}
		return strings.Join(testenv.Plan(t, d, stmts[0]), "\n") + "\n"
	}
	openClocks := func(plan string) bool {
		return (strings.Contains(plan, "case_clocks_open") || strings.Contains(plan, "case_clocks_case_open")) &&
			!strings.Contains(plan, "Seq Scan on case_clocks") && !strings.Contains(plan, "SCAN k\n")
	}
	byID := func(plan string) bool {
		if d.Name == "sqlite" {
			return strings.HasPrefix(plan, "SEARCH cases USING INDEX sqlite_autoindex_cases_1 (id=?)\n") &&
				!strings.Contains(plan, "\nSCAN cases")
		}
		return !strings.Contains(plan, "Seq Scan on cases")
	}
	for _, gatherMax := range []int{defaultGatherMax, 0} {
		s.gatherMax = gatherMax
		queries.Reset()
		page, err := s.List(context.Background(), reader, ListQuery{ClockState: ClockPending, Limit: 20})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Cases) != 20 || total(page.Counts) != 30 {
			t.Fatalf("gathering up to %d: %d cases listed, %d counted, want 20 of 30", gatherMax, len(page.Cases), total(page.Counts))
		}
		from := "json_each(" // the cases read first
		if d.Name != "sqlite" {
			from = "jsonb_array_elements_text("
		}
		if gatherMax == 0 {
			from = "cases.id IN (SELECT k.case_id FROM case_clocks k WHERE"
		} else if p := plan("clocks' cases", "SELECT DISTINCT k.case_id FROM case_clocks k"); !openClocks(p) {
			t.Errorf("the cases of a clock state are not read from the open clocks:\n%s", p)
		}
		for what, parts := range map[string][]string{"page": {from, "ORDER BY", "LIMIT"}, "count": {from, "COUNT(*)", "GROUP BY"}} {
			p := plan(what, parts...)
			if !byID(p) || gatherMax == 0 && !openClocks(p) {
				t.Errorf("gathering up to %d, the %s of a clock state does not read its cases by ID from the clocks:\n%s", gatherMax, what, p)
			}
		}
	}
}

// allSorts is every order the list offers, ascending and descending.
func allSorts() []string {
	var sorts []string
	for _, key := range SortKeys {
		sorts = append(sorts, key, "-"+key)
	}
	return sorts
}

// firstPageStatement lists the first page of limit cases in sort order, which
// must be full with more to come, and returns the one statement that read
// the page, as recorded by queries.
func firstPageStatement(t *testing.T, s *Store, reader access.Principal, queries *testenv.Queries, sort string, limit int) testenv.Statement {
	t.Helper()
	queries.Reset()
	page, err := s.List(context.Background(), reader, ListQuery{Sort: sort, Limit: limit})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Cases) != limit || page.NextCursor == "" {
		t.Fatalf("sort %s: %d cases on the first page", sort, len(page.Cases))
	}
	stmts := queries.With("ORDER BY", "LIMIT")
	if len(stmts) != 1 {
		t.Fatalf("sort %s: %d page statements recorded, want 1", sort, len(stmts))
	}
	return stmts[0]
}

// pagedIDs lists every page of q for reader and returns the cases' IDs,
// sorted.
func pagedIDs(t *testing.T, s *Store, reader access.Principal, q ListQuery) []string {
	t.Helper()
	var ids []string
	for {
		page, err := s.List(context.Background(), reader, q)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range page.Cases {
			ids = append(ids, c.ID)
		}
		if page.NextCursor == "" {
			break
		}
		q.Cursor = page.NextCursor
	}
	slices.Sort(ids)
	return ids
}
