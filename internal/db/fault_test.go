package db_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"
	_ "modernc.org/sqlite" // the "sqlite" database/sql driver, for a second connection with a short busy timeout

	"github.com/bevis-ir/bevis/internal/db"
	"github.com/bevis-ir/bevis/internal/testenv"
)

// chain spells out err's wrapped types, for failure messages.
func chain(err error) string {
	var parts []string
	for e := err; e != nil; e = errors.Unwrap(e) {
		parts = append(parts, fmt.Sprintf("%T", e))
	}
	return strings.Join(parts, " → ")
}

func TestFault_PostgresConnectionCutAndRefused(t *testing.T) {
	d := testenv.Postgres(t)
	u, err := url.Parse(d.URL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := testenv.NewProxy(t, u.Host)
	u.Host = proxy.Addr()
	ctx := context.Background()
	gdb, err := db.Open(ctx, u.String(), 5*time.Second, testenv.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close(gdb) })
	var n int
	if err := gdb.Raw("SELECT count(*) FROM users").Scan(&n).Error; err != nil {
		t.Fatal(err)
	}

	proxy.Down() // cuts the pooled connection, then refuses new ones
	for _, what := range []string{"pooled connection cut", "connection refused"} {
		err := gdb.WithContext(ctx).Raw("SELECT count(*) FROM users").Scan(&n).Error
		if got := db.Fault(fmt.Errorf("wrapped: %w", err)); got != db.FaultConnection {
			t.Errorf("%s: Fault(%v) = %q, want %q (%s)", what, err, got, db.FaultConnection, chain(err))
		}
	}
	err = gdb.WithContext(ctx).Transaction(func(tx *gorm.DB) error { return tx.Exec("SELECT 1").Error })
	if got := db.Fault(err); got != db.FaultConnection {
		t.Errorf("transaction: Fault(%v) = %q (%s)", err, got, chain(err))
	}
	proxy.Up()
}

func TestFault_PostgresTimeoutAndNonFaults(t *testing.T) {
	d := testenv.Postgres(t)
	ctx := context.Background()
	err := d.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Exec("SET LOCAL statement_timeout = 10").Error; err != nil {
			return err
		}
		return tx.Exec("SELECT pg_sleep(1)").Error
	})
	if got := db.Fault(err); got != db.FaultTimeout {
		t.Errorf("statement timeout: Fault(%v) = %q, want %q", err, got, db.FaultTimeout)
	}
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	err = d.DB.WithContext(short).Exec("SELECT pg_sleep(1)").Error
	if got := db.Fault(err); got != db.FaultTimeout {
		t.Errorf("deadline: Fault(%v) = %q, want %q (%s)", err, got, db.FaultTimeout, chain(err))
	}
	for name, err := range map[string]error{
		"syntax":    d.DB.Exec("SELEC 1").Error,
		"not found": d.DB.Raw("SELECT id FROM users WHERE id = 'none'").Take(&struct{ ID string }{}).Error,
		"duplicate": d.DB.Exec("INSERT INTO bevis_instance (singleton, id, created_at) VALUES (1, 'x', now())").Error,
	} {
		if err == nil {
			t.Fatalf("%s: no error", name)
		}
		if got := db.Fault(err); got != "" {
			t.Errorf("%s: Fault(%v) = %q, want none: a retry would meet it again", name, err, got)
		}
	}
}

func TestFault_SQLiteBusy(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bevis.db")
	gdb, err := db.Open(context.Background(), "sqlite:"+path, 0, testenv.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close(gdb) })
	if err := gdb.Exec("CREATE TABLE t (x INTEGER)").Error; err != nil {
		t.Fatal(err)
	}
	// A second handle with a short busy timeout meets the first's write lock.
	other, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(50)&_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = other.Close() })
	err = gdb.Transaction(func(tx *gorm.DB) error {
		if err := tx.Exec("INSERT INTO t VALUES (1)").Error; err != nil {
			return err
		}
		_, err := other.Exec("INSERT INTO t VALUES (2)")
		if got := db.Fault(err); got != db.FaultBusy {
			t.Errorf("locked: Fault(%v) = %q, want %q (%s)", err, got, db.FaultBusy, chain(err))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
