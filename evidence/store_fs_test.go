package evidence

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFSStore_Contract(t *testing.T) {
	testBlobStoreContract(t, func(t *testing.T) BlobStore { return newTestFSStore(t) }, reopenFSStore)
}

func reopenFSStore(t *testing.T, s BlobStore) BlobStore {
	t.Helper()
	other, err := NewFSStore(s.(*FSStore).root)
	if err != nil {
		t.Fatalf("NewFSStore: %v", err)
	}
	return other
}

func newTestFSStore(t testing.TB) *FSStore {
	t.Helper()
	s, err := NewFSStore(filepath.Join(t.TempDir(), "evidence"))
	if err != nil {
		t.Fatalf("NewFSStore: %v", err)
	}
	return s
}

func TestFSStore_FailedPut_LeavesNoFileBehind(t *testing.T) {
	for _, tc := range []struct {
		name string
		put  func(t *testing.T, s *FSStore, key string) error
	}{
		{"reader_error", func(t *testing.T, s *FSStore, key string) error {
			_, err := s.Put(t.Context(), key, &brokenReader{r: bytes.NewReader(testBytes(1 << 20)), left: 1000, err: errReader}, -1, PutOptions{})
			return err
		}},
		{"cancelled", func(t *testing.T, s *FSStore, key string) error {
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			_, err := s.Put(ctx, key, &brokenReader{r: bytes.NewReader(testBytes(1 << 20)), left: 1000, onFail: cancel}, -1, PutOptions{})
			return err
		}},
		{"short_stream", func(t *testing.T, s *FSStore, key string) error {
			_, err := s.Put(t.Context(), key, strings.NewReader("short"), 100, PutOptions{})
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newTestFSStore(t)
			if err := tc.put(t, s, "a/b.bin"); err == nil {
				t.Fatal("Put succeeded, want an error")
			}
			if files := listFiles(t, s.root); len(files) != 0 {
				t.Fatalf("files left behind: %v", files)
			}
		})
	}
}

func TestFSStore_RefusedPut_LeavesOnlyTheOriginal(t *testing.T) {
	s := newTestFSStore(t)
	info := mustPut(t, s, "a.bin", []byte("original"), -1, PutOptions{})
	if _, err := s.Put(t.Context(), "a.bin", strings.NewReader("other"), -1, PutOptions{}); !errors.Is(err, ErrObjectExists) {
		t.Fatalf("second Put error = %v, want ErrObjectExists", err)
	}
	want := []string{"a.bin/" + fsDataPrefix + info.VersionID, "a.bin/" + fsMetaName}
	if got := listFiles(t, s.root); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("files = %v, want %v", got, want)
	}
}

func TestFSStore_StoredFiles_AreReadOnly(t *testing.T) {
	s := newTestFSStore(t)
	info := mustPut(t, s, "a/b.bin", []byte("evidence"), 8, PutOptions{})
	if err := s.SetLegalHold(t.Context(), "a/b.bin", info.VersionID, true); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{fsDataPrefix + info.VersionID, fsMetaName} {
		fi, err := os.Stat(filepath.Join(s.root, "a", "b.bin", name))
		if err != nil {
			t.Fatal(err)
		}
		if perm := fi.Mode().Perm(); perm != fsFilePerm {
			t.Errorf("%s mode = %o, want %o", name, perm, fsFilePerm)
		}
	}
}

func TestNewFSStore_RefusesARootThatIsAFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := NewFSStore(file); err == nil {
		t.Fatal("NewFSStore on a file succeeded, want an error")
	}
}

func TestFSStore_Ping_FailsWhenRootIsGone(t *testing.T) {
	s := newTestFSStore(t)
	if err := os.RemoveAll(s.root); err != nil {
		t.Fatal(err)
	}
	if err := s.Ping(t.Context()); !errors.Is(err, ErrStoreUnavailable) {
		t.Fatalf("Ping error = %v, want ErrStoreUnavailable", err)
	}
}

// listFiles lists the regular files under root, relative, skipping none.
func listFiles(t *testing.T, root string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			rel, _ := filepath.Rel(root, path)
			files = append(files, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}
