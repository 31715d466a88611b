package db_test

import (
	"context"
	"testing"

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
