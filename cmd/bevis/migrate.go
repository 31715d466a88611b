package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/bevis-ir/bevis/internal/db"
)

const migrateUsage = "usage: bevis migrate up|status|down-to VERSION [options]"

// migrate runs `bevis migrate up|status|down-to VERSION [options]`.
// down-to backs out the migrations newer than VERSION, for returning to
// an older release; take a backup first, as it drops their tables.
func migrate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "up" && args[0] != "status" && args[0] != "down-to") {
		return &usageError{migrateUsage}
	}
	action, rest := args[0], args[1:]
	var target int64
	if action == "down-to" {
		if helpAsked(rest) {
			_, err := fmt.Fprintln(stdout, migrateUsage+"\ndown-to undoes the migrations newer than VERSION (back up first: it drops their tables); the options are those of migrate up.")
			return err
		}
		if len(rest) == 0 {
			return &usageError{migrateUsage}
		}
		v, err := strconv.ParseInt(rest[0], 10, 64)
		if err != nil || v < 0 {
			return &usageError{"bevis migrate down-to: VERSION must be a migration number, like 3"}
		}
		target, rest = v, rest[1:]
	}
	cfg, ok, err := loadConfig("migrate "+action, rest, getenv, stdout)
	if !ok {
		return err
	}
	log := newLogger(cfg, stderr)
	gdb, err := db.Open(ctx, cfg.DatabaseURL, cfg.StartupTimeout, log)
	if err != nil {
		return err
	}
	defer db.Close(gdb)

	if action == "down-to" {
		undone, err := db.MigrateDownTo(ctx, gdb, log, target)
		if err != nil {
			return err
		}
		for _, name := range undone {
			fmt.Fprintln(stdout, "undone", name)
		}
		fmt.Fprintf(stdout, "%d migration(s) undone; the %s database is at version %d\n", len(undone), db.Dialect(gdb), target)
		return nil
	}
	if action == "up" {
		applied, err := db.Migrate(ctx, gdb, log)
		if err != nil {
			return err
		}
		for _, name := range applied {
			fmt.Fprintln(stdout, "applied", name)
		}
		fmt.Fprintf(stdout, "%d migration(s) applied; the %s database is up to date\n", len(applied), db.Dialect(gdb))
		return nil
	}

	list, err := db.Migrations(ctx, gdb, log)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VERSION\tMIGRATION\tAPPLIED AT")
	for _, m := range list {
		at := "pending"
		if m.Applied {
			at = m.AppliedAt.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\n", m.Version, m.Name, at)
	}
	return tw.Flush()
}
