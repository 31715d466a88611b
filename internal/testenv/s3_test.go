package testenv

import (
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/s3utils"
)

func TestS3_GivesEachTestAFreshValidBucketName(t *testing.T) {
	a, b := S3(t), S3(t)
	if a.Bucket == b.Bucket {
		t.Fatalf("two calls gave the same bucket %q", a.Bucket)
	}
	for _, srv := range []S3Server{a, b} {
		if err := s3utils.CheckValidBucketNameStrict(srv.Bucket); err != nil {
			t.Errorf("bucket %q: %v", srv.Bucket, err)
		}
		if ok, err := srv.Client(t).BucketExists(t.Context(), srv.Bucket); err != nil || ok {
			t.Errorf("bucket %q exists = %v, %v; want a bucket not yet created", srv.Bucket, ok, err)
		}
	}
}

func TestS3_Cleanup_RemovesTheBucketAndItsLockedVersions(t *testing.T) {
	S3(t) // skips, or fails under CI, when there is no server
	var srv S3Server
	t.Run("test_using_the_bucket", func(t *testing.T) {
		srv = S3(t)
		client := srv.Client(t)
		ctx := t.Context()
		if err := client.MakeBucket(ctx, srv.Bucket, minio.MakeBucketOptions{Region: srv.Region, ObjectLocking: true}); err != nil {
			t.Fatal(err)
		}
		for _, opts := range []minio.PutObjectOptions{
			{},
			{LegalHold: minio.LegalHoldEnabled},
			{Mode: minio.Governance, RetainUntilDate: time.Now().Add(time.Hour)},
		} {
			if _, err := client.PutObject(ctx, srv.Bucket, "dir/"+randomHex(4), strings.NewReader("x"), 1, opts); err != nil {
				t.Fatal(err)
			}
		}
	})
	if ok, err := srv.Client(t).BucketExists(t.Context(), srv.Bucket); err != nil || ok {
		t.Fatalf("after cleanup, bucket exists = %v, %v; want it removed", ok, err)
	}
}
