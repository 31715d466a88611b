package api

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/bevis-ir/bevis/audit"
	"github.com/bevis-ir/bevis/internal/testenv"
)

// sealWithKey seals the world's audit entries in the background with a
// checkpoint key the server verifies with, and returns the key's ID.
func sealWithKey(t *testing.T, w *world) string {
	t.Helper()
	pemData, err := audit.GenerateKeyPEM()
	if err != nil {
		t.Fatal(err)
	}
	signer, err := audit.ParseSigner(pemData)
	if err != nil {
		t.Fatal(err)
	}
	w.deps.AuditKeys[signer.KeyID()] = signer.PublicKey()
	seq, err := audit.NewSequencer(w.deps.DB, audit.SequencerOptions{Signer: signer, Interval: 20 * time.Millisecond,
		CheckpointEvery: 50 * time.Millisecond, Log: testenv.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = seq.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return signer.KeyID()
}

func verification(t *testing.T, w *world) auditVerificationJSON {
	t.Helper()
	resp, body := w.call(t, http.MethodGet, "/api/v1/audit/verification", w.bearer["auditor"], "")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("verification: %d %s", resp.StatusCode, body)
	}
	var v auditVerificationJSON
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestAuditVerification_ReportsTheChainSoundAndAnUnknownCheckpointKeyNot(t *testing.T) {
	t.Parallel()
	forEachDatabase(t, func(t *testing.T, w *world) {
		keyID := sealWithKey(t, w)
		w.call(t, http.MethodGet, "/api/v1/cases/"+w.caseID, w.bearer["lead"], "")
		var v auditVerificationJSON
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			if v = verification(t, w); v.Checkpoints > 0 && v.Entries > 0 {
				break
			}
		}
		if !v.Consistent || v.Inconsistency != nil || v.Entries == 0 || v.Checkpoints == 0 || len(v.Head) != 64 || v.LastCheckpointSeq == nil {
			t.Fatalf("a sound log: %+v", v)
		}

		// Without the key of its checkpoints the server cannot vouch for them.
		delete(w.deps.AuditKeys, keyID)
		v = verification(t, w)
		if v.Consistent || v.Inconsistency == nil || v.Inconsistency.Kind != audit.UnknownKey {
			t.Fatalf("checkpoints of an unknown key: %+v", v)
		}
	})
}
