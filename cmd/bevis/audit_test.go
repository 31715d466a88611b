package main

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/bevis-ir/bevis/audit"
	"github.com/bevis-ir/bevis/internal/db"
	"github.com/bevis-ir/bevis/internal/testenv"
)

// recordEntries writes n audited changes into the database at url.
func recordEntries(t *testing.T, url string, n int) {
	t.Helper()
	gdb, err := db.Open(context.Background(), url, 5*time.Second, testenv.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(gdb)
	for i := range n {
		err := gdb.Transaction(func(tx *gorm.DB) error {
			return audit.Append(context.Background(), tx, audit.Entry{
				Actor: audit.Actor{UserID: "u1", AgencyID: "a1", ClientIP: "192.0.2.1"}, Action: "case.update",
				ResourceType: "case", ResourceID: "c1", CaseID: "c1", Outcome: audit.Success, RequestID: strings.Repeat("r", i+1),
			})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// servedLog runs serve on a fresh SQLite data dir while entries are
// recorded, stops it (which seals them and signs the head), and returns
// the data dir and the file of the checkpoint public key.
func servedLog(t *testing.T) (dir, keyFile string) {
	t.Helper()
	dir = t.TempDir()
	env := map[string]string{"BEVIS_DATA_DIR": dir}
	s := startServe(t, env)
	s.waitReady(t, 15*time.Second)
	recordEntries(t, "sqlite:"+filepath.Join(dir, "bevis.db"), 5)
	s.stop(t)

	code, pub, stderr := runMain(t, []string{"BEVIS_DATA_DIR=" + dir}, "audit", "public-key")
	if code != 0 || !strings.Contains(pub, "BEGIN PUBLIC KEY") {
		t.Fatalf("public-key: exit %d, %q %s", code, pub, stderr)
	}
	keyFile = filepath.Join(t.TempDir(), "audit-key.pub")
	if err := os.WriteFile(keyFile, []byte(pub), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir, keyFile
}

func TestAudit_ServeSealsAndVerifyPasses(t *testing.T) {
	dir, keyFile := servedLog(t)
	env := []string{"BEVIS_DATA_DIR=" + dir}
	code, out, stderr := runMain(t, env, "audit", "verify", "--key", keyFile)
	if code != 0 || !strings.Contains(out, "5 sealed entries") || !strings.Contains(out, "covers seq 5") {
		t.Fatalf("verify: exit %d\n%s%s", code, out, stderr)
	}

	// The checkpoint is also in the evidence store, under a legal hold.
	var stored string
	_ = filepath.WalkDir(filepath.Join(dir, "evidence"), func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if b, _ := os.ReadFile(path); strings.HasPrefix(string(b), "bevis audit checkpoint v1\nseq 5\n") {
				stored = path
			}
		}
		return nil
	})
	if stored == "" {
		t.Fatal("no checkpoint of seq 5 in the evidence folder")
	}

	export := filepath.Join(t.TempDir(), "audit.jsonl")
	if code, _, stderr := runMain(t, env, "audit", "export", "--output", export); code != 0 {
		t.Fatalf("export: exit %d %s", code, stderr)
	}
	code, out, stderr = runMain(t, nil, "audit", "verify", "--export", export, "--key", keyFile)
	if code != 0 || !strings.Contains(out, "5 sealed entries") {
		t.Fatalf("verify --export: exit %d\n%s%s", code, out, stderr)
	}

	// An edited export names the entry.
	b, err := os.ReadFile(export)
	if err != nil {
		t.Fatal(err)
	}
	edited := filepath.Join(t.TempDir(), "edited.jsonl")
	if err := os.WriteFile(edited, []byte(strings.Replace(string(b), `"user_id":"u1"`, `"user_id":"u2"`, 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, stderr = runMain(t, nil, "audit", "verify", "--export", edited, "--key", keyFile)
	if code != 1 || !strings.Contains(stderr, "at seq 1: modified") {
		t.Errorf("verify of an edited export: exit %d, %s", code, stderr)
	}
}

func TestAudit_VerifyNamesTheFirstInconsistency(t *testing.T) {
	dir, keyFile := servedLog(t)
	env := []string{"BEVIS_DATA_DIR=" + dir}
	partner := filepath.Join(t.TempDir(), "partner-checkpoints.txt")
	if code, _, stderr := runMain(t, env, "audit", "checkpoints", "--output", partner); code != 0 {
		t.Fatalf("checkpoints: exit %d %s", code, stderr)
	}

	// As a superuser with file access could: drop the triggers, cut the
	// tail and the checkpoints.
	gdb, err := db.Open(context.Background(), "sqlite:"+filepath.Join(dir, "bevis.db"), 5*time.Second, testenv.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		"DROP TRIGGER audit_chain_no_delete", "DROP TRIGGER audit_checkpoints_no_delete",
		"DELETE FROM audit_chain WHERE seq >= 4", "DELETE FROM audit_checkpoints",
	} {
		if err := gdb.Exec(q).Error; err != nil {
			t.Fatal(err)
		}
	}
	_ = db.Close(gdb)

	// Without the partner's copy the shortened log looks whole...
	if code, out, stderr := runMain(t, env, "audit", "verify", "--key", keyFile); code != 0 || !strings.Contains(out, "no checkpoints") {
		t.Errorf("verify without checkpoints: exit %d %s%s", code, out, stderr)
	}
	// ...with it, the cut is named.
	code, _, stderr := runMain(t, env, "audit", "verify", "--key", keyFile, "--checkpoints", partner)
	if code != 1 || !strings.Contains(stderr, "at seq 4: truncated") {
		t.Errorf("verify with the partner's checkpoints: exit %d %s", code, stderr)
	}

	// A checkpoint by a key the auditor does not trust.
	other, err := audit.GenerateKeyPEM()
	if err != nil {
		t.Fatal(err)
	}
	signer, err := audit.ParseSigner(other)
	if err != nil {
		t.Fatal(err)
	}
	otherKey := filepath.Join(t.TempDir(), "other.pub")
	if err := os.WriteFile(otherKey, signer.PublicKeyPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, stderr = runMain(t, env, "audit", "verify", "--key", otherKey, "--checkpoints", partner)
	if code != 1 || !strings.Contains(stderr, "unknown key") {
		t.Errorf("verify with another key: exit %d %s", code, stderr)
	}
}

func TestAudit_VerifyUsage(t *testing.T) {
	dir := t.TempDir()
	pemData, err := audit.GenerateKeyPEM()
	if err != nil {
		t.Fatal(err)
	}
	signer, err := audit.ParseSigner(pemData)
	if err != nil {
		t.Fatal(err)
	}
	key := filepath.Join(dir, "k.pem")
	if err := os.WriteFile(key, signer.PublicKeyPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "private.pem"), pemData, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no key", []string{"audit", "verify", "--export", "x.jsonl"}, "--key"},
		{"missing key file", []string{"audit", "verify", "--key", filepath.Join(dir, "none.pem")}, "--key"},
		{"private key given", []string{"audit", "verify", "--key", filepath.Join(dir, "private.pem")}, "no PEM PUBLIC KEY"},
		{"missing export", []string{"audit", "verify", "--export", filepath.Join(dir, "none.jsonl"), "--key", key}, "--export"},
		{"no database", []string{"audit", "verify", "--database-url", "sqlite:" + filepath.Join(dir, "none.db"), "--key", key}, "no database at"},
		{"unknown action", []string{"audit", "fix"}, "usage: bevis audit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := runMain(t, []string{"BEVIS_DATA_DIR=" + dir}, tt.args...)
			if code != 2 || !strings.Contains(stderr, tt.want) {
				t.Errorf("exit %d, stderr %q; want 2 and %q", code, stderr, tt.want)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "none.db")); err == nil {
		t.Error("verify created the database it was asked to check")
	}
}

func TestAudit_VerifyPostgresDatabase(t *testing.T) {
	d := testenv.Postgres(t)
	recordEntries(t, d.URL, 4)
	pemData, err := audit.GenerateKeyPEM()
	if err != nil {
		t.Fatal(err)
	}
	signer, err := audit.ParseSigner(pemData)
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(t.TempDir(), "audit.pub")
	if err := os.WriteFile(keyFile, signer.PublicKeyPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	seq, err := audit.NewSequencer(d.DB, audit.SequencerOptions{Signer: signer, Log: testenv.Discard, Interval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- seq.Run(ctx) }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var sealed int64
		if err := d.DB.Table("audit_chain").Count(&sealed).Error; err != nil {
			t.Fatal(err)
		}
		if sealed == 4 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of 4 entries sealed after 30s", sealed)
		}
		time.Sleep(20 * time.Millisecond)
	}
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	env := []string{"BEVIS_DATABASE_URL=" + d.URL, "BEVIS_DATA_DIR=" + t.TempDir()}
	code, out, stderr := runMain(t, env, "audit", "verify", "--key", keyFile)
	if code != 0 || !strings.Contains(out, "the postgres database holds 4 sealed entries") {
		t.Fatalf("verify: exit %d\n%s%s", code, out, stderr)
	}
	// As a superuser could: triggers off for this transaction only.
	err = d.DB.Transaction(func(tx *gorm.DB) error {
		if err := tx.Exec("SET LOCAL session_replication_role = replica").Error; err != nil {
			return err
		}
		return tx.Exec("UPDATE audit_chain SET seq = 100 WHERE seq = 2").Error
	})
	if err != nil {
		t.Fatal(err)
	}
	code, _, stderr = runMain(t, env, "audit", "verify", "--key", keyFile)
	if code != 1 || !strings.Contains(stderr, "at seq 2: deleted") {
		t.Errorf("verify after moving seq 2 away: exit %d %s", code, stderr)
	}
}
