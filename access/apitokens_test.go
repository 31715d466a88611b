package access

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bevis-ir/bevis/internal/db"
	"github.com/bevis-ir/bevis/internal/testenv"
)

// Downloading evidence became an action of its own (the migration
// observer_downloads): a token made before, with case.read, keeps the
// downloads it could make, and one made after needs the new scope.
func TestAPITokenScopes_ReadTokensKeepDownloadsAcrossTheMigration(t *testing.T) {
	for _, d := range testenv.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			ctx := context.Background()
			log := testenv.Logger(t)
			dir := NewDirectory(d.DB)
			agency, err := dir.CreateAgency(ctx, NewAgency{Code: "AG", Name: "Agency", Kind: "other"})
			if err != nil {
				t.Fatal(err)
			}
			u, err := dir.CreateUser(ctx, NewUser{AgencyID: agency.ID, Email: "script@bevis.test", Name: "Script"})
			if err != nil {
				t.Fatal(err)
			}
			sessions := newTestSessions(t, d)
			p := Principal{UserID: u.ID, AgencyID: agency.ID, SystemRole: RoleMember}
			before := versionBefore(t, d, "observer_downloads")
			if _, err := db.MigrateDownTo(ctx, d.DB, log, before); err != nil {
				t.Fatal(err)
			}
			expires := time.Now().Add(24 * time.Hour)
			reader, _, err := sessions.CreateAPIToken(ctx, NewAuthorizer(d.DB), p,
				NewAPIToken{Name: "SIEM", Scopes: []Action{ActionCaseList, ActionCaseRead}, ExpiresAt: expires})
			if err != nil {
				t.Fatal(err)
			}
			lister, _, err := sessions.CreateAPIToken(ctx, NewAuthorizer(d.DB), p,
				NewAPIToken{Name: "Dashboard", Scopes: []Action{ActionCaseList}, ExpiresAt: expires})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := db.Migrate(ctx, d.DB, log); err != nil {
				t.Fatal(err)
			}
			scopes := func() map[string][]Action {
				list, err := sessions.APITokens(ctx, u.ID)
				if err != nil {
					t.Fatal(err)
				}
				out := map[string][]Action{}
				for _, tok := range list {
					out[tok.ID] = slices.Sorted(slices.Values(tok.Scopes))
				}
				return out
			}
			got := scopes()
			if want := []Action{ActionCaseList, ActionCaseRead, ActionEvidenceDownload}; !slices.Equal(got[reader.ID], want) {
				t.Errorf("a case.read token after the migration: %v, want %v", got[reader.ID], want)
			}
			if want := []Action{ActionCaseList}; !slices.Equal(got[lister.ID], want) {
				t.Errorf("a list-only token after the migration: %v, want %v", got[lister.ID], want)
			}
			if _, err := db.MigrateDownTo(ctx, d.DB, log, before); err != nil {
				t.Fatal(err)
			}
			if got := scopes(); !slices.Equal(got[reader.ID], []Action{ActionCaseList, ActionCaseRead}) {
				t.Errorf("a case.read token after going back: %v", got[reader.ID])
			}
		})
	}
}

// versionBefore is the version of the migration just before the one whose
// name holds name, to go down to.
func versionBefore(t *testing.T, d testenv.Database, name string) int64 {
	t.Helper()
	list, err := db.Migrations(context.Background(), d.DB, testenv.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	var before int64
	for _, m := range list {
		if strings.Contains(m.Name, name) {
			return before
		}
		before = m.Version
	}
	t.Fatalf("no migration named %s", name)
	return 0
}
