package audit

import (
	"context"
	"fmt"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/bevis-ir/bevis/internal/testenv"
)

// TestListPlans reads the plan of a page of the audit log, newest first,
// under each filter the API offers (an auditor's whole log, a case's as a
// lead reads it, a person's, an agency's, an item's, a period's, and a
// later page), and fails when one sorts every entry it selects before
// taking the page. 3,000 entries over 10 cases, 30 people of 5 agencies
// and 20 items, one a second.
func TestListPlans(t *testing.T) {
	for _, d := range testenv.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			t.Parallel() // the dialects share nothing; most of the time is seeding
			base := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
			seedChain(t, d, 3000, base)
			hidden := d.DB.Raw("SELECT id FROM evidence_items WHERE case_id = ? AND tlp NOT IN ?", "case-7", []string{"CLEAR", "GREEN", "AMBER"})
			filters := map[string]Filter{
				"everything":     {},
				"a case":         {CaseID: "case-7"},
				"a case to lead": {CaseID: "case-7", Hidden: []*gorm.DB{hidden}},
				"a person":       {UserID: "user-3"},
				"an agency":      {AgencyID: "agency-2"},
				"an item":        {CaseID: "case-7", ResourceID: "item-7"},
				"a case's month": {CaseID: "case-7", From: base, To: base.AddDate(0, 1, 0)},
				"a later page":   {Cursor: encodeCursor(2000)},
			}
			// A period with both ends is held on PostgreSQL only, which weighs
			// sorting the period's entries against walking back to it from
			// the newest. SQLite, without statistics, always sorts the period
			// (audit_chain_at): O(entries in the period), where walking costs
			// O(entries after it); neither is O(page), and which is cheaper
			// depends on data SQLite's planner does not see.
			if d.Name == "postgres" {
				filters["a period"] = Filter{From: base.Add(10 * time.Minute), To: base.Add(20 * time.Minute)}
			}
			queries := testenv.RecordQueries(t, d.DB)
			for name, f := range filters {
				queries.Reset()
				f.Limit = 5
				page, err := List(context.Background(), d.DB, f)
				if err != nil {
					t.Fatal(err)
				}
				if len(page.Entries) != 5 {
					t.Fatalf("%s: %d entries on the page, want 5", name, len(page.Entries))
				}
				stmts := queries.With("ORDER BY", "LIMIT", "audit_chain")
				if len(stmts) != 1 {
					t.Fatalf("%s: %d page statements recorded, want 1", name, len(stmts))
				}
				testenv.CheckWalksInOrder(t, d, stmts[0], name+": the page")
			}
		})
	}
}

// chainSeed shapes the entries seedChain writes: entry i is by user
// i % users, about case i % cases, its action the SQL expression action of i.
type chainSeed struct {
	users, cases int
	action       string
}

// seedChain writes n sealed entries, one a second from base, in one
// statement per table (row by row they cost minutes under the race
// detector), and analyses PostgreSQL's tables so that it plans as it
// would in service. The hashes are not a chain: Verify would refuse them.
func seedChain(tb testing.TB, d testenv.Database, n int, base time.Time) {
	seedChainOf(tb, d, n, base, chainSeed{users: 30, cases: 10, action: "'case.read'"})
}

func seedChainOf(tb testing.TB, d testenv.Database, n int, base time.Time, shape chainSeed) {
	tb.Helper()
	at := "CAST(? AS TIMESTAMPTZ) + i * INTERVAL '1 second'"
	if d.Name == "sqlite" {
		at = "strftime('%Y-%m-%d %H:%M:%f', ?, '+' || i || ' seconds')"
	}
	series := "WITH RECURSIVE n (i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?) "
	err := d.DB.Transaction(func(tx *gorm.DB) error {
		err := tx.Exec(`INSERT INTO audit_entries (id, at, user_id, agency_id, action, resource_type, resource_id, case_id, outcome) `+
			series+`SELECT 'entry-' || i, `+at+`, 'user-' || (i % ?), 'agency-' || (i % 5), `+shape.action+`, 'evidence_item',
				'item-' || (i % 20), 'case-' || (i % ?), 'success' FROM n`, n, base, shape.users, shape.cases).Error
		if err != nil {
			return err
		}
		return tx.Exec(`INSERT INTO audit_chain (seq, entry_id, prev_hash, hash, sealed_at, at, case_id, user_id, agency_id, resource_id, action)
			SELECT e.pos, e.id, 'prev', 'hash', e.at, e.at, e.case_id, e.user_id, e.agency_id, e.resource_id, e.action FROM audit_entries e`).Error
	})
	if err != nil {
		tb.Fatal(fmt.Errorf("seed the audit chain: %w", err))
	}
	if d.Name == "postgres" {
		if err := d.DB.Exec("ANALYZE").Error; err != nil {
			tb.Fatal(err)
		}
	}
}
