package main

import (
	"bytes"
	"context"
	"errors"
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
	if _, err := loadSigningKeys(cfg, log); err != nil {
		t.Fatal(err)
	}
	if _, err := loadMasterKeys(cfg, log); err != nil {
		t.Fatal(err)
	}
	if _, err := loadAuditSigner(cfg, log); err != nil {
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
