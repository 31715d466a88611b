package audit

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/bevis-ir/bevis/internal/db"
	"github.com/bevis-ir/bevis/internal/testenv"
)

func TestList_FiltersByActionsAcrossPages(t *testing.T) {
	for _, d := range testenv.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			ctx := context.Background()
			actions := []string{"evidence.download", "cases.get", "alerts.approve.post"}
			for i := range 30 {
				e := entry(i)
				e.Action = actions[i%3]
				if err := d.DB.Transaction(func(tx *gorm.DB) error { return Append(ctx, tx, e) }); err != nil {
					t.Fatal(err)
				}
			}
			signer := newSigner(t)
			sealAll(t, newSequencer(t, d.DB, signer, nil))

			got := listAll(t, d.DB, Filter{Actions: []string{"evidence.download", "alerts.approve.post"}, UserID: "user-0", Limit: 2}, 20)
			// user-0 has i = 0, 3, 6, … 27: downloads at i%3 == 0 only (i%3 is
			// the action, and every i of user-0 is a multiple of 3).
			if len(got) != 10 {
				t.Fatalf("got %d entries, want the 10 downloads of user-0", len(got))
			}
			for i, r := range got {
				if r.Action != "evidence.download" || r.Actor.UserID != "user-0" || i > 0 && r.Seq >= got[i-1].Seq {
					t.Errorf("entry %d: %s by %s at seq %d, want downloads of user-0, newest first", i, r.Action, r.Actor.UserID, r.Seq)
				}
			}

			p, err := List(ctx, d.DB, Filter{Actions: []string{"cases.get", "alerts.approve.post"}, Limit: 100})
			if err != nil {
				t.Fatal(err)
			}
			seen := map[string]int{}
			for _, r := range p.Entries {
				seen[r.Action]++
			}
			if len(p.Entries) != 20 || seen["cases.get"] != 10 || seen["alerts.approve.post"] != 10 {
				t.Errorf("two actions: %v", seen)
			}
			if p, err := List(ctx, d.DB, Filter{Actions: []string{"no.such.action"}}); err != nil || len(p.Entries) != 0 {
				t.Errorf("an action never recorded: %d entries, %v", len(p.Entries), err)
			}
			if _, err := List(ctx, d.DB, Filter{Actions: make([]string, MaxFilterActions+1)}); !errors.Is(err, ErrInvalidFilter) {
				t.Errorf("too many actions: %v", err)
			}
			// The chain's copy of the action is checked like the other search
			// columns: the log still verifies.
			if _, err := verifyBoth(t, d.DB, keysOf(signer), nil); err != nil {
				t.Errorf("verify: %v", err)
			}
		})
	}
}

// TestList_ActionFilterPlans reads the plans of an auditor's page of one
// action over 20,000 sealed entries of 40 actions, and fails when it sorts
// the entries of the action before taking the page. With a person too,
// the planners may intersect the two indexes and sort what both select
// (a few); the test fails only when one reads the whole log.
func TestList_ActionFilterPlans(t *testing.T) {
	for _, d := range testenv.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			seedChainOf(t, d, 20000, time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC),
				chainSeed{users: 50, cases: 300, action: "'area' || (i % 40) || '.post'"})
			queries := testenv.RecordQueries(t, d.DB)
			for _, f := range []Filter{
				{Actions: []string{"area7.post"}, Limit: 100},
				{Actions: []string{"area7.post"}, UserID: "user-7", Limit: 100},
			} {
				alone := f.UserID == ""
				queries.Reset()
				p, err := List(context.Background(), d.DB, f)
				if err != nil {
					t.Fatal(err)
				}
				if len(p.Entries) != 100 || slices.ContainsFunc(p.Entries, func(r Recorded) bool { return r.Action != "area7.post" }) {
					t.Fatalf("%+v: %d entries", f, len(p.Entries))
				}
				stmts := queries.With("ORDER BY", "LIMIT", "audit_chain")
				if len(stmts) != 1 {
					t.Fatalf("%+v: %d page statements, want 1", f, len(stmts))
				}
				plan := testenv.Plan(t, d, stmts[0])
				step := testenv.SortsWholeSet(plan)
				if !alone {
					step = readsWholeChain(plan)
				}
				if step != "" {
					t.Errorf("%+v sorts every entry it selects (%s):\n%s", f, step, stmts[0].SQL)
					for _, l := range plan {
						t.Log(l)
					}
				}
			}
		})
	}
}

// readsWholeChain is the step of plan that reads every row of audit_chain,
// or "".
func readsWholeChain(plan []string) string {
	for _, l := range plan {
		trimmed := strings.TrimLeft(strings.TrimSpace(l), "-> ")
		if strings.HasPrefix(trimmed, "Seq Scan on audit_chain") || trimmed == "SCAN audit_chain" {
			return l
		}
	}
	return ""
}

// Migration 00066 gives the entries sealed before it their copy of the
// action: after it, they verify and the action filter finds them.
func TestMigration00066_CopiesTheActionOfSealedEntries(t *testing.T) {
	for _, d := range testenv.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			ctx := context.Background()
			signer := newSigner(t)
			for i := range 6 {
				e := entry(i)
				e.Action = []string{"cases.get", "evidence.download"}[i%2]
				if err := d.DB.Transaction(func(tx *gorm.DB) error { return Append(ctx, tx, e) }); err != nil {
					t.Fatal(err)
				}
			}
			sealAll(t, newSequencer(t, d.DB, signer, nil))
			if _, err := db.MigrateDownTo(ctx, d.DB, testenv.Discard, 65); err != nil {
				t.Fatal(err)
			}
			if _, err := db.Migrate(ctx, d.DB, testenv.Discard); err != nil {
				t.Fatal(err)
			}
			if _, err := verifyBoth(t, d.DB, keysOf(signer), nil); err != nil {
				t.Errorf("verify after the migration: %v", err)
			}
			p, err := List(ctx, d.DB, Filter{Actions: []string{"evidence.download"}})
			if err != nil || len(p.Entries) != 3 {
				t.Errorf("downloads sealed before the migration: %d, %v", len(p.Entries), err)
			}
		})
	}
}
