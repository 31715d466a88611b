package main

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/bevis-ir/bevis/audit"
	"github.com/bevis-ir/bevis/evidence"
	"github.com/bevis-ir/bevis/internal/period"
	"github.com/bevis-ir/bevis/internal/testenv"
)

type recordedAlerts struct {
	mu       sync.Mutex
	subjects []string
}

func (r *recordedAlerts) RaiseIntegrity(_ context.Context, caseID, subject, _, note string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.subjects = append(r.subjects, caseID+"|"+subject+"|"+note)
}

// An audit checkpoint with a version Bevis did not write raises an alert of
// no case (the admins').
func TestCheckCheckpoints_AlertsOnAForeignVersion(t *testing.T) {
	srv := testenv.S3(t)
	store, err := evidence.NewS3Store(evidence.S3Config{Endpoint: srv.Endpoint, Bucket: srv.Bucket, AccessKey: srv.AccessKey,
		SecretKey: srv.SecretKey, Region: srv.Region, TLS: srv.TLS})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if err := store.EnsureBucket(ctx); err != nil {
		t.Fatal(err)
	}
	key := audit.CheckpointKey(12)
	if err := (checkpointStore{store: store, retention: period.Of(time.Minute)}).PutLocked(ctx, key, []byte("checkpoint")); err != nil {
		t.Fatal(err)
	}
	alerts := &recordedAlerts{}
	checkCheckpoints(ctx, store, alerts, testenv.Logger(t))
	if len(alerts.subjects) != 0 {
		t.Fatalf("alerts before any foreign write: %q", alerts.subjects)
	}
	if _, err := srv.Client(t).PutObject(ctx, srv.Bucket, key, bytes.NewReader([]byte("forged")), 6, minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	checkCheckpoints(ctx, store, alerts, testenv.Logger(t))
	if len(alerts.subjects) != 1 || !strings.HasPrefix(alerts.subjects[0], "|"+key+"|audit checkpoint written to outside Bevis") {
		t.Errorf("alerts: %q", alerts.subjects)
	}
}
