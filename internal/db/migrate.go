package db

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	"gorm.io/gorm"

	"github.com/bevis-ir/bevis/migrations"
)

// MigrationStatus is one migration and whether it has been applied.
type MigrationStatus struct {
	Version   int64
	Name      string
	Applied   bool
	AppliedAt time.Time
}

func provider(gdb *gorm.DB, log *slog.Logger) (*goose.Provider, error) {
	dialect := Dialect(gdb)
	fsys, err := migrations.FS(dialect)
	if err != nil {
		return nil, err
	}
	sqlDB, err := gdb.DB()
	if err != nil {
		return nil, err
	}
	opts := []goose.ProviderOption{goose.WithSlog(log.With("component", "migrate"))}
	gooseDialect := goose.DialectSQLite3
	if dialect == Postgres {
		gooseDialect = goose.DialectPostgres
		// Several nodes may start at once; an advisory lock lets one
		// migrate while the others wait.
		locker, err := lock.NewPostgresSessionLocker()
		if err != nil {
			return nil, err
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	return goose.NewProvider(gooseDialect, sqlDB, fsys, opts...)
}

// Migrate applies every pending migration, each in its own transaction, and
// returns the names of those applied.
func Migrate(ctx context.Context, gdb *gorm.DB, log *slog.Logger) ([]string, error) {
	p, err := provider(gdb, log)
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	results, err := p.Up(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	applied := make([]string, 0, len(results))
	for _, r := range results {
		applied = append(applied, r.Source.Path)
	}
	return applied, nil
}

// Migrations lists every known migration and whether it is applied.
func Migrations(ctx context.Context, gdb *gorm.DB, log *slog.Logger) ([]MigrationStatus, error) {
	p, err := provider(gdb, log)
	if err != nil {
		return nil, fmt.Errorf("migration status: %w", err)
	}
	st, err := p.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("migration status: %w", err)
	}
	out := make([]MigrationStatus, 0, len(st))
	for _, s := range st {
		out = append(out, MigrationStatus{
			Version: s.Source.Version, Name: s.Source.Path,
			Applied: s.State == goose.StateApplied, AppliedAt: s.AppliedAt,
		})
	}
	return out, nil
}

// MigrateDownTo undoes applied migrations newer than version, newest first,
// for backing out a release; it returns the names of those undone.
func MigrateDownTo(ctx context.Context, gdb *gorm.DB, log *slog.Logger, version int64) ([]string, error) {
	p, err := provider(gdb, log)
	if err != nil {
		return nil, fmt.Errorf("migrate down: %w", err)
	}
	results, err := p.DownTo(ctx, version)
	if err != nil {
		return nil, fmt.Errorf("migrate down: %w", err)
	}
	undone := make([]string, 0, len(results))
	for _, r := range results {
		undone = append(undone, r.Source.Path)
	}
	return undone, nil
}
