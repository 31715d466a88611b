package testenv

import (
	"context"
	"database/sql"
	"io"
	"log/slog"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver for the admin connection
	"gorm.io/gorm"

	"github.com/bevis-ir/bevis/internal/db"
)

// Database is a fresh, migrated database of one dialect.
type Database struct {
	Name string // "sqlite" or "postgres", for subtest names
	URL  string
	DB   *gorm.DB
}

// Databases returns a fresh migrated SQLite and PostgreSQL database, so a
// store test can run on both: for _, d := range testenv.Databases(t) { t.Run(d.Name, ...) }.
func Databases(t testing.TB) []Database {
	t.Helper()
	return []Database{SQLite(t), Postgres(t)}
}

// SQLite returns a fresh migrated SQLite database in a temporary folder: a
// copy of a database migrated once per version of the migrations, since
// applying them one by one (each in its own synchronous transaction) costs
// more than most tests.
func SQLite(t testing.TB) Database {
	t.Helper()
	path := filepath.Join(t.TempDir(), "bevis.db")
	template, err := sqliteTemplate()
	if err == nil {
		err = copyFile(template, path)
	}
	if err != nil {
		t.Fatalf("SQLite test database: %v", err)
	}
	return open(t, db.SQLite, "sqlite:"+path)
}

// SQLiteURL returns the URL of a fresh, empty SQLite database file.
func SQLiteURL(t testing.TB) string {
	return "sqlite:" + filepath.Join(t.TempDir(), "bevis.db")
}

// Postgres returns a fresh migrated PostgreSQL database, dropped after the
// test: a copy of a template database migrated once per version of the
// migrations.
func Postgres(t testing.TB) Database {
	t.Helper()
	return open(t, db.Postgres, postgresDatabase(t, postgresTemplate))
}

// postgresCopy creates a copy of template, dropped after the test.
func postgresCopy(t testing.TB, template string) string {
	t.Helper()
	return postgresDatabase(t, func(context.Context, *sql.DB, string) (string, error) { return template, nil })
}

// PostgresURL creates a fresh, empty PostgreSQL database on the server named
// by BEVIS_TEST_POSTGRES_URL (default the local server as user postgres) and
// returns its URL; the database is dropped when the test ends.
func PostgresURL(t testing.TB) string {
	t.Helper()
	return postgresDatabase(t, nil)
}

// postgresDatabase creates a database dropped after the test, a copy of the
// template that template names, or an empty one when template is nil.
func postgresDatabase(t testing.TB, template func(ctx context.Context, admin *sql.DB, adminURL string) (string, error)) string {
	t.Helper()
	adminURL := env("BEVIS_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable")
	admin, err := sql.Open("pgx", adminURL)
	if err != nil {
		t.Fatalf("BEVIS_TEST_POSTGRES_URL: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := admin.PingContext(ctx); err != nil {
		_ = admin.Close()
		unavailable(t, "PostgreSQL", err.Error())
	}
	name := "bevis_test_" + randomHex(8)
	from := ""
	if template != nil {
		if from, err = template(ctx, admin, adminURL); err != nil {
			_ = admin.Close()
			t.Fatalf("migrated template database: %v", err)
		}
	}
	if err := createDatabase(ctx, admin, name, from); err != nil {
		_ = admin.Close()
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		defer admin.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("drop test database %s: %v", name, err)
		}
	})
	u, _ := url.Parse(adminURL)
	u.Path = "/" + name
	return u.String()
}

func open(t testing.TB, dialect, rawURL string) Database {
	t.Helper()
	ctx := context.Background()
	log := Logger(t)
	gdb, err := db.Open(ctx, rawURL, 5*time.Second, log)
	if err != nil {
		t.Fatalf("open %s: %v", dialect, err)
	}
	t.Cleanup(func() { _ = db.Close(gdb) })
	if _, err := db.Migrate(ctx, gdb, log); err != nil {
		t.Fatalf("migrate %s: %v", dialect, err)
	}
	return Database{Name: dialect, URL: rawURL, DB: gdb}
}

// Logger returns a logger that writes to the test's log only when the test
// is run verbosely or fails, keeping passing runs quiet.
func Logger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(string(p))
	return len(p), nil
}

// Discard is a logger for benchmarks, where logging would skew the figures.
var Discard = slog.New(slog.NewTextHandler(io.Discard, nil))
