package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/bevis-ir/bevis/audit"
	"github.com/bevis-ir/bevis/internal/config"
	"github.com/bevis-ir/bevis/internal/db"
)

const auditUsage = "usage: bevis audit verify|export|checkpoints|public-key [options]"

// auditCmd runs `bevis audit <action>`: verifying the log offline,
// exporting it, exporting its checkpoints for a partner agency, and
// printing the key that verifies the checkpoints.
func auditCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return &usageError{auditUsage}
	}
	switch args[0] {
	case "verify":
		return auditVerify(ctx, args[1:], getenv, stdout, stderr)
	case "export", "checkpoints":
		return auditExport(ctx, args[0], args[1:], getenv, stdout, stderr)
	case "public-key":
		cfg, ok, err := loadConfig("audit public-key", args[1:], getenv, stdout)
		if !ok {
			return err
		}
		signer, _, err := loadAuditSigner(cfg, nil, newLogger(cfg, stderr))
		if err != nil {
			return err
		}
		_, err = stdout.Write(signer.PublicKeyPEM())
		return err
	}
	return &usageError{auditUsage}
}

// fileList is a repeatable flag naming files.
type fileList []string

func (l *fileList) String() string     { return strings.Join(*l, ",") }
func (l *fileList) Set(v string) error { *l = append(*l, v); return nil }

type verifyFlags struct {
	export      string
	keys        fileList
	checkpoints fileList
}

func (f *verifyFlags) define(fs *flag.FlagSet) {
	fs.StringVar(&f.export, "export", "", "verify this export file (from `bevis audit export`) instead of the database")
	fs.Var(&f.keys, "key", "PEM file of checkpoint public keys to trust (repeatable; from `bevis audit public-key`)")
	fs.Var(&f.checkpoints, "checkpoints", "file of checkpoints kept elsewhere, e.g. by a partner agency (repeatable)")
}

// auditVerify checks the log from the database (--database-url, as for
// every command) or from --export, and exits 1 naming the first
// inconsistency. It only reads: it never migrates or writes.
func auditVerify(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var f verifyFlags
	cfg, ok, err := loadConfig("audit verify", args, getenv, stdout, f.define)
	if !ok {
		return err
	}
	if len(f.keys) == 0 {
		return &usageError{"bevis audit verify: give the checkpoint public key with --key FILE"}
	}
	keys := audit.Keys{}
	for _, name := range f.keys {
		b, err := os.ReadFile(name)
		if err != nil {
			return &config.InvalidError{Err: fmt.Errorf("--key: %w", err)}
		}
		if err := keys.ParsePublicKeys(b); err != nil {
			return &config.InvalidError{Err: fmt.Errorf("--key %s: %w", name, err)}
		}
	}
	var extra []string
	for _, name := range f.checkpoints {
		b, err := os.ReadFile(name)
		if err != nil {
			return &config.InvalidError{Err: fmt.Errorf("--checkpoints: %w", err)}
		}
		notes, err := audit.SplitCheckpoints(string(b))
		if err != nil {
			return &config.InvalidError{Err: fmt.Errorf("--checkpoints %s: %w", name, err)}
		}
		extra = append(extra, notes...)
	}

	rep, source, err := verifySource(ctx, cfg, f.export, keys, extra, stderr)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "audit log consistent: %s holds %d sealed entries, head %s\n", source, rep.Entries, rep.Head)
	if rep.LastCheckpoint != nil {
		fmt.Fprintf(stdout, "%d checkpoints verified; the last covers seq %d, signed %s by key %s\n",
			rep.Checkpoints, rep.LastCheckpoint.Seq, rep.LastCheckpoint.Time.Format(time.RFC3339), rep.LastCheckpoint.KeyID)
	} else {
		fmt.Fprintln(stdout, "no checkpoints: a removed tail could not be told from a short log")
	}
	if rep.Unsealed > 0 {
		fmt.Fprintf(stdout, "%d entries are not sealed yet (the sequencer seals them within seconds while Bevis runs)\n", rep.Unsealed)
	}
	return nil
}

// verifySource verifies the export file when one is named, else the
// configured database, and says which it read.
func verifySource(ctx context.Context, cfg config.Config, export string, keys audit.Keys, extra []string, stderr io.Writer) (audit.Report, string, error) {
	if export != "" {
		if _, err := os.Stat(export); err != nil {
			return audit.Report{}, "", &config.InvalidError{Err: fmt.Errorf("--export: %w", err)}
		}
		rep, err := audit.VerifyExport(ctx, func() (io.ReadCloser, error) { return os.Open(export) }, keys, extra)
		return rep, export, err
	}
	if err := sqliteExists(cfg.DatabaseURL); err != nil {
		return audit.Report{}, "", err
	}
	gdb, err := db.Open(ctx, cfg.DatabaseURL, cfg.StartupTimeout, newLogger(cfg, stderr))
	if err != nil {
		return audit.Report{}, "", err
	}
	defer db.Close(gdb)
	rep, err := audit.VerifyDB(ctx, gdb, keys, extra)
	return rep, "the " + db.Dialect(gdb) + " database", err
}

// sqliteExists refuses a SQLite URL naming no file, which opening would
// create empty.
func sqliteExists(rawURL string) error {
	u, err := url.Parse(rawURL)
	if err != nil {
		return &config.InvalidError{Err: fmt.Errorf("BEVIS_DATABASE_URL: %w", err)}
	}
	if u.Scheme != "sqlite" {
		return nil
	}
	if _, err := os.Stat(config.SQLitePath(u)); errors.Is(err, fs.ErrNotExist) {
		return &config.InvalidError{Err: fmt.Errorf("BEVIS_DATABASE_URL: no database at %s", config.SQLitePath(u))}
	}
	return nil
}

// auditExport writes the log (export) or its checkpoints (checkpoints) of
// the configured database to --output or stdout.
func auditExport(ctx context.Context, what string, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var output string
	cfg, ok, err := loadConfig("audit "+what, args, getenv, stdout, func(fs *flag.FlagSet) {
		fs.StringVar(&output, "output", "", "file to write (default standard output); it must not exist")
	})
	if !ok {
		return err
	}
	if err := sqliteExists(cfg.DatabaseURL); err != nil {
		return err
	}
	log := newLogger(cfg, stderr)
	gdb, err := db.Open(ctx, cfg.DatabaseURL, cfg.StartupTimeout, log)
	if err != nil {
		return err
	}
	defer db.Close(gdb)
	w := stdout
	var file *os.File
	if output != "" {
		if file, err = os.OpenFile(output, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600); err != nil {
			return &config.InvalidError{Err: fmt.Errorf("--output: %w", err)}
		}
		w = file
	}
	if what == "export" {
		err = audit.Export(ctx, gdb, w)
	} else {
		err = audit.ExportCheckpoints(ctx, gdb, w)
	}
	if file != nil {
		if cerr := file.Close(); err == nil {
			err = cerr
		}
	}
	return err
}
