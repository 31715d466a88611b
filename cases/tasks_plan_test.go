package cases

import (
	"context"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/bevis-ir/bevis/access"
	"github.com/bevis-ir/bevis/internal/testenv"
)

// checkTaskListPlans reads the plans of the task lists across cases (each
// view, in its one order, by ID) over the cases seedCaseList wrote, with two
// tasks each, and fails when one sorts every task it selects before taking
// a page. TestListPlans runs it on its seed.
func checkTaskListPlans(t *testing.T, d testenv.Database, reader access.Principal) {
	t.Helper()
	var cases []struct{ ID, LeadAgencyID string }
	if err := d.DB.Raw("SELECT id, lead_agency_id FROM cases ORDER BY created_at").Scan(&cases).Error; err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	var rows []taskRow
	for i, c := range cases {
		due := now.Add(time.Duration(i%3-1) * 24 * time.Hour)
		rows = append(rows,
			taskRow{ID: newID(), CaseID: c.ID, Title: "Agency task", AssigneeAgencyID: &c.LeadAgencyID, Priority: "normal",
				DueAt: &due, Status: "open", CreatedBy: reader.UserID, CreatedAt: now, UpdatedAt: now, Version: 1},
			taskRow{ID: newID(), CaseID: c.ID, Title: "Personal task", AssigneeUserID: &reader.UserID, Priority: "normal",
				DueAt: &due, Status: "open", CreatedBy: reader.UserID, CreatedAt: now, UpdatedAt: now, Version: 1})
	}
	if err := d.DB.Transaction(func(tx *gorm.DB) error { return tx.CreateInBatches(&rows, 64).Error }); err != nil {
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
}
