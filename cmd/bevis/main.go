// Command bevis is the whole of Bevis: the server and its administration.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"gorm.io/gorm"

	"github.com/bevis-ir/bevis/internal/config"
	"github.com/bevis-ir/bevis/internal/db"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "bevis: %s\n", strings.ReplaceAll(err.Error(), "\n", "; "))
		os.Exit(exitCode(err))
	}
}

// usageError is a command line that names no known command.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

// exitCode is 2 for a command line or configuration that cannot work as
// given, 1 for a failure while running.
func exitCode(err error) int {
	var invalid *config.InvalidError
	var usage *usageError
	if errors.As(err, &invalid) || errors.As(err, &usage) {
		return 2
	}
	return 1
}

const usage = `Usage: bevis <command> [options]

Commands:
  serve            serve the API and the web interface
  migrate up       apply pending database migrations
  migrate status   list migrations and whether each is applied
  migrate down-to N
                   undo the migrations newer than N, to go back to an older release
  admin bootstrap  create the first agency and admin on an empty database
  admin create-agency | create-user | reset-password | disable-user
                   scripted set-up of agencies and people
  keys new-master  print a new line for the master key file (BEVIS_MASTER_KEY_FILE)
  keys rewrap      re-wrap every evidence data key under the first master key of the file
  evidence verify  re-check every custody chain and re-hash stored evidence (--case REF for one case)
  evidence verify-manifest FILE
                   check a case's evidence manifest offline
  audit verify     check the audit log offline, from the database or an export
  audit export | checkpoints | public-key
                   export the audit log or its checkpoints; print the checkpoint key
  demo             build a demo investigation in a new data folder (--data-dir)
  healthcheck      exit 0 when the local server answers /healthz (for container health checks)
  version          print the version

Run 'bevis <command> --help' for the options of a command.
`

// run is the whole program; main only wires it to the process.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return &usageError{"no command given"}
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve":
		return serve(ctx, rest, getenv, stdout, stderr)
	case "migrate":
		return migrate(ctx, rest, getenv, stdout, stderr)
	case "admin":
		return admin(ctx, rest, getenv, stdout, stderr)
	case "keys":
		return keys(ctx, rest, getenv, stdout, stderr)
	case "evidence":
		return evidenceCmd(ctx, rest, getenv, stdout, stderr)
	case "audit":
		return auditCmd(ctx, rest, getenv, stdout, stderr)
	case "demo":
		return demo(ctx, rest, getenv, stdout, stderr)
	case "healthcheck":
		return healthcheck(ctx, rest, getenv, stdout)
	case "version":
		fmt.Fprintln(stdout, "bevis", version)
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	return &usageError{fmt.Sprintf("unknown command %q (see `bevis help`)", cmd)}
}

// loadConfig parses a command's options; asking for help is not an error.
func loadConfig(name string, args []string, getenv func(string) string, stdout io.Writer, extra ...func(*flag.FlagSet)) (config.Config, bool, error) {
	cfg, err := config.Load(name, args, getenv, stdout, extra...)
	if errors.Is(err, flag.ErrHelp) {
		return cfg, false, nil
	}
	return cfg, err == nil, err
}

// helpAsked reports whether a command's first argument asks for its usage,
// for commands whose arguments come before their options.
func helpAsked(args []string) bool {
	return len(args) > 0 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help")
}

// openMigrated opens the configured database and brings its schema up to
// date, for a command that works on it; the caller closes it.
func openMigrated(ctx context.Context, cfg config.Config, log *slog.Logger) (*gorm.DB, error) {
	gdb, err := db.Open(ctx, cfg.DatabaseURL, cfg.StartupTimeout, log)
	if err != nil {
		return nil, err
	}
	if _, err := db.Migrate(ctx, gdb, log); err != nil {
		_ = db.Close(gdb)
		return nil, err
	}
	return gdb, nil
}
