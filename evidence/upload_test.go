package evidence

import (
	"bytes"
	"context"
	"crypto/md5" //nolint:gosec // compared with what Bevis computes
	"crypto/rand"
	"crypto/sha1" //nolint:gosec // compared with what Bevis computes
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bevis-ir/bevis/access"
	"github.com/bevis-ir/bevis/internal/period"
	"github.com/bevis-ir/bevis/internal/testenv"
)

// uploadEnv is a case on SQLite with a store, a keyring and the upload
// and content services over them.
type uploadEnv struct {
	*ledgerEnv
	store   BlobStore
	keys    *Keyring
	uploads *Uploads
	content *Content
	limits  UploadLimits
}

type storeKind struct {
	name string
	open func(t *testing.T) BlobStore
}

// stores are the backends every upload test runs on: the folder, and the
// real S3 server.
var stores = []storeKind{
	{"fs", func(t *testing.T) BlobStore { return newTestFSStore(t) }},
	{"s3", func(t *testing.T) BlobStore { s, _ := newTestS3Store(t); return s }},
}

func newUploadEnv(t *testing.T, store BlobStore, d testenv.Database) *uploadEnv {
	t.Helper()
	line, err := NewMasterKeyLine(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	master, err := ParseMasterKeys([]byte(line + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	e := &uploadEnv{ledgerEnv: newLedgerEnv(t, d), store: store, keys: NewKeyring(d.DB, master),
		limits: UploadLimits{MaxSize: 1 << 30, CaseQuota: 1 << 31, Expiry: time.Hour, PartSize: MinPartSize}}
	e.uploads = NewUploads(d.DB, store, e.keys, e.limits, RetentionPolicy{Mode: Governance, Period: period.Of(time.Hour)})
	e.content = NewContent(d.DB, store, e.keys)
	return e
}

// newNode is another Bevis process over the same database and store.
func (e *uploadEnv) newNode() *Uploads {
	return NewUploads(e.db.DB, e.store, e.keys, e.limits, RetentionPolicy{Mode: Governance, Period: period.Of(time.Hour)})
}

func randomBytes(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func sums(b []byte) Sums {
	s2, s1, m5 := sha256.Sum256(b), sha1.Sum(b), md5.Sum(b) //nolint:gosec // see the imports
	return Sums{Size: int64(len(b)), SHA256: hex.EncodeToString(s2[:]), SHA1: hex.EncodeToString(s1[:]), MD5: hex.EncodeToString(m5[:])}
}

func (e *uploadEnv) item(t *testing.T, declared Hashes) Item {
	t.Helper()
	it, err := e.items.Register(t.Context(), e.a1, e.caseID, "BEV-2026-0042", NewItem{Title: "Disk image", Kind: "disk_image", Declared: declared})
	if err != nil {
		t.Fatal(err)
	}
	return it
}

func (e *uploadEnv) readAll(t *testing.T, it Item, offset, length int64) []byte {
	t.Helper()
	r, err := e.content.Open(t.Context(), it, offset, length)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestUpload_OneStreamIsHashedSealedLockedAndReadsBack(t *testing.T) {
	for _, sk := range stores {
		t.Run(sk.name, func(t *testing.T) {
			e := newUploadEnv(t, sk.open(t), testenv.SQLite(t))
			data := randomBytes(t, 2*MinPartSize+DefaultSealChunkSize*3+123)
			want := sums(data)
			it := e.item(t, Hashes{SHA256: want.SHA256})
			up, err := e.uploads.Create(t.Context(), e.a1, it, int64(len(data)), "../../etc/passwd\u202egnp.exe")
			if err != nil {
				t.Fatal(err)
			}
			res, err := e.uploads.Write(t.Context(), up.ID, 0, bytes.NewReader(data), nil)
			if err != nil {
				t.Fatal(err)
			}
			got := res.Item
			if got == nil || got.ContentStatus != "received" || got.Size != want.Size || got.Computed != (Hashes{SHA256: want.SHA256, SHA1: want.SHA1, MD5: want.MD5}) {
				t.Fatalf("received item: %+v", got)
			}
			if got.Filename != "../../etc/passwd\u202egnp.exe" || filepath.Base(got.ObjectKey) != up.ID+".sealed" {
				t.Errorf("the name is data, never the storage key: %q %q", got.Filename, got.ObjectKey)
			}
			if !bytes.Equal(e.readAll(t, *got, 0, -1), data) {
				t.Error("content does not read back")
			}
			if r := e.readAll(t, *got, MinPartSize-10, 100); !bytes.Equal(r, data[MinPartSize-10:MinPartSize+90]) {
				t.Error("a range across a part boundary does not read back")
			}
			// At rest, the bytes are ciphertext: no 64-byte run of the
			// content appears in the stored object.
			raw, err := e.store.Get(t.Context(), got.ObjectKey, got.ObjectVersion, 0, -1)
			if err != nil {
				t.Fatal(err)
			}
			stored, _ := io.ReadAll(raw)
			_ = raw.Close()
			if bytes.Contains(stored, data[1000:1064]) || bytes.Contains(stored, data[len(data)-64:]) {
				t.Error("the stored object holds plaintext")
			}
			info, err := e.store.Stat(t.Context(), got.ObjectKey, got.ObjectVersion)
			if err != nil || info.Retention == nil || !info.Retention.Until.After(time.Now()) {
				t.Errorf("the object is not locked: %+v %v", info, err)
			}
			evs, _ := e.items.Events(t.Context(), it.ID)
			if last := evs[len(evs)-1]; last.Type != EventReceived || last.Details.SHA256 != want.SHA256 {
				t.Errorf("custody after upload: %+v", last)
			}
			v, err := e.content.Verify(t.Context(), e.a1, *got)
			if err != nil || v.Result != "ok" || v.SHA256 != want.SHA256 {
				t.Errorf("verify: %+v %v", v, err)
			}
		})
	}
}

// cutReader gives n bytes, then fails as a dropped connection does.
type cutReader struct {
	r io.Reader
	n int
}

func (c *cutReader) Read(p []byte) (int, error) {
	if c.n <= 0 {
		return 0, io.ErrUnexpectedEOF
	}
	if len(p) > c.n {
		p = p[:c.n]
	}
	n, err := c.r.Read(p)
	c.n -= n
	return n, err
}

func TestUpload_ResumesOnAnyNodeAfterInterruptions(t *testing.T) {
	for _, sk := range stores {
		for _, d := range testenv.Databases(t) {
			t.Run(sk.name+"/"+d.Name, func(t *testing.T) {
				e := newUploadEnv(t, sk.open(t), d)
				data := randomBytes(t, 3*MinPartSize+777)
				it := e.item(t, Hashes{MD5: sums(data).MD5})
				up, err := e.uploads.Create(t.Context(), e.a1, it, int64(len(data)), "image.dd")
				if err != nil {
					t.Fatal(err)
				}
				// Each request is cut at an odd place and goes to another node.
				cuts := []int{1, 100_000, MinPartSize + 12_345, MinPartSize + 12_345, 2*MinPartSize + 999_999, len(data)}
				var res Result
				for i, cut := range cuts {
					node := e.newNode()
					cur, err := node.Get(t.Context(), up.ID)
					if err != nil {
						t.Fatal(err)
					}
					if cur.Received%int64(DefaultSealChunkSize) != 0 && cur.Received != cur.Length {
						t.Errorf("request %d: stopped off a chunk boundary at %d", i, cur.Received)
					}
					var body io.Reader = bytes.NewReader(data[cur.Received:])
					if cut < len(data) {
						body = &cutReader{r: body, n: cut - int(cur.Received)}
					}
					// A request cut short keeps what arrived, whether the
					// client stopped or its connection failed.
					res, err = node.Write(t.Context(), up.ID, cur.Received, body, nil)
					if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
						t.Fatalf("request %d: %v", i, err)
					}
				}
				if res.Item == nil || res.Item.Computed.SHA256 != sums(data).SHA256 {
					t.Fatalf("after resuming: %+v", res)
				}
				if !bytes.Equal(e.readAll(t, *res.Item, 0, -1), data) {
					t.Error("resumed content does not read back")
				}
			})
		}
	}
}

func TestUpload_DeclaredHashMismatchKeepsNothingAndIsOnTheRecord(t *testing.T) {
	for _, sk := range stores {
		t.Run(sk.name, func(t *testing.T) {
			e := newUploadEnv(t, sk.open(t), testenv.SQLite(t))
			data := randomBytes(t, MinPartSize+5)
			it := e.item(t, Hashes{SHA256: sums([]byte("something else")).SHA256})
			up, err := e.uploads.Create(t.Context(), e.a1, it, int64(len(data)), "")
			if err != nil {
				t.Fatal(err)
			}
			_, err = e.uploads.Write(t.Context(), up.ID, 0, bytes.NewReader(data), nil)
			var mismatch *HashMismatchError
			if !errors.As(err, &mismatch) || mismatch.Received != sums(data).SHA256 {
				t.Fatalf("write: %v", err)
			}
			after, _ := e.items.Item(t.Context(), it.ID)
			if after.ContentStatus != "none" || after.ObjectKey != "" {
				t.Errorf("the item took the content: %+v", after)
			}
			if _, err := e.store.Versions(t.Context(), "cases/"+it.CaseID+"/items/"+it.ID+"/"+up.ID+".sealed"); !errors.Is(err, ErrObjectNotFound) {
				t.Errorf("an object was left: %v", err)
			}
			evs, _ := e.items.Events(t.Context(), it.ID)
			if last := evs[len(evs)-1]; last.Type != EventContentRejected || last.Details.SHA256 != sums(data).SHA256 {
				t.Errorf("the rejection is not recorded: %+v", last)
			}
			if _, err := e.uploads.Get(t.Context(), up.ID); !errors.Is(err, ErrUploadGone) {
				t.Errorf("the rejected upload goes on: %v", err)
			}
			// The right content is then accepted.
			it2 := e.item(t, Hashes{SHA256: sums(data).SHA256})
			up2, _ := e.uploads.Create(t.Context(), e.a1, it2, int64(len(data)), "")
			if res, err := e.uploads.Write(t.Context(), up2.ID, 0, bytes.NewReader(data), nil); err != nil || res.Item == nil {
				t.Errorf("the right content: %v", err)
			}
		})
	}
}

func TestUpload_RefusesWhatItMustNotTake(t *testing.T) {
	e := newUploadEnv(t, newTestFSStore(t), testenv.SQLite(t))
	ctx := t.Context()
	data := randomBytes(t, 200_000)
	it := e.item(t, Hashes{})
	up, err := e.uploads.Create(ctx, e.a1, it, int64(len(data)), "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.uploads.Write(ctx, up.ID, 5, bytes.NewReader(data), nil); !errors.Is(err, ErrOffsetMismatch) {
		t.Errorf("wrong offset: %v", err)
	}
	if _, err := e.uploads.Write(ctx, up.ID, 0, bytes.NewReader(append(data, 1)), nil); !errors.Is(err, ErrTooLarge) {
		t.Errorf("a byte past the length: %v", err)
	}
	bad := &Checksum{Algorithm: "sha256", Sum: make([]byte, 32)}
	if _, err := e.uploads.Write(ctx, up.ID, 0, bytes.NewReader(data[:100_000]), bad); !errors.Is(err, ErrChecksum) {
		t.Errorf("checksum mismatch: %v", err)
	}
	if cur, _ := e.uploads.Get(ctx, up.ID); cur.Received != 0 {
		t.Errorf("refused requests moved the upload to %d", cur.Received)
	}
	// While one request holds the upload, another is refused.
	if _, err := e.uploads.lease(ctx, up.ID, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := e.uploads.Write(ctx, up.ID, 0, bytes.NewReader(data), nil); !errors.Is(err, ErrUploadBusy) {
		t.Errorf("a held upload: %v", err)
	}
	e.uploads.now = func() time.Time { return time.Now().Add(DefaultUploadLease + time.Second) }
	good := sha256.Sum256(data)
	res, err := e.uploads.Write(ctx, up.ID, 0, bytes.NewReader(data), &Checksum{Algorithm: "sha256", Sum: good[:]})
	if err != nil || res.Item == nil {
		t.Fatalf("after the lease ran out: %v", err)
	}
	if _, err := e.uploads.Create(ctx, e.a1, *res.Item, 10, ""); !errors.Is(err, access.ErrConflict) {
		t.Errorf("a second upload of received content: %v", err)
	}
	physical, _ := e.items.Register(ctx, e.a1, e.caseID, "BEV-2026-0042", NewItem{Title: "Phone", Kind: KindPhysical})
	if _, err := e.uploads.Create(ctx, e.a1, physical, 10, ""); !errors.Is(err, access.ErrConflict) {
		t.Errorf("content for a physical item: %v", err)
	}
	if _, err := e.uploads.Create(ctx, e.a1, e.item(t, Hashes{}), 1<<30+1, ""); !errors.Is(err, ErrTooLarge) {
		t.Errorf("past the size limit: %v", err)
	}
	e.uploads.limits.CaseQuota = int64(len(data)) + 10
	if _, err := e.uploads.Create(ctx, e.a1, e.item(t, Hashes{}), 11, ""); !errors.Is(err, ErrQuotaExceeded) {
		t.Errorf("past the case quota: %v", err)
	}
}

func TestVerify_FindsAChangedOrMissingObject(t *testing.T) {
	dir := t.TempDir()
	store, err := NewFSStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	e := newUploadEnv(t, store, testenv.SQLite(t))
	upload := func() Item {
		data := randomBytes(t, 100_000)
		it := e.item(t, Hashes{})
		up, _ := e.uploads.Create(t.Context(), e.a1, it, int64(len(data)), "")
		res, err := e.uploads.Write(t.Context(), up.ID, 0, bytes.NewReader(data), nil)
		if err != nil {
			t.Fatal(err)
		}
		return *res.Item
	}
	changed, missing := upload(), upload()
	// Behind Bevis's back: flip a byte of one stored object, remove another.
	_ = filepath.WalkDir(filepath.Join(dir, changed.ObjectKey), func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasPrefix(d.Name(), "_data-") {
			return err
		}
		_ = os.Chmod(path, 0o600)
		b, _ := os.ReadFile(path)
		b[len(b)/2] ^= 1
		return os.WriteFile(path, b, 0o600)
	})
	gone := filepath.Join(dir, missing.ObjectKey)
	_ = os.Chmod(gone, 0o700)
	if err := os.RemoveAll(gone); err != nil {
		t.Fatal(err)
	}
	for it, want := range map[*Item]string{&changed: "mismatch", &missing: "missing"} {
		v, err := e.content.Verify(context.Background(), access.Principal{}, *it)
		if err != nil || v.Result != want {
			t.Errorf("%s: %+v %v, want %s", it.ExhibitNumber, v, err, want)
		}
		evs, _ := e.items.Events(t.Context(), it.ID)
		if s := Derive(evs); s.Integrity != want {
			t.Errorf("%s: integrity %q, want %q", it.ExhibitNumber, s.Integrity, want)
		}
	}
}

func TestUpload_LeaseLastsAsConfigured(t *testing.T) {
	e := newUploadEnv(t, newTestFSStore(t), testenv.SQLite(t))
	e.limits.Lease = 2 * time.Minute
	e.uploads = e.newNode()
	ctx := t.Context()
	data := randomBytes(t, 100_000)
	up, err := e.uploads.Create(ctx, e.a1, e.item(t, Hashes{}), int64(len(data)), "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.uploads.lease(ctx, up.ID, 0); err != nil { // a request whose process then dies
		t.Fatal(err)
	}
	start := time.Now()
	retry := e.newNode()
	retry.now = func() time.Time { return start.Add(DefaultUploadLease + time.Second) }
	if _, err := retry.Write(ctx, up.ID, 0, bytes.NewReader(data), nil); !errors.Is(err, ErrUploadBusy) {
		t.Errorf("past the default lease but within the configured one: %v", err)
	}
	retry.now = func() time.Time { return start.Add(2*time.Minute + time.Second) }
	if res, err := retry.Write(ctx, up.ID, 0, bytes.NewReader(data), nil); err != nil || res.Item == nil {
		t.Errorf("past the configured lease: %v", err)
	}
}

// gatedStore holds each PutPart until the test lets it go, and can fail a
// part as an outage would.
type gatedStore struct {
	BlobStore
	started chan int      // the number of each part begun
	release chan struct{} // one receive lets one part be stored
	fail    int           // this part number fails
}

var errStoreDown = errors.New("store down")

func (g *gatedStore) PutPart(ctx context.Context, key, uploadID string, n int, r io.Reader, size int64) (Part, error) {
	g.started <- n
	<-g.release
	if n == g.fail {
		return Part{}, errStoreDown
	}
	return g.BlobStore.PutPart(ctx, key, uploadID, n, r, size)
}

// countingReader counts what was read from it.
type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// A part is stored while the request reads on into the next, and the state
// kept after a part waits for it to be stored: when the part in flight
// fails, the upload resumes from the boundary before it and completes with
// the right hashes.
func TestUpload_StoresAPartWhileReadingTheNext(t *testing.T) {
	d := testenv.SQLite(t)
	gate := &gatedStore{BlobStore: newTestFSStore(t), started: make(chan int, 8), release: make(chan struct{}), fail: 2}
	e := newUploadEnv(t, gate, d)
	data := randomBytes(t, 3*MinPartSize+777)
	it := e.item(t, Hashes{})
	up, err := e.uploads.Create(t.Context(), e.a1, it, int64(len(data)), "image.dd")
	if err != nil {
		t.Fatal(err)
	}

	body := &countingReader{r: bytes.NewReader(data)}
	type written struct {
		res Result
		err error
	}
	done := make(chan written, 1)
	go func() {
		res, err := e.uploads.Write(context.Background(), up.ID, 0, body, nil)
		done <- written{res, err}
	}()
	if n := <-gate.started; n != 1 {
		t.Fatalf("first part stored is %d", n)
	}
	// Part 1 is held; the request goes on reading until part 2 is full.
	deadline := time.Now().Add(30 * time.Second)
	for body.n.Load() < 2*MinPartSize && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if got := body.n.Load(); got < 2*MinPartSize {
		t.Fatalf("read %d bytes while part 1 was being stored, want the next part's too", got)
	}
	select {
	case n := <-gate.started:
		t.Fatalf("part %d began before part 1 was stored", n)
	default:
	}
	gate.release <- struct{}{} // part 1 is stored
	if n := <-gate.started; n != 2 {
		t.Fatalf("second part stored is %d", n)
	}
	gate.release <- struct{}{} // part 2 fails
	w := <-done
	if !errors.Is(w.err, errStoreDown) {
		t.Fatalf("Write with part 2 failing: %+v, %v; want the store's error", w.res, w.err)
	}
	cur, err := e.uploads.Get(t.Context(), up.ID)
	if err != nil {
		t.Fatal(err)
	}
	if cur.Received == 0 || cur.Received > MinPartSize+int64(DefaultSealChunkSize) {
		t.Fatalf("kept %d bytes received, want the boundary after part 1 (about %d)", cur.Received, MinPartSize)
	}

	// The store is back: the rest goes on from where the state was kept.
	gate.fail = 0
	go func() {
		for range gate.started {
			gate.release <- struct{}{}
		}
	}()
	res, err := e.uploads.Write(t.Context(), up.ID, cur.Received, bytes.NewReader(data[cur.Received:]), nil)
	close(gate.started)
	if err != nil || res.Item == nil || res.Item.Computed.SHA256 != sums(data).SHA256 || res.Item.Computed.MD5 != sums(data).MD5 {
		t.Fatalf("resumed: %+v, %v; want %+v", res, err, sums(data))
	}
	if !bytes.Equal(e.readAll(t, *res.Item, 0, -1), data) {
		t.Error("content does not read back")
	}
}

// An unfinished upload holds what it received plus an allowance, not its
// declared length: declarations alone cannot fill a case's quota, and an
// upload writes no further than the case has room for, counting what its
// other uploads hold and its content already received.
func TestUploadQuota_HoldsWhatArrivedPlusAnAllowance(t *testing.T) {
	for _, d := range testenv.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			e := newUploadEnv(t, newTestFSStore(t), d)
			ctx := t.Context()
			allowance := int64(UploadAllowanceParts * MinPartSize) // 20 MiB with the smallest parts
			e.uploads.limits.CaseQuota = 50 << 20
			// Two declarations of 30 MiB each fit: each holds its allowance of 20.
			a, err := e.uploads.Create(ctx, e.a1, e.item(t, Hashes{}), 30<<20, "a.dd")
			if err != nil {
				t.Fatal(err)
			}
			b, err := e.uploads.Create(ctx, e.b1, e.item(t, Hashes{}), 30<<20, "b.dd")
			if err != nil {
				t.Fatalf("a second declaration beside the first: %v", err)
			}
			// A third would pass the quota with its allowance.
			if _, err := e.uploads.Create(ctx, e.a2, e.item(t, Hashes{}), 30<<20, ""); !errors.Is(err, ErrQuotaExceeded) {
				t.Errorf("a third declaration: %v, want ErrQuotaExceeded", err)
			}
			// A declaration that could never fit beside the received content is refused at once.
			if _, err := e.uploads.Create(ctx, e.a2, e.item(t, Hashes{}), 51<<20, ""); !errors.Is(err, ErrQuotaExceeded) {
				t.Errorf("a declaration past the quota: %v, want ErrQuotaExceeded", err)
			}
			// A's bytes arrive: it holds more as they do, up to its length.
			data := randomBytes(t, 30<<20)
			if res, err := e.uploads.Write(ctx, a.ID, 0, bytes.NewReader(data), nil); err != nil || res.Item == nil {
				t.Fatalf("A's content: %v", err)
			}
			// Now 30 MiB is received: B may hold 20, so it stops at its first part.
			_, err = e.uploads.Write(ctx, b.ID, 0, bytes.NewReader(data), nil)
			if !errors.Is(err, ErrQuotaExceeded) {
				t.Fatalf("B past the room left: %v, want ErrQuotaExceeded", err)
			}
			cur, err := e.uploads.Get(ctx, b.ID)
			if err != nil || cur.Received+allowance > 20<<20 {
				t.Errorf("B went on to %d bytes (%v): more than the case has room for", cur.Received, err)
			}
			// Once room is made, B goes on from where it stood.
			e.uploads.limits.CaseQuota = 60 << 20
			res, err := e.uploads.Write(ctx, b.ID, cur.Received, bytes.NewReader(data[cur.Received:]), nil)
			if err != nil || res.Item == nil {
				t.Fatalf("B with room: %v", err)
			}
		})
	}
}

// Starting an upload replaces the starter's own unfinished one, and a
// stale one of anyone's, but never another person's upload in progress;
// a lead clears such an upload only once it is stale.
func TestUpload_AColleaguesUploadInProgressIsNotDiscarded(t *testing.T) {
	for _, d := range testenv.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			e := newUploadEnv(t, newTestFSStore(t), d)
			e.uploads.limits.Expiry = 72 * time.Hour
			ctx := t.Context()
			it := e.item(t, Hashes{})
			mine, err := e.uploads.Create(ctx, e.a1, it, 1<<20, "")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.uploads.Create(ctx, e.a2, it, 1<<20, ""); !errors.Is(err, ErrUploadInProgress) {
				t.Fatalf("a colleague starts over an upload in progress: %v, want ErrUploadInProgress", err)
			}
			if err := e.uploads.AbortStale(ctx, mine.ID); !errors.Is(err, ErrUploadInProgress) {
				t.Fatalf("a lead discards an upload in progress: %v, want ErrUploadInProgress", err)
			}
			again, err := e.uploads.Create(ctx, e.a1, it, 1<<20, "")
			if err != nil {
				t.Fatalf("the starter starts again: %v", err)
			}
			if _, err := e.uploads.Get(ctx, mine.ID); !errors.Is(err, ErrUploadGone) {
				t.Errorf("the starter's first upload: %v, want replaced", err)
			}
			// An hour without a byte: the upload is stale.
			e.uploads.now = func() time.Time { return time.Now().Add(StaleUploadAfter + time.Minute) }
			list, err := e.uploads.CaseUploads(ctx, e.caseID, []access.TLP{access.TLPAmber}, "")
			if err != nil || len(list) != 1 || list[0].ID != again.ID || !list[0].Stale || list[0].Held != 1<<20 {
				t.Fatalf("the case's uploads once stale: %+v, %v", list, err)
			}
			if err := e.uploads.AbortStale(ctx, again.ID); err != nil {
				t.Fatalf("a lead discards a stale upload: %v", err)
			}
			if _, err := e.uploads.Create(ctx, e.a2, it, 1<<20, ""); err != nil {
				t.Errorf("a colleague starts once nothing is in progress: %v", err)
			}
		})
	}
}

// keepingStore keeps the reader of every part it stores, as an HTTP client
// may go on reading a request body after the response came back.
type keepingStore struct {
	BlobStore
	readers []io.Reader
	buffers map[string]bool // where the parts' bytes were
}

func (k *keepingStore) PutPart(ctx context.Context, key, uploadID string, n int, r io.Reader, size int64) (Part, error) {
	k.readers = append(k.readers, r)
	if p, ok := r.(*partReader); ok {
		k.buffers[fmt.Sprintf("%p", p.data)] = true
	}
	return k.BlobStore.PutPart(ctx, key, uploadID, n, r, size)
}

// A part's buffer is given back when the request that filled it ends: a
// store that reads a part again afterwards gets an error, never the bytes
// of freed memory (or a crash), and the content stays whole. However many
// parts, the request fills two buffers in turn.
func TestUpload_PartBuffersAreGivenBackWhenTheRequestEnds(t *testing.T) {
	d := testenv.SQLite(t)
	keep := &keepingStore{BlobStore: newTestFSStore(t), buffers: map[string]bool{}}
	e := newUploadEnv(t, keep, d)
	data := randomBytes(t, 4*MinPartSize+777)
	it := e.item(t, Hashes{})
	up, err := e.uploads.Create(t.Context(), e.a1, it, int64(len(data)), "image.dd")
	if err != nil {
		t.Fatal(err)
	}
	res, err := e.uploads.Write(t.Context(), up.ID, 0, bytes.NewReader(data), nil)
	if err != nil || res.Item == nil {
		t.Fatalf("Write: %+v, %v", res, err)
	}
	if len(keep.readers) < 4 {
		t.Fatalf("%d parts stored, want at least 4", len(keep.readers))
	}
	if len(keep.buffers) > 2 {
		t.Errorf("%d parts were in %d buffers, want 2 in turn", len(keep.readers), len(keep.buffers))
	}
	for i, r := range keep.readers {
		if s, ok := r.(io.Seeker); ok {
			if _, err := s.Seek(0, io.SeekStart); err != nil {
				t.Fatal(err)
			}
		}
		var one [1]byte
		if n, err := r.Read(one[:]); n != 0 || !errors.Is(err, errPartReleased) {
			t.Errorf("part %d read after the request: %d bytes, %v; want %v", i+1, n, err, errPartReleased)
		}
	}
	if !bytes.Equal(e.readAll(t, *res.Item, 0, -1), data) {
		t.Error("content does not read back")
	}
}
