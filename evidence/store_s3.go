package evidence

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/s3utils"
)

// ErrBucketMisconfigured: the bucket exists but lacks versioning or Object
// Lock, without which write-once, retention and legal hold mean nothing.
// Retrying does not help; an operator must fix or replace the bucket.
var ErrBucketMisconfigured = errors.New("evidence: bucket lacks versioning or object lock")

const (
	defaultPartSize = 16 << 20
)

// S3Config locates the evidence bucket on an S3-compatible server.
type S3Config struct {
	Endpoint  string // host:port, no scheme
	Bucket    string
	AccessKey string
	SecretKey string
	Region    string
	TLS       bool
	// PartSize is the multipart upload part size, and so the memory one
	// upload of unknown size buffers. 0 means 16 MiB.
	PartSize uint64
}

// S3Store keeps evidence in an S3 bucket with versioning and Object Lock
// (AWS S3, MinIO, Ceph RGW, SeaweedFS...).
//
// Write-once rests on a conditional write, "If-None-Match: *", which the
// server checks against the key's current version, on single PUTs and again
// when completing multipart uploads. A check-then-put (HEAD, then PUT) would
// race with a concurrent writer and, in a versioned bucket, the loser would
// silently become the newest version.
//
// The condition alone is not enough: some S3 servers ignore it, and MinIO
// (as of 2026-02) lets two concurrent multipart uploads of one key both
// complete. So after writing, Put lists the key's versions and keeps its
// write only when it is the sole version; otherwise it reports
// ErrObjectExists and removes its own version when no lock protects it.
// Every writer (Put or CompleteMultipart) lists after its own write, so of two racing writers the later
// one always sees both: at most one is told it succeeded (both may be
// refused). Reads always name a version, so no caller can ever read another
// writer's bytes either way.
//
// Object Lock then keeps any version from being deleted or overwritten while
// under retention or legal hold, even with Bevis's own credentials.
type S3Store struct {
	client   *minio.Client
	bucket   string
	region   string
	partSize uint64
}

var _ BlobStore = (*S3Store)(nil)

// NewS3Store validates cfg and builds a client; it does not touch the network.
func NewS3Store(cfg S3Config) (*S3Store, error) {
	if cfg.Endpoint == "" || strings.Contains(cfg.Endpoint, "/") {
		return nil, fmt.Errorf("evidence: s3 endpoint %q must be host:port, without scheme or path", cfg.Endpoint)
	}
	if err := s3utils.CheckValidBucketNameStrict(cfg.Bucket); err != nil {
		return nil, fmt.Errorf("evidence: s3 bucket %q: %w", cfg.Bucket, err)
	}
	if cfg.AccessKey == "" || cfg.SecretKey == "" {
		return nil, errors.New("evidence: s3 access key and secret key are required")
	}
	partSize := cfg.PartSize
	if partSize == 0 {
		partSize = defaultPartSize
	}
	if partSize < MinPartSize || partSize > MaxPartSize {
		return nil, fmt.Errorf("evidence: s3 part size %d not in %d..%d", partSize, MinPartSize, MaxPartSize)
	}
	client, err := minio.New(cfg.Endpoint, &minio.Options{
		Creds:  credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""),
		Secure: cfg.TLS,
		Region: cfg.Region,
		// A few quick retries ride out a glitch; an outage is the caller's
		// to handle (retry at start-up, 503 while serving), not minio-go's
		// ten retries stretching one request over many seconds.
		MaxRetries: 3,
	})
	if err != nil {
		return nil, fmt.Errorf("evidence: s3 client: %w", err)
	}
	return &S3Store{client: client, bucket: cfg.Bucket, region: cfg.Region, partSize: partSize}, nil
}

// EnsureBucket creates the bucket with Object Lock (which turns versioning on)
// when it is missing, and otherwise checks it has both. Errors wrapping
// ErrStoreUnavailable are worth retrying; ErrBucketMisconfigured is not.
func (s *S3Store) EnsureBucket(ctx context.Context) error {
	exists, err := s.client.BucketExists(ctx, s.bucket)
	if err != nil {
		return s.translate(ctx, "check bucket", err)
	}
	if !exists {
		err := s.client.MakeBucket(ctx, s.bucket, minio.MakeBucketOptions{Region: s.region, ObjectLocking: true})
		if code := errorCode(err); err != nil && code != "BucketAlreadyOwnedByYou" && code != "BucketAlreadyExists" {
			return s.translate(ctx, "create bucket", err)
		}
		// Someone may have created it meanwhile, so check it either way.
	}
	versioning, err := s.client.GetBucketVersioning(ctx, s.bucket)
	if err != nil {
		return s.translate(ctx, "get bucket versioning", err)
	}
	if !versioning.Enabled() {
		return fmt.Errorf("%w: bucket %q versioning is %q, want Enabled", ErrBucketMisconfigured, s.bucket, versioning.Status)
	}
	lock, _, _, _, err := s.client.GetObjectLockConfig(ctx, s.bucket)
	if errorCode(err) == "ObjectLockConfigurationNotFoundError" {
		lock, err = "", nil
	}
	if err != nil {
		return s.translate(ctx, "get bucket object lock", err)
	}
	if lock != "Enabled" {
		return fmt.Errorf("%w: bucket %q has no object lock; it can only be enabled on a new bucket", ErrBucketMisconfigured, s.bucket)
	}
	return nil
}

// Put implements BlobStore.
func (s *S3Store) Put(ctx context.Context, key string, r io.Reader, size int64, opts PutOptions) (ObjectInfo, error) {
	if err := ValidateKey(key); err != nil {
		return ObjectInfo{}, err
	}
	src, err := limitStream(r, size)
	if err != nil {
		return ObjectInfo{}, err
	}
	po, err := s3LockOptions(opts)
	if err != nil {
		return ObjectInfo{}, err
	}
	po.PartSize = s.partSize
	po.SetMatchETagExcept("*") // If-None-Match: *, see S3Store

	// Remember the caller's reader failing, so that is what Put reports,
	// rather than a store outage.
	body := &watchedReader{r: src}
	up, err := s.client.PutObject(ctx, s.bucket, key, body, size, po)
	if err != nil {
		// minio-go aborts a failed multipart upload itself, even when ctx is done.
		if refused := writeRefused(key, err); refused != nil {
			return ObjectInfo{}, refused
		}
		if body.failure() != nil {
			return ObjectInfo{}, fmt.Errorf("evidence: put %s: reading: %w", key, body.failure())
		}
		return ObjectInfo{}, s.translate(ctx, "put "+key, err)
	}
	// A locked version cannot be removed, so do not try.
	return s.acceptWrite(ctx, key, up.VersionID, opts.Retention == nil && !opts.LegalHold)
}

// s3LockOptions are the options of a new object: its retention and legal
// hold, sent with the write (or the initiation of a multipart write) so the
// object never exists without them.
func s3LockOptions(opts PutOptions) (minio.PutObjectOptions, error) {
	po := minio.PutObjectOptions{ContentType: "application/octet-stream"}
	if opts.Retention != nil {
		ret, err := normalizeRetention(*opts.Retention, time.Now())
		if err != nil {
			return minio.PutObjectOptions{}, err
		}
		po.Mode, po.RetainUntilDate = minio.RetentionMode(ret.Mode), ret.Until
	}
	if opts.LegalHold {
		po.LegalHold = minio.LegalHoldEnabled
	}
	return po, nil
}

// writeRefused returns ErrObjectExists when err is the server refusing a
// conditional write (If-None-Match: *) because the key is taken, else nil.
func writeRefused(key string, err error) error {
	switch errorCode(err) {
	case "PreconditionFailed":
		return fmt.Errorf("%w: %s", ErrObjectExists, key)
	case "ConditionalRequestConflict":
		// AWS: another write of the key was in flight. Keys are never
		// reused, so that is a retry of this very write racing itself.
		return fmt.Errorf("%w: %s (concurrent write)", ErrObjectExists, key)
	}
	return nil
}

// acceptWrite finishes every write (Put, CompleteMultipart) the server
// accepted as versionID: it keeps it only when it is the key's sole version
// and reports it exactly as Stat will report it later. removable tells
// whether a refused version may be removed (see ensureSoleVersion).
func (s *S3Store) acceptWrite(ctx context.Context, key, versionID string, removable bool) (ObjectInfo, error) {
	if versionID == "" {
		return ObjectInfo{}, fmt.Errorf("%w: write of %s returned no version ID", ErrBucketMisconfigured, key)
	}
	if err := s.ensureSoleVersion(ctx, key, versionID, removable); err != nil {
		return ObjectInfo{}, err
	}
	return s.Stat(ctx, key, versionID)
}

// ensureSoleVersion checks that versionID, just written, is the only version
// of key (see S3Store for why). When it is not and removable is true, it
// removes it: the write was never acknowledged, and no other version is touched.
func (s *S3Store) ensureSoleVersion(ctx context.Context, key, versionID string, removable bool) error {
	ids, err := s.versionIDs(ctx, key)
	if err != nil {
		return err
	}
	if len(ids) == 1 && ids[0] == versionID {
		return nil
	}
	if removable {
		rmCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		_ = s.client.RemoveObject(rmCtx, s.bucket, key, minio.RemoveObjectOptions{VersionID: versionID})
	}
	if !slices.Contains(ids, versionID) {
		return fmt.Errorf("evidence: write of %s: version %s was written but the server does not list it", key, versionID)
	}
	return fmt.Errorf("%w: %s (%d versions after this write)", ErrObjectExists, key, len(ids))
}

// watchedReader records the first error its reader returns other than EOF.
// The HTTP transport may read the body from its own goroutine.
type watchedReader struct {
	r   io.Reader
	mu  sync.Mutex
	err error
}

func (w *watchedReader) Read(p []byte) (int, error) {
	n, err := w.r.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		w.mu.Lock()
		if w.err == nil {
			w.err = err
		}
		w.mu.Unlock()
	}
	return n, err
}

func (w *watchedReader) failure() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// Get implements BlobStore. The request is made before it returns, so a
// missing version or a bad range is reported here, not on the first Read.
func (s *S3Store) Get(ctx context.Context, key, versionID string, offset, length int64) (io.ReadCloser, error) {
	if err := validateRef(key, versionID); err != nil {
		return nil, err
	}
	if err := validateRange(offset, length); err != nil {
		return nil, err
	}
	opts := minio.GetObjectOptions{VersionID: versionID}
	// A whole read sends no Range header, so an empty object can be read.
	if length != -1 && length > math.MaxInt64-offset {
		length = -1 // past any possible end: read to the end
	}
	switch {
	case length != -1:
		opts.Set("Range", fmt.Sprintf("bytes=%d-%d", offset, offset+length-1))
	case offset > 0:
		opts.Set("Range", fmt.Sprintf("bytes=%d-", offset))
	}
	core := minio.Core{Client: s.client}
	body, _, _, err := core.GetObject(ctx, s.bucket, key, opts)
	if err != nil {
		return nil, s.translateRef(ctx, "get", key, versionID, err)
	}
	return &s3Reader{ctx: ctx, rc: body, store: s, key: key}, nil
}

// s3Reader marks a broken download as a store outage, not a client error.
type s3Reader struct {
	ctx   context.Context
	rc    io.ReadCloser
	store *S3Store
	key   string
}

func (r *s3Reader) Read(p []byte) (int, error) {
	n, err := r.rc.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		err = r.store.translate(r.ctx, "read "+r.key, err)
	}
	return n, err
}

func (r *s3Reader) Close() error { return r.rc.Close() }

// Stat implements BlobStore.
func (s *S3Store) Stat(ctx context.Context, key, versionID string) (ObjectInfo, error) {
	if err := validateRef(key, versionID); err != nil {
		return ObjectInfo{}, err
	}
	oi, err := s.client.StatObject(ctx, s.bucket, key, minio.StatObjectOptions{VersionID: versionID})
	if err != nil {
		return ObjectInfo{}, s.translateRef(ctx, "stat", key, versionID, err)
	}
	if oi.IsDeleteMarker {
		return ObjectInfo{}, fmt.Errorf("%w: %s version %s is a delete marker", ErrObjectNotFound, key, versionID)
	}
	return objectInfoFromS3(key, oi)
}

// objectInfoFromS3 reads the lock state from the HEAD response headers,
// which S3 sends to callers allowed to read retention and legal hold.
func objectInfoFromS3(key string, oi minio.ObjectInfo) (ObjectInfo, error) {
	info := ObjectInfo{
		Key:       key,
		VersionID: oi.VersionID,
		Size:      oi.Size,
		ModTime:   oi.LastModified.UTC(),
		LegalHold: oi.Metadata.Get("X-Amz-Object-Lock-Legal-Hold") == string(minio.LegalHoldEnabled),
	}
	if mode := oi.Metadata.Get("X-Amz-Object-Lock-Mode"); mode != "" {
		until, err := time.Parse(time.RFC3339Nano, oi.Metadata.Get("X-Amz-Object-Lock-Retain-Until-Date"))
		if err != nil {
			return ObjectInfo{}, fmt.Errorf("evidence: stat %s: retain-until date: %w", key, err)
		}
		info.Retention = &Retention{Mode: RetentionMode(mode), Until: until.UTC()}
	}
	return info, nil
}

// Versions implements BlobStore.
func (s *S3Store) Versions(ctx context.Context, key string) ([]ObjectInfo, error) {
	if err := ValidateKey(key); err != nil {
		return nil, err
	}
	listed, err := s.listVersions(ctx, key)
	if err != nil {
		return nil, err
	}
	if len(listed) == 0 {
		return nil, fmt.Errorf("%w: %s", ErrObjectNotFound, key)
	}
	// A listing carries no lock state; Bevis writes one version per key, so
	// a HEAD per version costs little and keeps the answer complete.
	versions := make([]ObjectInfo, 0, len(listed))
	for _, oi := range listed {
		if oi.IsDeleteMarker {
			versions = append(versions, ObjectInfo{Key: key, VersionID: oi.VersionID, ModTime: oi.LastModified.UTC(), DeleteMarker: true})
			continue
		}
		info, err := s.Stat(ctx, key, oi.VersionID)
		if err != nil {
			return nil, err
		}
		versions = append(versions, info)
	}
	return versions, nil
}

// versionIDs lists the IDs of the versions of exactly key, newest first,
// leaving out delete markers.
func (s *S3Store) versionIDs(ctx context.Context, key string) ([]string, error) {
	listed, err := s.listVersions(ctx, key)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, oi := range listed {
		if !oi.IsDeleteMarker {
			ids = append(ids, oi.VersionID)
		}
	}
	return ids, nil
}

// listVersions lists the versions and delete markers of exactly key,
// newest first.
func (s *S3Store) listVersions(ctx context.Context, key string) ([]minio.ObjectInfo, error) {
	var out []minio.ObjectInfo
	for oi := range s.client.ListObjectsIter(ctx, s.bucket, minio.ListObjectsOptions{Prefix: key, WithVersions: true, Recursive: true}) {
		if oi.Err != nil {
			return nil, s.translate(ctx, "list versions of "+key, oi.Err)
		}
		// The prefix also matches longer keys.
		if oi.Key == key {
			out = append(out, oi)
		}
	}
	return out, nil
}

// SetRetention implements BlobStore. The rules are checked here, so every
// backend refuses the same changes with ErrRetentionShortened, and again by
// the server, which is what actually protects the object.
func (s *S3Store) SetRetention(ctx context.Context, key, versionID string, r Retention) error {
	now := time.Now()
	next, err := normalizeRetention(r, now)
	if err != nil {
		return err
	}
	cur, err := s.Stat(ctx, key, versionID)
	if err != nil {
		return err
	}
	if err := checkRetentionChange(cur.Retention, next, now); err != nil {
		return err
	}
	mode := minio.RetentionMode(next.Mode)
	err = s.client.PutObjectRetention(ctx, s.bucket, key, minio.PutObjectRetentionOptions{
		// Shortening GOVERNANCE needs the bypass (and the permission for it);
		// the bypass never touches COMPLIANCE.
		GovernanceBypass: cur.Retention != nil && cur.Retention.Mode == Governance,
		Mode:             &mode,
		RetainUntilDate:  &next.Until,
		VersionID:        versionID,
	})
	if err != nil {
		return s.translateRef(ctx, "set retention of", key, versionID, err)
	}
	return nil
}

// SetLegalHold implements BlobStore.
func (s *S3Store) SetLegalHold(ctx context.Context, key, versionID string, on bool) error {
	if err := validateRef(key, versionID); err != nil {
		return err
	}
	status := minio.LegalHoldDisabled
	if on {
		status = minio.LegalHoldEnabled
	}
	err := s.client.PutObjectLegalHold(ctx, s.bucket, key, minio.PutObjectLegalHoldOptions{VersionID: versionID, Status: &status})
	if err != nil {
		return s.translateRef(ctx, "set legal hold of", key, versionID, err)
	}
	return nil
}

// DeleteVersion implements BlobStore. The store's Object Lock refuses it
// too while the version is retained; Bevis asks first, to tell that apart.
func (s *S3Store) DeleteVersion(ctx context.Context, key, versionID string) error {
	info, err := s.Stat(ctx, key, versionID)
	if err != nil {
		return err
	}
	if info.LegalHold || info.Retention != nil && info.Retention.Until.After(time.Now()) {
		return fmt.Errorf("%w: %s version %s", ErrRetained, key, versionID)
	}
	if err := s.client.RemoveObject(ctx, s.bucket, key, minio.RemoveObjectOptions{VersionID: versionID}); err != nil {
		return s.translateRef(ctx, "delete", key, versionID, err)
	}
	return nil
}

// Ping implements BlobStore: the server answers and the bucket is there.
func (s *S3Store) Ping(ctx context.Context) error {
	exists, err := s.client.BucketExists(ctx, s.bucket)
	if err != nil {
		return s.translate(ctx, "ping", err)
	}
	if !exists {
		return fmt.Errorf("%w: bucket %q does not exist", ErrStoreUnavailable, s.bucket)
	}
	return nil
}

// translateRef is translate for calls naming one version. A version ID the
// server cannot parse names no version (MinIO and AWS answer InvalidArgument
// "Invalid version id specified"), nor does a delete marker (answered with
// MethodNotAllowed), so both are not found.
func (s *S3Store) translateRef(ctx context.Context, op, key, versionID string, err error) error {
	var resp minio.ErrorResponse
	if errors.As(err, &resp) && (resp.Code == "MethodNotAllowed" ||
		resp.Code == "InvalidArgument" && strings.Contains(strings.ToLower(resp.Message), "version")) {
		return fmt.Errorf("%w: %s version %s: %w", ErrObjectNotFound, key, versionID, err)
	}
	return s.translate(ctx, op+" "+key, err)
}

// translate maps a minio-go error to the store's sentinels. An S3 error
// response means the server was reached; anything else (refused connection,
// timeout, reset) means it was not, and is ErrStoreUnavailable unless the
// caller gave up first.
func (s *S3Store) translate(ctx context.Context, op string, err error) error {
	var resp minio.ErrorResponse
	if !errors.As(err, &resp) {
		if errors.Is(err, context.Canceled) && ctx.Err() != nil {
			return fmt.Errorf("evidence: s3 %s: %w", op, err)
		}
		return fmt.Errorf("%w: s3 %s: %w", ErrStoreUnavailable, op, err)
	}
	switch {
	case resp.Code == "NoSuchUpload":
		return fmt.Errorf("%w: %s: %w", ErrUploadNotFound, op, err)
	case resp.Code == "InvalidPart" || resp.Code == "InvalidPartOrder" || resp.Code == "EntityTooSmall":
		return fmt.Errorf("%w: %s: %w", ErrInvalidPart, op, err)
	case resp.Code == "NoSuchKey" || resp.Code == "NoSuchVersion":
		return fmt.Errorf("%w: %s: %w", ErrObjectNotFound, op, err)
	case resp.Code == "InvalidRange":
		return fmt.Errorf("%w: %s: %w", ErrInvalidRange, op, err)
	case resp.Code == "NoSuchBucket":
		return fmt.Errorf("%w: s3 %s: bucket %q does not exist: %w", ErrStoreUnavailable, op, s.bucket, err)
	case resp.StatusCode == http.StatusNotFound:
		return fmt.Errorf("%w: %s: %w", ErrObjectNotFound, op, err)
	case resp.StatusCode >= 500 || resp.Code == "SlowDown" || resp.Code == "XMinioServerNotInitialized":
		return fmt.Errorf("%w: s3 %s: %w", ErrStoreUnavailable, op, err)
	}
	return fmt.Errorf("evidence: s3 %s: %w", op, err)
}

func errorCode(err error) string {
	var resp minio.ErrorResponse
	if errors.As(err, &resp) {
		return resp.Code
	}
	return ""
}
