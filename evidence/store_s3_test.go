package evidence

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/bevis-ir/bevis/internal/testenv"
)

func TestS3Store_Contract(t *testing.T) {
	servers := make(map[BlobStore]testenv.S3Server)
	testBlobStoreContract(t, func(t *testing.T) BlobStore {
		s, srv := newTestS3Store(t)
		servers[s] = srv
		return s
	}, func(t *testing.T, s BlobStore) BlobStore {
		t.Helper()
		other, err := NewS3Store(s3ConfigFor(servers[s]))
		if err != nil {
			t.Fatalf("NewS3Store: %v", err)
		}
		return other
	})
}

// newTestS3Store returns a store on a fresh bucket of the test server, with
// the smallest part size so multipart paths run on small data.
func newTestS3Store(t testing.TB) (*S3Store, testenv.S3Server) {
	t.Helper()
	srv := testenv.S3(t)
	s, err := NewS3Store(s3ConfigFor(srv))
	if err != nil {
		t.Fatalf("NewS3Store: %v", err)
	}
	if err := s.EnsureBucket(t.Context()); err != nil {
		t.Fatalf("EnsureBucket: %v", err)
	}
	return s, srv
}

func s3ConfigFor(srv testenv.S3Server) S3Config {
	return S3Config{
		Endpoint:  srv.Endpoint,
		Bucket:    srv.Bucket,
		AccessKey: srv.AccessKey,
		SecretKey: srv.SecretKey,
		Region:    srv.Region,
		TLS:       srv.TLS,
		PartSize:  partSize,
	}
}

// Evidence under a lock must survive even Bevis's own credentials: a stolen
// application key must not be able to destroy it.
func TestS3Store_LockedVersion_CannotBeDeletedWithTheAppCredentials(t *testing.T) {
	s, srv := newTestS3Store(t)
	client := srv.Client(t)
	soon := time.Now().Add(time.Minute)
	for _, tc := range []struct {
		name   string
		opts   PutOptions
		remove minio.RemoveObjectOptions
	}{
		{"legal_hold", PutOptions{LegalHold: true}, minio.RemoveObjectOptions{}},
		{"legal_hold_with_governance_bypass", PutOptions{LegalHold: true}, minio.RemoveObjectOptions{GovernanceBypass: true}},
		{"legal_hold_over_expired_governance", PutOptions{LegalHold: true, Retention: &Retention{Governance, time.Now().Add(2 * time.Second)}}, minio.RemoveObjectOptions{GovernanceBypass: true}},
		{"governance_without_bypass", PutOptions{Retention: &Retention{Governance, soon}}, minio.RemoveObjectOptions{}},
		{"compliance_with_bypass", PutOptions{Retention: &Retention{Compliance, soon}}, minio.RemoveObjectOptions{GovernanceBypass: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			key := newTestKey()
			info := mustPut(t, s, key, []byte("evidence"), 8, tc.opts)
			if tc.opts.Retention != nil && tc.opts.Retention.Until.Before(soon) {
				time.Sleep(time.Until(tc.opts.Retention.Until.Add(time.Second)))
			}
			tc.remove.VersionID = info.VersionID
			if err := client.RemoveObject(t.Context(), srv.Bucket, key, tc.remove); err == nil {
				t.Fatal("RemoveObject of the locked version succeeded")
			}
			assertSameBytes(t, mustGet(t, s, key, info.VersionID, 0, -1), []byte("evidence"))
		})
	}
}

func TestS3Store_Put_UsesTheConfiguredPartSize(t *testing.T) {
	s, srv := newTestS3Store(t)
	for _, size := range []int64{bigSize, -1} {
		key := newTestKey()
		info := mustPut(t, s, key, testBytes(bigSize), size, PutOptions{})
		oi, err := srv.Client(t).StatObject(t.Context(), srv.Bucket, key, minio.StatObjectOptions{VersionID: info.VersionID})
		if err != nil {
			t.Fatal(err)
		}
		// A multipart ETag ends in the number of parts: 12 MiB in 5 MiB parts.
		if !strings.HasSuffix(oi.ETag, "-3") {
			t.Errorf("size %d: ETag %q, want 3 parts", size, oi.ETag)
		}
	}
}

func TestS3Store_EnsureBucket(t *testing.T) {
	t.Run("creates_a_locked_versioned_bucket_and_accepts_it_again", func(t *testing.T) {
		s, srv := newTestS3Store(t) // created once already
		if err := s.EnsureBucket(t.Context()); err != nil {
			t.Fatalf("second EnsureBucket: %v", err)
		}
		lock, _, _, _, err := srv.Client(t).GetObjectLockConfig(t.Context(), srv.Bucket)
		if err != nil || lock != "Enabled" {
			t.Fatalf("object lock = %q, %v; want Enabled", lock, err)
		}
	})
	t.Run("refuses_a_bucket_without_object_lock", func(t *testing.T) {
		for _, versioned := range []bool{false, true} {
			srv := testenv.S3(t)
			client := srv.Client(t)
			if err := client.MakeBucket(t.Context(), srv.Bucket, minio.MakeBucketOptions{Region: srv.Region}); err != nil {
				t.Fatal(err)
			}
			if versioned {
				if err := client.EnableVersioning(t.Context(), srv.Bucket); err != nil {
					t.Fatal(err)
				}
			}
			s, err := NewS3Store(s3ConfigFor(srv))
			if err != nil {
				t.Fatal(err)
			}
			if err := s.EnsureBucket(t.Context()); !errors.Is(err, ErrBucketMisconfigured) {
				t.Fatalf("versioned=%v: EnsureBucket error = %v, want ErrBucketMisconfigured", versioned, err)
			}
		}
	})
}

func TestS3Store_UnreachableServer_IsUnavailable(t *testing.T) {
	s, err := NewS3Store(S3Config{Endpoint: "127.0.0.1:1", Bucket: "evidence", AccessKey: "k", SecretKey: "s"})
	if err != nil {
		t.Fatal(err)
	}
	ops := map[string]func(ctx context.Context) error{
		"EnsureBucket": s.EnsureBucket,
		"Ping":         s.Ping,
		"Put": func(ctx context.Context) error {
			_, err := s.Put(ctx, "a.bin", bytes.NewReader([]byte("x")), 1, PutOptions{})
			return err
		},
		"Get": func(ctx context.Context) error {
			_, err := s.Get(ctx, "a.bin", "v", 0, -1)
			return err
		},
		"Stat": func(ctx context.Context) error {
			_, err := s.Stat(ctx, "a.bin", "v")
			return err
		},
		"Versions": func(ctx context.Context) error {
			_, err := s.Versions(ctx, "a.bin")
			return err
		},
		"SetLegalHold": func(ctx context.Context) error { return s.SetLegalHold(ctx, "a.bin", "v", true) },
		"StartMultipart": func(ctx context.Context) error {
			_, err := s.StartMultipart(ctx, "a.bin", PutOptions{})
			return err
		},
		"PutPart": func(ctx context.Context) error {
			_, err := s.PutPart(ctx, "a.bin", "u", 1, bytes.NewReader([]byte("x")), 1)
			return err
		},
		"CompleteMultipart": func(ctx context.Context) error {
			_, err := s.CompleteMultipart(ctx, "a.bin", "u", []Part{{Number: 1, ETag: "e", Size: 1}})
			return err
		},
		"AbortMultipart": func(ctx context.Context) error { return s.AbortMultipart(ctx, "a.bin", "u") },
		"AbortStaleMultiparts": func(ctx context.Context) error {
			_, err := s.AbortStaleMultiparts(ctx, time.Hour)
			return err
		},
	}
	for name, op := range ops {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			// minio-go retries a refused connection; the deadline ends that.
			ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
			defer cancel()
			if err := op(ctx); !errors.Is(err, ErrStoreUnavailable) {
				t.Fatalf("error = %v, want ErrStoreUnavailable", err)
			}
		})
	}
}

func TestS3Store_Ping_FailsWhenTheBucketIsMissing(t *testing.T) {
	srv := testenv.S3(t)
	s, err := NewS3Store(s3ConfigFor(srv))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Ping(t.Context()); !errors.Is(err, ErrStoreUnavailable) {
		t.Fatalf("Ping error = %v, want ErrStoreUnavailable", err)
	}
}

func TestNewS3Store_RefusesBadConfig(t *testing.T) {
	good := S3Config{Endpoint: "127.0.0.1:9000", Bucket: "evidence", AccessKey: "k", SecretKey: "s"}
	for _, tc := range []struct {
		name   string
		change func(*S3Config)
	}{
		{"no_endpoint", func(c *S3Config) { c.Endpoint = "" }},
		{"endpoint_with_scheme", func(c *S3Config) { c.Endpoint = "http://127.0.0.1:9000" }},
		{"bad_bucket_name", func(c *S3Config) { c.Bucket = "Evidence_Bucket" }},
		{"no_access_key", func(c *S3Config) { c.AccessKey = "" }},
		{"no_secret_key", func(c *S3Config) { c.SecretKey = "" }},
		{"part_size_below_s3_minimum", func(c *S3Config) { c.PartSize = 1 << 20 }},
		{"part_size_above_s3_maximum", func(c *S3Config) { c.PartSize = 6 << 30 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := good
			tc.change(&cfg)
			if _, err := NewS3Store(cfg); err == nil {
				t.Fatal("NewS3Store succeeded, want an error")
			}
		})
	}
	if s, err := NewS3Store(good); err != nil || s.partSize != defaultPartSize {
		t.Fatalf("NewS3Store(good) = part size %v, %v; want %d, nil", s, err, defaultPartSize)
	}
}

// A delete marker hides a version from the conditional write but not from
// the check after it: the key is still taken, and the refused write is gone.
func TestS3Store_Put_RefusesAKeyWhoseVersionIsHiddenByADeleteMarker(t *testing.T) {
	s, srv := newTestS3Store(t)
	client := srv.Client(t)
	key := newTestKey()
	original := mustPut(t, s, key, []byte("original"), 8, PutOptions{})
	// Someone deletes the object outside Bevis, leaving a delete marker.
	if err := client.RemoveObject(t.Context(), srv.Bucket, key, minio.RemoveObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put(t.Context(), key, strings.NewReader("replacement"), -1, PutOptions{}); !errors.Is(err, ErrObjectExists) {
		t.Fatalf("Put error = %v, want ErrObjectExists", err)
	}
	// The replacement was not kept: the original and the marker over it.
	versions, err := s.Versions(t.Context(), key)
	if err != nil || len(versions) != 2 || !versions[0].DeleteMarker || versions[1].VersionID != original.VersionID {
		t.Fatalf("Versions = %+v, %v; want the delete marker, then the original", versions, err)
	}

	var marker string
	for oi := range client.ListObjectsIter(t.Context(), srv.Bucket, minio.ListObjectsOptions{Prefix: key, WithVersions: true}) {
		if oi.IsDeleteMarker {
			marker = oi.VersionID
		}
	}
	if _, err := s.Stat(t.Context(), key, marker); !errors.Is(err, ErrObjectNotFound) {
		t.Errorf("Stat of the delete marker error = %v, want ErrObjectNotFound", err)
	}
	if _, err := s.Get(t.Context(), key, marker, 0, -1); !errors.Is(err, ErrObjectNotFound) {
		t.Errorf("Get of the delete marker error = %v, want ErrObjectNotFound", err)
	}
	assertSameBytes(t, mustGet(t, s, key, original.VersionID, 0, -1), []byte("original"))
}
