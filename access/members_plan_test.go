package access

import (
	"context"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/bevis-ir/bevis/internal/testenv"
)

// TestMembersListPlans reads the plans of a case's member list, which
// has no pages: it sends every agency and person on the case, each in the
// order they were added, so sorting them costs no more than sending them.
// What must not happen is reading other cases' members to find them: the
// plan must reach the case's rows through an index on the case. 3,000
// people and 100 agencies of 10 cases each on 10 cases.
func TestMembersListPlans(t *testing.T) {
	for _, d := range testenv.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			t.Parallel() // the dialects share nothing; most of the time is seeding
			caseID := seedMembers(t, d, 3000, 100)
			queries := testenv.RecordQueries(t, d.DB)
			m, err := NewMembership(d.DB).List(context.Background(), caseID)
			if err != nil {
				t.Fatal(err)
			}
			if len(m.Users) != 300 || len(m.Agencies) != 100 {
				t.Fatalf("%d people and %d agencies listed, want 300 and 100", len(m.Users), len(m.Agencies))
			}
			for _, table := range []string{"case_user_members", "case_agency_members"} {
				stmts := queries.With("ORDER BY", table)
				if len(stmts) != 1 {
					t.Fatalf("%s: %d list statements recorded, want 1", table, len(stmts))
				}
				plan := testenv.Plan(t, d, stmts[0])
				for _, l := range plan {
					step := strings.TrimLeft(strings.TrimSpace(l), "-> ")
					if strings.HasPrefix(step, "SCAN m") || strings.HasPrefix(step, "Seq Scan on "+table) {
						t.Errorf("%s: the list reads every case's members (%s):\n%s", table, step, stmts[0].SQL)
						for _, l := range plan {
							t.Log(l)
						}
						break
					}
				}
			}
		})
	}
}

// seedMembers writes ten cases, people each member of one case in turn,
// and agencies each member of all ten, in one statement per table
// (row by row they cost minutes under the race detector), and returns the
// first case. PostgreSQL's tables are analysed, so that it plans as it
// would in service.
func seedMembers(tb testing.TB, d testenv.Database, people, agencies int) string {
	tb.Helper()
	now := time.Now().UTC().Truncate(time.Microsecond)
	series := "WITH RECURSIVE n (i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ? - 1) "
	err := d.DB.Transaction(func(tx *gorm.DB) error {
		for _, s := range []struct {
			sql  string
			args []any
		}{
			{`INSERT INTO agencies (id, code, name, kind, created_at, updated_at) ` + series +
				`SELECT 'agency-' || i, 'AG' || i, 'Agency ' || i, 'cert', ?, ? FROM n`, []any{agencies, now, now}},
			{`INSERT INTO users (id, agency_id, email, name, status, system_role, created_at, updated_at) ` + series +
				`SELECT 'user-' || i, 'agency-' || (i % ?), 'user' || i || '@bevis.test', 'Person ' || i, 'active', 'member', ?, ?
				FROM n`, []any{people, agencies, now, now}},
			{`INSERT INTO cases (id, reference, title, tlp, lead_agency_id, created_by, created_at, updated_at, status_changed_at) ` +
				series + `SELECT 'case-' || i, 'BEV-' || i, 'Breach', 'AMBER', 'agency-0', 'user-0', ?, ?, ? FROM n`,
				[]any{10, now, now, now}},
			{`INSERT INTO case_user_members (case_id, user_id, role, added_by, added_at) ` + series +
				`SELECT 'case-' || (i % 10), 'user-' || i, 'investigator', 'user-0', ? FROM n`, []any{people, now}},
			{`INSERT INTO case_agency_members (case_id, agency_id, role, added_by, added_at) ` + series +
				`SELECT 'case-' || c.i, 'agency-' || n.i, 'analyst', 'user-0', ? FROM n, n c WHERE c.i < 10`, []any{agencies, now}},
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
	return "case-0"
}
