package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/bevis-ir/bevis/internal/db"
)

// migrate runs `bevis migrate up|status [options]`.
func migrate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "up" && args[0] != "status") {
		return &usageError{"usage: bevis migrate up|status [options]"}
	}
	action := args[0]
	cfg, ok, err := loadConfig("migrate "+action, args[1:], getenv, stdout)
	if !ok {
		return err
	}
	log := newLogger(cfg, stderr)
	gdb, err := db.Open(ctx, cfg.DatabaseURL, cfg.StartupTimeout, log)
	if err != nil {
		return err
	}
	defer db.Close(gdb)

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
