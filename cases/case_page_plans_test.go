package cases

import (
	"context"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/bevis-ir/bevis/access"
	"github.com/bevis-ir/bevis/internal/testenv"
)

// TestCasePagePlans reads the plans of the paged lists inside one case (its
// tasks, all or of one status; its comments, on the case or on a task; its
// timeline, first and later page) and fails when one sorts every row it
// selects before taking a page. The timeline's filters are not held here:
// over the few hundred events a case has in this test PostgreSQL rightly
// sorts the ones a period or a source selects, and walks the index over
// 50,000; BenchmarkTimelinePage holds their pages over 1,000,000. 3,000 tasks,
// 3,000 comments and 3,000 timeline events over ten cases, 600 in the case
// read and half its comments on one task.
func TestCasePagePlans(t *testing.T) {
	for _, d := range testenv.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			t.Parallel() // the dialects share nothing; most of the time is seeding
			base := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
			seedCasePages(t, d, 3000, base)
			ctx := context.Background()
			tasks := NewTasks(d.DB, access.NewAuthorizer(d.DB))
			timeline := NewTimeline(d.DB)
			reader := Reader{Markings: []access.TLP{access.TLPClear, access.TLPGreen, access.TLPAmber}}
			lists := []struct {
				name  string
				table string
				list  func() (int, error)
			}{
				{"tasks", "case_tasks", func() (int, error) {
					l, err := tasks.CaseTasks(ctx, "case-0", TaskFilter{Limit: 20})
					return len(l), err
				}},
				{"open tasks", "case_tasks", func() (int, error) {
					l, err := tasks.CaseTasks(ctx, "case-0", TaskFilter{Status: TaskOpen, Limit: 20})
					return len(l), err
				}},
				{"tasks after a page", "case_tasks", func() (int, error) {
					l, err := tasks.CaseTasks(ctx, "case-0", TaskFilter{After: "task-100300", Limit: 20})
					return len(l), err
				}},
				{"the case's comments", "comments", func() (int, error) {
					l, err := tasks.Comments(ctx, "case-0", CommentFilter{Limit: 20})
					return len(l), err
				}},
				{"a task's comments", "comments", func() (int, error) {
					l, err := tasks.Comments(ctx, "case-0", CommentFilter{TaskID: "task-100000", Limit: 20})
					return len(l), err
				}},
				{"the timeline", "timeline_events", func() (int, error) {
					p, err := timeline.List(ctx, "case-0", reader, EventFilter{}, PageRequest{Limit: 20})
					return len(p.Events), err
				}},
				{"a later page of the timeline", "timeline_events", func() (int, error) {
					p, err := timeline.List(ctx, "case-0", reader, EventFilter{}, PageRequest{Limit: 20})
					if err != nil {
						return 0, err
					}
					p, err = timeline.List(ctx, "case-0", reader, EventFilter{}, PageRequest{Limit: 20, Cursor: p.NextCursor})
					return len(p.Events), err
				}},
			}
			queries := testenv.RecordQueries(t, d.DB)
			for _, l := range lists {
				queries.Reset()
				n, err := l.list()
				if err != nil {
					t.Fatalf("%s: %v", l.name, err)
				}
				if n != 20 {
					t.Fatalf("%s: %d on the page, want 20", l.name, n)
				}
				stmts := queries.With("ORDER BY", "LIMIT", l.table)
				if len(stmts) == 0 {
					t.Fatalf("%s: no page statement recorded", l.name)
				}
				st := stmts[len(stmts)-1]
				testenv.CheckWalksInOrder(t, d, st, l.name+": the page")
			}
		})
	}
}

// seedCasePages writes ten cases and n tasks, n comments and n timeline
// events over them, in one statement a table (row by row they cost minutes
// under the race detector): the case-0 holds a fifth of each, half its
// comments on its first task; a fifth of the tasks are open; the events,
// one a second from base, come from ten hosts and carry every marking in
// turn. PostgreSQL's tables are analysed, so that it plans as it would in
// service.
func seedCasePages(tb testing.TB, d testenv.Database, n int, base time.Time) {
	tb.Helper()
	occurred := "CAST(? AS TIMESTAMPTZ) + i * INTERVAL '1 second'"
	if d.Name == "sqlite" {
		occurred = "strftime('%Y-%m-%d %H:%M:%f', ?, '+' || i || ' seconds')"
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	series := "WITH RECURSIVE n (i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ? - 1) "
	// case-0 holds i < n/5; the others share the rest.
	caseOf := "CASE WHEN i < ? THEN 'case-0' ELSE 'case-' || (1 + i % 9) END"
	err := d.DB.Transaction(func(tx *gorm.DB) error {
		for _, s := range []struct {
			sql  string
			args []any
		}{
			{`INSERT INTO agencies (id, code, name, kind, created_at, updated_at) VALUES ('agency-0', 'AG0', 'Agency', 'cert', ?, ?)`,
				[]any{now, now}},
			{`INSERT INTO users (id, agency_id, email, name, status, system_role, created_at, updated_at)
				VALUES ('user-0', 'agency-0', 'user0@bevis.test', 'Person', 'active', 'member', ?, ?)`, []any{now, now}},
			{`INSERT INTO cases (id, reference, title, tlp, lead_agency_id, created_by, created_at, updated_at, status_changed_at) ` +
				series + `SELECT 'case-' || i, 'BEV-' || i, 'Breach', 'AMBER', 'agency-0', 'user-0', ?, ?, ? FROM n`,
				[]any{10, now, now, now}},
			{`INSERT INTO case_tasks (id, case_id, title, assignee_user_id, priority, status, created_by, created_at, updated_at) ` +
				series + `SELECT 'task-' || (100000 + i), ` + caseOf + `, 'Image the laptop', 'user-0', 'normal',
				CASE i % 5 WHEN 0 THEN 'open' ELSE 'done' END, 'user-0', ?, ? FROM n`, []any{n, n / 5, now, now}},
			{`INSERT INTO comments (id, case_id, task_id, author_id, body, created_at) ` + series +
				`SELECT 'comment-' || (100000 + i), ` + caseOf + `,
				CASE WHEN i < ? AND i % 2 = 0 THEN 'task-100000' END, 'user-0', 'Imaged.', ? FROM n`, []any{n, n / 5, n / 5, now}},
			{`INSERT INTO timeline_events (id, case_id, occurred_at, source_timezone, recorded_at, recorded_by, source_host,
				description, tlp) ` + series + `SELECT 'event-' || i, ` + caseOf + `, ` + occurred + `, 'UTC', ?, 'user-0',
				'host-' || (i % 10), 'Logon',
				CASE i % 5 WHEN 0 THEN 'CLEAR' WHEN 1 THEN 'GREEN' WHEN 2 THEN 'AMBER' WHEN 3 THEN 'AMBER+STRICT' ELSE 'RED' END
				FROM n`, []any{n, n / 5, base, now}},
		} {
			if err := tx.Exec(s.sql, s.args...).Error; err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	if d.Name == "postgres" {
		if err := d.DB.Exec("ANALYZE").Error; err != nil {
			tb.Fatal(err)
		}
	}
}
