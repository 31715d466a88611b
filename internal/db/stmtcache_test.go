package db

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// oneConn opens SQLite as Bevis does and returns one connection of its
// pool, with its statement cache.
func oneConn(t *testing.T) (*sql.Conn, func() *cachingConn) {
	t.Helper()
	ctx := context.Background()
	gdb, err := Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "bevis.db"), 5*time.Second, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = Close(gdb) })
	sqlDB, err := gdb.DB()
	if err != nil {
		t.Fatal(err)
	}
	conn, err := sqlDB.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	if _, err := conn.ExecContext(ctx, "CREATE TABLE probe (n INTEGER NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	cache := func() *cachingConn {
		var c *cachingConn
		if err := conn.Raw(func(dc any) error { c = dc.(*cachingConn); return nil }); err != nil {
			t.Fatal(err)
		}
		return c
	}
	return conn, cache
}

func ints(t *testing.T, rows *sql.Rows) []int {
	t.Helper()
	var out []int
	for rows.Next() {
		var n int
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		out = append(out, n)
	}
	if err := rows.Close(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestStatementCache_CompilesAStatementOncePerConnection(t *testing.T) {
	ctx := context.Background()
	conn, cache := oneConn(t)
	const insert, sum = "INSERT INTO probe (n) VALUES (?)", "SELECT sum(n) FROM probe"
	var kept *cachedStmt
	for i := range 5 {
		if _, err := conn.ExecContext(ctx, insert, i); err != nil {
			t.Fatal(err)
		}
		s, ok := cache().stmts[insert]
		if !ok {
			t.Fatalf("run %d: the insert is not kept", i)
		}
		if kept != nil && s != kept {
			t.Fatalf("run %d: the insert was compiled again", i)
		}
		kept = s
		var got int
		if err := conn.QueryRowContext(ctx, sum).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if want := i * (i + 1) / 2; got != want {
			t.Fatalf("run %d: sum %d, want %d", i, got, want)
		}
	}
	if cache().stmts[sum].busy {
		t.Fatal("the sum's statement is still marked in use after its row was read")
	}
}

// A statement whose rows are open is not run again under them: the same
// SQL runs compiled afresh, and both give their own rows.
func TestStatementCache_ASQLRunWhileItsRowsAreOpenGetsItsOwn(t *testing.T) {
	ctx := context.Background()
	conn, _ := oneConn(t)
	for i := range 3 {
		if _, err := conn.ExecContext(ctx, "INSERT INTO probe (n) VALUES (?)", i); err != nil {
			t.Fatal(err)
		}
	}
	const above = "SELECT n FROM probe WHERE n >= ? ORDER BY n"
	outer, err := conn.QueryContext(ctx, above, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !outer.Next() {
		t.Fatal("no first row")
	}
	inner, err := conn.QueryContext(ctx, above, 1)
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(ints(t, inner)); got != "[1 2]" {
		t.Fatalf("inner rows %s, want [1 2]", got)
	}
	var first int
	if err := outer.Scan(&first); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(append([]int{first}, ints(t, outer)...)); got != "[0 1 2]" {
		t.Fatalf("outer rows %s, want [0 1 2]", got)
	}
}

func TestStatementCache_KeepsAtMostItsSizeAndReportsBadSQL(t *testing.T) {
	ctx := context.Background()
	conn, cache := oneConn(t)
	for i := range stmtCacheSize + 40 {
		if _, err := conn.ExecContext(ctx, fmt.Sprintf("INSERT INTO probe (n) VALUES (%d)", i)); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(cache().stmts); n != stmtCacheSize {
		t.Fatalf("%d statements kept, want %d", n, stmtCacheSize)
	}
	for i := range 40 {
		if _, ok := cache().stmts[fmt.Sprintf("INSERT INTO probe (n) VALUES (%d)", i)]; ok {
			t.Fatalf("statement %d, among those used longest ago, is still kept", i)
		}
	}
	var count int
	if err := conn.QueryRowContext(ctx, "SELECT count(*) FROM probe").Scan(&count); err != nil || count != stmtCacheSize+40 {
		t.Fatalf("%d rows (%v), want %d", count, err, stmtCacheSize+40)
	}
	_, err := conn.ExecContext(ctx, "INSERT INTO probe (n) VALUSE (1)")
	if err == nil || !strings.Contains(err.Error(), "syntax error") {
		t.Fatalf("bad SQL: %v, want SQLite's syntax error", err)
	}
	if _, ok := cache().stmts["INSERT INTO probe (n) VALUSE (1)"]; ok {
		t.Fatal("a statement that did not compile is kept")
	}
}

// A kept statement follows the schema: SQLite compiles it again when a
// table it reads changed.
func TestStatementCache_AKeptStatementSeesASchemaChange(t *testing.T) {
	ctx := context.Background()
	conn, _ := oneConn(t)
	if _, err := conn.ExecContext(ctx, "INSERT INTO probe (n) VALUES (7)"); err != nil {
		t.Fatal(err)
	}
	columns := func() string {
		rows, err := conn.QueryContext(ctx, "SELECT * FROM probe")
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = rows.Close() }()
		cols, err := rows.Columns()
		if err != nil {
			t.Fatal(err)
		}
		return strings.Join(cols, ",")
	}
	if got := columns(); got != "n" {
		t.Fatalf("columns %s, want n", got)
	}
	if _, err := conn.ExecContext(ctx, "ALTER TABLE probe ADD COLUMN note TEXT"); err != nil {
		t.Fatal(err)
	}
	if got := columns(); got != "n,note" {
		t.Fatalf("columns after ALTER TABLE %s, want n,note", got)
	}
}
