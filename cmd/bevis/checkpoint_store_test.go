package main

import (
	"testing"
	"time"

	"github.com/bevis-ir/bevis/evidence"
	"github.com/bevis-ir/bevis/internal/period"
)

// An audit checkpoint is held and locked in COMPLIANCE mode as long as
// evidence is kept, so a lifted hold alone never lets it be deleted.
func TestCheckpointStore_HoldsAndLocksInComplianceMode(t *testing.T) {
	store, err := evidence.NewFSStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	c := checkpointStore{store: store, retention: period.Period{Years: 10}}
	before := time.Now()
	if err := c.PutLocked(t.Context(), "audit/checkpoints/7.txt", []byte("bevis audit checkpoint v1\n")); err != nil {
		t.Fatal(err)
	}
	versions, err := store.Versions(t.Context(), "audit/checkpoints/7.txt")
	if err != nil || len(versions) != 1 {
		t.Fatalf("versions: %+v, %v", versions, err)
	}
	v := versions[0]
	if !v.LegalHold || v.Retention == nil || v.Retention.Mode != evidence.Compliance ||
		v.Retention.Until.Before(before.AddDate(10, 0, 0)) || v.Retention.Until.After(time.Now().AddDate(10, 0, 0).Add(time.Second)) {
		t.Errorf("checkpoint stored with hold %v, retention %+v; want a hold and COMPLIANCE for ten calendar years", v.LegalHold, v.Retention)
	}
	if err := c.PutLocked(t.Context(), "audit/checkpoints/7.txt", []byte("again")); err != nil {
		t.Errorf("writing a checkpoint again after a restart: %v", err)
	}
}
