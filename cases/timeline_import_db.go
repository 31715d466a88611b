package cases

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"gorm.io/gorm"

	"github.com/bevis-ir/bevis/audit"
	"github.com/bevis-ir/bevis/internal/db"
)

// importColumns are the timeline_events columns an import writes; the
// others keep their defaults.
var importColumns = []string{"id", "case_id", "occurred_at", "source_timezone", "recorded_at", "recorded_by",
	"source_host", "source_log", "source_system", "actor", "description", "tags", "tlp", "import_id"}

func importValues(r *eventRow, dst []any) []any {
	return append(dst, r.ID, r.CaseID, r.OccurredAt, r.SourceTimezone, r.RecordedAt, r.RecordedBy,
		r.SourceHost, r.SourceLog, r.SourceSystem, r.Actor, r.Description, r.Tags, r.TLP, r.ImportID)
}

// copyPostgres streams the rows into timeline_events with COPY, inside one
// transaction that also writes the import record and the tallies, on a
// connection taken from the pool for the purpose.
func (t *Timeline) copyPostgres(ctx context.Context, src *importSource, finish func() importRow) error {
	sqlDB, err := t.db.DB()
	if err != nil {
		return err
	}
	conn, err := sqlDB.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(driverConn any) error {
		sc, ok := driverConn.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("cases: import: the PostgreSQL driver is %T, not pgx", driverConn)
		}
		tx, err := sc.Conn().Begin(ctx)
		if err != nil {
			return err
		}
		defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }() // after Commit, a no-op
		// The rows go in as COPYs of up to tallyFlushKeys groups of the
		// tallies each: the connection is busy while a COPY runs, so the
		// groups are written between them.
		change := newTally(src.template.CaseID)
		exec := func(ctx context.Context, query string, args ...any) (int64, error) {
			tag, err := tx.Exec(ctx, dollarPlaceholders(query), args...)
			return tag.RowsAffected(), err
		}
		for {
			cs := &copySource{src: src, tally: change}
			_, copyErr := tx.CopyFrom(ctx, pgx.Identifier{"timeline_events"}, importColumns, cs)
			if err := src.err(); err != nil {
				return err
			}
			if copyErr != nil {
				return copyErr
			}
			if err := change.write(ctx, db.Postgres, exec); err != nil {
				return err
			}
			if !cs.paused {
				break
			}
		}
		rec := finish()
		if rec.Status == string(ImportCompleted) {
			query, args, err := audit.ChangeStatement(ctx, "cases.timeline.imports.post", "timeline_imports", rec.ID, rec.CaseID)
			if err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, query, args...); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, `INSERT INTO timeline_imports (id, case_id, format, status, tlp, file_sha256,
			bytes_read, rows_read, events_imported, rows_rejected, rejections, failure, created_by, started_at, finished_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
			rec.ID, rec.CaseID, rec.Format, rec.Status, rec.TLP, rec.FileSHA256, rec.BytesRead, rec.RowsRead,
			rec.EventsImported, rec.RowsRejected, rec.Rejections, rec.Failure, rec.CreatedBy, rec.StartedAt,
			rec.FinishedAt); err != nil {
			return err
		}
		return tx.Commit(ctx)
	})
}

// copySource feeds COPY one row at a time, counting each in the tally; it
// pauses the COPY when the tally holds as many groups as it may.
type copySource struct {
	src    *importSource
	tally  *tally
	values []any
	paused bool
}

func (c *copySource) Next() bool {
	if c.tally.full() {
		c.paused = true
		return false
	}
	if !c.src.next() {
		return false
	}
	c.tally.add(&c.src.row)
	return true
}

func (c *copySource) Values() ([]any, error) {
	c.values = importValues(&c.src.row, c.values[:0])
	return c.values, nil
}

func (c *copySource) Err() error { return c.src.err() }

// insertBatch is how many rows one SQLite INSERT writes: few enough
// parameters that the driver binds them fast (db.RowsPerInsert).
var insertBatch = db.RowsPerInsert(len(importColumns))

// insertSQLite writes the rows with a prepared multi-row INSERT, all in
// one transaction that also writes the import record and the tallies.
func (t *Timeline) insertSQLite(ctx context.Context, src *importSource, finish func() importRow) error {
	// Alone: the transaction holds the write lock while the file arrives;
	// writers grouped before it would wait for it to commit.
	return t.db.WithContext(db.Alone(ctx)).Transaction(func(tx *gorm.DB) error {
		ins, err := newBatchInserter(ctx, tx.Statement.ConnPool, importColumns, importValues)
		if err != nil {
			return err
		}
		defer ins.close()
		change := newTally(src.template.CaseID)
		exec := gormExec(tx)
		for src.next() {
			if err := ins.add(&src.row); err != nil {
				return err
			}
			if change.add(&src.row); change.full() {
				if err := change.write(ctx, db.SQLite, exec); err != nil {
					return err
				}
			}
		}
		if err := src.err(); err != nil {
			return err
		}
		if err := ins.flush(); err != nil {
			return err
		}
		if err := change.write(ctx, db.SQLite, exec); err != nil {
			return err
		}
		rec := finish()
		if rec.Status == string(ImportCompleted) {
			if err := recordChange(ctx, tx, "cases.timeline.imports.post", "timeline_imports", rec.ID, rec.CaseID); err != nil {
				return err
			}
		}
		return tx.Create(&rec).Error
	})
}

// batchInserter writes event rows insertBatch at a time through one
// prepared statement.
type batchInserter struct {
	ctx      context.Context
	pool     gorm.ConnPool
	columns  []string
	valuesOf func(*eventRow, []any) []any
	full     *sql.Stmt
	args     []any
	rows     int
}

func newBatchInserter(ctx context.Context, pool gorm.ConnPool, columns []string,
	valuesOf func(*eventRow, []any) []any) (*batchInserter, error) {
	stmt, err := pool.PrepareContext(ctx, insertSQL(columns, insertBatch))
	if err != nil {
		return nil, err
	}
	return &batchInserter{ctx: ctx, pool: pool, columns: columns, valuesOf: valuesOf, full: stmt,
		args: make([]any, 0, insertBatch*len(columns))}, nil
}

func (b *batchInserter) add(r *eventRow) error {
	b.args = b.valuesOf(r, b.args)
	b.rows++
	if b.rows < insertBatch {
		return nil
	}
	_, err := b.full.ExecContext(b.ctx, b.args...)
	b.args, b.rows = b.args[:0], 0
	return err
}

func (b *batchInserter) flush() error {
	if b.rows == 0 {
		return nil
	}
	_, err := b.pool.ExecContext(b.ctx, insertSQL(b.columns, b.rows), b.args...)
	b.args, b.rows = b.args[:0], 0
	return err
}

func (b *batchInserter) close() { _ = b.full.Close() }

func insertSQL(columns []string, rows int) string {
	one := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(columns)), ", ") + ")"
	values := strings.TrimSuffix(strings.Repeat(one+", ", rows), ", ")
	return "INSERT INTO timeline_events (" + strings.Join(columns, ", ") + ") VALUES " + values
}
