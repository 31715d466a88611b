package evidence

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestFSStore_Multipart_LeavesOnlyTheObjectBehind(t *testing.T) {
	s := newTestFSStore(t)
	data := testBytes(MinPartSize + 10)

	id := mustStart(t, s, "a/done.bin", PutOptions{})
	if _, err := s.PutPart(t.Context(), "a/done.bin", id, 1, strings.NewReader("short"), 100); err == nil {
		t.Fatal("PutPart of a short stream succeeded")
	}
	if files := listFiles(t, filepath.Join(s.root, fsUploadsDir)); len(files) != 1 || files[0] != id+"/"+fsUploadMeta {
		t.Fatalf("after a failed part, upload files = %v, want only %s", files, fsUploadMeta)
	}
	parts := putParts(t, s, "a/done.bin", id, data)
	// The same bytes again replace the part; completion names the Part
	// PutPart returned last, as the BlobStore contract says.
	parts[1] = mustPutPart(t, s, "a/done.bin", id, 2, data[MinPartSize:])
	info := mustComplete(t, s, "a/done.bin", id, parts)

	aborted := mustStart(t, s, "a/aborted.bin", PutOptions{})
	putParts(t, s, "a/aborted.bin", aborted, data)
	if err := s.AbortMultipart(t.Context(), "a/aborted.bin", aborted); err != nil {
		t.Fatal(err)
	}

	// The parts themselves are the object's data, in order: no copy.
	want := []string{"a/done.bin/" + fsDataPrefix + info.VersionID + ".00001", "a/done.bin/" + fsDataPrefix + info.VersionID + ".00002",
		"a/done.bin/" + fsMetaName}
	if got := listFiles(t, s.root); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("files = %v, want %v", got, want)
	}
	for _, name := range want {
		fi, err := os.Stat(filepath.Join(s.root, filepath.FromSlash(name)))
		if err != nil {
			t.Fatal(err)
		}
		if perm := fi.Mode().Perm(); perm != fsFilePerm {
			t.Errorf("%s mode = %o, want %o", name, perm, fsFilePerm)
		}
	}
}

func TestFSStore_Multipart_PartsAreReadOnly(t *testing.T) {
	s := newTestFSStore(t)
	id := mustStart(t, s, "a.bin", PutOptions{})
	p := mustPutPart(t, s, "a.bin", id, 1, []byte("part"))
	fi, err := os.Stat(filepath.Join(s.root, fsUploadsDir, id, fsPartPrefix+"00001."+p.ETag))
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != fsFilePerm {
		t.Errorf("part mode = %o, want %o", perm, fsFilePerm)
	}
}

func TestFSStore_AbortStaleMultiparts_RemovesOnlyUntouchedUploads(t *testing.T) {
	s := newTestFSStore(t)
	stale := mustStart(t, s, "stale.bin", PutOptions{})
	mustPutPart(t, s, "stale.bin", stale, 1, []byte("old"))
	fresh := mustStart(t, s, "fresh.bin", PutOptions{})
	p := mustPutPart(t, s, "fresh.bin", fresh, 1, []byte("new"))

	// Age every entry of the stale upload, and the fresh upload's directory
	// but not its part: a recent part keeps an upload alive.
	old := time.Now().Add(-48 * time.Hour)
	staleDir := filepath.Join(s.root, fsUploadsDir, stale)
	entries, err := os.ReadDir(staleDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if err := os.Chtimes(filepath.Join(staleDir, e.Name()), old, old); err != nil {
			t.Fatal(err)
		}
	}
	for _, dir := range []string{staleDir, filepath.Join(s.root, fsUploadsDir, fresh)} {
		if err := os.Chtimes(dir, old, old); err != nil {
			t.Fatal(err)
		}
	}

	n, err := s.AbortStaleMultiparts(t.Context(), 24*time.Hour)
	if err != nil || n != 1 {
		t.Fatalf("AbortStaleMultiparts = %d, %v; want 1, nil", n, err)
	}
	if _, err := s.PutPart(t.Context(), "stale.bin", stale, 2, strings.NewReader("x"), 1); !errors.Is(err, ErrUploadNotFound) {
		t.Errorf("PutPart to the removed upload error = %v, want ErrUploadNotFound", err)
	}
	info := mustComplete(t, s, "fresh.bin", fresh, []Part{p})
	assertSameBytes(t, mustGet(t, s, "fresh.bin", info.VersionID, 0, -1), []byte("new"))
}

// A multipart object is read across its part files as one stream: every
// range, whatever parts it starts, ends and spans in, has exactly the bytes
// written there.
func TestFSStore_Multipart_RangesAcrossParts(t *testing.T) {
	s := newTestFSStore(t)
	data := testBytes(2*MinPartSize + 1000)
	id := mustStart(t, s, "a.bin", PutOptions{})
	info := mustComplete(t, s, "a.bin", id, putParts(t, s, "a.bin", id, data))
	b := int64(MinPartSize)
	for _, r := range [][2]int64{
		{0, -1}, {0, b}, {b - 1, 2}, {b, 1}, {b - 10, b + 20}, {2*b - 1, -1}, {1, 2*b + 998}, {2 * b, 1000}, {2*b + 999, 1},
		{b + 5, 1 << 40}, // cut at the end, as S3 cuts it
	} {
		rc, err := s.Get(t.Context(), "a.bin", info.VersionID, r[0], r[1])
		if err != nil {
			t.Fatalf("Get %v: %v", r, err)
		}
		got, err := io.ReadAll(rc)
		_ = rc.Close()
		end := int64(len(data))
		if r[1] >= 0 {
			end = min(end, r[0]+r[1])
		}
		if err != nil || !bytes.Equal(got, data[r[0]:end]) {
			t.Errorf("Get %v: %d bytes (%v), want %d", r, len(got), err, end-r[0])
		}
	}
}

// A part file gone or cut short behind the store's back is damage that a
// read reports, never a short object that reads as complete.
func TestFSStore_Multipart_DamagedPartsAreErrors(t *testing.T) {
	s := newTestFSStore(t)
	data := testBytes(MinPartSize + 1000)
	id := mustStart(t, s, "a.bin", PutOptions{})
	info := mustComplete(t, s, "a.bin", id, putParts(t, s, "a.bin", id, data))
	part := func(n int) string {
		return filepath.Join(s.root, "a.bin", fmt.Sprintf("%s%s.%05d", fsDataPrefix, info.VersionID, n))
	}
	if err := os.Chmod(part(2), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(part(2), 10); err != nil {
		t.Fatal(err)
	}
	rc, err := s.Get(t.Context(), "a.bin", info.VersionID, 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(rc); err == nil {
		t.Error("an object with a part cut short read to its end without an error")
	}
	_ = rc.Close()

	if err := os.Remove(part(2)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(t.Context(), "a.bin", info.VersionID, MinPartSize, -1); err == nil || errors.Is(err, ErrObjectNotFound) {
		t.Errorf("Get of a range in a missing part: %v, want an error that is not 'not found'", err)
	}
	rc, err = s.Get(t.Context(), "a.bin", info.VersionID, 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(rc); err == nil {
		t.Error("an object with a missing part read to its end without an error")
	}
	_ = rc.Close()
}

// A part written in pieces is synced once, when committed, and until then
// is no part: a store reopened after the process died before the commit
// completes the write without those bytes, once the part is stored anew.
func TestFSStore_OpenPart_SyncsOnceAndIsNoPartUntilCommitted(t *testing.T) {
	ctx := t.Context()
	s := newTestFSStore(t)
	data := testBytes(3 * MinPartSize)
	id := mustStart(t, s, "a.bin", PutOptions{})
	var files, dirs atomic.Int32
	s.onSync = func(_ string, dir bool) error {
		if dir {
			dirs.Add(1)
		} else {
			files.Add(1)
		}
		return nil
	}
	w, err := s.OpenPart(ctx, "a.bin", id, 1)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if err := w.Append(ctx, bytes.NewReader(data[i*MinPartSize:]), MinPartSize); err != nil {
			t.Fatal(err)
		}
	}
	if files.Load() != 0 || dirs.Load() != 0 {
		t.Errorf("appending made %d file and %d directory syncs, want none", files.Load(), dirs.Load())
	}
	p1, err := w.Commit(ctx)
	if err != nil || p1.Number != 1 || p1.Size != 2*MinPartSize {
		t.Fatalf("Commit = %+v, %v", p1, err)
	}
	if files.Load() != 1 || dirs.Load() != 1 {
		t.Errorf("Commit made %d file and %d directory syncs, want 1 and 1", files.Load(), dirs.Load())
	}
	if err := w.Append(ctx, strings.NewReader("x"), 1); err == nil {
		t.Error("Append after Commit succeeded")
	}

	// Part 2 is written, never committed: the process dies.
	dead, err := s.OpenPart(ctx, "a.bin", id, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer dead.Discard()
	if err := dead.Append(ctx, bytes.NewReader(data[2*MinPartSize:]), MinPartSize); err != nil {
		t.Fatal(err)
	}
	s2 := reopenFSStore(t, s)
	if _, err := s2.CompleteMultipart(ctx, "a.bin", id, []Part{p1, {Number: 2, ETag: strings.Repeat("0", fsPartETagLen), Size: MinPartSize}}); !errors.Is(err, ErrInvalidPart) {
		t.Fatalf("completing with the uncommitted part: %v, want ErrInvalidPart", err)
	}
	p2 := mustPutPart(t, s2, "a.bin", id, 2, data[2*MinPartSize:])
	info := mustComplete(t, s2, "a.bin", id, []Part{p1, p2})
	assertSameBytes(t, mustGet(t, s2, "a.bin", info.VersionID, 0, -1), data)
	want := []string{"a.bin/" + fsDataPrefix + info.VersionID + ".00001", "a.bin/" + fsDataPrefix + info.VersionID + ".00002",
		"a.bin/" + fsMetaName}
	if got := listFiles(t, s.root); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("files = %v, want %v", got, want)
	}
}

// A piece cut short leaves a part that can only be thrown away.
func TestFSStore_OpenPart_AShortPieceSpoilsThePart(t *testing.T) {
	ctx := t.Context()
	s := newTestFSStore(t)
	id := mustStart(t, s, "a.bin", PutOptions{})
	w, err := s.OpenPart(ctx, "a.bin", id, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Append(ctx, strings.NewReader("short"), 100); !errors.Is(err, ErrSizeMismatch) {
		t.Fatalf("Append of a short piece: %v, want ErrSizeMismatch", err)
	}
	if _, err := w.Commit(ctx); !errors.Is(err, ErrSizeMismatch) {
		t.Errorf("Commit after a short piece: %v, want ErrSizeMismatch", err)
	}
	w.Discard()
	if files := listFiles(t, filepath.Join(s.root, fsUploadsDir)); len(files) != 1 || files[0] != id+"/"+fsUploadMeta {
		t.Errorf("after a spoilt part, upload files = %v, want only %s", files, fsUploadMeta)
	}
}
