package evidence

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
)

// Multipart writes of S3Store map one to one onto S3's multipart upload, so
// the server keeps all their state and any Bevis node can continue one.
// Retention and legal hold are sent when the upload is initiated, and the
// server applies them to the object it assembles; completion is conditional
// (If-None-Match: *) and checked afterwards like Put (see S3Store).

func (s *S3Store) core() minio.Core { return minio.Core{Client: s.client} }

// StartMultipart implements BlobStore.
func (s *S3Store) StartMultipart(ctx context.Context, key string, opts PutOptions) (string, error) {
	if err := ValidateKey(key); err != nil {
		return "", err
	}
	po, err := s3LockOptions(opts)
	if err != nil {
		return "", err
	}
	uploadID, err := s.core().NewMultipartUpload(ctx, s.bucket, key, po)
	if err != nil {
		return "", s.translate(ctx, "start upload of "+key, err)
	}
	if uploadID == "" {
		return "", fmt.Errorf("evidence: s3 start upload of %s: no upload ID returned", key)
	}
	return uploadID, nil
}

// PutPart implements BlobStore.
func (s *S3Store) PutPart(ctx context.Context, key, uploadID string, n int, r io.Reader, size int64) (Part, error) {
	if err := validateUploadID(key, uploadID); err != nil {
		return Part{}, err
	}
	if err := validatePartArgs(n, size); err != nil {
		return Part{}, err
	}
	opts := partChecksum(r, size)
	// As in Put, a failing reader is reported as such, not as an outage.
	body := &watchedReader{r: ctxReader{ctx: ctx, r: &exactReader{r: r, left: size, size: size}}}
	op := fmt.Sprintf("put part %d of %s", n, key)
	part, err := s.core().PutObjectPart(ctx, s.bucket, key, uploadID, n, body, size, opts)
	if err != nil {
		if body.failure() != nil {
			return Part{}, fmt.Errorf("evidence: %s: reading: %w", op, body.failure())
		}
		return Part{}, s.translate(ctx, op, err)
	}
	return Part{Number: n, ETag: trimETag(part.ETag), Size: size}, nil
}

func trimETag(etag string) string { return strings.Trim(etag, `"`) }

// CompleteMultipart implements BlobStore. S3 itself checks only ETags and
// the size of parts but the last, and accepts gaps in the numbering; the
// stored parts are listed first so that sizes and gaps are refused too, as
// FSStore does.
func (s *S3Store) CompleteMultipart(ctx context.Context, key, uploadID string, parts []Part) (ObjectInfo, error) {
	if err := validateUploadID(key, uploadID); err != nil {
		return ObjectInfo{}, err
	}
	if err := validatePartList(parts); err != nil {
		return ObjectInfo{}, err
	}
	stored, err := s.storedParts(ctx, key, uploadID)
	if err != nil {
		return ObjectInfo{}, err
	}
	complete := make([]minio.CompletePart, len(parts))
	for i, p := range parts {
		got, ok := stored[p.Number]
		switch {
		case !ok:
			return ObjectInfo{}, fmt.Errorf("%w: part %d is not stored", ErrInvalidPart, p.Number)
		case trimETag(got.ETag) != trimETag(p.ETag):
			return ObjectInfo{}, fmt.Errorf("%w: part %d has ETag %s stored, not %s", ErrInvalidPart, p.Number, got.ETag, p.ETag)
		case got.Size != p.Size:
			return ObjectInfo{}, fmt.Errorf("%w: part %d has %d bytes stored, not %d", ErrInvalidPart, p.Number, got.Size, p.Size)
		}
		complete[i] = minio.CompletePart{PartNumber: p.Number, ETag: p.ETag}
	}
	var po minio.PutObjectOptions
	po.SetMatchETagExcept("*") // If-None-Match: *, see S3Store
	up, err := s.core().CompleteMultipartUpload(ctx, s.bucket, key, uploadID, complete, po)
	if err != nil {
		if refused := writeRefused(key, err); refused != nil {
			return ObjectInfo{}, refused
		}
		return ObjectInfo{}, s.translate(ctx, "complete upload of "+key, err)
	}
	// The lock set at StartMultipart is not known here; should this version
	// lose, removing it is tried, which the server refuses if it is locked.
	return s.acceptWrite(ctx, key, up.VersionID, true)
}

// storedParts lists the parts the server holds for the upload, by number.
func (s *S3Store) storedParts(ctx context.Context, key, uploadID string) (map[int]minio.ObjectPart, error) {
	parts := make(map[int]minio.ObjectPart)
	marker := 0
	for {
		res, err := s.core().ListObjectParts(ctx, s.bucket, key, uploadID, marker, 1000)
		if err != nil {
			return nil, s.translate(ctx, "list parts of "+key, err)
		}
		for _, p := range res.ObjectParts {
			parts[p.PartNumber] = p
		}
		if !res.IsTruncated || res.NextPartNumberMarker <= marker {
			return parts, nil
		}
		marker = res.NextPartNumberMarker
	}
}

// AbortMultipart implements BlobStore. An upload ID that names no upload of
// key, malformed ones included, has nothing to abort.
func (s *S3Store) AbortMultipart(ctx context.Context, key, uploadID string) error {
	err := validateUploadID(key, uploadID)
	if errors.Is(err, ErrUploadNotFound) {
		// Not sent: without an upload ID, the request would delete the key.
		return nil
	}
	if err != nil {
		return err
	}
	err = s.core().AbortMultipartUpload(ctx, s.bucket, key, uploadID)
	if err != nil && errorCode(err) != "NoSuchUpload" {
		return s.translate(ctx, "abort upload of "+key, err)
	}
	return nil
}

// AbortStaleMultiparts aborts the uploads started longer than olderThan ago
// and reports how many it aborted. S3 gives the start of an upload, not its
// latest part, so olderThan must exceed the longest upload worth finishing
// (a bucket lifecycle rule, AbortIncompleteMultipartUpload, does the same
// without Bevis).
func (s *S3Store) AbortStaleMultiparts(ctx context.Context, olderThan time.Duration) (int, error) {
	cutoff := time.Now().Add(-olderThan)
	aborted := 0
	var keyMarker, idMarker string
	for {
		res, err := s.core().ListMultipartUploads(ctx, s.bucket, "", keyMarker, idMarker, "", 1000)
		if err != nil {
			return aborted, s.translate(ctx, "list uploads", err)
		}
		for _, u := range res.Uploads {
			if !u.Initiated.Before(cutoff) {
				continue
			}
			err := s.core().AbortMultipartUpload(ctx, s.bucket, u.Key, u.UploadID)
			if err != nil && errorCode(err) != "NoSuchUpload" {
				return aborted, s.translate(ctx, "abort upload of "+u.Key, err)
			}
			aborted++
		}
		if !res.IsTruncated || (res.NextKeyMarker == keyMarker && res.NextUploadIDMarker == idMarker) {
			return aborted, nil
		}
		keyMarker, idMarker = res.NextKeyMarker, res.NextUploadIDMarker
	}
}

// partChecksum protects a part in transit with a CRC32C the server checks
// (x-amz-checksum-crc32c) instead of a SHA-256 of the payload in the
// request signature, when the part can be read twice: over plain HTTP the
// signature's SHA-256 cost as much CPU as all of Bevis's own hashing, and a
// CRC catches the same transfer errors. (Over TLS minio-go signs no payload
// either way; tampering with stored bytes is caught by the sealing.)
func partChecksum(r io.Reader, size int64) minio.PutObjectPartOptions {
	rs, ok := r.(io.ReadSeeker)
	if !ok {
		return minio.PutObjectPartOptions{}
	}
	start, err := rs.Seek(0, io.SeekCurrent)
	if err != nil {
		return minio.PutObjectPartOptions{}
	}
	h := crc32.New(crc32.MakeTable(crc32.Castagnoli))
	_, copyErr := io.CopyN(h, rs, size)
	if _, err := rs.Seek(start, io.SeekStart); err != nil || copyErr != nil {
		return minio.PutObjectPartOptions{}
	}
	return minio.PutObjectPartOptions{DisableContentSha256: true,
		CustomHeader: http.Header{"X-Amz-Checksum-Crc32c": {base64.StdEncoding.EncodeToString(h.Sum(nil))}}}
}
