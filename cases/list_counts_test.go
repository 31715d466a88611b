package cases

import (
	"context"
	"testing"
	"time"

	"github.com/bevis-ir/bevis/access"
	"github.com/bevis-ir/bevis/internal/testenv"
)

// TestListCounts_CachedUntilAnythingTheyCountChanges lists as two nodes
// (two stores on one database): a repeated list counts nothing again, and
// every change that moves a count, made by either node or by any writer,
// shows in the next list of both.
func TestListCounts_CachedUntilAnythingTheyCountChanges(t *testing.T) {
	for _, d := range testenv.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			e := newEnv(t, d)
			other := NewStore(d.DB) // a second node
			ctx := context.Background()
			var ids []string
			for range 3 {
				ids = append(ids, e.create(t, e.alice, NewCase{Title: "Counted"}).ID)
			}
			queries := testenv.RecordQueries(t, d.DB)
			want := func(what string, s *Store, p access.Principal, q ListQuery, status Status, n int) {
				t.Helper()
				page, err := s.List(ctx, p, q)
				if err != nil {
					t.Fatal(err)
				}
				if page.Counts[status] != n {
					t.Fatalf("%s: %d %s cases counted, want %d (%v)", what, page.Counts[status], status, n, page.Counts)
				}
			}
			for _, s := range []*Store{e.store, other} {
				want("first list", s, e.alice, ListQuery{}, StatusNew, 3)
			}
			queries.Reset()
			want("again", e.store, e.alice, ListQuery{}, StatusNew, 3)
			if n := len(queries.With("COUNT(*)")); n != 0 {
				t.Fatalf("a list with nothing changed counted again (%d statements)", n)
			}
			now := time.Now().UTC()
			steps := []struct {
				what   string
				sql    string
				args   []any
				p      access.Principal
				q      ListQuery
				status Status
				n      int
			}{
				{"a case moves on", "UPDATE cases SET status = 'triage' WHERE id = ?", []any{ids[0]}, e.alice, ListQuery{}, StatusTriage, 1},
				{"bob's agency joins a case", "INSERT INTO case_agency_members (case_id, agency_id, role, added_by, added_at) VALUES (?, ?, 'analyst', ?, ?)",
					[]any{ids[1], e.bob.AgencyID, e.alice.UserID, now}, e.bob, ListQuery{}, StatusNew, 1},
				{"bob is cut off from it", "INSERT INTO case_exclusions (case_id, user_id, reason, excluded_by, excluded_at) VALUES (?, ?, 'suspect', ?, ?)",
					[]any{ids[1], e.bob.UserID, e.alice.UserID, now}, e.bob, ListQuery{}, StatusNew, 0},
				{"a case is tagged", "INSERT INTO case_tags (case_id, tag) VALUES (?, 'ransomware')", []any{ids[2]},
					e.alice, ListQuery{Tag: "ransomware"}, StatusNew, 1},
				{"a case becomes AMBER+STRICT", "UPDATE cases SET tlp = 'AMBER+STRICT' WHERE id = ?", []any{ids[2]},
					e.alice, ListQuery{Tag: "ransomware"}, StatusNew, 1},
				{"a case gets another severity", "UPDATE cases SET severity = 4 WHERE id = ?", []any{ids[2]},
					e.alice, ListQuery{Severities: []Severity{SeverityCritical}}, StatusNew, 1},
				{"alice becomes an admin", "UPDATE users SET system_role = 'admin' WHERE id = ?", []any{e.alice.UserID},
					e.alice, ListQuery{}, StatusNew, 0},
			}
			for _, st := range steps {
				// Both nodes have the counts of before cached.
				for _, s := range []*Store{e.store, other} {
					if _, err := s.List(ctx, st.p, st.q); err != nil {
						t.Fatal(err)
					}
				}
				if err := d.DB.Exec(st.sql, st.args...).Error; err != nil {
					t.Fatalf("%s: %v", st.what, err)
				}
				for _, s := range []*Store{e.store, other} {
					want(st.what, s, st.p, st.q, st.status, st.n)
				}
			}
		})
	}
}
