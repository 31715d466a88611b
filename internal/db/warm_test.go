package db_test

import (
	"context"
	"testing"
	"time"

	"github.com/bevis-ir/bevis/internal/db"
	"github.com/bevis-ir/bevis/internal/testenv"
)

// TestWarm_OpensEveryConnectionOfAPostgresPool: a pool of n connections
// has them all open, and idle, once warmed, with n/2 writers at once; on
// SQLite warming opens nothing.
func TestWarm_OpensEveryConnectionOfAPostgresPool(t *testing.T) {
	for _, d := range testenv.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			gdb, err := db.OpenSized(context.Background(), d.URL, 6, 5*time.Second, testenv.Logger(t))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = db.Close(gdb) })
			if err := db.Warm(context.Background(), gdb); err != nil {
				t.Fatal(err)
			}
			sqlDB, err := gdb.DB()
			if err != nil {
				t.Fatal(err)
			}
			st := sqlDB.Stats()
			if d.Name == db.SQLite {
				if st.OpenConnections > 1 {
					t.Errorf("warming SQLite opened %d connections", st.OpenConnections)
				}
				return
			}
			if st.MaxOpenConnections != 6 || st.OpenConnections != 6 || st.Idle != 6 {
				t.Errorf("%d of %d connections open, %d idle; want all 6 open and idle", st.OpenConnections, st.MaxOpenConnections, st.Idle)
			}
			if w := db.QueueOf(gdb).Width(); w != 3 {
				t.Errorf("%d writers at once, want 3", w)
			}
		})
	}
}

// TestWarm_DoesNotWaitForAConnectionInUse: warming a pool one of whose
// connections is held opens the others, and returns.
func TestWarm_DoesNotWaitForAConnectionInUse(t *testing.T) {
	d := testenv.Postgres(t)
	gdb, err := db.OpenSized(context.Background(), d.URL, 4, 5*time.Second, testenv.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close(gdb) })
	sqlDB, err := gdb.DB()
	if err != nil {
		t.Fatal(err)
	}
	held, err := sqlDB.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = held.Close() }()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := db.Warm(ctx, gdb); err != nil {
		t.Fatalf("warming beside a held connection: %v", err)
	}
	if st := sqlDB.Stats(); st.OpenConnections != 4 || st.Idle != 3 {
		t.Errorf("%d connections open, %d idle; want 4 and 3", st.OpenConnections, st.Idle)
	}
}
