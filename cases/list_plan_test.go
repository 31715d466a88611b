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
			checkTaskListPlans(t, d, reader)
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
			// The counts agree, gathered from the reader's memberships or
			// tested case by case (countScans: from half of the 600), under
			// each filter.
			for estimate, scan := range map[int]bool{0: false, 299: false, 300: true} {
				if got, err := countScans(d.DB, reader, estimate); err != nil || got != scan {
					t.Fatalf("a scope estimated at %d of 600 cases: scans %v (%v), want %v", estimate, got, err, scan)
				}
			}
			token := reader
			token.TokenCaseIDs = scope[:3]
			if got, err := countScans(d.DB, token, 600); err != nil || got {
				t.Fatalf("a token for 3 cases, its user estimated at all 600: scans %v (%v)", got, err)
			}
			for _, q := range []ListQuery{{}, {Severities: []Severity{SeverityLow, SeverityHigh}}, {Tag: "tag0"}, {AgencyID: reader.AgencyID}} {
				gathered, err := s.countStatuses(d.DB, reader, q, time.Now(), false)
				if err != nil {
					t.Fatal(err)
				}
				scanned, err := s.countStatuses(d.DB, reader, q, time.Now(), true)
				if err != nil {
					t.Fatal(err)
				}
				if !maps.Equal(gathered, scanned) {
					t.Errorf("%+v: gathered counts %v, tested case by case %v", q, gathered, scanned)
				}
				if reflect.DeepEqual(q, ListQuery{}) && total(gathered) != len(scope) {
					t.Errorf("%+v: counted %d cases, want the scope's %d", q, total(gathered), len(scope))
				}
				if total(gathered) == 0 {
					t.Errorf("%+v: counted nothing", q)
				}
			}
			// With no estimate, or one under half, the reader's memberships
			// are counted: 60 of 600 cases, then 300 once their agency joins
			// 240 more.
			if got, err := countScans(d.DB, reader, -1); err != nil || got {
				t.Fatalf("a reader of 60 memberships among 600 cases: scans %v (%v)", got, err)
			}
			if err := d.DB.Exec(`INSERT INTO case_agency_members (case_id, agency_id, role, added_by, added_at)
				SELECT id, ?, 'analyst', ?, created_at FROM cases c WHERE NOT EXISTS (SELECT 1 FROM case_agency_members am
				WHERE am.case_id = c.id AND am.agency_id = ?) AND NOT EXISTS (SELECT 1 FROM case_user_members um
				WHERE um.case_id = c.id AND um.user_id = ?) ORDER BY id LIMIT 240`,
				reader.AgencyID, reader.UserID, reader.AgencyID, reader.UserID).Error; err != nil {
				t.Fatal(err)
			}
			for _, estimate := range []int{-1, 60} {
				if got, err := countScans(d.DB, reader, estimate); err != nil || !got {
					t.Fatalf("a reader of 300 memberships among 600 cases, estimated at %d: scans %v (%v)", estimate, got, err)
				}
			}
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
