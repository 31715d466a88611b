package audit

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/bevis-ir/bevis/internal/testenv"
)

// TestSealingPlans: on PostgreSQL the sequencer's search for entries to
// seal and the backlog's count read the audit tables by searching their
// indexes, whether PostgreSQL has statistics of them or not (a new
// database, or a server whose autovacuum is off, has none), and whether
// planned for the statement's values or as a prepared statement's generic
// plan (which PostgreSQL settles on after five runs): a round costs what
// it seals, not the length of the log. 20,000 sealed entries, 5 recorded
// since.
func TestSealingPlans(t *testing.T) {
	d := testenv.Postgres(t)
	ctx := context.Background()
	seedChain(t, d, 20000, time.Now().Add(-24*time.Hour))
	bounds, err := currentBounds(d.DB)
	if err != nil {
		t.Fatal(err)
	}
	// A head sealed at bounds, as a round leaves it.
	appendCommitted(t, d.DB, 1)
	if err := d.DB.Exec(`INSERT INTO audit_chain (seq, entry_id, prev_hash, hash, sealed_at, at, case_id, user_id, agency_id,
			resource_id, action, scan_from)
		SELECT e.pos, e.id, 'prev', 'hash', e.at, e.at, e.case_id, e.user_id, e.agency_id, e.resource_id, e.action, ?
		FROM audit_entries e WHERE e.pos = (SELECT MAX(pos) FROM audit_entries)`, bounds.xmin).Error; err != nil {
		t.Fatal(err)
	}
	appendCommitted(t, d.DB, 5)
	seq := newSequencer(t, d.DB, newSigner(t), nil)
	queries := testenv.RecordQueries(t, d.DB)
	for _, stats := range []string{"without statistics", "analysed"} {
		sql := "DELETE FROM pg_statistic WHERE starelid IN ('audit_entries'::regclass, 'audit_chain'::regclass)"
		if stats == "analysed" {
			sql = "ANALYZE audit_entries, audit_chain"
		}
		if err := d.DB.Exec(sql).Error; err != nil {
			t.Fatal(err)
		}
		queries.Reset()
		st := chainState{bounds: bounds}
		rows, err := seq.unsealed(d.DB, &st)
		if err != nil || len(rows) != 5 {
			t.Fatalf("%s: %d entries to seal (%v), want 5", stats, len(rows), err)
		}
		b, err := Unsealed(ctx, d.DB)
		if err != nil || b.Entries != 5 {
			t.Fatalf("%s: backlog %+v (%v), want 5 entries", stats, b, err)
		}
		stmts := queries.With("FROM audit_entries e")
		if len(stmts) != 3 {
			t.Fatalf("%s: %d statements recorded, want the search and the backlog's two", stats, len(stmts))
		}
		for _, s := range stmts {
			for mode, plan := range map[string][]string{"planned for its values": testenv.Plan(t, d, s),
				"as prepared (generic)": testenv.GenericPlan(t, d, s)} {
				if line := readsAuditTableWhole(plan); line != "" {
					t.Errorf("%s, %s: %s\nreads an audit table without searching an index (%s):\n%s",
						stats, mode, s.SQL, strings.TrimSpace(line), strings.Join(plan, "\n"))
				}
			}
		}
	}
}

// readsAuditTableWhole returns the step of a PostgreSQL plan that reads
// audit_entries or audit_chain whole, or "": a sequential scan, or an
// index scan without an Index Cond that tests rows (a walk of the whole
// index) or runs without a Limit above it (the first rows of an index in
// its order, under a Limit, are not the whole table).
func readsAuditTableWhole(plan []string) string {
	for i, line := range plan {
		if !strings.Contains(line, " on audit_entries") && !strings.Contains(line, " on audit_chain") {
			continue
		}
		if strings.Contains(line, "Seq Scan") {
			return line
		}
		searched, filtered := false, false
		for _, detail := range plan[i+1:] {
			if strings.Contains(detail, "->") {
				break
			}
			searched = searched || strings.Contains(detail, "Index Cond:") || strings.Contains(detail, "Recheck Cond:")
			filtered = filtered || strings.Contains(detail, "Filter:")
		}
		limited := i > 0 && strings.Contains(plan[i-1], "Limit")
		if !searched && (filtered || !limited) {
			return line
		}
	}
	return ""
}
