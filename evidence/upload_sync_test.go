package evidence

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bevis-ir/bevis/internal/testenv"
)

// syncCount tallies the syncs of an FSStore by what they make durable.
type syncCount struct {
	mu    sync.Mutex
	data  int // files of parts (and an upload's description, when one starts)
	other int // other files: an object's sidecar
	dirs  int
}

func countSyncs(s *FSStore) *syncCount {
	c := &syncCount{}
	uploads := filepath.Join(s.root, fsUploadsDir) + string(filepath.Separator)
	s.onSync = func(path string, dir bool) error {
		c.mu.Lock()
		defer c.mu.Unlock()
		switch {
		case dir:
			c.dirs++
		case strings.HasPrefix(path, uploads):
			c.data++
		default:
			c.other++
		}
		return nil
	}
	return c
}

// take returns the counts since the last take.
func (c *syncCount) take() (data, other, dirs int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	data, other, dirs = c.data, c.other, c.dirs
	c.data, c.other, c.dirs = 0, 0, 0
	return data, other, dirs
}

// On the folder, a request's bytes are synced once, however many parts
// they fill: one sync of data and one of the upload's directory per PUT or
// PATCH, and, for the request that completes the object, the commit's
// fixed syncs: its sidecar, the five new directories of its key (cases/…,
// the case, items/, the item, the object) and the object's directory.
func TestUpload_FolderSyncsDataOncePerRequest(t *testing.T) {
	const size = 64 << 20
	data := randomBytes(t, size)
	const commitDirs = 5 + 1
	for _, tc := range []struct {
		name     string
		requests []int // bytes sent by each, all whole chunks
	}{
		{"put", []int{size}},
		{"tus", []int{24 << 20, 24 << 20, 16 << 20}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			store := newTestFSStore(t)
			e := newUploadEnv(t, store, testenv.SQLite(t))
			e.limits.PartSize = 16 << 20 // the default: a request fills several
			e.uploads = e.newNode()
			it := e.item(t, Hashes{SHA256: sums(data).SHA256})
			up, err := e.uploads.Create(ctx, e.a1, it, size, "image.dd")
			if err != nil {
				t.Fatal(err)
			}
			syncs := countSyncs(store)
			offset := 0
			var res Result
			for i, n := range tc.requests {
				res, err = e.uploads.Write(ctx, up.ID, int64(offset), bytes.NewReader(data[offset:offset+n]), nil)
				if err != nil {
					t.Fatalf("request %d: %v", i+1, err)
				}
				offset += n
				gotData, gotOther, gotDirs := syncs.take()
				wantOther, wantDirs := 0, 1
				if offset == size {
					wantOther, wantDirs = 1, 1+commitDirs
				}
				t.Logf("request %d (%d MiB): %d data, %d other, %d directory syncs", i+1, n>>20, gotData, gotOther, gotDirs)
				if gotData != 1 || gotOther != wantOther || gotDirs != wantDirs {
					t.Errorf("request %d synced %d data files, %d other files and %d directories; want 1, %d and %d",
						i+1, gotData, gotOther, gotDirs, wantOther, wantDirs)
				}
			}
			if res.Item == nil || !bytes.Equal(e.readAll(t, *res.Item, 0, -1), data) {
				t.Fatal("the content does not read back")
			}
		})
	}
}

// A process that wrote a request's parts and stopped before syncing them
// (killed: a power cut would lose its page cache) recorded none of them:
// the upload asks for those bytes again, another node takes it over once
// the lease ran out, and the object is made of what was synced and
// recorded only.
func TestUpload_FolderRecordsNoUnsyncedPart(t *testing.T) {
	ctx := t.Context()
	store := newTestFSStore(t)
	e := newUploadEnv(t, store, testenv.SQLite(t))
	data := randomBytes(t, 3*MinPartSize+777)
	it := e.item(t, Hashes{SHA256: sums(data).SHA256})
	up, err := e.uploads.Create(ctx, e.a1, it, int64(len(data)), "image.dd")
	if err != nil {
		t.Fatal(err)
	}

	uploads := filepath.Join(store.root, fsUploadsDir) + string(filepath.Separator)
	var hit atomic.Bool
	blocked, never := make(chan string, 1), make(chan struct{})
	errKilled := errors.New("killed")
	store.onSync = func(path string, dir bool) error {
		if !dir && strings.HasPrefix(path, uploads) && hit.CompareAndSwap(false, true) {
			blocked <- path
			<-never
			return errKilled
		}
		return nil
	}
	first := 2*MinPartSize + 5*DefaultSealChunkSize
	done := make(chan error, 1)
	go func() {
		_, err := e.uploads.Write(ctx, up.ID, 0, bytes.NewReader(data[:first]), nil)
		done <- err
	}()
	path := <-blocked
	if fi, err := os.Stat(path); err != nil || fi.Size() < 2*MinPartSize {
		t.Fatalf("at the first sync, the request's file holds %v bytes (%v); want both its parts, unsynced", fi, err)
	}
	cur, err := e.uploads.Get(ctx, up.ID)
	if err != nil || cur.Received != 0 {
		t.Fatalf("written but not synced: %+v, %v; want nothing received", cur, err)
	}
	var row uploadRow
	if err := e.db.DB.Where("id = ?", up.ID).Take(&row).Error; err != nil || row.Parts != "[]" {
		t.Fatalf("written but not synced, the parts recorded are %q (%v); want none", row.Parts, err)
	}

	node := e.newNode()
	node.now = func() time.Time { return time.Now().UTC().Add(DefaultUploadLease + time.Second) }
	res, err := node.Write(ctx, up.ID, 0, bytes.NewReader(data), nil)
	if err != nil || res.Item == nil {
		t.Fatalf("the upload taken over from 0: %+v, %v", res, err)
	}
	close(never) // the stopped process never acknowledges anything
	if err := <-done; err == nil {
		t.Error("the request whose sync failed succeeded")
	}
	if !bytes.Equal(e.readAll(t, *res.Item, 0, -1), data) {
		t.Error("the content does not read back")
	}
	if files := listFiles(t, filepath.Join(store.root, fsUploadsDir)); len(files) != 0 {
		t.Errorf("files left in the uploads: %v", files)
	}
}

// stallReader gives its first n bytes, then waits until go on is closed
// before giving the rest, as a link that stalls mid-request.
type stallReader struct {
	r      io.Reader
	n      int
	goOn   chan struct{}
	waited bool
}

func (s *stallReader) Read(p []byte) (int, error) {
	if s.n > 0 {
		n, err := s.r.Read(p[:min(len(p), s.n)])
		s.n -= n
		return n, err
	}
	if !s.waited {
		<-s.goOn
		s.waited = true
	}
	return s.r.Read(p)
}

// A request that stalls holds no bytes unsynced for longer than the sync
// interval: the parts that arrived are made durable and recorded while it
// waits, and it goes on from there when its bytes flow again.
func TestUpload_FolderMakesAStalledRequestDurable(t *testing.T) {
	ctx := t.Context()
	store := newTestFSStore(t)
	e := newUploadEnv(t, store, testenv.SQLite(t))
	e.limits.SyncInterval = 100 * time.Millisecond
	e.uploads = e.newNode()
	data := randomBytes(t, 3*MinPartSize+777)
	it := e.item(t, Hashes{SHA256: sums(data).SHA256})
	up, err := e.uploads.Create(ctx, e.a1, it, int64(len(data)), "image.dd")
	if err != nil {
		t.Fatal(err)
	}
	syncs := countSyncs(store)
	body := &stallReader{r: bytes.NewReader(data), n: 2*MinPartSize + 5*DefaultSealChunkSize, goOn: make(chan struct{})}
	type written struct {
		res Result
		err error
	}
	done := make(chan written, 1)
	go func() {
		res, err := e.uploads.Write(ctx, up.ID, 0, body, nil)
		done <- written{res, err}
	}()
	deadline := time.Now().Add(20 * time.Second)
	var cur Upload
	for {
		if cur, err = e.uploads.Get(ctx, up.ID); err != nil {
			t.Fatal(err)
		}
		if cur.Received > MinPartSize || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if cur.Received <= MinPartSize || cur.Received%int64(DefaultSealChunkSize) != 0 {
		t.Fatalf("while the request stalls, %d bytes are received; want the parts that arrived", cur.Received)
	}
	if data, _, _ := syncs.take(); data == 0 {
		t.Error("the parts received are recorded, yet no data was synced")
	}
	close(body.goOn)
	w := <-done
	if w.err != nil || w.res.Item == nil {
		t.Fatalf("the request once its bytes flow again: %+v, %v", w.res, w.err)
	}
	if !bytes.Equal(e.readAll(t, *w.res.Item, 0, -1), data) {
		t.Error("the content does not read back")
	}
}
