package db

import (
	"cmp"
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"gorm.io/gorm"
)

// errAnswerInOneStatement refuses a statement that must answer (a query, or
// an insert that reads back what the database gave the row) among those
// run as one statement: none of them is run before all are.
var errAnswerInOneStatement = errors.New("database: a statement that answers cannot be one of several run as one")

// AsOneStatement runs the inserts f makes in tx (a transaction) as one
// statement on PostgreSQL: each is a part of one WITH query, which
// PostgreSQL runs all or none of, in one round trip instead of one each. On
// SQLite, whose statements cost no round trip, f simply runs in tx.
//
// f must use only what it is given, and only for statements whose results
// it does not read: none runs until f returns, each is told it changed no
// row, and one that must answer (a query, or an insert whose row reads
// back a value the database gives it) fails with an error. The parts run
// under one snapshot, so none sees another's rows; foreign keys are checked
// once all have run, so a part may refer to a row another part inserts.
func AsOneStatement(tx *gorm.DB, f func(tx *gorm.DB) error) error {
	if Dialect(tx) != Postgres {
		return f(tx)
	}
	parts, err := gather(tx, f)
	if err != nil {
		return err
	}
	for _, st := range parts.statements(Lead{}) {
		if err := tx.Exec(st.sql, st.vars...).Error; err != nil {
			return err
		}
	}
	return nil
}

// Lead is a statement whose answer the inserts of a PrepareOneStatement
// write need: an INSERT … RETURNING, say, of one row.
type Lead struct {
	SQL  string // with ? placeholders, answering one row of one column
	Vars []any
	// Answer names that column (AS … in SQL); it is scanned into Into.
	Answer string
	Into   *string
}

// leadMarker stands for lead's answer among the values of f's parts
// while they are gathered: no value Bevis writes holds a NUL.
const leadMarker = "\x00bevis:lead\x00"

// Prepared is a write made ready by PrepareOneStatement.
type Prepared struct {
	lead  Lead
	f     func(tx *gorm.DB) error
	stmts []statementPart // PostgreSQL's, built; nil on SQLite
}

// PrepareOneStatement makes ready a write of lead, then the inserts f
// makes (as AsOneStatement does), sending nothing; Run sends it, once, in
// a transaction, and f reads lead's answer from *lead.Into.
//
// On PostgreSQL lead is the first part of the write's one statement,
// which answers lead's answer: one round trip for both. f runs now, on a
// session of gdb (which needs no transaction), so that a write whose turn
// others wait for (db.Serial) spends its turn on the round trip alone.
// Its parts are built before lead has run, so *lead.Into is a marker when
// f runs, and a part's value that is the marker becomes lead's answer,
// read in the statement (or, in a later statement of a long write, the
// answer as lead gave it); a value made from the marker is refused. On
// SQLite, where statements run as they are made, Run runs lead, then f.
func PrepareOneStatement(gdb *gorm.DB, lead Lead, f func(tx *gorm.DB) error) (*Prepared, error) {
	w := &Prepared{lead: lead, f: f}
	if Dialect(gdb) != Postgres {
		return w, nil
	}
	*lead.Into = leadMarker
	parts, err := gather(gdb, f)
	if err != nil {
		return nil, err
	}
	w.stmts = parts.statements(lead)
	return w, nil
}

// Run sends the prepared write in tx, a transaction, and sets
// *lead.Into to lead's answer.
func (w *Prepared) Run(tx *gorm.DB) error {
	lead := w.lead
	if w.stmts == nil {
		if err := tx.Raw(lead.SQL, lead.Vars...).Row().Scan(lead.Into); err != nil {
			return err
		}
		return w.f(tx)
	}
	for i, st := range w.stmts {
		if i == 0 {
			if err := tx.Raw(st.sql, st.vars...).Row().Scan(lead.Into); err != nil {
				return err
			}
			continue
		}
		vars := slices.Clone(st.vars)
		for j, v := range vars {
			if v == leadMarker {
				vars[j] = *lead.Into
			}
		}
		if err := tx.Exec(st.sql, vars...).Error; err != nil {
			return err
		}
	}
	return nil
}

// gather runs f on a session of tx that keeps the statements f makes.
func gather(tx *gorm.DB, f func(tx *gorm.DB) error) (*statementParts, error) {
	parts := &statementParts{}
	// A session given a context has a statement of its own, whose pool
	// can be changed without changing tx's.
	gathering := tx.Session(&gorm.Session{Context: cmp.Or(tx.Statement.Context, context.Background())})
	gathering.Statement.ConnPool = parts
	// A refusal stands even if f did not hear of it (GORM's PostgreSQL
	// dialector drops the error of a nested transaction's SAVEPOINT).
	if err := cmp.Or(f(gathering), parts.refused); err != nil {
		return nil, err
	}
	return parts, nil
}

// Gathered reports whether a statement GORM built in tx is a part of one
// to come (AsOneStatement), not sent on its own: for whoever counts
// round trips.
func Gathered(tx *gorm.DB) bool {
	_, ok := tx.Statement.ConnPool.(*statementParts)
	return ok
}

// statementParts is the connection pool AsOneStatement gives f: it keeps
// the statements instead of running them.
type statementParts struct {
	parts   []statementPart
	refused error // the first statement refused
}

type statementPart struct {
	sql  string
	vars []any
}

func (p *statementParts) refuse(err error) error {
	p.refused = cmp.Or(p.refused, err)
	return err
}

// ExecContext keeps a statement, its parameters written ? again for the
// WITH query (gorm's Exec numbers them anew): GORM numbers them in the
// order they appear, which is checked.
func (p *statementParts) ExecContext(_ context.Context, query string, args ...any) (sql.Result, error) {
	if verb, _, _ := strings.Cut(strings.TrimSpace(query), " "); !slices.Contains([]string{"INSERT", "UPDATE", "DELETE"}, strings.ToUpper(verb)) {
		return nil, p.refuse(fmt.Errorf("database: %.16q cannot be part of one statement: only inserts, updates and deletes can", query))
	}
	n := 0
	var err error
	part := eachParameter(query, '$', func(digits string) string {
		n++
		if digits != strconv.Itoa(n) {
			err = fmt.Errorf("database: parameter $%s where $%d was due, in a part of one statement", digits, n)
		}
		return "?"
	})
	if err != nil || n != len(args) {
		return nil, p.refuse(cmp.Or(err, fmt.Errorf("database: %d parameters for %d values, in a part of one statement", n, len(args))))
	}
	// gorm's Exec would spell a list out as (?, ?, …).
	for _, a := range args {
		if v, ok := a.(string); ok && v != leadMarker && strings.Contains(v, leadMarker) {
			return nil, p.refuse(errors.New("database: a value made from a lead's answer, in a part of one statement: only the answer itself can be given"))
		}
		if k := reflect.ValueOf(a).Kind(); (k == reflect.Slice || k == reflect.Array) && reflect.TypeOf(a) != reflect.TypeFor[[]byte]() {
			return nil, p.refuse(fmt.Errorf("database: a list (%T) as one parameter, in a part of one statement", a))
		}
	}
	p.parts = append(p.parts, statementPart{part, args})
	return driver.RowsAffected(0), nil
}

// Commit and Rollback make f's session one in a transaction already (tx's):
// GORM begins none of its own for a Create, which would end the gathering.
func (p *statementParts) Commit() error   { return nil }
func (p *statementParts) Rollback() error { return nil }

func (p *statementParts) PrepareContext(context.Context, string) (*sql.Stmt, error) {
	return nil, p.refuse(errAnswerInOneStatement)
}

func (p *statementParts) QueryContext(context.Context, string, ...any) (*sql.Rows, error) {
	return nil, p.refuse(errAnswerInOneStatement)
}

// QueryRowContext cannot refuse with an error of its own: a Row carries
// only the error of its query. GORM asks for one only for Row(), which a
// part has no use for.
func (p *statementParts) QueryRowContext(context.Context, string, ...any) *sql.Row {
	panic(errAnswerInOneStatement)
}

// A WITH query holds at most partsPerStatement parts and paramsPerStatement
// parameters (PostgreSQL takes 65,535): a case opened from a template of
// 50 tasks of 100 checklist items each is 5,000 inserts, whose one
// statement would take longer to plan than to run. Those of a write run
// in its transaction, one after another.
const (
	partsPerStatement  = 64
	paramsPerStatement = 30_000
)

// statements are the parts as WITH queries (the last part of each its main
// statement), in order. With a lead (lead.SQL not empty), the first begins
// with it as the part named lead, every part of it is a part of the WITH,
// the main statement answers lead's answer, and a value of a part that is
// leadMarker reads that answer from lead.
func (p *statementParts) statements(lead Lead) []statementPart {
	var out []statementPart
	var b strings.Builder
	size := len(lead.SQL) + 64
	for _, part := range p.parts {
		size += len(part.sql) + 32
	}
	b.Grow(size)
	var vars []any
	n := 0
	led := lead.SQL != ""
	if led {
		b.WriteString("WITH lead AS (" + lead.SQL + ")")
		vars = append(vars, lead.Vars...)
	}
	fromLead := "(SELECT " + lead.Answer + " FROM lead)"
	flush := func(last statementPart) {
		if led {
			b.WriteString(", p" + strconv.Itoa(n) + " AS (" + readLead(last, fromLead, &vars) + ") SELECT " + lead.Answer + " FROM lead")
			led = false
		} else {
			if n > 0 {
				b.WriteString(" ")
			}
			b.WriteString(last.sql)
			vars = append(vars, last.vars...)
		}
		out = append(out, statementPart{b.String(), vars})
		b.Reset()
		vars, n = nil, 0
	}
	if led && len(p.parts) == 0 {
		return []statementPart{{b.String() + " SELECT " + lead.Answer + " FROM lead", vars}}
	}
	for i, part := range p.parts {
		end := i == len(p.parts)-1
		if end || n+1 == partsPerStatement || len(vars)+len(part.vars)+len(p.parts[i+1].vars) > paramsPerStatement {
			flush(part)
			continue
		}
		if n == 0 && !led {
			b.WriteString("WITH ")
		} else {
			b.WriteString(", ")
		}
		sql := part.sql
		if led {
			sql = readLead(part, fromLead, &vars)
		} else {
			vars = append(vars, part.vars...)
		}
		b.WriteString("p" + strconv.Itoa(n) + " AS (" + sql + ")")
		n++
	}
	return out
}

// readLead returns part's SQL with each parameter whose value is
// leadMarker replaced by fromLead, appending the other values to vars.
func readLead(part statementPart, fromLead string, vars *[]any) string {
	i := 0
	return eachParameter(part.sql, '?', func(string) string {
		v := part.vars[i]
		i++
		if v == leadMarker {
			return fromLead
		}
		*vars = append(*vars, v)
		return "?"
	})
}

// eachParameter returns query with each parameter replaced by what
// replace gives for it: a parameter is mark followed by its digits ($1, as
// GORM writes PostgreSQL's), or mark alone when it is '?' (as a part's are
// written by ExecContext). The statements GORM builds hold no string
// literals for one to hide in.
func eachParameter(query string, mark byte, replace func(digits string) string) string {
	var b strings.Builder
	b.Grow(len(query) + len(query)/8)
	for {
		i := strings.IndexByte(query, mark)
		if i < 0 {
			b.WriteString(query)
			return b.String()
		}
		b.WriteString(query[:i])
		j := i + 1
		for mark != '?' && j < len(query) && query[j] >= '0' && query[j] <= '9' {
			j++
		}
		if mark != '?' && j == i+1 { // a $ that is not a parameter
			b.WriteByte(mark)
		} else {
			b.WriteString(replace(query[i+1 : j]))
		}
		query = query[j:]
	}
}
