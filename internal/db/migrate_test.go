package db_test

import (
	"context"
	"testing"
	"time"

	"github.com/bevis-ir/bevis/internal/db"
	"github.com/bevis-ir/bevis/internal/testenv"
)

func TestMigrate_EmptyDatabaseOnBothDialects(t *testing.T) {
	urls := map[string]string{db.SQLite: testenv.SQLiteURL(t), db.Postgres: testenv.PostgresURL(t)}
	for dialect, url := range urls {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			log := testenv.Logger(t)
			gdb, err := db.Open(ctx, url, 0, log)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close(gdb)
			if got := db.Dialect(gdb); got != dialect {
				t.Fatalf("dialect %q, want %q", got, dialect)
			}

			before, err := db.Migrations(ctx, gdb, log)
			if err != nil {
				t.Fatal(err)
			}
			if len(before) == 0 {
				t.Fatal("no migrations found")
			}
			for _, m := range before {
				if m.Applied {
					t.Errorf("%s applied on an empty database", m.Name)
				}
			}

			applied, err := db.Migrate(ctx, gdb, log)
			if err != nil {
				t.Fatal(err)
			}
			if len(applied) != len(before) {
				t.Errorf("applied %d of %d migrations", len(applied), len(before))
			}
			again, err := db.Migrate(ctx, gdb, log)
			if err != nil || len(again) != 0 {
				t.Errorf("second run must apply nothing: %v %v", again, err)
			}
			after, err := db.Migrations(ctx, gdb, log)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range after {
				if !m.Applied {
					t.Errorf("%s not applied", m.Name)
				}
			}

			var id string
			if err := gdb.WithContext(ctx).Raw("SELECT id FROM bevis_instance").Scan(&id).Error; err != nil || len(id) != 32 {
				t.Errorf("instance id %q: %v", id, err)
			}
		})
	}
}

func TestOpen_SQLitePragmasAreOn(t *testing.T) {
	d := testenv.SQLite(t)
	ctx := context.Background()
	for pragma, want := range map[string]string{"journal_mode": "wal", "foreign_keys": "1", "busy_timeout": "10000", "synchronous": "2",
		"cache_size": "-8192", "temp_store": "2"} {
		var got string
		if err := d.DB.WithContext(ctx).Raw("PRAGMA " + pragma).Scan(&got).Error; err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("PRAGMA %s = %q, want %q", pragma, got, want)
		}
	}
}

// Times are stored as the text earlier versions of Bevis wrote (the
// glebarez driver's form: nanoseconds and the zone), so that a database of
// theirs reads, sorts and compares the same; and they read back equal.
func TestOpen_SQLiteStoresTimesAsEarlierVersionsDid(t *testing.T) {
	d := testenv.SQLite(t)
	if err := d.DB.Exec("CREATE TABLE probe_times (at DATETIME NOT NULL)").Error; err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 3, 20, 49, 7, 123456789, time.FixedZone("", 3600))
	if err := d.DB.Exec("INSERT INTO probe_times (at) VALUES (?)", at).Error; err != nil {
		t.Fatal(err)
	}
	var text string
	if err := d.DB.Raw("SELECT CAST(at AS TEXT) FROM probe_times").Scan(&text).Error; err != nil {
		t.Fatal(err)
	}
	if want := "2026-12-03 20:49:07.123456789+01:00"; text != want {
		t.Fatalf("stored %q, want %q", text, want)
	}
	var back time.Time
	if err := d.DB.Raw("SELECT at FROM probe_times").Scan(&back).Error; err != nil {
		t.Fatal(err)
	}
	if !back.Equal(at) {
		t.Fatalf("read back %v, want %v", back, at)
	}
}

// Down migrations are how an operator backs out a release; each must undo
// its Up so that the whole chain can go down and up again.
func TestMigrate_EveryMigrationGoesDownAndUpAgain(t *testing.T) {
	urls := map[string]string{db.SQLite: testenv.SQLiteURL(t), db.Postgres: testenv.PostgresURL(t)}
	for dialect, url := range urls {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			log := testenv.Logger(t)
			gdb, err := db.Open(ctx, url, 0, log)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close(gdb)
			applied, err := db.Migrate(ctx, gdb, log)
			if err != nil {
				t.Fatal(err)
			}
			undone, err := db.MigrateDownTo(ctx, gdb, log, 0)
			if err != nil {
				t.Fatal(err)
			}
			if len(undone) != len(applied) {
				t.Errorf("undid %d of %d migrations", len(undone), len(applied))
			}
			if again, err := db.Migrate(ctx, gdb, log); err != nil || len(again) != len(applied) {
				t.Fatalf("up again: %d applied, %v", len(again), err)
			}
		})
	}
}
