package evidence

import (
	"context"
	"fmt"
	"testing"

	"github.com/bevis-ir/bevis/access"
	"github.com/bevis-ir/bevis/internal/period"
	"github.com/bevis-ir/bevis/internal/testenv"
)

// TestCaseItemsPlan reads the plan of a page of a case's evidence, in
// exhibit order, for a reader who may see three markings of five, and
// fails when it sorts the case's items before taking the page. 3,000
// items over ten cases, 2,000 of them in the case read.
func TestCaseItemsPlan(t *testing.T) {
	for _, d := range testenv.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			t.Parallel() // the dialects share nothing; most of the time is seeding
			caseID := seedCaseItems(t, d, 3000, 2000)
			items := NewItems(d.DB, period.Period{Years: 1})
			queries := testenv.RecordQueries(t, d.DB)
			allowed := []access.TLP{access.TLPClear, access.TLPGreen, access.TLPAmber}
			for _, after := range []int{0, 1000} {
				queries.Reset()
				list, err := items.CaseItems(context.Background(), caseID, allowed, after, 50)
				if err != nil {
					t.Fatal(err)
				}
				if len(list) != 50 || list[0].ExhibitSeq <= after {
					t.Fatalf("after %d: %d items on the page", after, len(list))
				}
				stmts := queries.With("ORDER BY", "LIMIT", "evidence_items")
				if len(stmts) != 1 {
					t.Fatalf("after %d: %d page statements recorded, want 1", after, len(stmts))
				}
				testenv.CheckWalksInOrder(t, d, stmts[0], fmt.Sprintf("after %d: the page", after))
			}
		})
	}
}

// seedCaseItems writes total evidence items over ten cases, inCase of them
// in the case it returns, their markings cycling through every TLP, and
// analyses PostgreSQL's tables so that it plans as it would in service.
// One statement a case, numbered in the database: seeding row by row
// through GORM costs minutes under the race detector.
func seedCaseItems(tb testing.TB, d testenv.Database, total, inCase int) string {
	tb.Helper()
	caseIDs := make([]string, 10)
	for i := range caseIDs {
		caseIDs[i] = newCase(tb, d.DB)
	}
	for i, id := range caseIDs {
		n := inCase
		if i > 0 {
			n = (total - inCase) / (len(caseIDs) - 1)
		}
		err := d.DB.Exec(`INSERT INTO evidence_items (id, case_id, exhibit_seq, exhibit_number, title, kind, tlp, created_by, created_at)
			WITH RECURSIVE n (i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
			SELECT c.id || '-' || i, c.id, i, c.reference || '-' || i, 'Seized laptop', 'physical_item',
				CASE i % 5 WHEN 0 THEN 'CLEAR' WHEN 1 THEN 'GREEN' WHEN 2 THEN 'AMBER' WHEN 3 THEN 'AMBER+STRICT' ELSE 'RED' END,
				c.created_by, c.created_at
			FROM n, cases c WHERE c.id = ?`, n, id).Error
		if err != nil {
			tb.Fatal(err)
		}
	}
	if d.Name == "postgres" {
		if err := d.DB.Exec("ANALYZE").Error; err != nil {
			tb.Fatal(err)
		}
	}
	return caseIDs[0]
}
