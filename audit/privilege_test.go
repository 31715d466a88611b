package audit

import (
	"context"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/bevis-ir/bevis/internal/db"
	"github.com/bevis-ir/bevis/internal/testenv"
)

// The README's least-privilege recipe, applied as written: a role that can
// record, seal and read the log, and migrate (nothing pending), but not
// change or remove a single entry, nor switch the triggers off.
func TestPostgresRole_FromTheREADMECannotChangeTheLog(t *testing.T) {
	d := testenv.Postgres(t)
	ctx := context.Background()
	recipe := readmeRecipe(t)
	role := "bevis_app_" + strings.ToLower(testenvSuffix(d.URL))
	u, err := url.Parse(d.URL)
	if err != nil {
		t.Fatal(err)
	}
	dbName := strings.TrimPrefix(u.Path, "/")
	recipe = strings.ReplaceAll(recipe, "bevis_app", role)
	recipe = strings.ReplaceAll(recipe, "DATABASE bevis ", "DATABASE "+dbName+" ")
	recipe = strings.ReplaceAll(recipe, "'…'", "'app-password'")
	for _, stmt := range strings.Split(recipe, ";") {
		if stmt = strings.TrimSpace(stmt); stmt != "" {
			if err := d.DB.Exec(stmt).Error; err != nil {
				t.Fatalf("%s: %v", stmt, err)
			}
		}
	}
	t.Cleanup(func() {
		d.DB.Exec("DROP OWNED BY " + role)
		_ = db.Close(d.DB)
		// The role outlives the database; drop it from the server.
		admin, err := db.Open(ctx, strings.Replace(d.URL, "/"+dbName, "/postgres", 1), 5*time.Second, testenv.Discard)
		if err == nil {
			admin.Exec("DROP ROLE IF EXISTS " + role)
			_ = db.Close(admin)
		}
	})

	u.User = url.UserPassword(role, "app-password")
	app, err := db.Open(ctx, u.String(), 5*time.Second, testenv.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(app)
	if _, err := db.Migrate(ctx, app, testenv.Logger(t)); err != nil {
		t.Fatalf("serve's migrate with nothing pending, as the role: %v", err)
	}
	appendCommitted(t, app, 3)
	signer := newSigner(t)
	sealAll(t, newSequencer(t, app, signer, nil))
	if _, err := VerifyDB(ctx, app, keysOf(signer), nil); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		"SET session_replication_role = replica",
		"ALTER TABLE audit_entries DISABLE TRIGGER ALL",
		"UPDATE audit_entries SET action = 'x'",
		"DELETE FROM audit_chain",
		"TRUNCATE audit_checkpoints",
	} {
		if err := app.Exec(q).Error; err == nil {
			t.Errorf("the role could %s", q)
		}
	}
}

// readmeRecipe returns the SQL block of the README's least-privilege recipe.
func readmeRecipe(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)```sql\n(-- as the owner of the bevis database.*?)```").FindStringSubmatch(string(b))
	if m == nil {
		t.Fatal("README has no least-privilege recipe")
	}
	var lines []string
	for _, l := range strings.Split(m[1], "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "--") {
			lines = append(lines, l)
		}
	}
	return strings.Join(lines, "\n")
}

func testenvSuffix(dbURL string) string {
	u, _ := url.Parse(dbURL)
	name := strings.TrimPrefix(u.Path, "/")
	return name[strings.LastIndex(name, "_")+1:]
}
