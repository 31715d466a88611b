package db

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"
	sqlite "modernc.org/sqlite"
)

// Kinds of transient database fault: the request did nothing wrong, the
// database could not serve it now, and the same request may well succeed
// in a moment (on this node or another).
const (
	// FaultConnection: the connection was refused, reset or lost.
	FaultConnection = "connection"
	// FaultTimeout: the database did not answer in time (a statement or
	// lock timeout, or a deadline of Bevis's own).
	FaultTimeout = "timeout"
	// FaultBusy: the database refused for now: SQLite's lock held past the
	// busy timeout, PostgreSQL out of connections, shutting down, or a
	// serialization failure or deadlock that a retry resolves.
	FaultBusy = "busy"
)

// Fault classifies err as a transient database fault and returns its kind,
// or "" when err is none (a constraint, a bad query, not found: errors a
// retry would meet again). It is the one place that knows what the
// drivers' transient errors look like, so the API answers every one of
// them alike (503) and never as "not signed in" or an internal error.
func Fault(err error) string {
	if err == nil {
		return ""
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgFault(pgErr.Code)
	}
	var liteErr *sqlite.Error
	if errors.As(err, &liteErr) {
		switch liteErr.Code() & 0xff { // the primary result code of an extended one
		case 5, 6: // SQLITE_BUSY, SQLITE_LOCKED
			return FaultBusy
		case 10, 13, 14: // SQLITE_IOERR, SQLITE_FULL, SQLITE_CANTOPEN
			return FaultConnection
		}
		return ""
	}
	var connectErr *pgconn.ConnectError
	var netErr net.Error
	switch {
	case pgconn.Timeout(err), errors.Is(err, context.DeadlineExceeded):
		return FaultTimeout
	case errors.As(err, &netErr) && netErr.Timeout():
		return FaultTimeout
	case errors.As(err, &connectErr), errors.As(err, &netErr),
		errors.Is(err, driver.ErrBadConn), errors.Is(err, sql.ErrConnDone), errors.Is(err, pgconn.ErrConnClosed),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE),
		pgconn.SafeToRetry(err):
		return FaultConnection
	case errors.Is(err, io.ErrUnexpectedEOF):
		// What the PostgreSQL driver returns, bare, when a pooled
		// connection was cut under a query. (A request body cut short is
		// never a database error, but Bevis maps those where it reads them.)
		return FaultConnection
	}
	return ""
}

// pgFault classifies a PostgreSQL SQLSTATE.
func pgFault(code string) string {
	switch {
	case strings.HasPrefix(code, "08"): // connection exception
		return FaultConnection
	case code == "57P01", code == "57P02", code == "57P03": // admin or crash shutdown, cannot connect now
		return FaultConnection
	case code == "57014", code == "55P03": // statement timeout (query canceled), lock not available
		return FaultTimeout
	case strings.HasPrefix(code, "53"), code == "40001", code == "40P01": // out of resources, serialization, deadlock
		return FaultBusy
	}
	return ""
}
