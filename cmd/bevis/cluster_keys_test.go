package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bevis-ir/bevis/access"
	"github.com/bevis-ir/bevis/audit"
	"github.com/bevis-ir/bevis/internal/testenv"
)

// envList turns an environment map into KEY=value lines for runMain.
func envList(env map[string]string) []string {
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	return out
}

// startAndStop serves env until ready, then stops it cleanly.
func startAndStop(t *testing.T, env map[string]string) {
	t.Helper()
	s := startServe(t, env)
	s.waitReady(t, 30*time.Second)
	s.stop(t)
}

// wantRefused runs serve with env and checks that it exits 2 with one line
// naming the wrong file, and leaves its data folder as it found it.
func wantRefused(t *testing.T, env map[string]string, wrongFile string) {
	t.Helper()
	before, _ := os.ReadDir(env["BEVIS_DATA_DIR"])
	code, _, stderr := runMain(t, envList(env), "serve", "--listen", freeAddr(t))
	last := strings.TrimRight(stderr, "\n")
	last = last[strings.LastIndex(last, "\n")+1:]
	if code != 2 || !strings.HasPrefix(last, "bevis: "+wrongFile+" ") || !strings.Contains(last, "none of the cluster's keys") {
		t.Fatalf("exit %d, last line %q; want 2 and one line naming %s\n%s", code, last, wrongFile, stderr)
	}
	after, _ := os.ReadDir(env["BEVIS_DATA_DIR"])
	if len(after) != len(before) {
		t.Fatalf("the refused node wrote into its data folder: %v (before: %v)", after, before)
	}
}

func TestServe_ANodeWithOtherKeysIsRefusedAndRotationWorks(t *testing.T) {
	dbURL := testenv.PostgresURL(t)
	first := map[string]string{"BEVIS_DATA_DIR": t.TempDir(), "BEVIS_DATABASE_URL": dbURL, "BEVIS_LOG_LEVEL": "warn"}
	startAndStop(t, first)
	shared := func(dir string) map[string]string {
		return map[string]string{
			"BEVIS_MASTER_KEY_FILE": filepath.Join(first["BEVIS_DATA_DIR"], "master-keys"),
			"BEVIS_TOKEN_KEYS_FILE": filepath.Join(first["BEVIS_DATA_DIR"], "token-signing-keys.pem"),
			"BEVIS_AUDIT_KEY_FILE":  filepath.Join(first["BEVIS_DATA_DIR"], "audit-checkpoint-key.pem"),
			"BEVIS_DATA_DIR":        dir, "BEVIS_DATABASE_URL": dbURL, "BEVIS_LOG_LEVEL": "warn",
		}
	}

	// Given the shared master key but left to make its own token and audit
	// keys, a node is refused, and keeps nothing of what it made.
	own := shared(t.TempDir())
	delete(own, "BEVIS_TOKEN_KEYS_FILE")
	delete(own, "BEVIS_AUDIT_KEY_FILE")
	wantRefused(t, own, "BEVIS_TOKEN_KEYS_FILE")
	ownAudit := shared(t.TempDir())
	delete(ownAudit, "BEVIS_AUDIT_KEY_FILE")
	wantRefused(t, ownAudit, "BEVIS_AUDIT_KEY_FILE")
	// A missing data folder stays missing.
	gone := shared(filepath.Join(t.TempDir(), "not-yet"))
	delete(gone, "BEVIS_TOKEN_KEYS_FILE")
	wantRefused(t, gone, "BEVIS_TOKEN_KEYS_FILE")
	if _, err := os.Stat(gone["BEVIS_DATA_DIR"]); !os.IsNotExist(err) {
		t.Fatalf("the refused node made its data folder: %v", err)
	}

	// Rotation: a new key first, the old one kept after it, is accepted,
	// and the new key is the cluster's from then on.
	old, err := os.ReadFile(filepath.Join(first["BEVIS_DATA_DIR"], "token-signing-keys.pem"))
	if err != nil {
		t.Fatal(err)
	}
	newKey, err := access.GenerateSigningKeyPEM()
	if err != nil {
		t.Fatal(err)
	}
	rotated := shared(t.TempDir())
	rotated["BEVIS_TOKEN_KEYS_FILE"] = writeKeyFile(t, append(append([]byte{}, newKey...), old...))
	startAndStop(t, rotated)
	onlyNew := shared(t.TempDir())
	onlyNew["BEVIS_TOKEN_KEYS_FILE"] = writeKeyFile(t, newKey)
	startAndStop(t, onlyNew)

	// The audit key alike: the new key first, the old one's public key after it.
	newAudit, err := audit.GenerateKeyPEM()
	if err != nil {
		t.Fatal(err)
	}
	auditRotated := shared(t.TempDir())
	auditRotated["BEVIS_AUDIT_KEY_FILE"] = writeKeyFile(t, append(append([]byte{}, newAudit...),
		auditPublicKey(t, filepath.Join(first["BEVIS_DATA_DIR"], "audit-checkpoint-key.pem"))...))
	startAndStop(t, auditRotated)
	auditNew := shared(t.TempDir())
	auditNew["BEVIS_AUDIT_KEY_FILE"] = writeKeyFile(t, newAudit)
	startAndStop(t, auditNew)

	other, err := access.GenerateSigningKeyPEM()
	if err != nil {
		t.Fatal(err)
	}
	stranger := shared(t.TempDir())
	stranger["BEVIS_TOKEN_KEYS_FILE"] = writeKeyFile(t, other)
	wantRefused(t, stranger, "BEVIS_TOKEN_KEYS_FILE")
}

func writeKeyFile(t *testing.T, data []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "keys.pem")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
