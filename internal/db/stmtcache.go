package db

import (
	"context"
	"database/sql/driver"
	"errors"
)

// SQLite compiles the SQL of a statement into a program before it runs it,
// and the driver keeps that program only for a statement prepared first:
// a query run on the connection directly is compiled again every time.
// Bevis runs the same few hundred statements over and over, so compiling
// them was most of what SQLite did: a fifth of the CPU of the one writer
// opening cases, a sixth of the API tests'. Every connection keeps the
// programs of the statements it ran last (stmtCacheSize of them), and runs
// a statement it has seen with its program.
//
// PostgreSQL's driver (pgx) keeps the statements it prepared on its own.

// stmtCacheSize bounds the statements one connection keeps. Statements that
// list a variable number of values (IN (?, ?, …)) are many; those used on
// every request are few, and kept because they are used last.
const stmtCacheSize = 256

// cachingConnector opens connections that keep their compiled statements.
type cachingConnector struct {
	driver.Connector
}

func (c cachingConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	cc := &cachingConn{Conn: conn, stmts: map[string]*cachedStmt{}}
	if !as(conn, &cc.beginTx) || !as(conn, &cc.prepare) || !as(conn, &cc.exec) || !as(conn, &cc.query) ||
		!as(conn, &cc.ping) || !as(conn, &cc.reset) || !as(conn, &cc.valid) {
		_ = conn.Close()
		return nil, errors.New("database: the SQLite driver's connection lacks an interface the statement cache forwards")
	}
	return cc, nil
}

// as sets *to to v as a T, reporting whether v is one.
func as[T any](v any, to *T) bool {
	t, ok := v.(T)
	*to = t
	return ok
}

// cachingConn is a connection keeping its compiled statements. database/sql
// uses a connection from one goroutine at a time, so it needs no lock.
type cachingConn struct {
	driver.Conn
	// The connection's optional interfaces, which it forwards.
	beginTx driver.ConnBeginTx
	prepare driver.ConnPrepareContext
	exec    driver.ExecerContext
	query   driver.QueryerContext
	ping    driver.Pinger
	reset   driver.SessionResetter
	valid   driver.Validator

	stmts map[string]*cachedStmt // by SQL
	ticks uint64                 // statements run, the clock of lastUsed
}

// cachedStmt is a compiled statement; busy while rows it returned are open,
// when the same SQL runs compiled afresh instead.
type cachedStmt struct {
	query    string
	stmt     driver.Stmt
	exec     driver.StmtExecContext
	rows     driver.StmtQueryContext
	busy     bool
	lastUsed uint64
}

var (
	_ driver.ConnBeginTx        = (*cachingConn)(nil)
	_ driver.ConnPrepareContext = (*cachingConn)(nil)
	_ driver.ExecerContext      = (*cachingConn)(nil)
	_ driver.QueryerContext     = (*cachingConn)(nil)
	_ driver.Pinger             = (*cachingConn)(nil)
	_ driver.SessionResetter    = (*cachingConn)(nil)
	_ driver.Validator          = (*cachingConn)(nil)
)

// Unwrap returns the driver's own connection.
func (c *cachingConn) Unwrap() driver.Conn { return c.Conn }

func (c *cachingConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	return c.beginTx.BeginTx(ctx, opts)
}

func (c *cachingConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	return c.prepare.PrepareContext(ctx, query)
}

func (c *cachingConn) Ping(ctx context.Context) error { return c.ping.Ping(ctx) }

func (c *cachingConn) ResetSession(ctx context.Context) error { return c.reset.ResetSession(ctx) }

func (c *cachingConn) IsValid() bool { return c.valid.IsValid() }

// stmt returns the compiled statement of query, compiling and keeping it
// the first time, or nil when it is in use (or fails to compile: running it
// uncompiled then reports the error).
func (c *cachingConn) stmt(ctx context.Context, query string) *cachedStmt {
	c.ticks++
	if s, ok := c.stmts[query]; ok {
		s.lastUsed = c.ticks
		if s.busy {
			return nil
		}
		return s
	}
	st, err := c.prepare.PrepareContext(ctx, query)
	if err != nil {
		return nil
	}
	s := &cachedStmt{query: query, stmt: st, lastUsed: c.ticks}
	if !as(st, &s.exec) || !as(st, &s.rows) {
		_ = st.Close()
		return nil
	}
	if len(c.stmts) >= stmtCacheSize {
		c.evict()
	}
	c.stmts[query] = s
	return s
}

// evict closes the statement used longest ago, unless every one is in use.
// It runs only when a statement new to a full cache arrives, and costs a
// pass over the cache: compiling the new one costs more.
func (c *cachingConn) evict() {
	var oldest *cachedStmt
	for _, s := range c.stmts {
		if !s.busy && (oldest == nil || s.lastUsed < oldest.lastUsed) {
			oldest = s
		}
	}
	if oldest != nil {
		_ = oldest.stmt.Close()
		delete(c.stmts, oldest.query)
	}
}

func (c *cachingConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	if s := c.stmt(ctx, query); s != nil {
		return s.exec.ExecContext(ctx, args)
	}
	return c.exec.ExecContext(ctx, query, args)
}

func (c *cachingConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	s := c.stmt(ctx, query)
	if s == nil {
		return c.query.QueryContext(ctx, query, args)
	}
	rows, err := s.rows.QueryContext(ctx, args)
	if err != nil {
		return nil, err
	}
	typed, ok := rows.(driverRows)
	if !ok {
		_ = rows.Close()
		return nil, errors.New("database: the SQLite driver's rows lack the column types")
	}
	s.busy = true
	return &cachedRows{driverRows: typed, s: s}, nil
}

// Close closes the kept statements, then the connection.
func (c *cachingConn) Close() error {
	for _, s := range c.stmts {
		_ = s.stmt.Close()
	}
	c.stmts = nil
	return c.Conn.Close()
}

// driverRows are the SQLite driver's rows, with the column types that
// database/sql and gorm ask of them.
type driverRows interface {
	driver.Rows
	driver.RowsColumnTypeDatabaseTypeName
	driver.RowsColumnTypeLength
	driver.RowsColumnTypeNullable
	driver.RowsColumnTypePrecisionScale
	driver.RowsColumnTypeScanType
}

// cachedRows are the rows of a kept statement, which is free again once
// they are closed.
type cachedRows struct {
	driverRows
	s *cachedStmt
}

func (r *cachedRows) Close() error {
	err := r.driverRows.Close()
	r.s.busy = false
	return err
}
