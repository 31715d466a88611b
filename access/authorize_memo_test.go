package access

import (
	"context"
	"testing"

	"github.com/bevis-ir/bevis/internal/testenv"
)

// TestRememberCaseFacts_ReadsOnceForOneCallerAndCase: the questions of one
// decision share a reading of the caller's standing on the case; another
// case or another caller is read afresh, and without the memo every
// question reads.
func TestRememberCaseFacts_ReadsOnceForOneCallerAndCase(t *testing.T) {
	for _, d := range testenv.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			seedMembers(t, d, 20, 2) // user-i is an investigator on case-(i%10); agency-(i%2) an analyst on all
			a := NewAuthorizer(d.DB)
			queries := testenv.RecordQueries(t, d.DB)
			reads := func() int { return len(queries.With("case_exclusions")) }
			user0 := Principal{UserID: "user-0", AgencyID: "agency-0", SystemRole: RoleMember}
			user1 := Principal{UserID: "user-1", AgencyID: "agency-1", SystemRole: RoleMember}
			role := func(ctx context.Context, p Principal, caseID string, want CaseRole) {
				t.Helper()
				got, err := a.CaseRole(ctx, p, caseID)
				if err != nil || got != want {
					t.Errorf("%s on %s: %q, %v; want %q", p.UserID, caseID, got, err, want)
				}
			}

			ctx := RememberCaseFacts(context.Background())
			if err := a.Authorize(ctx, user0, ActionCaseWrite, Resource{CaseID: "case-0"}); err != nil {
				t.Fatal(err)
			}
			if _, err := a.ItemMarkings(ctx, user0, "case-0"); err != nil {
				t.Fatal(err)
			}
			role(ctx, user0, "case-0", CaseInvestigator)
			if n := reads(); n != 1 {
				t.Errorf("three questions about one caller on one case read their standing %d times, want once", n)
			}
			role(ctx, user0, "case-1", CaseAnalyst)
			role(ctx, user1, "case-1", CaseInvestigator)
			if n := reads(); n != 3 {
				t.Errorf("another case, then another caller: %d readings in all, want 3", n)
			}

			queries.Reset()
			role(context.Background(), user0, "case-0", CaseInvestigator)
			role(context.Background(), user0, "case-0", CaseInvestigator)
			if n := reads(); n != 2 {
				t.Errorf("without the memo, two questions read %d times, want 2", n)
			}
		})
	}
}
