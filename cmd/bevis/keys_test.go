package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/bevis-ir/bevis/evidence"
	"github.com/bevis-ir/bevis/internal/config"
	"github.com/bevis-ir/bevis/internal/db"
)

func TestLoadMasterKeys_DefaultFileMadeOnceWithOwnerOnlyAccess(t *testing.T) {
	dir := t.TempDir()
	cfg := config.Config{DataDir: filepath.Join(dir, "data"), MasterKeyFile: filepath.Join(dir, "data", config.DefaultMasterKeysName)}
	log := slog.New(slog.DiscardHandler)
	first, err := loadMasterKeys(cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(cfg.MasterKeyFile)
	if err != nil {
		t.Fatal(err)
	}
	if perm := info.Mode().Perm(); perm != 0o600 {
		t.Errorf("made with mode %04o, want 0600", perm)
	}
	again, err := loadMasterKeys(cfg, log)
	if err != nil || again.CurrentID() != first.CurrentID() {
		t.Fatalf("second load: %v, %v; want the same key as made first", again, err)
	}

	if err := os.Chmod(cfg.MasterKeyFile, 0o644); err != nil {
		t.Fatal(err)
	}
	var invalid *config.InvalidError
	if _, err := loadMasterKeys(cfg, log); !errors.As(err, &invalid) || !errors.Is(err, evidence.ErrMasterKeyFile) {
		t.Errorf("world-readable file: %v, want a configuration error", err)
	}

	configured := cfg
	configured.MasterKeyFile = filepath.Join(dir, "elsewhere", "master-keys")
	if _, err := loadMasterKeys(configured, log); !errors.As(err, &invalid) {
		t.Errorf("configured file absent: %v, want a configuration error", err)
	}
	if _, err := os.Stat(configured.MasterKeyFile); !errors.Is(err, os.ErrNotExist) {
		t.Error("a configured master key file was made; only the default one may be")
	}
}

// The rotation an operator runs: a new line first in the file, `bevis keys
// rewrap`, then the old line dropped; evidence sealed before stays readable,
// and serve refuses a file that misses a master key still in use.
func TestKeys_RotateMasterKeyThenRewrap(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	env := map[string]string{"BEVIS_DATA_DIR": dir}
	getenv := func(k string) string { return env[k] }
	keyFile := filepath.Join(dir, config.DefaultMasterKeysName)

	var out strings.Builder
	if err := run(ctx, []string{"keys", "rewrap"}, getenv, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "0 data key(s) re-wrapped") {
		t.Fatalf("first rewrap said %q", out.String())
	}
	oldFile, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}

	// A case with a data key, and an object sealed with it.
	gdb, err := db.Open(ctx, "sqlite:"+filepath.Join(dir, "bevis.db"), time.Second, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(gdb)
	caseID := seedCase(t, getenv)
	before, err := evidence.ReadMasterKeyFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	dk, err := evidence.NewKeyring(gdb, before).DataKey(ctx, caseID)
	if err != nil {
		t.Fatal(err)
	}
	var sealed bytes.Buffer
	w, err := evidence.NewSealWriter(&sealed, dk, "cases/x/items/1.bin", 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(w, "the disk image"); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}

	out.Reset()
	if err := run(ctx, []string{"keys", "new-master"}, getenv, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	newLine := out.String()
	newID, _, _ := strings.Cut(newLine, ":")
	if err := os.WriteFile(keyFile, append([]byte(newLine), oldFile...), 0o600); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := run(ctx, []string{"keys", "rewrap"}, getenv, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if want := "1 data key(s) re-wrapped under master key " + newID; !strings.Contains(out.String(), want) ||
		!strings.Contains(out.String(), "master keys in use: "+newID+" ") {
		t.Fatalf("rewrap said %q, want %q and only %s in use", out.String(), want, newID)
	}

	if err := os.WriteFile(keyFile, []byte(newLine), 0o600); err != nil {
		t.Fatal(err)
	}
	after, err := evidence.ReadMasterKeyFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	dk2, err := evidence.NewKeyring(gdb, after).DataKeyByID(ctx, dk.ID)
	if err != nil {
		t.Fatal(err)
	}
	r, err := evidence.OpenSealed(&sealed, dk2, "cases/x/items/1.bin")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := io.ReadAll(r); err != nil || string(got) != "the disk image" {
		t.Fatalf("after rotation: %q, %v", got, err)
	}

	// Serve refuses a master key file without the key in use.
	if err := os.WriteFile(keyFile, oldFile, 0o600); err != nil {
		t.Fatal(err)
	}
	err = run(ctx, []string{"serve", "--listen", freeAddr(t)}, getenv, io.Discard, io.Discard)
	if err == nil || exitCode(err) != 2 || !strings.Contains(err.Error(), newID) {
		t.Fatalf("serve with the retired key file: %v, want exit 2 naming %s", err, newID)
	}

	if err := run(ctx, []string{"keys"}, getenv, io.Discard, io.Discard); exitCode(err) != 2 {
		t.Errorf("keys without an action: %v, want a usage error", err)
	}
}

// seedCase makes an agency and admin through `bevis admin bootstrap` and a
// case row for them, and returns the case ID.
func seedCase(t *testing.T, getenv func(string) string) string {
	t.Helper()
	ctx := t.Context()
	args := []string{"admin", "bootstrap", "--email", "lead@ncsc.example", "--name", "Kari Nordmann",
		"--agency-code", "ncsc", "--agency-name", "National Cyber Coordination Centre", "--agency-kind", "cert"}
	if err := run(ctx, args, getenv, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	gdb, err := db.Open(ctx, "sqlite:"+filepath.Join(getenv("BEVIS_DATA_DIR"), "bevis.db"), time.Second, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(gdb)
	var user struct{ ID, AgencyID string }
	if err := gdb.Raw("SELECT id, agency_id FROM users").Scan(&user).Error; err != nil {
		t.Fatal(err)
	}
	id, now := uuid.NewString(), time.Now().UTC()
	err = gdb.Exec("INSERT INTO cases (id, title, tlp, lead_agency_id, created_by, created_at, updated_at) VALUES (?, 'Breach', 'AMBER', ?, ?, ?, ?)",
		id, user.AgencyID, user.ID, now, now).Error
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// A master key file with the right key ID but the wrong bytes: serve,
// rewrap and evidence verify refuse before writing anything, neither a file
// in the data folder nor a row in the database.
func TestServe_RefusesAMasterKeyFileWithTheRightIDButWrongBytes(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	env := map[string]string{"BEVIS_DATA_DIR": dir}
	getenv := func(k string) string { return env[k] }
	keyFile := filepath.Join(dir, config.DefaultMasterKeysName)
	if err := run(ctx, []string{"keys", "rewrap"}, getenv, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	caseID := seedCase(t, getenv)
	good, err := evidence.ReadMasterKeyFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	gdb, err := db.Open(ctx, "sqlite:"+filepath.Join(dir, "bevis.db"), time.Second, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(gdb)
	if _, err := evidence.NewKeyring(gdb, good).DataKey(ctx, caseID); err != nil {
		t.Fatal(err)
	}

	line, err := evidence.NewMasterKeyLine(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	_, secret, _ := strings.Cut(line, ":")
	if err := os.WriteFile(keyFile, []byte(good.CurrentID()+":"+secret), 0o600); err != nil {
		t.Fatal(err)
	}
	files := func() []string {
		var names []string
		_ = filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
			if err == nil && !strings.HasSuffix(path, "-wal") && !strings.HasSuffix(path, "-shm") {
				names = append(names, path)
			}
			return nil
		})
		return names
	}
	rows := func() map[string]int64 {
		out := map[string]int64{}
		for _, table := range []string{"case_data_keys", "master_key_checks", "audit_entries", "custody_events"} {
			var n int64
			if err := gdb.Table(table).Count(&n).Error; err != nil {
				t.Fatal(err)
			}
			out[table] = n
		}
		return out
	}
	beforeFiles, beforeRows := files(), rows()
	for _, args := range [][]string{{"serve", "--listen", freeAddr(t)}, {"keys", "rewrap"}, {"evidence", "verify"}} {
		err := run(ctx, args, getenv, io.Discard, io.Discard)
		if !errors.Is(err, evidence.ErrMasterKeyMismatch) || exitCode(err) != 2 || !strings.Contains(err.Error(), good.CurrentID()) {
			t.Errorf("%s with the wrong bytes: %v, want exit 2 naming %s", args[0], err, good.CurrentID())
		}
	}
	if after := files(); strings.Join(after, "\n") != strings.Join(beforeFiles, "\n") {
		t.Errorf("files in the data folder changed:\nbefore %v\nafter  %v", beforeFiles, after)
	}
	if after := rows(); fmt.Sprint(after) != fmt.Sprint(beforeRows) {
		t.Errorf("rows changed: before %v, after %v", beforeRows, after)
	}
}

// What a first start makes in the data dir (the database with its WAL and
// shared-memory files, and every key file) is for Bevis's own user alone,
// whatever the umask lets others read.
func TestFirstStart_DataDirFilesAreOwnerOnly(t *testing.T) {
	old := syscall.Umask(0o022)
	t.Cleanup(func() { syscall.Umask(old) })
	dir := filepath.Join(t.TempDir(), "data")
	cfg := config.Config{DataDir: dir, DatabaseURL: "sqlite:" + filepath.Join(dir, "bevis.db"), StartupTimeout: 5 * time.Second,
		TokenKeysFile: filepath.Join(dir, config.DefaultTokenKeysName), MasterKeyFile: filepath.Join(dir, config.DefaultMasterKeysName),
		AuditKeyFile: filepath.Join(dir, config.DefaultAuditKeyName)}
	log := slog.New(slog.DiscardHandler)
	gdb, err := openMigrated(context.Background(), cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(gdb)
	var made newKeyFiles
	if _, err := loadSigningKeys(cfg, &made, log); err != nil {
		t.Fatal(err)
	}
	if _, err := stageMasterKeys(cfg, &made, log); err != nil {
		t.Fatal(err)
	}
	if _, _, err := loadAuditSigner(cfg, &made, log); err != nil {
		t.Fatal(err)
	}
	if err := made.write(log); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"bevis.db", "bevis.db-wal", "bevis.db-shm", config.DefaultTokenKeysName,
		config.DefaultMasterKeysName, config.DefaultAuditKeyName} {
		info, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if perm := info.Mode().Perm(); perm != 0o600 {
			t.Errorf("%s made with mode %04o, want 0600", name, perm)
		}
	}
}
