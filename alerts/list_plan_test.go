package alerts

import (
	"context"
	"fmt"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/bevis-ir/bevis/internal/testenv"
)

// TestListPlans reads the plans of the alert list, newest first, as an
// admin sees it (every alert, or every open one), and fails when one sorts
// every alert before taking a page. 3,000 alerts over 300 cases. A lead's
// list (the alerts of the cases they lead) starts from alert_cases and
// sorts those alerts, which both planners prefer while they are few; it is
// not held here.
func TestListPlans(t *testing.T) {
	for _, d := range testenv.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			now := time.Now().UTC().Truncate(time.Microsecond)
			err := d.DB.Transaction(func(tx *gorm.DB) error {
				var rows []alertRow
				var links []alertCaseRow
				for i := range 3000 {
					id := fmt.Sprintf("alert-%05d", i)
					rows = append(rows, alertRow{ID: id, Rule: "bulk_read", UserID: fmt.Sprint("user-", i%40), DedupKey: id,
						WindowStart: now.Add(-time.Hour), WindowEnd: now, Status: "open", CreatedAt: now.Add(-time.Duration(i) * time.Minute)})
					links = append(links, alertCaseRow{AlertID: id, CaseID: fmt.Sprint("case-", i%300)})
				}
				if err := tx.CreateInBatches(&rows, 500).Error; err != nil {
					return err
				}
				return tx.CreateInBatches(&links, 500).Error
			})
			if err != nil {
				t.Fatal(err)
			}
			if d.Name == "postgres" {
				if err := d.DB.Exec("ANALYZE").Error; err != nil {
					t.Fatal(err)
				}
			}
			s := NewStore(d.DB)
			queries := testenv.RecordQueries(t, d.DB)
			for _, f := range []ListFilter{{AllCases: true, Limit: 20}, {AllCases: true, Status: StatusOpen, Limit: 20}} {
				queries.Reset()
				got, err := s.List(context.Background(), f)
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != 20 {
					t.Fatalf("%+v: %d alerts, want 20", f, len(got))
				}
				stmts := queries.With("ORDER BY", "LIMIT", "alerts")
				if len(stmts) != 1 {
					t.Fatalf("%+v: %d page statements, want 1", f, len(stmts))
				}
				plan := testenv.Plan(t, d, stmts[0])
				if step := testenv.SortsWholeSet(plan); step != "" {
					t.Errorf("%+v sorts every alert it selects (%s):\n%s", f, step, stmts[0].SQL)
					for _, l := range plan {
						t.Log(l)
					}
				}
			}
		})
	}
}
