package testenv

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/bevis-ir/bevis/internal/db"
	"github.com/bevis-ir/bevis/migrations"
)

// Fresh databases are copies of a template migrated once per version of the
// migrations, named by a hash of them, and shared by every test process of
// the machine: a copy takes a fraction of what applying some thirty
// migrations takes. A change to any migration makes a new template.

// migrationsHash names the migrations of one dialect by their content.
func migrationsHash(dialect string) (string, error) {
	fsys, err := migrations.FS(dialect)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	err = fs.WalkDir(fsys, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(fsys, path)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s %d\n", path, len(b))
		h.Write(b)
		return nil
	})
	return hex.EncodeToString(h.Sum(nil))[:16], err
}

var sqliteTemplate = sync.OnceValues(func() (string, error) {
	hash, err := migrationsHash(db.SQLite)
	if err != nil {
		return "", err
	}
	path := filepath.Join(os.TempDir(), "bevis-test-template-"+hash+".db")
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	// Migrate in a folder of this process's own, then move the finished
	// file into place, so another process never copies a half-made one.
	dir, err := os.MkdirTemp("", "bevis-test-template-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)
	made := filepath.Join(dir, "bevis.db")
	ctx := context.Background()
	gdb, err := db.Open(ctx, "sqlite:"+made, 5*time.Second, Discard)
	if err != nil {
		return "", err
	}
	_, err = db.Migrate(ctx, gdb, Discard)
	if err == nil {
		// Fold the write-ahead log into the file, so the file is all of it.
		err = gdb.Exec("PRAGMA wal_checkpoint(TRUNCATE)").Error
	}
	if cerr := db.Close(gdb); err == nil {
		err = cerr
	}
	if err != nil {
		return "", err
	}
	return path, os.Rename(made, path)
})

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		_ = out.Close()
		return err
	}
	return out.Close()
}

var (
	postgresTemplates   sync.Mutex
	postgresTemplateFor = map[string]string{} // admin URL → template name
)

// postgresTemplate returns the name of the migrated template database on
// the server of adminURL, making it when it is missing. A session advisory
// lock keeps two test processes from making it at once.
func postgresTemplate(ctx context.Context, admin *sql.DB, adminURL string) (string, error) {
	postgresTemplates.Lock()
	defer postgresTemplates.Unlock()
	if name, ok := postgresTemplateFor[adminURL]; ok {
		return name, nil
	}
	hash, err := migrationsHash(db.Postgres)
	if err != nil {
		return "", err
	}
	name := "bevis_test_template_" + hash
	conn, err := admin.Conn(ctx)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock(hashtextextended('bevis.testenv.template', 0))"); err != nil {
		return "", err
	}
	defer conn.ExecContext(context.Background(), "SELECT pg_advisory_unlock(hashtextextended('bevis.testenv.template', 0))") //nolint:errcheck // the session ends with the connection anyway
	var ready bool
	if err := conn.QueryRowContext(ctx,
		"SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1 AND datistemplate)", name).Scan(&ready); err != nil {
		return "", err
	}
	if !ready {
		if err := makePostgresTemplate(ctx, conn, adminURL, name); err != nil {
			return "", err
		}
	}
	postgresTemplateFor[adminURL] = name
	return name, nil
}

// makePostgresTemplate migrates a database under a temporary name and only
// then renames it and marks it a template: a test process killed half-way
// leaves no template that looks finished.
func makePostgresTemplate(ctx context.Context, conn *sql.Conn, adminURL, name string) error {
	making := "bevis_test_making_" + randomHex(8)
	if err := createDatabase(ctx, conn, making, ""); err != nil {
		return err
	}
	drop := func() {
		_, _ = conn.ExecContext(context.Background(), "DROP DATABASE IF EXISTS "+making+" WITH (FORCE)")
	}
	u, err := url.Parse(adminURL)
	if err != nil {
		drop()
		return err
	}
	u.Path = "/" + making
	gdb, err := db.Open(ctx, u.String(), 5*time.Second, Discard)
	if err != nil {
		drop()
		return err
	}
	_, err = db.Migrate(ctx, gdb, Discard)
	if cerr := db.Close(gdb); err == nil {
		err = cerr
	}
	if err == nil {
		_, err = conn.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	}
	if err == nil {
		_, err = conn.ExecContext(ctx, "ALTER DATABASE "+making+" RENAME TO "+name)
	}
	if err != nil {
		drop()
		return err
	}
	_, err = conn.ExecContext(ctx, "ALTER DATABASE "+name+" WITH IS_TEMPLATE true")
	return err
}

// execer is a connection pool or one connection of it.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// createDatabase creates an empty database, or a copy of template. A test
// database is never recovered after a crash of the server, so its commits
// need not wait for the disk: tests of Bevis's own durability stop Bevis,
// not PostgreSQL.
func createDatabase(ctx context.Context, admin execer, name, template string) error {
	stmt := "CREATE DATABASE " + name
	if template != "" {
		stmt += " TEMPLATE " + template
	}
	if _, err := admin.ExecContext(ctx, stmt); err != nil {
		return err
	}
	_, err := admin.ExecContext(ctx, "ALTER DATABASE "+name+" SET synchronous_commit = off")
	return err
}

// A seed is a database that a package's tests share as their starting point:
// built once per test process by build, then copied for each test that asks
// for it (SQLiteFrom, PostgresFrom), so that an expensive fixture is made
// once instead of once per test.

var (
	seedsMu sync.Mutex
	seeds   []string // PostgreSQL seed databases of this process, dropped by DropSeeds
)

// SeedSQLite builds a seed on a fresh migrated SQLite database and returns
// the path of its file. build must close every connection it opens except
// d.DB, which SeedSQLite closes.
func SeedSQLite(build func(d Database) error) (string, error) {
	template, err := sqliteTemplate()
	if err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp("", "bevis-test-seed-")
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, "seed.db")
	if err := copyFile(template, path); err != nil {
		return "", err
	}
	ctx := context.Background()
	gdb, err := db.Open(ctx, "sqlite:"+path, 5*time.Second, Discard)
	if err != nil {
		return "", err
	}
	err = build(Database{Name: db.SQLite, URL: "sqlite:" + path, DB: gdb})
	if err == nil {
		err = gdb.Exec("PRAGMA wal_checkpoint(TRUNCATE)").Error
	}
	if cerr := db.Close(gdb); err == nil {
		err = cerr
	}
	return path, err
}

// SQLiteFrom returns a fresh copy of a seed made by SeedSQLite.
func SQLiteFrom(t testing.TB, seed string) Database {
	t.Helper()
	path := filepath.Join(t.TempDir(), "bevis.db")
	if err := copyFile(seed, path); err != nil {
		t.Fatalf("SQLite test database from a seed: %v", err)
	}
	return open(t, db.SQLite, "sqlite:"+path)
}

// SeedPostgres builds a seed on a fresh migrated PostgreSQL database and
// returns its name, to make copies of with PostgresFrom. build must close
// every connection it opens except d.DB, which SeedPostgres closes: a
// database with connections cannot be copied. The package's TestMain drops
// the seeds with DropSeeds.
func SeedPostgres(build func(d Database) error) (string, error) {
	adminURL := env("BEVIS_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable")
	admin, err := sql.Open("pgx", adminURL)
	if err != nil {
		return "", err
	}
	defer admin.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	template, err := postgresTemplate(ctx, admin, adminURL)
	if err != nil {
		return "", err
	}
	name := "bevis_test_seed_" + randomHex(8)
	if err := createDatabase(ctx, admin, name, template); err != nil {
		return "", err
	}
	seedsMu.Lock()
	seeds = append(seeds, name)
	seedsMu.Unlock()
	u, err := url.Parse(adminURL)
	if err != nil {
		return "", err
	}
	u.Path = "/" + name
	gdb, err := db.Open(ctx, u.String(), 5*time.Second, Discard)
	if err != nil {
		return "", err
	}
	err = build(Database{Name: db.Postgres, URL: u.String(), DB: gdb})
	if cerr := db.Close(gdb); err == nil {
		err = cerr
	}
	return name, err
}

// PostgresFrom returns a fresh copy of a seed made by SeedPostgres, dropped
// after the test.
func PostgresFrom(t testing.TB, seed string) Database {
	t.Helper()
	return open(t, db.Postgres, postgresCopy(t, seed))
}

// DropSeeds drops the PostgreSQL seeds this process made; a package's
// TestMain calls it after its tests.
func DropSeeds() {
	seedsMu.Lock()
	defer seedsMu.Unlock()
	if len(seeds) == 0 {
		return
	}
	admin, err := sql.Open("pgx", env("BEVIS_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"))
	if err != nil {
		return
	}
	defer admin.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, name := range seeds {
		_, _ = admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	}
	seeds = nil
}

// RequirePostgres skips the test (or fails it under CI) when the test
// PostgreSQL server cannot be reached, as Postgres does.
func RequirePostgres(t testing.TB) {
	t.Helper()
	admin, err := sql.Open("pgx", env("BEVIS_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"))
	if err != nil {
		t.Fatalf("BEVIS_TEST_POSTGRES_URL: %v", err)
	}
	defer admin.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := admin.PingContext(ctx); err != nil {
		unavailable(t, "PostgreSQL", err.Error())
	}
}
