package testenv

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"gorm.io/gorm"
)

// Statement is one SQL statement as sent to the database, with its values.
type Statement struct {
	SQL  string
	Vars []any
}

// Queries records the SELECT statements run through gdb from the call on
// (by Find, First, Scan, Row…),
// for a test to read their plans. Stop it before gdb is used by another test.
type Queries struct {
	mu   sync.Mutex
	list []Statement
}

// RecordQueries starts recording the queries run through gdb; the
// recording stops when t ends.
func RecordQueries(t testing.TB, gdb *gorm.DB) *Queries {
	t.Helper()
	q := &Queries{}
	name := "testenv:record:" + t.Name()
	record := func(tx *gorm.DB) {
		q.mu.Lock()
		defer q.mu.Unlock()
		q.list = append(q.list, Statement{SQL: tx.Statement.SQL.String(), Vars: append([]any(nil), tx.Statement.Vars...)})
	}
	// Find and First run the query callbacks; Scan, Row and Rows the row ones.
	if err := gdb.Callback().Query().After("gorm:query").Register(name, record); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = gdb.Callback().Query().Remove(name) })
	if err := gdb.Callback().Row().After("gorm:row").Register(name, record); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = gdb.Callback().Row().Remove(name) })
	return q
}

// Reset forgets what was recorded.
func (q *Queries) Reset() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.list = nil
}

// With returns the recorded statements whose SQL contains every one of parts.
func (q *Queries) With(parts ...string) []Statement {
	q.mu.Lock()
	defer q.mu.Unlock()
	var out []Statement
next:
	for _, s := range q.list {
		for _, p := range parts {
			if !strings.Contains(s.SQL, p) {
				continue next
			}
		}
		out = append(out, s)
	}
	return out
}

// Plan returns the query plan of s on d, one line per step: SQLite's
// EXPLAIN QUERY PLAN details, or PostgreSQL's EXPLAIN text.
func Plan(t testing.TB, d Database, s Statement) []string {
	t.Helper()
	sqlDB, err := d.DB.DB()
	if err != nil {
		t.Fatal(err)
	}
	prefix := "EXPLAIN "
	if d.Name == "sqlite" {
		prefix = "EXPLAIN QUERY PLAN "
	}
	rows, err := sqlDB.QueryContext(context.Background(), prefix+s.SQL, s.Vars...)
	if err != nil {
		t.Fatalf("explain %s: %v", s.SQL, err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	depth := map[int64]int{0: -1} // SQLite: a step's depth, from its parent's
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		// SQLite: id, parent, notused, detail, indented here by depth as
		// the sqlite3 shell does; PostgreSQL: one column, indented already.
		indent := ""
		if len(vals) == 4 {
			id, parent := asInt(vals[0]), asInt(vals[1])
			depth[id] = depth[parent] + 1
			indent = strings.Repeat("  ", depth[id])
		}
		switch v := vals[len(vals)-1].(type) {
		case string:
			lines = append(lines, indent+v)
		case []byte:
			lines = append(lines, indent+string(v))
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return lines
}

// GenericPlan returns PostgreSQL's plan of s as a prepared statement's
// generic plan, the one that does not know the values, which PostgreSQL
// settles on for a statement Bevis runs again and again (the driver
// prepares them): Plan shows the plan for s's values only. s's values are
// strings and integers.
func GenericPlan(t testing.TB, d Database, s Statement) []string {
	t.Helper()
	sqlDB, err := d.DB.DB()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	conn, err := sqlDB.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		_, _ = conn.ExecContext(ctx, "RESET plan_cache_mode")
		_ = conn.Close()
	}()
	if _, err := conn.ExecContext(ctx, "SET plan_cache_mode = force_generic_plan"); err != nil {
		t.Fatal(err)
	}
	// EXPLAIN of the statement itself would plan it for the values given;
	// a statement prepared in SQL is planned as the driver's are.
	if _, err := conn.ExecContext(ctx, "PREPARE generic_probe AS "+s.SQL); err != nil {
		t.Fatal(err)
	}
	defer func() { _, _ = conn.ExecContext(ctx, "DEALLOCATE generic_probe") }()
	// EXECUTE's values as literals: PostgreSQL takes no parameters there.
	args := make([]string, len(s.Vars))
	for i, v := range s.Vars {
		switch v := v.(type) {
		case string:
			args[i] = "'" + strings.ReplaceAll(v, "'", "''") + "'"
		case int, int64:
			args[i] = fmt.Sprint(v)
		default:
			t.Fatalf("a value of type %T", v)
		}
	}
	execute := "EXPLAIN EXECUTE generic_probe"
	if len(args) > 0 {
		execute += "(" + strings.Join(args, ", ") + ")"
	}
	rows, err := conn.QueryContext(ctx, execute)
	if err != nil {
		t.Fatalf("explain %s: %v", s.SQL, err)
	}
	defer func() { _ = rows.Close() }()
	var plan []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, line)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return plan
}

func asInt(v any) int64 {
	switch n := v.(type) {
	case int64:
		return n
	case int:
		return int64(n)
	}
	return 0
}

// SortsWholeSet reports the step of plan that sorts every row the query
// selects before its LIMIT can stop it (SQLite's temporary B-tree for the
// ORDER BY of the statement itself, not of a subquery, or for its right
// part, where the index serves only the first key; a PostgreSQL Sort
// node), or "" when the plan reads rows in the order asked for.
func SortsWholeSet(plan []string) string {
	for _, l := range plan {
		trimmed := strings.TrimLeft(strings.TrimSpace(l), "-> ")
		if strings.HasPrefix(l, "USE TEMP B-TREE FOR ") && strings.HasSuffix(l, "ORDER BY") || strings.HasPrefix(trimmed, "Sort ") {
			return l
		}
	}
	return ""
}

// CheckWalksInOrder fails t, without stopping it, when the plan of s on d
// sorts the whole set it selects (see SortsWholeSet), naming the query by
// what and logging the plan.
func CheckWalksInOrder(t testing.TB, d Database, s Statement, what string) {
	t.Helper()
	plan := Plan(t, d, s)
	if step := SortsWholeSet(plan); step != "" {
		t.Errorf("%s sorts every row it selects (%s):\n%s", what, step, s.SQL)
		for _, l := range plan {
			t.Log(l)
		}
	}
}
