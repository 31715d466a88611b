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
// every alert before taking a page. 3,000 alerts over 300 cases, a third of
// them open. A lead's list (the alerts of the cases they lead) starts from
// alert_cases and sorts those alerts, which both planners prefer while they
// are few; it is not held here. Walking the alerts newest first instead,
// testing each for a lead's case (EXISTS), was measured over 50,000 alerts
// on SQLite: no faster for a lead of a tenth of the cases (115 ms a page
// either way), twelve times slower for a lead of one (14 to 170 ms), who
// walks every alert to find their 166.
func TestListPlans(t *testing.T) {
	for _, d := range testenv.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			t.Parallel() // the dialects share nothing; most of the time is seeding
			seedAlerts(t, d, 3000, 300)
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
				testenv.CheckWalksInOrder(t, d, stmts[0], fmt.Sprintf("%+v", f))
			}
		})
	}
}

// seedAlerts writes n alerts, one a minute back from now, each on one of
// cases in turn, in one statement per table (row by row they cost a minute
// under the race detector), and analyses PostgreSQL's tables so that it
// plans as it would in service.
func seedAlerts(tb testing.TB, d testenv.Database, n, cases int) {
	tb.Helper()
	created := "CAST(? AS TIMESTAMPTZ) - i * INTERVAL '1 minute'"
	if d.Name == "sqlite" {
		created = "strftime('%Y-%m-%d %H:%M:%f', ?, '-' || i || ' minutes')"
	}
	now := time.Now().UTC().Truncate(time.Second)
	series := "WITH RECURSIVE n (i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ? - 1) "
	err := d.DB.Transaction(func(tx *gorm.DB) error {
		err := tx.Exec(`INSERT INTO alerts (id, rule, user_id, dedup_key, window_start, window_end, status, created_at) `+series+
			`SELECT 'alert-' || i, 'bulk_read', 'user-' || (i % 40), 'alert-' || i, ?, ?,
				CASE i % 3 WHEN 0 THEN 'open' ELSE 'acknowledged' END, `+created+` FROM n`, n, now.Add(-time.Hour), now, now).Error
		if err != nil {
			return err
		}
		return tx.Exec(`INSERT INTO alert_cases (alert_id, case_id) `+series+`SELECT 'alert-' || i, 'case-' || (i % ?) FROM n`, n, cases).Error
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
