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
	"runtime"
	"sync"
	"time"
)

// FSStore keeps evidence in a local directory: the default store, for one
// Bevis process per directory.
//
// Each key is a directory path under the root; in it, "_meta.json" holds the
// version ID, size, time, retention and legal hold, and "_data-<version>" the
// bytes, or, for an object a multipart write stored, "_data-<version>.<n>"
// its parts in order: the parts become the object as they are, so a large
// upload is written to disk once. Key segments cannot start with '_' (see ValidateKey), so these names,
// the temp directory "_tmp" and the multipart staging directory "_uploads"
// (see store_fs_multipart.go) at the root, never collide with a key.
//
// The sidecar is the commit point of a Put: it is created with os.Link, which
// fails atomically when the name exists. The bytes are linked first under a
// name carrying the version, so two racing Puts never touch each other's
// files, and a crash between the two links leaves only an unreferenced file,
// never a visible object without its version.
type FSStore struct {
	root string
	tmp  string
	// mu serialises read-modify-write of sidecars (retention, legal hold)
	// within this process.
	mu sync.Mutex
	// onSync, set only by tests, hears of every sync before it is made (the
	// path of the file or directory) and may fail it as a disk would: the
	// syncs are what makes the store durable, and most of what it costs.
	onSync func(path string, dir bool) error
}

var _ BlobStore = (*FSStore)(nil)

const (
	fsMetaName    = "_meta.json"
	fsDataPrefix  = "_data-"
	fsTmpDir      = "_tmp"
	fsDirPerm     = 0o750
	fsFilePerm    = 0o440 // evidence is never rewritten in place
	fsStaleTmpAge = 24 * time.Hour
)

// fsMeta is the sidecar's on-disk format.
type fsMeta struct {
	Format      int        `json:"format"`
	VersionID   string     `json:"version_id"`
	Size        int64      `json:"size"`
	Created     time.Time  `json:"created"`
	Retention   string     `json:"retention_mode,omitempty"`
	RetainUntil *time.Time `json:"retain_until,omitempty"`
	LegalHold   bool       `json:"legal_hold"`
	// Parts are the sizes of the files "_data-<version>.<n>" (n from 1)
	// that hold the bytes in order; without them, one file
	// "_data-<version>" holds them all.
	Parts []int64 `json:"parts,omitempty"`
}

// NewFSStore opens (creating if needed) a store rooted at root, and removes
// temp files a crash left behind more than a day ago.
func NewFSStore(root string) (*FSStore, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("evidence: fs store root %q: %w", root, err)
	}
	s := &FSStore{root: abs, tmp: filepath.Join(abs, fsTmpDir)}
	if err := os.MkdirAll(s.tmp, fsDirPerm); err != nil {
		return nil, fmt.Errorf("evidence: fs store root: %w", err)
	}
	s.removeStaleTemps(time.Now())
	return s, nil
}

func (s *FSStore) removeStaleTemps(now time.Time) {
	entries, err := os.ReadDir(s.tmp)
	if err != nil {
		return
	}
	for _, e := range entries {
		if info, err := e.Info(); err == nil && now.Sub(info.ModTime()) > fsStaleTmpAge {
			_ = os.Remove(filepath.Join(s.tmp, e.Name()))
		}
	}
}

func (s *FSStore) dir(key string) string { return filepath.Join(s.root, filepath.FromSlash(key)) }

// Put implements BlobStore.
func (s *FSStore) Put(ctx context.Context, key string, r io.Reader, size int64, opts PutOptions) (ObjectInfo, error) {
	if err := ValidateKey(key); err != nil {
		return ObjectInfo{}, err
	}
	src, err := limitStream(r, size)
	if err != nil {
		return ObjectInfo{}, err
	}
	ret, err := fsRetention(opts)
	if err != nil {
		return ObjectInfo{}, err
	}
	if err := s.checkFree(key); err != nil {
		return ObjectInfo{}, err
	}
	tmpData, n, err := s.writeTemp(ctx, src)
	if err != nil {
		return ObjectInfo{}, err
	}
	defer os.Remove(tmpData)
	return s.commit(ctx, key, []string{tmpData}, nil, n, ret, opts.LegalHold)
}

// fsRetention validates the retention of opts, if any.
func fsRetention(opts PutOptions) (*Retention, error) {
	if opts.Retention == nil {
		return nil, nil
	}
	r, err := normalizeRetention(*opts.Retention, time.Now())
	if err != nil {
		return nil, err
	}
	return &r, nil
}

// checkFree is a cheap early answer for a taken key, before bytes are
// copied; the link in commit decides.
func (s *FSStore) checkFree(key string) error {
	if _, err := os.Lstat(filepath.Join(s.dir(key), fsMetaName)); err == nil {
		return fmt.Errorf("%w: %s", ErrObjectExists, key)
	}
	return nil
}

// commit makes the complete, synced files data (one, or the parts of
// sizes parts in order) the one version of key, of size bytes, or returns
// ErrObjectExists and changes nothing. The files are linked, not copied; the
// caller removes its own names for them.
func (s *FSStore) commit(ctx context.Context, key string, data []string, parts []int64, size int64, ret *Retention, legalHold bool) (ObjectInfo, error) {
	// Like S3, the version is dated when its bytes are complete.
	now := time.Now()
	meta := fsMeta{Format: 1, VersionID: newVersionID(now), Size: size, Created: now.UTC(), LegalHold: legalHold, Parts: parts}
	if ret != nil {
		meta.setRetention(*ret)
	}
	body, err := json.Marshal(meta)
	if err != nil {
		return ObjectInfo{}, fmt.Errorf("evidence: encode sidecar: %w", err)
	}
	tmpMeta, _, err := s.writeTemp(ctx, bytes.NewReader(body))
	if err != nil {
		return ObjectInfo{}, err
	}
	defer os.Remove(tmpMeta)

	dir := s.dir(key)
	if err := s.mkdirAll(dir); err != nil {
		return ObjectInfo{}, err
	}
	var linked []string
	undo := func() {
		for _, path := range linked {
			_ = os.Remove(path)
		}
	}
	names := meta.dataNames()
	if len(names) != len(data) {
		return ObjectInfo{}, fmt.Errorf("evidence: store %s: %d files for %d parts", key, len(data), len(names))
	}
	for i, src := range data {
		path := filepath.Join(dir, names[i])
		if err := os.Link(src, path); err != nil {
			undo()
			return ObjectInfo{}, fmt.Errorf("evidence: store %s: %w", key, err)
		}
		linked = append(linked, path)
	}
	if err := ctx.Err(); err != nil {
		undo()
		return ObjectInfo{}, fmt.Errorf("evidence: put %s: %w", key, err)
	}
	metaPath := filepath.Join(dir, fsMetaName)
	if err := os.Link(tmpMeta, metaPath); err != nil {
		undo()
		if errors.Is(err, fs.ErrExist) {
			return ObjectInfo{}, fmt.Errorf("%w: %s", ErrObjectExists, key)
		}
		return ObjectInfo{}, fmt.Errorf("evidence: commit %s: %w", key, err)
	}
	if err := s.syncDir(dir); err != nil {
		// Not known to be durable, so not stored: take it back rather than
		// let a caller record bytes a power cut could lose.
		_ = os.Remove(metaPath)
		undo()
		return ObjectInfo{}, err
	}
	return meta.info(key), nil
}

// writeTemp streams src into a new read-only file under the temp directory
// and syncs it. On error nothing is left behind.
func (s *FSStore) writeTemp(ctx context.Context, src io.Reader) (path string, n int64, err error) {
	return s.fillTemp(func(f *os.File) (int64, error) {
		return io.Copy(f, ctxReader{ctx: ctx, r: src})
	})
}

// fillTemp creates a file under the temp directory, has fill write it, then
// makes it read-only and syncs it. On error nothing is left behind.
func (s *FSStore) fillTemp(fill func(f *os.File) (int64, error)) (path string, n int64, err error) {
	f, err := os.CreateTemp(s.tmp, "put-*")
	if err != nil {
		return "", 0, fmt.Errorf("evidence: temp file: %w", err)
	}
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(f.Name())
		}
	}()
	n, err = fill(f)
	if err != nil {
		return "", 0, fmt.Errorf("evidence: write: %w", err)
	}
	if err = f.Chmod(fsFilePerm); err != nil {
		return "", 0, fmt.Errorf("evidence: chmod: %w", err)
	}
	if err = s.syncFile(f); err != nil {
		return "", 0, err
	}
	if err = f.Close(); err != nil {
		return "", 0, fmt.Errorf("evidence: close: %w", err)
	}
	return f.Name(), n, nil
}

// mkdirAll creates dir and its missing parents under the root, syncing each
// parent so the new entries survive a crash.
func (s *FSStore) mkdirAll(dir string) error {
	if _, err := os.Stat(dir); err == nil {
		return nil
	}
	parent := filepath.Dir(dir)
	if parent != s.root {
		if err := s.mkdirAll(parent); err != nil {
			return err
		}
	}
	if err := os.Mkdir(dir, fsDirPerm); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("evidence: mkdir: %w", err)
	}
	return s.syncDir(parent)
}

// syncFile makes what was written to f durable.
func (s *FSStore) syncFile(f *os.File) error {
	if s.onSync != nil {
		if err := s.onSync(f.Name(), false); err != nil {
			return fmt.Errorf("evidence: sync: %w", err)
		}
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("evidence: sync: %w", err)
	}
	return nil
}

// syncDir makes the entries of dir (files created, renamed or removed in
// it) durable.
func (s *FSStore) syncDir(dir string) error {
	if s.onSync != nil {
		if err := s.onSync(dir, true); err != nil {
			return fmt.Errorf("evidence: sync dir: %w", err)
		}
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil // directories cannot be opened for sync there
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("evidence: sync dir: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("evidence: sync dir: %w", err)
	}
	return nil
}

// Get implements BlobStore.
func (s *FSStore) Get(ctx context.Context, key, versionID string, offset, length int64) (io.ReadCloser, error) {
	if err := validateRange(offset, length); err != nil {
		return nil, err
	}
	meta, err := s.readVersion(ctx, key, versionID)
	if err != nil {
		return nil, err
	}
	if offset >= meta.Size && (offset != 0 || length != -1) {
		return nil, fmt.Errorf("%w: offset %d of %d bytes", ErrInvalidRange, offset, meta.Size)
	}
	if length == -1 || length > meta.Size-offset {
		length = meta.Size - offset // as S3 does, a range past the end is cut
	}
	r := &fsDataReader{dir: s.dir(key), names: meta.dataNames(), sizes: meta.dataSizes(), left: length}
	// Skip the files before offset, and open the one it falls in now: the
	// sidecar exists, so the bytes must, and a missing file is damage to
	// report here rather than a short read later.
	for r.next < len(r.sizes)-1 && offset >= r.sizes[r.next] {
		offset -= r.sizes[r.next]
		r.next++
	}
	if err := r.open(offset); err != nil {
		return nil, fmt.Errorf("evidence: data of %s version %s: %w", key, versionID, err)
	}
	return fsReader{Reader: ctxReader{ctx: ctx, r: r}, Closer: r}, nil
}

type fsReader struct {
	io.Reader
	io.Closer
}

// fsDataReader reads left bytes across the files of an object, in order,
// from the file at index next on, opening each when it gets there.
type fsDataReader struct {
	dir   string
	names []string
	sizes []int64
	next  int
	cur   *os.File
	rest  int64 // of the current file
	left  int64 // of the read
}

// open opens the file at index next, at offset.
func (r *fsDataReader) open(offset int64) error {
	f, err := os.Open(filepath.Join(r.dir, r.names[r.next]))
	if err != nil {
		return err
	}
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		_ = f.Close()
		return fmt.Errorf("seek: %w", err)
	}
	r.cur, r.rest = f, r.sizes[r.next]-offset
	r.next++
	return nil
}

func (r *fsDataReader) Read(p []byte) (int, error) {
	for r.rest == 0 && r.left > 0 {
		if err := r.Close(); err != nil {
			return 0, err
		}
		if r.next == len(r.names) {
			return 0, fmt.Errorf("evidence: %s holds fewer bytes than its sidecar says", r.dir)
		}
		if err := r.open(0); err != nil {
			return 0, fmt.Errorf("evidence: %w", err)
		}
	}
	if r.left == 0 {
		return 0, io.EOF
	}
	n, err := r.cur.Read(p[:min(int64(len(p)), r.rest, r.left)])
	r.rest -= int64(n)
	r.left -= int64(n)
	if errors.Is(err, io.EOF) {
		if r.rest > 0 {
			return n, fmt.Errorf("evidence: %s is shorter than its sidecar says: %w", r.cur.Name(), io.ErrUnexpectedEOF)
		}
		err = nil
	}
	return n, err
}

// Close closes the file being read, if any.
func (r *fsDataReader) Close() error {
	if r.cur == nil {
		return nil
	}
	err := r.cur.Close()
	r.cur = nil
	return err
}

// Stat implements BlobStore.
func (s *FSStore) Stat(ctx context.Context, key, versionID string) (ObjectInfo, error) {
	meta, err := s.readVersion(ctx, key, versionID)
	if err != nil {
		return ObjectInfo{}, err
	}
	return meta.info(key), nil
}

// Versions implements BlobStore.
func (s *FSStore) Versions(ctx context.Context, key string) ([]ObjectInfo, error) {
	if err := ValidateKey(key); err != nil {
		return nil, err
	}
	meta, err := s.readMeta(ctx, key)
	if err != nil {
		return nil, err
	}
	return []ObjectInfo{meta.info(key)}, nil
}

// SetRetention implements BlobStore.
func (s *FSStore) SetRetention(ctx context.Context, key, versionID string, r Retention) error {
	now := time.Now()
	next, err := normalizeRetention(r, now)
	if err != nil {
		return err
	}
	return s.update(ctx, key, versionID, func(m *fsMeta) error {
		if err := checkRetentionChange(m.retention(), next, now); err != nil {
			return err
		}
		m.setRetention(next)
		return nil
	})
}

// SetLegalHold implements BlobStore.
func (s *FSStore) SetLegalHold(ctx context.Context, key, versionID string, on bool) error {
	return s.update(ctx, key, versionID, func(m *fsMeta) error {
		m.LegalHold = on
		return nil
	})
}

// DeleteVersion implements BlobStore.
func (s *FSStore) DeleteVersion(ctx context.Context, key, versionID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	meta, err := s.readVersion(ctx, key, versionID)
	if err != nil {
		return err
	}
	if r := meta.retention(); meta.LegalHold || r != nil && r.Until.After(time.Now()) {
		return fmt.Errorf("%w: %s version %s", ErrRetained, key, versionID)
	}
	dir := s.dir(key)
	// The bytes go first: a sidecar left alone names a version whose bytes
	// are gone, which reads as damage rather than as an object.
	for _, name := range meta.dataNames() {
		if err := os.Remove(filepath.Join(dir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("evidence: delete %s: %w", key, err)
		}
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("evidence: delete %s: %w", key, err)
	}
	return s.syncDir(filepath.Dir(dir))
}

// update rewrites a sidecar atomically (temp file, sync, rename).
func (s *FSStore) update(ctx context.Context, key, versionID string, change func(*fsMeta) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	meta, err := s.readVersion(ctx, key, versionID)
	if err != nil {
		return err
	}
	if err := change(&meta); err != nil {
		return err
	}
	body, err := json.Marshal(meta)
	if err != nil {
		return fmt.Errorf("evidence: encode sidecar: %w", err)
	}
	tmp, _, err := s.writeTemp(ctx, bytes.NewReader(body))
	if err != nil {
		return err
	}
	dir := s.dir(key)
	if err := os.Rename(tmp, filepath.Join(dir, fsMetaName)); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("evidence: update %s: %w", key, err)
	}
	return s.syncDir(dir)
}

// Ping implements BlobStore: the root must be a directory we can write in.
func (s *FSStore) Ping(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	f, err := os.CreateTemp(s.tmp, "ping-*")
	if err != nil {
		return fmt.Errorf("%w: %w", ErrStoreUnavailable, err)
	}
	_ = f.Close()
	if err := os.Remove(f.Name()); err != nil {
		return fmt.Errorf("%w: %w", ErrStoreUnavailable, err)
	}
	return nil
}

func (s *FSStore) readVersion(ctx context.Context, key, versionID string) (fsMeta, error) {
	if err := validateRef(key, versionID); err != nil {
		return fsMeta{}, err
	}
	meta, err := s.readMeta(ctx, key)
	if err != nil {
		return fsMeta{}, err
	}
	if meta.VersionID != versionID {
		return fsMeta{}, fmt.Errorf("%w: %s version %s", ErrObjectNotFound, key, versionID)
	}
	return meta, nil
}

func (s *FSStore) readMeta(ctx context.Context, key string) (fsMeta, error) {
	if err := ctx.Err(); err != nil {
		return fsMeta{}, err
	}
	body, err := os.ReadFile(filepath.Join(s.dir(key), fsMetaName))
	if errors.Is(err, fs.ErrNotExist) {
		return fsMeta{}, fmt.Errorf("%w: %s", ErrObjectNotFound, key)
	}
	if err != nil {
		return fsMeta{}, fmt.Errorf("evidence: read sidecar of %s: %w", key, err)
	}
	var meta fsMeta
	if err := json.Unmarshal(body, &meta); err != nil {
		return fsMeta{}, fmt.Errorf("evidence: sidecar of %s is damaged: %w", key, err)
	}
	return meta, nil
}

func (m *fsMeta) retention() *Retention {
	if m.Retention == "" || m.RetainUntil == nil {
		return nil
	}
	return &Retention{Mode: RetentionMode(m.Retention), Until: m.RetainUntil.UTC()}
}

func (m *fsMeta) setRetention(r Retention) {
	until := r.Until.UTC()
	m.Retention, m.RetainUntil = string(r.Mode), &until
}

// dataNames are the names of the files that hold the version's bytes, in
// order.
func (m *fsMeta) dataNames() []string {
	if m.Parts == nil {
		return []string{fsDataPrefix + m.VersionID}
	}
	names := make([]string, len(m.Parts))
	for i := range m.Parts {
		names[i] = fmt.Sprintf("%s%s.%05d", fsDataPrefix, m.VersionID, i+1)
	}
	return names
}

// dataSizes are the sizes of the files dataNames names.
func (m *fsMeta) dataSizes() []int64 {
	if m.Parts == nil {
		return []int64{m.Size}
	}
	return m.Parts
}

func (m *fsMeta) info(key string) ObjectInfo {
	return ObjectInfo{
		Key:       key,
		VersionID: m.VersionID,
		Size:      m.Size,
		ModTime:   m.Created,
		Retention: m.retention(),
		LegalHold: m.LegalHold,
	}
}

// newVersionID returns a time-ordered, unguessable ID: 16 hex digits of
// nanoseconds, then 16 random.
func newVersionID(now time.Time) string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return fmt.Sprintf("%016x%s", now.UnixNano(), hex.EncodeToString(b[:]))
}
