package db_test

import (
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/bevis-ir/bevis/internal/db"
	"github.com/bevis-ir/bevis/internal/testenv"
)

type oneParent struct {
	ID   string `gorm:"primaryKey"`
	At   time.Time
	Note *string
	Blob []byte
}

type oneChild struct {
	ID       string `gorm:"primaryKey"`
	ParentID string
	N        int
}

// oneStatementTables makes a parent and a child table, the child's rows
// referring to the parent's and its n at most 100; sent counts the
// statements sent to the database from then on (gathered parts aside).
func oneStatementTables(t *testing.T, d testenv.Database) (sent *atomic.Int64) {
	t.Helper()
	for _, ddl := range []string{
		"CREATE TABLE one_parents (id TEXT PRIMARY KEY, at TIMESTAMP NOT NULL, note TEXT, blob BYTEA)",
		"CREATE TABLE one_children (id TEXT PRIMARY KEY, parent_id TEXT NOT NULL REFERENCES one_parents (id), n INTEGER NOT NULL CHECK (n <= 100))",
	} {
		if d.Name == db.SQLite {
			ddl = strings.ReplaceAll(ddl, "BYTEA", "BLOB")
		}
		if err := d.DB.Exec(ddl).Error; err != nil {
			t.Fatal(err)
		}
	}
	sent = &atomic.Int64{}
	count := func(tx *gorm.DB) {
		if !db.Gathered(tx) {
			sent.Add(1)
		}
	}
	cb := d.DB.Callback()
	for _, err := range []error{
		cb.Create().After("gorm:create").Register("test:sent", count),
		cb.Raw().After("gorm:raw").Register("test:sent", count),
		cb.Row().After("gorm:row").Register("test:sent", count),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	return sent
}

func oneFamily(tx *gorm.DB, id string, children ...int) error {
	note := "a note"
	if err := tx.Table("one_parents").Create(&oneParent{ID: id, At: time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC),
		Note: &note, Blob: []byte{0, 1, 2}}).Error; err != nil {
		return err
	}
	for i, n := range children {
		if err := tx.Table("one_children").Create(&oneChild{ID: fmt.Sprint(id, "-", i), ParentID: id, N: n}).Error; err != nil {
			return err
		}
	}
	// A raw statement among them, with parameters of its own.
	return tx.Exec("INSERT INTO one_parents (id, at) VALUES (?, ?)", id+"-raw", time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)).Error
}

func family(t *testing.T, d testenv.Database) string {
	t.Helper()
	var parents []oneParent
	var children []oneChild
	if err := d.DB.Table("one_parents").Order("id").Find(&parents).Error; err != nil {
		t.Fatal(err)
	}
	if err := d.DB.Table("one_children").Order("id").Find(&children).Error; err != nil {
		t.Fatal(err)
	}
	var s []string
	for _, p := range parents {
		note := "-"
		if p.Note != nil {
			note = *p.Note
		}
		s = append(s, fmt.Sprintf("%s %s %s %v", p.ID, p.At.UTC().Format(time.RFC3339), note, p.Blob))
	}
	for _, c := range children {
		s = append(s, fmt.Sprintf("%s<%s %d", c.ID, c.ParentID, c.N))
	}
	return strings.Join(s, "; ")
}

// TestAsOneStatement_WritesEveryPartInOneRoundTrip: the inserts of a
// write, a parent, its children referring to it and a raw insert, are
// written as they were given (every parameter in its place), in one
// statement on PostgreSQL and one each on SQLite.
func TestAsOneStatement_WritesEveryPartInOneRoundTrip(t *testing.T) {
	for _, d := range testenv.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			sent := oneStatementTables(t, d)
			err := d.DB.Transaction(func(tx *gorm.DB) error {
				return db.AsOneStatement(tx, func(tx *gorm.DB) error { return oneFamily(tx, "a", 7, 8) })
			})
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]int64{db.SQLite: 4, db.Postgres: 1}[d.Name]
			if n := sent.Load(); n != want {
				t.Errorf("%d statements sent, want %d", n, want)
			}
			if got, want := family(t, d), "a 2026-03-01T09:30:00Z a note [0 1 2]; a-raw 2026-03-02T00:00:00Z - []; a-0<a 7; a-1<a 8"; got != want {
				t.Errorf("written:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

// TestAsOneStatement_SplitsAWriteOfManyParts: 202 inserts go as four
// statements of at most 64 parts on PostgreSQL, all written, in order (a
// child after its parent).
func TestAsOneStatement_SplitsAWriteOfManyParts(t *testing.T) {
	for _, d := range testenv.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			sent := oneStatementTables(t, d)
			children := make([]int, 200)
			for i := range children {
				children[i] = i % 100
			}
			err := d.DB.Transaction(func(tx *gorm.DB) error {
				return db.AsOneStatement(tx, func(tx *gorm.DB) error { return oneFamily(tx, "m", children...) })
			})
			if err != nil {
				t.Fatal(err)
			}
			if want := map[string]int64{db.SQLite: 202, db.Postgres: 4}[d.Name]; sent.Load() != want {
				t.Errorf("%d statements sent, want %d", sent.Load(), want)
			}
			var n, sum int64
			if err := d.DB.Raw("SELECT COUNT(*), COALESCE(SUM(n), 0) FROM one_children").Row().Scan(&n, &sum); err != nil {
				t.Fatal(err)
			}
			if n != 200 || sum != 2*(99*100/2) {
				t.Errorf("%d children summing %d written, want 200 summing %d", n, sum, 99*100)
			}
		})
	}
}

// TestAsOneStatement_WritesNothingWhenAPartFails: a part the database
// refuses (a check, a missing parent), an error of f's own, and a part
// that would have to answer each leave nothing of the write.
func TestAsOneStatement_WritesNothingWhenAPartFails(t *testing.T) {
	own := errors.New("refused by f")
	tests := []struct {
		name     string
		write    func(tx *gorm.DB) error
		want     func(error) bool
		postgres bool // only there: SQLite runs each statement as it comes
	}{
		{"a check fails", func(tx *gorm.DB) error { return oneFamily(tx, "b", 7, 101) }, func(err error) bool { return err != nil }, false},
		{"no such parent", func(tx *gorm.DB) error {
			if err := oneFamily(tx, "b", 7); err != nil {
				return err
			}
			return tx.Table("one_children").Create(&oneChild{ID: "orphan", ParentID: "nobody", N: 1}).Error
		}, func(err error) bool { return errors.Is(err, gorm.ErrForeignKeyViolated) }, false},
		{"f fails", func(tx *gorm.DB) error {
			if err := oneFamily(tx, "b", 7); err != nil {
				return err
			}
			return own
		}, func(err error) bool { return errors.Is(err, own) }, false},
		{"a part reads", func(tx *gorm.DB) error {
			if err := oneFamily(tx, "b", 7); err != nil {
				return err
			}
			var n int
			return tx.Raw("SELECT COUNT(*) FROM one_parents").Scan(&n).Error
		}, func(err error) bool { return err != nil && strings.Contains(err.Error(), "cannot be one of several") }, true},
	}
	for _, d := range testenv.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			oneStatementTables(t, d)
			for _, tt := range tests {
				if tt.postgres && d.Name != db.Postgres {
					continue
				}
				err := d.DB.Transaction(func(tx *gorm.DB) error { return db.AsOneStatement(tx, tt.write) })
				if !tt.want(err) {
					t.Errorf("%s: %v", tt.name, err)
				}
				if got := family(t, d); got != "" {
					t.Fatalf("%s: left %s", tt.name, got)
				}
			}
		})
	}
}

// TestAsOneStatement_RefusesWhatCannotBeAPart: a statement other than an
// insert, update or delete (a savepoint of a nested transaction) is refused
// on PostgreSQL, before anything is sent.
func TestAsOneStatement_RefusesWhatCannotBeAPart(t *testing.T) {
	d := testenv.Postgres(t)
	sent := oneStatementTables(t, d)
	err := d.DB.Transaction(func(tx *gorm.DB) error {
		return db.AsOneStatement(tx, func(tx *gorm.DB) error {
			return tx.Transaction(func(tx *gorm.DB) error { return oneFamily(tx, "c", 1) })
		})
	})
	if err == nil || !strings.Contains(err.Error(), "cannot be part of one statement") {
		t.Errorf("a nested transaction in one statement: %v", err)
	}
	if n := sent.Load(); n != 0 {
		t.Errorf("%d statements sent", n)
	}
	if got := family(t, d); got != "" {
		t.Errorf("left %s", got)
	}
}

// asOneStatementAfter prepares a write of lead and f in tx and runs it
// there, as a write prepared before its transaction runs.
func asOneStatementAfter(tx *gorm.DB, lead db.Lead, f func(tx *gorm.DB) error) error {
	w, err := db.PrepareOneStatement(tx, lead, f)
	if err != nil {
		return err
	}
	return w.Run(tx)
}

// oneCounter is the lead of the tests of PrepareOneStatement: it counts
// one up and answers the parents' ID of that number, as a case's creation
// takes its reference (oneCounterTable makes its table).
func oneCounter(into *string) db.Lead {
	return db.Lead{SQL: `INSERT INTO one_counter (k, last) VALUES (?, 1)
		ON CONFLICT (k) DO UPDATE SET last = one_counter.last + 1 RETURNING 'p' || last AS id`, Vars: []any{1}, Answer: "id", Into: into}
}

// ledFamily writes a parent whose ID is the lead's answer, and children
// of it (their IDs made from prefix: a value made from the answer cannot
// be given), the last one in a raw statement.
func ledFamily(tx *gorm.DB, id, prefix string, children int) error {
	note := "a note"
	if err := tx.Table("one_parents").Create(&oneParent{ID: id, At: time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC),
		Note: &note, Blob: []byte{0, 1, 2}}).Error; err != nil {
		return err
	}
	for i := range children {
		if err := tx.Table("one_children").Create(&oneChild{ID: fmt.Sprint(prefix, i), ParentID: id, N: i % 100}).Error; err != nil {
			return err
		}
	}
	return tx.Exec("INSERT INTO one_children (id, parent_id, n) VALUES (?, ?, 100)", prefix+"last", id).Error
}

func oneCounterTable(t *testing.T, d testenv.Database) {
	t.Helper()
	if err := d.DB.Exec("CREATE TABLE one_counter (k INTEGER PRIMARY KEY, last INTEGER NOT NULL)").Error; err != nil {
		t.Fatal(err)
	}
}

// TestPrepareOneStatement_PartsReadTheLeadsAnswer: the parts f makes with
// the lead's answer get it, in every statement of a long write, all in one
// round trip with the lead on PostgreSQL (two on SQLite: the lead, then
// the parts); a lead with no parts runs too.
func TestPrepareOneStatement_PartsReadTheLeadsAnswer(t *testing.T) {
	for _, d := range testenv.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			oneCounterTable(t, d)
			sent := oneStatementTables(t, d)
			var id string
			writes := 0
			write := func(children int) error {
				writes++
				prefix := fmt.Sprint("w", writes, "-")
				return d.DB.Transaction(func(tx *gorm.DB) error {
					return asOneStatementAfter(tx, oneCounter(&id), func(tx *gorm.DB) error { return ledFamily(tx, id, prefix, children) })
				})
			}
			if err := write(2); err != nil {
				t.Fatal(err)
			}
			if id != "p1" {
				t.Errorf("answered %q, want p1", id)
			}
			if want := map[string]int64{db.SQLite: 5, db.Postgres: 1}[d.Name]; sent.Load() != want {
				t.Errorf("%d statements sent, want %d", sent.Load(), want)
			}
			want := "p1 2026-03-01T09:30:00Z a note [0 1 2]; w1-0<p1 0; w1-1<p1 1; w1-last<p1 100"
			if got := family(t, d); got != want {
				t.Errorf("written:\n%s\nwant:\n%s", got, want)
			}
			// 202 parts: four statements on PostgreSQL, the answer in each.
			sent.Store(0)
			if err := write(200); err != nil {
				t.Fatal(err)
			}
			if want := map[string]int64{db.SQLite: 203, db.Postgres: 4}[d.Name]; sent.Load() != want {
				t.Errorf("a long write: %d statements sent, want %d", sent.Load(), want)
			}
			var n int64
			if err := d.DB.Raw("SELECT COUNT(*) FROM one_children WHERE parent_id = 'p2'").Row().Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n != 201 || id != "p2" {
				t.Errorf("a long write answered %q and wrote %d children of p2, want p2 and 201", id, n)
			}
			// No parts: the lead alone.
			if err := d.DB.Transaction(func(tx *gorm.DB) error {
				return asOneStatementAfter(tx, oneCounter(&id), func(*gorm.DB) error { return nil })
			}); err != nil || id != "p3" {
				t.Errorf("a lead alone answered %q, %v; want p3", id, err)
			}
		})
	}
}

// TestPrepareOneStatement_APartFailingUndoesTheLead: when a part fails,
// the lead's change goes with it; the next write takes the number again.
func TestPrepareOneStatement_APartFailingUndoesTheLead(t *testing.T) {
	for _, d := range testenv.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			oneCounterTable(t, d)
			oneStatementTables(t, d)
			var id string
			err := d.DB.Transaction(func(tx *gorm.DB) error {
				return asOneStatementAfter(tx, oneCounter(&id), func(tx *gorm.DB) error {
					if err := ledFamily(tx, id, "a-", 1); err != nil {
						return err
					}
					return tx.Table("one_children").Create(&oneChild{ID: "too-many", ParentID: id, N: 101}).Error
				})
			})
			if err == nil {
				t.Fatal("a write with a failing part succeeded")
			}
			if got := family(t, d); got != "" {
				t.Fatalf("left %s", got)
			}
			err = d.DB.Transaction(func(tx *gorm.DB) error {
				return asOneStatementAfter(tx, oneCounter(&id), func(tx *gorm.DB) error { return ledFamily(tx, id, "b-", 0) })
			})
			if err != nil || id != "p1" {
				t.Errorf("the next write answered %q, %v; want p1, the number given back", id, err)
			}
		})
	}
}

// TestPrepareOneStatement_RefusesAValueMadeFromTheAnswer: on PostgreSQL the
// answer is not known while f runs, so a value f makes from it (not the
// answer itself) is refused, before anything is sent.
func TestPrepareOneStatement_RefusesAValueMadeFromTheAnswer(t *testing.T) {
	d := testenv.Postgres(t)
	oneCounterTable(t, d)
	sent := oneStatementTables(t, d)
	var id string
	err := d.DB.Transaction(func(tx *gorm.DB) error {
		return asOneStatementAfter(tx, oneCounter(&id), func(tx *gorm.DB) error { return oneFamily(tx, id, 1) })
	})
	if err == nil || !strings.Contains(err.Error(), "made from") {
		t.Fatalf("a value made from the answer: %v, want it refused", err)
	}
	if n := sent.Load(); n != 0 {
		t.Errorf("%d statements sent", n)
	}
}

// TestPrepareOneStatement_SendsNothingUntilRun: a write prepared outside
// any transaction sends nothing; run in one, it writes what one prepared in
// the transaction does, in one round trip on PostgreSQL.
func TestPrepareOneStatement_SendsNothingUntilRun(t *testing.T) {
	for _, d := range testenv.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			oneCounterTable(t, d)
			sent := oneStatementTables(t, d)
			var id string
			w, err := db.PrepareOneStatement(d.DB, oneCounter(&id), func(tx *gorm.DB) error { return ledFamily(tx, id, "w-", 1) })
			if err != nil {
				t.Fatal(err)
			}
			if n := sent.Load(); n != 0 {
				t.Fatalf("preparing sent %d statements", n)
			}
			if err := d.DB.Transaction(w.Run); err != nil {
				t.Fatal(err)
			}
			if want := map[string]int64{db.SQLite: 4, db.Postgres: 1}[d.Name]; sent.Load() != want {
				t.Errorf("%d statements sent, want %d", sent.Load(), want)
			}
			if got, want := family(t, d), "p1 2026-03-01T09:30:00Z a note [0 1 2]; w-0<p1 0; w-last<p1 100"; id != "p1" || got != want {
				t.Errorf("answered %q and wrote:\n%s\nwant p1 and:\n%s", id, got, want)
			}
		})
	}
}
