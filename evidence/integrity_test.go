package evidence

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/minio/highwayhash"
	"github.com/minio/minio-go/v7"

	"github.com/bevis-ir/bevis/access"
	"github.com/bevis-ir/bevis/internal/testenv"
)

// raisedAlerts records the incidents Content reports, as an alert engine
// would receive them.
type raisedAlerts struct {
	mu    sync.Mutex
	notes []string
}

func (r *raisedAlerts) RaiseIntegrity(_ context.Context, caseID, subject, agencyID, note string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.notes = append(r.notes, caseID+" "+subject+" "+note)
}

func (r *raisedAlerts) all() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.notes)
}

// received uploads n random bytes as a new item's content.
func (e *uploadEnv) received(t *testing.T, n int) Item {
	t.Helper()
	data := randomBytes(t, n)
	it := e.item(t, Hashes{})
	up, err := e.uploads.Create(t.Context(), e.a1, it, int64(len(data)), "")
	if err != nil {
		t.Fatal(err)
	}
	res, err := e.uploads.Write(t.Context(), up.ID, 0, bytes.NewReader(data), nil)
	if err != nil || res.Item == nil {
		t.Fatalf("upload: %+v %v", res, err)
	}
	return *res.Item
}

// lastEvent is an item's newest custody event.
func (e *uploadEnv) lastEvent(t *testing.T, it Item) Event {
	t.Helper()
	evs, err := e.items.Events(t.Context(), it.ID)
	if err != nil || len(evs) == 0 {
		t.Fatalf("events: %v", err)
	}
	return evs[len(evs)-1]
}

// MinIO keeps an object's bytes in part files of blocks, each block (1 MiB
// of data on one drive) after the HighwayHash-256 MinIO checks it against
// on reading ("streaming bitrot"), under this fixed key.
var minioBitrotKey = []byte("\x4b\xe7\x34\xfa\x8e\x23\x8a\xcd\x26\x3e\x83\xe6\xbb\x96\x85\x52\x04\x0f\x93\x5d\xa3\x9f\x44\x14\x97\xe0\x9d\x13\x22\xde\x36\xa0")

const minioBlock = 1 << 20

// flipOnMinIODisk flips the byte at offset of the stored object at key in
// the test server's data folder, as someone with access to the disks
// would, and fixes MinIO's own block checksum after it: a flip alone MinIO
// refuses to serve (503 SlowDownRead), and the point is what Bevis does
// with bytes the store hands it changed.
func flipOnMinIODisk(t *testing.T, srv testenv.S3Server, key string, offset int64) {
	t.Helper()
	var part string
	root := filepath.Join(srv.DataDir(t), srv.Bucket, filepath.FromSlash(key))
	_ = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Name() == "part.1" {
			part = p
		}
		return nil
	})
	if part == "" {
		t.Fatalf("no part.1 under %s: is the object inlined in xl.meta (too small)?", root)
	}
	b, err := os.ReadFile(part) //nolint:gosec // the test server's own file
	if err != nil {
		t.Fatal(err)
	}
	block := offset / minioBlock
	start := block * (highwayhash.Size + minioBlock)
	end := min(int64(len(b)), start+highwayhash.Size+minioBlock)
	b[start+highwayhash.Size+offset%minioBlock] ^= 0x01
	h, err := highwayhash.New(minioBitrotKey)
	if err != nil {
		t.Fatal(err)
	}
	h.Write(b[start+highwayhash.Size : end])
	copy(b[start:], h.Sum(nil))
	if err := os.WriteFile(part, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestIntegrity_AByteFlippedOnMinIOsDiskIsAMismatchOnTheRecordAndAlerted(t *testing.T) {
	store, srv := newTestS3Store(t)
	e := newUploadEnv(t, store, testenv.SQLite(t))
	raised := &raisedAlerts{}
	e.content.ReportIncidentsTo(raised)
	it := e.received(t, 300_000) // past MinIO's 128 KiB inline limit: a part file of its own
	flipOnMinIODisk(t, srv, it.ObjectKey, 200_000)

	v, err := e.content.Verify(t.Context(), access.Principal{}, it)
	if err != nil || v.Result != "mismatch" {
		t.Fatalf("verify: %+v, %v; want mismatch", v, err)
	}
	ev := e.lastEvent(t, it)
	if ev.Type != EventVerified || ev.Details.Result != "mismatch" || !strings.Contains(ev.Notes, "failed authentication") {
		t.Errorf("custody event: %+v", ev)
	}
	if got := raised.all(); len(got) != 1 || !strings.Contains(got[0], it.ID) || !strings.Contains(got[0], "content mismatch") {
		t.Errorf("alerts raised: %q", got)
	}
	// A read of the changed range fails before it hands on a byte, and is
	// recorded as found by a download.
	if _, err := e.content.Open(t.Context(), it, 150_000, 100_000); err == nil {
		t.Fatal("Open of the changed range succeeded")
	} else if ferr := e.content.ReadFailed(t.Context(), e.a1, it, 150_000, 100_000, err); integrityResult(ferr) != "mismatch" {
		t.Errorf("ReadFailed: %v", ferr)
	}
	// The record already said mismatch: no second event for the same finding.
	if last := e.lastEvent(t, it); last.ID != ev.ID {
		t.Errorf("a download recorded the known mismatch again: %+v", last)
	}
}

// What someone holding the store's root credentials can do behind Bevis's
// back, each reported by the next verification: a version of their own at
// an evidence key, a delete marker over it, a legal hold lifted, and the
// recorded version deleted.
func TestIntegrity_WritesBehindBevisBackAreReportedByVerification(t *testing.T) {
	store, srv := newTestS3Store(t)
	e := newUploadEnv(t, store, testenv.SQLite(t))
	raised := &raisedAlerts{}
	e.content.ReportIncidentsTo(raised)
	root := srv.Client(t)
	ctx := t.Context()

	for _, tc := range []struct {
		name    string
		prepare func(t *testing.T, it Item)
		tamper  func(t *testing.T, it Item)
		result  string
		finding string
	}{
		{name: "foreign_version", result: "ok", finding: "foreign version", tamper: func(t *testing.T, it Item) {
			if _, err := root.PutObject(ctx, srv.Bucket, it.ObjectKey, strings.NewReader("planted"), 7, minio.PutObjectOptions{}); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "delete_marker", result: "ok", finding: "delete marker", tamper: func(t *testing.T, it Item) {
			if err := root.RemoveObject(ctx, srv.Bucket, it.ObjectKey, minio.RemoveObjectOptions{}); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "lifted_hold", result: "ok", finding: "legal hold lifted in the store behind Bevis's back; restored",
			prepare: func(t *testing.T, it Item) {
				if err := e.content.SetHold(ctx, it, true); err != nil {
					t.Fatal(err)
				}
				e.step(t, e.a1, it.ID, Step{Type: EventLegalHoldSet, Details: Details{LegalBasis: "Court order 2026/17"}})
			},
			tamper: func(t *testing.T, it Item) {
				off := minio.LegalHoldDisabled
				if err := root.PutObjectLegalHold(ctx, srv.Bucket, it.ObjectKey, minio.PutObjectLegalHoldOptions{VersionID: it.ObjectVersion, Status: &off}); err != nil {
					t.Fatal(err)
				}
			}},
		{name: "deleted_version", result: "missing", tamper: func(t *testing.T, it Item) {
			err := root.RemoveObject(ctx, srv.Bucket, it.ObjectKey, minio.RemoveObjectOptions{VersionID: it.ObjectVersion, GovernanceBypass: true})
			if err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			it := e.received(t, 1000)
			if tc.prepare != nil {
				tc.prepare(t, it)
			}
			if v, err := e.content.Verify(ctx, access.Principal{}, it); err != nil || v.Result != "ok" || len(v.Findings) != 0 {
				t.Fatalf("verify before: %+v, %v", v, err)
			}
			before := len(raised.all())
			tc.tamper(t, it)
			v, err := e.content.Verify(ctx, access.Principal{}, it)
			if err != nil || v.Result != tc.result {
				t.Fatalf("verify after: %+v, %v; want %s", v, err, tc.result)
			}
			ev := e.lastEvent(t, it)
			if ev.Details.Result != tc.result || (tc.finding != "") != (len(ev.Details.Findings) == 1) ||
				(tc.finding != "" && !strings.Contains(ev.Details.Findings[0], tc.finding)) {
				t.Errorf("custody event: %+v, want result %s and finding %q", ev.Details, tc.result, tc.finding)
			}
			if got := raised.all(); len(got) != before+1 || !strings.Contains(got[len(got)-1], it.ID) {
				t.Errorf("alerts: %q", got[before:])
			}
			if tc.name == "lifted_hold" {
				info, err := store.Stat(ctx, it.ObjectKey, it.ObjectVersion)
				if err != nil || !info.LegalHold {
					t.Errorf("hold not restored: %+v, %v", info, err)
				}
			}
			if err := e.items.VerifyItem(ctx, it.ID); err != nil {
				t.Error(err)
			}
		})
	}
}

// A data key that cannot be unwrapped is the verifier's problem: an error,
// nothing on the custody record, no alert.
func TestVerify_ADataKeyThatCannotBeUnwrappedIsAnErrorNotAMismatch(t *testing.T) {
	e := newUploadEnv(t, newTestFSStore(t), testenv.SQLite(t))
	raised := &raisedAlerts{}
	it := e.received(t, 1000)
	impostor := NewContent(e.db.DB, e.store, NewKeyring(e.db.DB, parseMaster(t, masterKeyLine(t, e.keys.master.CurrentID()))))
	impostor.ReportIncidentsTo(raised)
	before := e.lastEvent(t, it)
	_, err := impostor.Verify(t.Context(), access.Principal{}, it)
	if !errors.Is(err, ErrCannotCheckKey) || !strings.Contains(err.Error(), "cannot check: key") {
		t.Fatalf("verify with the wrong master key bytes: %v, want ErrCannotCheckKey", err)
	}
	if after := e.lastEvent(t, it); after.ID != before.ID {
		t.Errorf("a key problem went on the custody record: %+v", after)
	}
	if got := raised.all(); len(got) != 0 {
		t.Errorf("a key problem raised alerts: %q", got)
	}
	if _, err := impostor.Open(t.Context(), it, 0, -1); !errors.Is(err, ErrCannotCheckKey) {
		t.Errorf("open: %v", err)
	}

}

// flipFSByte flips the byte at offset of the stored object at key in an
// FSStore rooted at root, as someone with access to the folder would.
func flipFSByte(root, key string, offset int) error {
	dir := filepath.Join(root, filepath.FromSlash(key))
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), fsDataPrefix) {
			path := filepath.Join(dir, e.Name())
			_ = os.Chmod(path, 0o600)
			b, err := os.ReadFile(path) //nolint:gosec // the test's own store
			if err != nil {
				return err
			}
			b[offset] ^= 0x01
			return os.WriteFile(path, b, 0o600)
		}
	}
	return os.ErrNotExist
}
