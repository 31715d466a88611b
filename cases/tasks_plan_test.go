package cases

import (
	"context"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/bevis-ir/bevis/access"
	"github.com/bevis-ir/bevis/internal/testenv"
)

// TestTaskListPlans reads the plans of the task lists across cases (each
// view, in its one order, by ID) and fails when one sorts every task it
// selects before taking a page. 3,000 cases, a tenth of them visible to
// the reader, with two tasks each.
func TestTaskListPlans(t *testing.T) {
	for _, d := range testenv.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			t.Parallel() // the dialects share nothing; most of the time is seeding
			reader := seedCaseList(t, d, 3000, 300)
			var caseIDs []string
			if err := d.DB.Raw("SELECT id FROM cases ORDER BY created_at").Scan(&caseIDs).Error; err != nil {
				t.Fatal(err)
			}
			now := time.Now().UTC().Truncate(time.Microsecond)
			err := d.DB.Transaction(func(tx *gorm.DB) error {
				var rows []taskRow
				for i, id := range caseIDs {
					due := now.Add(time.Duration(i%3-1) * 24 * time.Hour)
					var lead string
					if err := tx.Raw("SELECT lead_agency_id FROM cases WHERE id = ?", id).Scan(&lead).Error; err != nil {
						return err
					}
					rows = append(rows,
						taskRow{ID: newID(), CaseID: id, Title: "Agency task", AssigneeAgencyID: &lead, Priority: "normal",
							DueAt: &due, Status: "open", CreatedBy: reader.UserID, CreatedAt: now, UpdatedAt: now, Version: 1},
						taskRow{ID: newID(), CaseID: id, Title: "Personal task", AssigneeUserID: &reader.UserID, Priority: "normal",
							DueAt: &due, Status: "open", CreatedBy: reader.UserID, CreatedAt: now, UpdatedAt: now, Version: 1})
				}
				return tx.CreateInBatches(&rows, 500).Error
			})
			if err != nil {
				t.Fatal(err)
			}
			if d.Name == "postgres" {
				if err := d.DB.Exec("ANALYZE").Error; err != nil {
					t.Fatal(err)
				}
			}
			tasks := NewTasks(d.DB, access.NewAuthorizer(d.DB))
			queries := testenv.RecordQueries(t, d.DB)
			for _, view := range []TaskView{ViewMine, ViewAgency, ViewOverdue} {
				queries.Reset()
				if _, err := tasks.ListTasks(context.Background(), reader, view, TaskFilter{Limit: 20}); err != nil {
					t.Fatal(err)
				}
				stmts := queries.With("ORDER BY", "LIMIT", "case_tasks")
				if len(stmts) == 0 {
					t.Fatalf("view %s: no page statement recorded", view)
				}
				for _, st := range stmts {
					testenv.CheckWalksInOrder(t, d, st, "view "+string(view))
				}
			}
		})
	}
}
