package evidence

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Multipart writes of FSStore. Each unfinished write is a directory
// "_uploads/<upload ID>" under the root holding "upload.json" (the key and
// the options to apply on completion) and one file per part,
// "part-<number>.<ETag>", where the ETag is 256 random bits drawn for each
// write of a part (an upload begun before named it by the SHA-256 of its
// bytes, which has the same form).
// A part is written to a temp file in the same directory (in one piece by
// PutPart, or in several by OpenPart), synced once, then renamed into
// place, so a part file is always complete and durable; putting the number
// again renames the new file in and removes the old one.
//
// Completion links the part files, as they are and in order, into the
// object's directory as its data files, and commits them as Put commits its
// one file (same sidecar, same write-once link), then removes the upload
// directory: the bytes are written, and synced, once. The upload ID is 128 random bits, so it cannot be guessed
// from another upload's.

const (
	fsUploadsDir     = "_uploads"
	fsUploadMeta     = "upload.json"
	fsPartPrefix     = "part-"
	fsUploadIDLen    = 32 // hex digits
	fsPartETagLen    = 64 // hex digits
	fsPartNameFormat = fsPartPrefix + "%05d."
)

// fsUpload is the on-disk format of upload.json.
type fsUpload struct {
	Format      int        `json:"format"`
	Key         string     `json:"key"`
	Created     time.Time  `json:"created"`
	Retention   string     `json:"retention_mode,omitempty"`
	RetainUntil *time.Time `json:"retain_until,omitempty"`
	LegalHold   bool       `json:"legal_hold"`
}

func (u *fsUpload) retention() *Retention {
	if u.Retention == "" || u.RetainUntil == nil {
		return nil
	}
	return &Retention{Mode: RetentionMode(u.Retention), Until: u.RetainUntil.UTC()}
}

func (s *FSStore) uploadsRoot() string { return filepath.Join(s.root, fsUploadsDir) }

// uploadDir returns the staging directory of uploadID, or ErrUploadNotFound
// when the ID could not be one of this store's (which also keeps any path
// out of it).
func (s *FSStore) uploadDir(key, uploadID string) (string, error) {
	if err := validateUploadID(key, uploadID); err != nil {
		return "", err
	}
	if !isLowerHex(uploadID, fsUploadIDLen) {
		return "", fmt.Errorf("%w: %q is not an upload ID of this store", ErrUploadNotFound, uploadID)
	}
	return filepath.Join(s.uploadsRoot(), uploadID), nil
}

func isLowerHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// StartMultipart implements BlobStore.
func (s *FSStore) StartMultipart(ctx context.Context, key string, opts PutOptions) (string, error) {
	if err := ValidateKey(key); err != nil {
		return "", err
	}
	ret, err := fsRetention(opts)
	if err != nil {
		return "", err
	}
	if err := ctx.Err(); err != nil {
		return "", err
	}
	up := fsUpload{Format: 1, Key: key, Created: time.Now().UTC(), LegalHold: opts.LegalHold}
	if ret != nil {
		until := ret.Until.UTC()
		up.Retention, up.RetainUntil = string(ret.Mode), &until
	}
	body, err := json.Marshal(up)
	if err != nil {
		return "", fmt.Errorf("evidence: encode upload: %w", err)
	}
	var b [fsUploadIDLen / 2]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	uploadID := hex.EncodeToString(b[:])
	dir := filepath.Join(s.uploadsRoot(), uploadID)
	if err := s.mkdirAll(s.uploadsRoot()); err != nil {
		return "", err
	}
	if err := os.Mkdir(dir, fsDirPerm); err != nil {
		return "", fmt.Errorf("evidence: start upload of %s: %w", key, err)
	}
	if err := s.writeUploadFile(ctx, dir, fsUploadMeta, bytes.NewReader(body), int64(len(body))); err != nil {
		_ = os.RemoveAll(dir)
		return "", err
	}
	if err := s.syncDir(s.uploadsRoot()); err != nil {
		_ = os.RemoveAll(dir)
		return "", err
	}
	return uploadID, nil
}

// readUpload reads the upload's description and checks it is key's.
func (s *FSStore) readUpload(ctx context.Context, key, uploadID string) (dir string, up fsUpload, err error) {
	dir, err = s.uploadDir(key, uploadID)
	if err != nil {
		return "", fsUpload{}, err
	}
	if err := ctx.Err(); err != nil {
		return "", fsUpload{}, err
	}
	body, err := os.ReadFile(filepath.Join(dir, fsUploadMeta))
	if errors.Is(err, fs.ErrNotExist) {
		return "", fsUpload{}, fmt.Errorf("%w: %s upload %s", ErrUploadNotFound, key, uploadID)
	}
	if err != nil {
		return "", fsUpload{}, fmt.Errorf("evidence: read upload %s: %w", uploadID, err)
	}
	if err := json.Unmarshal(body, &up); err != nil {
		return "", fsUpload{}, fmt.Errorf("evidence: upload %s is damaged: %w", uploadID, err)
	}
	if up.Key != key {
		// Not this key's upload: for this key it does not exist.
		return "", fsUpload{}, fmt.Errorf("%w: %s upload %s", ErrUploadNotFound, key, uploadID)
	}
	return dir, up, nil
}

// PutPart implements BlobStore: OpenPart, one Append, Commit.
func (s *FSStore) PutPart(ctx context.Context, key, uploadID string, n int, r io.Reader, size int64) (Part, error) {
	w, err := s.OpenPart(ctx, key, uploadID, n)
	if err != nil {
		return Part{}, err
	}
	defer w.Discard()
	if err := validatePartArgs(n, size); err != nil {
		return Part{}, err
	}
	if err := w.Append(ctx, r, size); err != nil {
		return Part{}, err
	}
	return w.Commit(ctx)
}

// OpenPart begins part n of an unfinished write, to be written in pieces
// and stored by one Commit, which syncs its bytes once, however many pieces
// they came in: the upload layer appends the parts it cuts from one request
// (16 MiB each) to one store part and commits it at the request's end, so a
// request costs one sync of data, one journal commit, where a sync per
// piece cost one each (several files synced back to back are still several
// journal commits on ext4). Until committed, the bytes are a temp file in
// the upload's directory that no Part names, so a process killed before the
// sync leaves nothing a completion could take for the part.
func (s *FSStore) OpenPart(ctx context.Context, key, uploadID string, n int) (PartWriter, error) {
	dir, _, err := s.readUpload(ctx, key, uploadID)
	if err != nil {
		return nil, err
	}
	if err := validatePartArgs(n, 0); err != nil {
		return nil, err
	}
	f, err := os.CreateTemp(dir, "tmp-*")
	if err != nil {
		return nil, uploadGone(uploadID, err)
	}
	return &fsPartWriter{s: s, dir: dir, uploadID: uploadID, n: n, f: f}, nil
}

// fsPartWriter is a part of FSStore being written.
type fsPartWriter struct {
	s        *FSStore
	dir      string
	uploadID string
	n        int
	f        *os.File // nil once committed or discarded
	size     int64
	err      error // of a failed Append: the file's end is unknown, so the part can only be discarded
}

var errPartClosed = errors.New("evidence: the part was committed or discarded")

// Append implements PartWriter.
func (w *fsPartWriter) Append(ctx context.Context, r io.Reader, size int64) error {
	switch {
	case w.f == nil:
		return errPartClosed
	case w.err != nil:
		return w.err
	case size < 0 || w.size+size > MaxPartSize:
		return fmt.Errorf("%w: part size %d not in 0..%d", ErrInvalidPart, w.size+size, MaxPartSize)
	}
	// Through io.Copy's 32 KiB buffer: a part written to the file in one
	// 16 MiB write from a mapped buffer cost the server nearly three times the
	// processor time of the whole ingest (BenchmarkEvidenceAPI_IngestFolder).
	written, err := io.Copy(w.f, ctxReader{ctx: ctx, r: &exactReader{r: r, left: size, size: size}})
	startWriteback(w.f, w.size, written)
	w.size += written
	if err == nil && written != size {
		err = fmt.Errorf("%w: got %d of %d bytes", ErrSizeMismatch, written, size)
	}
	if err != nil {
		w.err = fmt.Errorf("evidence: write part: %w", err)
		return w.err
	}
	return nil
}

// Size implements PartWriter.
func (w *fsPartWriter) Size() int64 { return w.size }

// Commit implements PartWriter: the file is made read-only and synced,
// then renamed into place under a new ETag, replacing any part stored
// under its number before, and the directory synced.
func (w *fsPartWriter) Commit(ctx context.Context) (Part, error) {
	if w.f == nil {
		return Part{}, errPartClosed
	}
	if w.err != nil {
		return Part{}, w.err
	}
	defer w.Discard() // on error; after the rename there is nothing left to discard
	if err := ctx.Err(); err != nil {
		return Part{}, err
	}
	if err := w.f.Chmod(fsFilePerm); err != nil {
		return Part{}, fmt.Errorf("evidence: chmod: %w", err)
	}
	if err := w.s.syncFile(w.f); err != nil {
		return Part{}, err
	}
	if err := w.f.Close(); err != nil {
		return Part{}, fmt.Errorf("evidence: close: %w", err)
	}
	// The ETag names this write of the part, not its bytes: hashing them
	// once more, after the three hashes of the content, took a tenth of a
	// server's time on ingest, for nothing a random name does not give. Of
	// the form of the SHA-256 the store once used, so uploads begun before
	// still complete.
	var b [fsPartETagLen / 2]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	etag := hex.EncodeToString(b[:])
	prefix := fmt.Sprintf(fsPartNameFormat, w.n)
	if err := os.Rename(w.f.Name(), filepath.Join(w.dir, prefix+etag)); err != nil {
		return Part{}, uploadGone(w.uploadID, err)
	}
	w.f = nil
	// Earlier parts under this number, with other bytes, are replaced.
	entries, err := os.ReadDir(w.dir)
	if err != nil {
		return Part{}, uploadGone(w.uploadID, err)
	}
	for _, e := range entries {
		if name := e.Name(); strings.HasPrefix(name, prefix) && name != prefix+etag {
			_ = os.Remove(filepath.Join(w.dir, name))
		}
	}
	if err := w.s.syncDir(w.dir); err != nil {
		return Part{}, uploadGone(w.uploadID, err)
	}
	return Part{Number: w.n, ETag: etag, Size: w.size}, nil
}

// Discard implements PartWriter.
func (w *fsPartWriter) Discard() {
	if w.f == nil {
		return
	}
	_ = w.f.Close()
	_ = os.Remove(w.f.Name())
	w.f = nil
}

// uploadGone turns a missing staging directory (aborted or completed
// meanwhile) into ErrUploadNotFound.
func uploadGone(uploadID string, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w: upload %s: %w", ErrUploadNotFound, uploadID, err)
	}
	return fmt.Errorf("evidence: upload %s: %w", uploadID, err)
}

// writeUploadFile streams exactly size bytes of src into a temp file in the
// upload directory dir, syncs it and renames it to name. On error nothing
// is left behind.
func (s *FSStore) writeUploadFile(ctx context.Context, dir, name string, src io.Reader, size int64) (err error) {
	f, err := os.CreateTemp(dir, "tmp-*")
	if err != nil {
		return uploadGone(filepath.Base(dir), err)
	}
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(f.Name())
		}
	}()
	written, err := io.Copy(f, ctxReader{ctx: ctx, r: src})
	if err != nil {
		return fmt.Errorf("evidence: write: %w", err)
	}
	if written != size {
		return fmt.Errorf("%w: got %d of %d bytes", ErrSizeMismatch, written, size)
	}
	if err = f.Chmod(fsFilePerm); err != nil {
		return fmt.Errorf("evidence: chmod: %w", err)
	}
	if err = s.syncFile(f); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("evidence: close: %w", err)
	}
	if err = os.Rename(f.Name(), filepath.Join(dir, name)); err != nil {
		return uploadGone(filepath.Base(dir), err)
	}
	return nil
}

// CompleteMultipart implements BlobStore.
func (s *FSStore) CompleteMultipart(ctx context.Context, key, uploadID string, parts []Part) (ObjectInfo, error) {
	dir, up, err := s.readUpload(ctx, key, uploadID)
	if err != nil {
		return ObjectInfo{}, err
	}
	if err := validatePartList(parts); err != nil {
		return ObjectInfo{}, err
	}
	paths := make([]string, len(parts))
	for i, p := range parts {
		if !isLowerHex(p.ETag, fsPartETagLen) {
			return ObjectInfo{}, fmt.Errorf("%w: part %d ETag %q is not one this store returns", ErrInvalidPart, p.Number, p.ETag)
		}
		paths[i] = filepath.Join(dir, fmt.Sprintf(fsPartNameFormat, p.Number)+p.ETag)
		fi, err := os.Lstat(paths[i])
		if errors.Is(err, fs.ErrNotExist) {
			// A racing completion or abort removes the description first.
			if _, err := os.Lstat(filepath.Join(dir, fsUploadMeta)); errors.Is(err, fs.ErrNotExist) {
				return ObjectInfo{}, fmt.Errorf("%w: %s upload %s", ErrUploadNotFound, key, uploadID)
			}
			return ObjectInfo{}, fmt.Errorf("%w: no part %d with ETag %s is stored", ErrInvalidPart, p.Number, p.ETag)
		}
		if err != nil {
			return ObjectInfo{}, fmt.Errorf("evidence: part %d of upload %s: %w", p.Number, uploadID, err)
		}
		if fi.Size() != p.Size {
			return ObjectInfo{}, fmt.Errorf("%w: part %d has %d bytes stored, not %d", ErrInvalidPart, p.Number, fi.Size(), p.Size)
		}
	}
	if err := s.checkFree(key); err != nil {
		return ObjectInfo{}, err
	}
	sizes := make([]int64, len(parts))
	var n int64
	for i, p := range parts {
		sizes[i] = p.Size
		n += p.Size
	}
	info, err := s.commit(ctx, key, paths, sizes, n, up.retention(), up.LegalHold)
	if errors.Is(err, fs.ErrNotExist) {
		// A racing completion or abort took the parts meanwhile.
		return ObjectInfo{}, uploadGone(uploadID, err)
	}
	if err != nil {
		return ObjectInfo{}, err
	}
	// Stored: a later call with this upload ID must find no upload, so its
	// description goes first; should the rest stay behind, it is only
	// clutter for AbortStaleMultiparts.
	_ = os.Remove(filepath.Join(dir, fsUploadMeta))
	_ = os.RemoveAll(dir)
	return info, nil
}

// AbortMultipart implements BlobStore. An upload ID that names no upload of
// key, malformed ones included, has nothing to abort.
func (s *FSStore) AbortMultipart(ctx context.Context, key, uploadID string) error {
	if err := ValidateKey(key); err != nil {
		return err
	}
	dir, _, err := s.readUpload(ctx, key, uploadID)
	switch {
	case errors.Is(err, ErrUploadNotFound):
		return nil
	case err != nil:
		return err
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("evidence: abort upload %s of %s: %w", uploadID, key, err)
	}
	return s.syncDir(s.uploadsRoot())
}

// AbortStaleMultiparts removes the staging directories of uploads nothing
// was written to for longer than olderThan (a part being written counts as
// written to when it starts), and reports how many it removed. Uploads the
// caller still means to finish must not be left that long.
func (s *FSStore) AbortStaleMultiparts(ctx context.Context, olderThan time.Duration) (int, error) {
	entries, err := os.ReadDir(s.uploadsRoot())
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("evidence: list uploads: %w", err)
	}
	cutoff := time.Now().Add(-olderThan)
	removed := 0
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return removed, err
		}
		if !e.IsDir() || !isLowerHex(e.Name(), fsUploadIDLen) {
			continue
		}
		dir := filepath.Join(s.uploadsRoot(), e.Name())
		if latest, err := latestChange(dir); err != nil || latest.After(cutoff) {
			continue
		}
		if err := os.RemoveAll(dir); err != nil {
			return removed, fmt.Errorf("evidence: remove stale upload %s: %w", e.Name(), err)
		}
		removed++
	}
	return removed, nil
}

// latestChange is the latest modification time of dir and the files in it.
func latestChange(dir string) (time.Time, error) {
	fi, err := os.Stat(dir)
	if err != nil {
		return time.Time{}, err
	}
	latest := fi.ModTime()
	entries, err := os.ReadDir(dir)
	if err != nil {
		return time.Time{}, err
	}
	for _, e := range entries {
		if info, err := e.Info(); err == nil && info.ModTime().After(latest) {
			latest = info.ModTime()
		}
	}
	return latest, nil
}
