package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// S3Server is the test S3 server and a bucket name no other test uses. The
// bucket does not exist yet: creating it (with Object Lock) is the code
// under test's job.
type S3Server struct {
	Endpoint  string // host:port
	AccessKey string
	SecretKey string
	Region    string
	TLS       bool
	Bucket    string
}

// Client returns a plain minio-go client with the server's credentials, for
// tests that check what the store did from the outside.
func (s S3Server) Client(t testing.TB) *minio.Client {
	t.Helper()
	c, err := minio.New(s.Endpoint, &minio.Options{
		Creds:  credentials.NewStaticV4(s.AccessKey, s.SecretKey, ""),
		Secure: s.TLS,
		Region: s.Region,
	})
	if err != nil {
		t.Fatalf("testenv: s3 client: %v", err)
	}
	return c
}

// S3 returns the test S3 server (BEVIS_TEST_S3_ENDPOINT, _ACCESS_KEY,
// _SECRET_KEY, _REGION; `scripts/minio.sh start` runs one with the defaults)
// with a fresh bucket name. A server that does not answer within 2 s skips
// the test, or fails it under CI=true. After the test, the bucket's objects
// and the bucket are removed as far as Object Lock allows; objects under a
// COMPLIANCE retention stay until it expires (the data dir of the test server
// is thrown away anyway).
func S3(t testing.TB) S3Server {
	t.Helper()
	srv := S3Server{
		Endpoint:  env("BEVIS_TEST_S3_ENDPOINT", "127.0.0.1:9100"),
		AccessKey: env("BEVIS_TEST_S3_ACCESS_KEY", "bevis-test"),
		SecretKey: env("BEVIS_TEST_S3_SECRET_KEY", "bevis-test-secret"),
		Region:    env("BEVIS_TEST_S3_REGION", "us-east-1"),
		Bucket:    "bevis-test-" + randomHex(6),
	}
	client := srv.Client(t)
	if reason, ok := unreachableS3.Load(srv.Endpoint); ok {
		msg, _ := reason.(string)
		unavailable(t, "S3 server", msg)
	}
	if err := probeS3(client, srv.Endpoint); err != nil {
		reason := "at " + srv.Endpoint + ": " + err.Error()
		unreachableS3.Store(srv.Endpoint, reason)
		unavailable(t, "S3 server", reason)
	}
	t.Cleanup(func() { removeBucket(client, srv.Bucket) })
	return srv
}

// unreachableS3 remembers endpoints that failed their probe (endpoint →
// reason), so a missing server costs one probe per test binary, not 2 s per
// test.
var unreachableS3 sync.Map

// probeS3 dials first, for a clear reason when nothing listens, then lists
// buckets, which proves the server answers and the credentials work.
func probeS3(client *minio.Client, endpoint string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", endpoint)
	if err != nil {
		return err
	}
	_ = conn.Close()
	_, err = client.ListBuckets(ctx)
	return err
}

// removeBucket deletes what it can: legal holds are lifted and GOVERNANCE
// retention is bypassed, but COMPLIANCE retention cannot be, so errors are
// ignored.
func removeBucket(client *minio.Client, bucket string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if ok, err := client.BucketExists(ctx, bucket); err != nil || !ok {
		return
	}
	off := minio.LegalHoldDisabled
	for obj := range client.ListObjectsIter(ctx, bucket, minio.ListObjectsOptions{Recursive: true, WithVersions: true}) {
		if obj.Err != nil {
			break
		}
		if !obj.IsDeleteMarker {
			_ = client.PutObjectLegalHold(ctx, bucket, obj.Key, minio.PutObjectLegalHoldOptions{VersionID: obj.VersionID, Status: &off})
		}
		_ = client.RemoveObject(ctx, bucket, obj.Key, minio.RemoveObjectOptions{VersionID: obj.VersionID, GovernanceBypass: true})
	}
	_ = client.RemoveBucket(ctx, bucket)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return hex.EncodeToString(b)
}

// DataDir is the test S3 server's data folder on this machine, for tests
// that tamper with what it stored behind its back: BEVIS_TEST_S3_DATA_DIR,
// or the folder `scripts/minio.sh` recorded in its state folder
// (BEVIS_TEST_STATE_DIR, default /tmp/bevis-test-minio). A server whose
// folder is not known skips the test, or fails it under CI=true.
func (s S3Server) DataDir(t testing.TB) string {
	t.Helper()
	if dir := os.Getenv("BEVIS_TEST_S3_DATA_DIR"); dir != "" {
		return dir
	}
	state := filepath.Join(env("BEVIS_TEST_STATE_DIR", "/tmp/bevis-test-minio"), "datadir")
	b, err := os.ReadFile(state) //nolint:gosec // a path of the test setup
	dir := strings.TrimSpace(string(b))
	if err != nil || dir == "" {
		unavailable(t, "S3 server's data folder", "set BEVIS_TEST_S3_DATA_DIR, or start MinIO with scripts/minio.sh: "+state+" is not readable")
	}
	return dir
}
