package evidence

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
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
	mustPutPart(t, s, "a/done.bin", id, 2, data[MinPartSize:]) // the same bytes again
	info := mustComplete(t, s, "a/done.bin", id, parts)

	aborted := mustStart(t, s, "a/aborted.bin", PutOptions{})
	putParts(t, s, "a/aborted.bin", aborted, data)
	if err := s.AbortMultipart(t.Context(), "a/aborted.bin", aborted); err != nil {
		t.Fatal(err)
	}

	want := []string{"a/done.bin/" + fsDataPrefix + info.VersionID, "a/done.bin/" + fsMetaName}
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
