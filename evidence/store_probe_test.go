package evidence

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/bevis-ir/bevis/internal/testenv"
)

// readmeBucket is the bucket the README's policies name.
const readmeBucket = "bevis-evidence"

// recommendedPolicy is the MinIO policy the README gives, for bucket.
func recommendedPolicy(t *testing.T, bucket string) string {
	t.Helper()
	raw, err := os.ReadFile("testdata/minio-policy.json")
	if err != nil {
		t.Fatal(err)
	}
	return strings.ReplaceAll(string(raw), readmeBucket, bucket)
}

// The policy the README recommended before: every action Bevis uses, no
// s3:BypassGovernanceRetention, no s3:DeleteBucket. MinIO lets a caller
// with s3:PutObjectRetention use the governance bypass all the same.
const oldLeastPrivilegePolicy = `{"Version": "2012-10-17", "Statement": [
 {"Effect": "Allow", "Action": ["s3:ListBucket", "s3:ListBucketVersions", "s3:ListBucketMultipartUploads",
   "s3:GetBucketLocation", "s3:GetBucketVersioning", "s3:GetBucketObjectLockConfiguration"],
  "Resource": ["arn:aws:s3:::BUCKET"]},
 {"Effect": "Allow", "Action": ["s3:PutObject", "s3:GetObject", "s3:GetObjectVersion", "s3:DeleteObjectVersion",
   "s3:PutObjectRetention", "s3:GetObjectRetention", "s3:PutObjectLegalHold", "s3:GetObjectLegalHold",
   "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"],
  "Resource": ["arn:aws:s3:::BUCKET/*"]}]}`

// storeWithPolicy is an S3Store on srv's bucket whose credentials have only
// what policy allows: temporary credentials of the root user restricted by
// policy as their session policy (STS AssumeRole), which MinIO checks as
// it checks a user's own policy.
func storeWithPolicy(t *testing.T, srv testenv.S3Server, policy string) *S3Store {
	t.Helper()
	var compact bytes.Buffer
	if err := json.Compact(&compact, []byte(policy)); err != nil {
		t.Fatalf("policy: %v", err)
	}
	scheme := "http://"
	if srv.TLS {
		scheme = "https://"
	}
	creds, err := credentials.NewSTSAssumeRole(scheme+srv.Endpoint, credentials.STSAssumeRoleOptions{
		AccessKey: srv.AccessKey, SecretKey: srv.SecretKey, Policy: compact.String(), Location: srv.Region})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := creds.GetWithContext(&credentials.CredContext{}); err != nil {
		t.Fatalf("assume role: %v", err)
	}
	client, err := minio.New(srv.Endpoint, &minio.Options{Creds: creds, Secure: srv.TLS, Region: srv.Region, MaxRetries: 1})
	if err != nil {
		t.Fatal(err)
	}
	return &S3Store{client: client, bucket: srv.Bucket, region: srv.Region, partSize: partSize}
}

func TestProbeLocks_FindsWhatAPermissivePolicyAllows(t *testing.T) {
	root, srv := newTestS3Store(t)
	for _, tc := range []struct {
		name, policy string
		want         []string
	}{
		{"root", "", []string{"shortened", "deleted", "lifted"}},
		{"old_least_privilege", strings.ReplaceAll(oldLeastPrivilegePolicy, "BUCKET", srv.Bucket), []string{"shortened", "lifted"}},
		{"recommended", recommendedPolicy(t, srv.Bucket), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := root
			if tc.policy != "" {
				s = storeWithPolicy(t, srv, tc.policy)
			}
			res, err := s.ProbeLocks(t.Context())
			if err != nil {
				t.Fatalf("probe: %v", err)
			}
			if len(res.Weaknesses) != len(tc.want) {
				t.Fatalf("weaknesses %q, want ones about %q", res.Weaknesses, tc.want)
			}
			for i, w := range tc.want {
				if !strings.Contains(res.Weaknesses[i], w) {
					t.Errorf("weakness %q, want one about %q", res.Weaknesses[i], w)
				}
			}
			if !strings.HasPrefix(res.Canary, ProbePrefix) {
				t.Errorf("canary %q outside %s", res.Canary, ProbePrefix)
			}
		})
	}
}

// Under the recommended policy Bevis does all its work: locked evidence in
// one write and in parts, reads, versions, legal holds set and released on
// evidence, checkpoints written held and locked. What an insider with the
// same credentials would do to destroy them is refused.
func TestRecommendedPolicy_LetsBevisWorkAndRefusesDestruction(t *testing.T) {
	_, srv := newTestS3Store(t)
	s := storeWithPolicy(t, srv, recommendedPolicy(t, srv.Bucket))
	ctx := t.Context()
	if err := s.EnsureBucket(ctx); err != nil {
		t.Fatalf("EnsureBucket: %v", err)
	}
	lock := &Retention{Mode: Governance, Until: time.Now().Add(time.Hour)}
	evidence := mustPut(t, s, "cases/c1/items/i1/u1.sealed", []byte("sealed evidence"), 15, PutOptions{Retention: lock})
	id := mustStart(t, s, "cases/c1/items/i2/u2.sealed", PutOptions{Retention: lock})
	part := mustPutPart(t, s, "cases/c1/items/i2/u2.sealed", id, 1, []byte("sealed parts"))
	if _, err := s.CompleteMultipart(ctx, "cases/c1/items/i2/u2.sealed", id, []Part{part}); err != nil {
		t.Fatalf("multipart: %v", err)
	}
	assertSameBytes(t, mustGet(t, s, evidence.Key, evidence.VersionID, 0, -1), []byte("sealed evidence"))
	if v, err := s.Versions(ctx, evidence.Key); err != nil || len(v) != 1 || v[0].Retention == nil {
		t.Fatalf("versions: %+v, %v", v, err)
	}
	for _, on := range []bool{true, false} {
		if err := s.SetLegalHold(ctx, evidence.Key, evidence.VersionID, on); err != nil {
			t.Fatalf("legal hold %v on evidence: %v", on, err)
		}
	}
	checkpoint, err := s.Put(ctx, "audit/checkpoints/1.txt", strings.NewReader("bevis audit checkpoint v1\n"), 26,
		PutOptions{LegalHold: true, Retention: &Retention{Mode: Compliance, Until: time.Now().Add(time.Minute)}})
	if err != nil {
		t.Fatalf("checkpoint: %v", err)
	}

	mode, soon := minio.Governance, time.Now().Add(2*time.Second).Truncate(time.Second)
	if err := s.client.PutObjectRetention(ctx, s.bucket, evidence.Key, minio.PutObjectRetentionOptions{
		GovernanceBypass: true, Mode: &mode, RetainUntilDate: &soon, VersionID: evidence.VersionID}); err == nil {
		t.Error("the evidence's lock was shortened")
	}
	for _, remove := range []minio.RemoveObjectOptions{{VersionID: evidence.VersionID, GovernanceBypass: true}, {}} {
		if err := s.client.RemoveObject(ctx, s.bucket, evidence.Key, remove); err == nil {
			t.Errorf("evidence removed with %+v", remove)
		}
	}
	off := minio.LegalHoldDisabled
	if err := s.client.PutObjectLegalHold(ctx, s.bucket, checkpoint.Key, minio.PutObjectLegalHoldOptions{
		VersionID: checkpoint.VersionID, Status: &off}); err == nil {
		t.Error("a checkpoint's legal hold was lifted")
	}
	if v, err := s.Versions(ctx, evidence.Key); err != nil || len(v) != 1 {
		t.Errorf("after the attempts: %+v, %v", v, err)
	}
}

// The README gives exactly the policy tested here.
func TestReadme_GivesTheTestedMinIOPolicy(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	policy, err := os.ReadFile("testdata/minio-policy.json")
	if err != nil {
		t.Fatal(err)
	}
	// Whitespace aside: the README indents the policy inside its list.
	flat := func(b []byte) string { return strings.Join(strings.Fields(string(b)), " ") }
	if !strings.Contains(flat(readme), flat(policy)) {
		t.Error("README.md does not give the policy of evidence/testdata/minio-policy.json")
	}
}

// A checkpoint key with a second version or a delete marker was written
// outside Bevis.
func TestForeignWrites_NamesKeysWithStrangers(t *testing.T) {
	s, srv := newTestS3Store(t)
	root := srv.Client(t)
	ctx := t.Context()
	for _, key := range []string{"audit/checkpoints/1.txt", "audit/checkpoints/2.txt", "audit/checkpoints/3.txt"} {
		mustPut(t, s, key, []byte("checkpoint"), 10, PutOptions{})
	}
	if found, err := s.ForeignWrites(ctx, "audit/checkpoints/"); err != nil || len(found) != 0 {
		t.Fatalf("before: %q, %v", found, err)
	}
	if _, err := root.PutObject(ctx, srv.Bucket, "audit/checkpoints/2.txt", strings.NewReader("forged"), 6, minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := root.RemoveObject(ctx, srv.Bucket, "audit/checkpoints/3.txt", minio.RemoveObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	found, err := s.ForeignWrites(ctx, "audit/checkpoints/")
	if err != nil || len(found) != 2 || !strings.HasPrefix(found[0], "audit/checkpoints/2.txt: 2 versions") ||
		!strings.HasPrefix(found[1], "audit/checkpoints/3.txt: 1 versions and 1 delete markers") {
		t.Errorf("after: %q, %v", found, err)
	}
}
