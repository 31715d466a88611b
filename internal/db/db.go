// Package db opens Bevis's relational database (SQLite on one machine,
// PostgreSQL past it), applies its migrations and translates its errors.
package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/libtnb/sqlite"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	moderncsqlite "modernc.org/sqlite"

	"github.com/bevis-ir/bevis/internal/config"
	"github.com/bevis-ir/bevis/internal/retry"
)

// Dialect names, as gorm reports them.
const (
	SQLite   = "sqlite"
	Postgres = "postgres"
)

// sqlitePragmas make SQLite fit for a server: WAL so readers never wait for
// the writer, foreign keys enforced, a busy timeout instead of instant
// SQLITE_BUSY, FULL sync so a committed custody event survives a power cut,
// and IMMEDIATE transactions so two writers queue instead of deadlocking on
// a lock upgrade, and a page cache of 8 MiB per connection instead of 2:
// the first page of the case list for a reader of 200 of 20,000 cases
// read some 200 scattered pages of cases and memberships, which the 2 MiB
// cache gave back to the next request to read again (BenchmarkCaseList,
// p50 5.8 ms with 2 MiB, 3.7 ms with 8 MiB; 2.7 ms among 1,000 cases). The
// cache fills only with pages read, at most 8 MiB per connection. Temporary
// storage is in memory: under group commit each writer runs in a SAVEPOINT,
// whose journal of the pages it changes spilled past 64 KiB to a temporary
// file, written by the one writer that every other waits for (opening cases
// at 16 in flight, alternating runs: 978–1,136 → 1,117–1,520/s). Sorts,
// which also keep their B-trees there now, stay small: the lists walk
// indexes in their order (TestListPlans and its kin) or sort at most the
// 1,000 cases a reader of few gathers. Times are written as text with
// nanoseconds and their zone, the form databases of earlier versions hold.
const sqlitePragmas = "_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)" +
	"&_pragma=synchronous(FULL)&_txlock=immediate&_pragma=cache_size(-8192)&_pragma=temp_store(MEMORY)" +
	"&_time_format=sqlite"

// sqliteConns bounds SQLite's connections. SQLite runs a query on the
// calling goroutine's CPU, so connections past a few per core only add
// page caches to warm, goroutines competing for the CPU (the audit writer,
// whose commits every audited read waits for, among them) and, past the
// idle ones kept, connections opened and closed again with each burst. The
// audit writer and sequencer each hold one for good.
var sqliteConns = 2 + 4*runtime.GOMAXPROCS(0)

// sqliteParams is how many parameters one SQLite statement should bind at
// most. The driver finds each parameter's argument by walking the argument
// list from its start, so binding a statement costs the square of its
// parameters: a multi-row INSERT of a few thousand binds more slowly than
// a dozen smaller ones run one after another. Measured on a 100,000-event
// timeline import (14 columns): 500 rows a statement 10,500 events/s, 128
// rows 19,500, 64 rows 21,700, 32 rows 20,700, 16 rows 19,300.
const sqliteParams = 900

// sqliteBatchRows is the rows a statement of a GORM Create of a slice on
// SQLite: the widest rows written that way have about fifteen columns.
const sqliteBatchRows = 64

// RowsPerInsert is how many rows of columns columns one multi-row INSERT on
// SQLite should write (see sqliteParams); PostgreSQL's imports use COPY.
func RowsPerInsert(columns int) int { return max(1, sqliteParams/columns) }

// Open connects to the database named by rawURL and waits up to wait for it
// to answer a ping, retrying with backoff while it is unreachable.
func Open(ctx context.Context, rawURL string, wait time.Duration, log *slog.Logger) (*gorm.DB, error) {
	return OpenSized(ctx, rawURL, config.DatabaseConnections, wait, log)
}

// OpenSized is Open with a pool of conns connections on PostgreSQL, up to
// half of them writing at once. SQLite's pool is sized for its one file
// (sqliteConns).
func OpenSized(ctx context.Context, rawURL string, conns int, wait time.Duration, log *slog.Logger) (*gorm.DB, error) {
	dialector, err := dialectorFor(rawURL)
	if err != nil {
		return nil, err
	}
	gdb, err := gorm.Open(dialector, &gorm.Config{
		TranslateError: true,
		// Open must not fail on a database still starting; the retry below waits for it.
		DisableAutomaticPing: true,
		Logger:               newLogger(log.With("component", "gorm")),
	})
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	sqlDB, err := gdb.DB()
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	sqlDB.SetConnMaxIdleTime(5 * time.Minute)
	// Keep as many connections idle as may be open: opening one (and, on
	// SQLite, setting its pragmas) costs more than most queries, and the
	// default of two idle ones made busy nodes open and close connections
	// all the time.
	// Writers queue in the process (see WriteQueue): one at a time on
	// SQLite, up to half the pool on PostgreSQL, so readers always find a
	// connection.
	width := 1
	if Dialect(gdb) == Postgres {
		conns = max(conns, 2)
		sqlDB.SetMaxOpenConns(conns)
		sqlDB.SetMaxIdleConns(conns)
		width = conns / 2
	} else {
		sqlDB.SetMaxOpenConns(sqliteConns)
		sqlDB.SetMaxIdleConns(sqliteConns)
	}
	q := NewWriteQueue(width)
	if Dialect(gdb) == SQLite {
		// A slice given to Create is written sqliteBatchRows rows a
		// statement (see RowsPerInsert).
		gdb.CreateBatchSize = sqliteBatchRows
		// SQLite flushes to disk on every COMMIT, one writer at a time:
		// several writers' transactions share one (see GroupCommit).
		q.GroupCommits(sqliteGroupCommit)
	} else {
		// PostgreSQL's 16 writers at once already share WAL flushes;
		// those that would take one lock in turn are grouped (Serial),
		// and so are writes of one statement each, to save the work of
		// a transaction apiece (RunPipelined).
		q.serial = q.newLane(postgresLaneGroupCommit)
		q.pipelined = q.newLane(postgresLaneGroupCommit)
	}
	if err := useQueue(gdb, q); err != nil {
		_ = sqlDB.Close()
		return nil, err
	}
	if err := retry.Until(ctx, wait, log, "database", func(ctx context.Context) error { return Ping(ctx, gdb) }); err != nil {
		_ = sqlDB.Close()
		return nil, err
	}
	return gdb, nil
}

func dialectorFor(rawURL string) (gorm.Dialector, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, errors.New("database URL is malformed")
	}
	switch u.Scheme {
	case "sqlite":
		path := config.SQLitePath(u)
		if path == "" {
			return nil, errors.New("sqlite URL has no path")
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("create database folder: %w", err)
		}
		if err := createOwnerOnly(path); err != nil {
			return nil, fmt.Errorf("create database file: %w", err)
		}
		// The connections keep the statements they compiled (see
		// cachingConnector). The dialector (libtnb/sqlite) syncs with
		// fdatasync, as SQLite's own builds for Linux do, and locks
		// with open-file-description locks.
		connector, err := moderncsqlite.NewConnector("file:" + path + "?" + sqlitePragmas)
		if err != nil {
			return nil, err
		}
		return sqlite.New(sqlite.Config{Conn: sql.OpenDB(cachingConnector{connector})}), nil
	case "postgres", "postgresql":
		// No JIT compilation, unless the URL asks for it: PostgreSQL
		// compiles a query whose estimated cost passes jit_above_cost,
		// and a page of a long list is estimated at the cost of the
		// whole list. The first page of the case list on 20,000 cases
		// read its 51 rows in 0.4 ms and spent 13 ms compiling.
		q := u.Query()
		if !q.Has("jit") {
			q.Set("jit", "off")
			u.RawQuery = q.Encode()
		}
		return postgres.Open(u.String()), nil
	}
	return nil, fmt.Errorf("database scheme %q is not supported", u.Scheme)
}

// createOwnerOnly makes the SQLite file at path, when it does not exist
// yet, readable by Bevis's own user alone: it holds every case. SQLite
// gives its WAL and shared-memory files the database file's mode. An
// existing file keeps the mode its operator gave it.
func createOwnerOnly(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return err
	}
	return f.Close()
}

// Dialect returns SQLite or Postgres.
func Dialect(gdb *gorm.DB) string { return gdb.Dialector.Name() }

// Ping checks that the database answers, within a short deadline so a
// readiness probe never hangs on a dead connection.
func Ping(ctx context.Context, gdb *gorm.DB) error {
	sqlDB, err := gdb.DB()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	return sqlDB.PingContext(ctx)
}

// Warm opens every connection of a PostgreSQL pool, for a server to do
// before it takes requests. Each connection opened while requests wait
// makes them wait for it (a new backend, its authentication, its first
// catalog reads), and the first requests after a start came all at once:
// in a load run, the first of 16 creations in flight waited up to 420 ms
// on a pool opening, and 95 to 150 ms on a pool opened at start. SQLite's
// connections are files opened in the process, which it leaves as they
// are.
func Warm(ctx context.Context, gdb *gorm.DB) error {
	if Dialect(gdb) != Postgres {
		return nil
	}
	sqlDB, err := gdb.DB()
	if err != nil {
		return err
	}
	var conns []*sql.Conn
	defer func() {
		for _, c := range conns {
			_ = c.Close()
		}
	}()
	// Those in use are open already; asking for them too would wait
	// until they are given back.
	st := sqlDB.Stats()
	for range st.MaxOpenConnections - st.InUse {
		c, err := sqlDB.Conn(ctx)
		if err == nil {
			err = c.PingContext(ctx)
		}
		if err != nil {
			return fmt.Errorf("open the database's connections: %w", err)
		}
		conns = append(conns, c)
	}
	return nil
}

// Close releases the connection pool, and the connections of the Serial
// and pipeline lanes (see laneConn).
func Close(gdb *gorm.DB) error {
	if q := QueueOf(gdb); q != nil {
		q.SerialLane().conn.close()
		q.PipelineLane().conn.close()
	}
	sqlDB, err := gdb.DB()
	if err != nil {
		return err
	}
	return sqlDB.Close()
}
