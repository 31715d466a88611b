package evidence

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"
)

// The contract suite: what every BlobStore must do, run against each backend
// (TestFSStore_Contract, TestS3Store_Contract). newStore gives each case a
// store of its own; reopen opens another instance on the same storage as s.
func testBlobStoreContract(t *testing.T, newStore func(t *testing.T) BlobStore, reopen func(t *testing.T, s BlobStore) BlobStore) {
	cases := []struct {
		name string
		run  func(t *testing.T, s BlobStore)
	}{
		{"PutThenGet_ReturnsTheSameBytes", contractRoundTrip},
		{"Get_ReadsTheRequestedRange", contractRanges},
		{"Get_RefusesRangesNotStartingInsideTheObject", contractInvalidRanges},
		{"Stat_DescribesTheStoredVersion", contractStat},
		{"Put_ToExistingKey_IsRefusedAndKeepsTheOriginal", contractWriteOnce},
		{"Put_ConcurrentToOneKey_AtMostOneWins", contractConcurrentPuts},
		{"AllMethods_RefuseInvalidKeys", contractInvalidKeys},
		{"ValidKeys_AreAccepted", contractValidKeys},
		{"VersionedCalls_RefuseEmptyVersion", contractEmptyVersion},
		{"MissingKeyOrVersion_IsNotFound", contractNotFound},
		{"Versions_ListsTheOneVersion", contractVersions},
		{"Retention_SetAtPut_CanBeExtendedAndGovernanceShortened", contractGovernanceRetention},
		{"Retention_Compliance_CannotBeShortenedOrWeakened", contractComplianceRetention},
		{"Retention_InvalidIsRefused", contractInvalidRetention},
		{"LockSetAtPut_AppliesToMultiMiBStreams", contractLockOnBigPut},
		{"LegalHold_OnAndOff_IsReflectedByStat", contractLegalHold},
		{"Put_WithFailingReader_LeavesNoObject", contractFailingReader},
		{"Put_CancelledMidStream_LeavesNoObject", contractCancelledPut},
		{"Put_StreamShorterThanSize_LeavesNoObject", contractShortStream},
		{"Put_StreamLongerThanSize_StoresDeclaredSize", contractLongStream},
		{"Ping_SucceedsOnAWorkingStore", contractPing},
		{"DeleteVersion_OnlyOnceRetentionAndHoldAreOver", contractDeleteVersion},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, newStore(t)) })
	}
	testMultipartContract(t, newStore, reopen)
}

const (
	// bigSize spans several parts of the 5 MiB part size the S3 tests use,
	// and is not a multiple of it.
	bigSize  = 12<<20 + 12345
	partSize = 5 << 20
)

var errReader = errors.New("test: reader broke")

func contractRoundTrip(t *testing.T, s BlobStore) {
	for _, tc := range []struct {
		name      string
		size      int
		knownSize bool
	}{
		{"empty_known_size", 0, true},
		{"empty_unknown_size", 0, false},
		{"small_known_size", 100 << 10, true},
		{"small_unknown_size", 100 << 10, false},
		{"multi_MiB_known_size", bigSize, true},
		{"multi_MiB_unknown_size", bigSize, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := testBytes(tc.size)
			size := int64(-1)
			if tc.knownSize {
				size = int64(len(data))
			}
			key := newTestKey()
			// Hide bytes.Reader's extra methods: callers hand us plain streams.
			info, err := s.Put(t.Context(), key, struct{ io.Reader }{bytes.NewReader(data)}, size, PutOptions{})
			if err != nil {
				t.Fatalf("Put: %v", err)
			}
			if info.Key != key || info.VersionID == "" || info.Size != int64(len(data)) {
				t.Fatalf("Put info = %+v, want key %s, a version ID, size %d", info, key, len(data))
			}
			assertSameBytes(t, mustGet(t, s, key, info.VersionID, 0, -1), data)
		})
	}
}

func contractRanges(t *testing.T, s BlobStore) {
	data := testBytes(bigSize)
	key := newTestKey()
	info := mustPut(t, s, key, data, -1, PutOptions{})
	for _, tc := range []struct {
		name           string
		offset, length int64
		want           []byte
	}{
		{"start", 0, 100, data[:100]},
		{"first_byte", 0, 1, data[:1]},
		{"middle_across_part_boundary", partSize - 10, 20, data[partSize-10 : partSize+10]},
		{"end", bigSize - 100, 100, data[bigSize-100:]},
		{"last_byte", bigSize - 1, 1, data[bigSize-1:]},
		{"to_end", bigSize - 1000, -1, data[bigSize-1000:]},
		{"whole", 0, -1, data},
		{"length_past_end_is_cut", bigSize - 10, 100, data[bigSize-10:]},
		{"huge_length_is_cut", bigSize - 10, 1<<63 - 1, data[bigSize-10:]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assertSameBytes(t, mustGet(t, s, key, info.VersionID, tc.offset, tc.length), tc.want)
		})
	}
}

func contractInvalidRanges(t *testing.T, s BlobStore) {
	key := newTestKey()
	info := mustPut(t, s, key, testBytes(1000), 1000, PutOptions{})
	emptyKey := newTestKey()
	empty := mustPut(t, s, emptyKey, nil, 0, PutOptions{})
	for _, tc := range []struct {
		name           string
		key, version   string
		offset, length int64
	}{
		{"offset_at_end", key, info.VersionID, 1000, -1},
		{"offset_at_end_with_length", key, info.VersionID, 1000, 10},
		{"offset_past_end", key, info.VersionID, 5000, 10},
		{"negative_offset", key, info.VersionID, -1, 10},
		{"zero_length", key, info.VersionID, 0, 0},
		{"negative_length", key, info.VersionID, 0, -2},
		{"bytes_of_empty_object", emptyKey, empty.VersionID, 0, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rc, err := s.Get(t.Context(), tc.key, tc.version, tc.offset, tc.length)
			if err == nil {
				rc.Close()
			}
			if !errors.Is(err, ErrInvalidRange) {
				t.Fatalf("Get(offset %d, length %d) error = %v, want ErrInvalidRange", tc.offset, tc.length, err)
			}
		})
	}
}

func contractStat(t *testing.T, s BlobStore) {
	before := time.Now()
	key := newTestKey()
	put := mustPut(t, s, key, testBytes(4096), 4096, PutOptions{})
	after := time.Now()
	got, err := s.Stat(t.Context(), key, put.VersionID)
	if err != nil {
		t.Fatalf("Stat: %v", err)
	}
	assertSameInfo(t, got, put)
	if got.Size != 4096 || got.Retention != nil || got.LegalHold {
		t.Errorf("Stat = %+v, want size 4096, no retention, no legal hold", got)
	}
	// S3 keeps whole seconds.
	if got.ModTime.Before(before.Add(-2*time.Second)) || got.ModTime.After(after.Add(2*time.Second)) {
		t.Errorf("ModTime %s not within the Put (%s..%s)", got.ModTime, before, after)
	}
}

func contractWriteOnce(t *testing.T, s BlobStore) {
	for _, tc := range []struct {
		name       string
		firstSize  int
		secondSize int64 // -1: unknown
	}{
		{"small_over_small", 1000, 1000},
		{"multi_MiB_unknown_size_over_small", 1000, -1},
		{"small_over_multi_MiB", bigSize, 2000},
		{"multi_MiB_over_multi_MiB", bigSize, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			key := newTestKey()
			original := testBytes(tc.firstSize)
			first := mustPut(t, s, key, original, int64(len(original)), PutOptions{})

			other := bytes.Repeat([]byte("tampered"), bigSize/8)
			if tc.secondSize >= 0 {
				other = other[:tc.secondSize]
			}
			_, err := s.Put(t.Context(), key, bytes.NewReader(other), tc.secondSize, PutOptions{})
			if !errors.Is(err, ErrObjectExists) {
				t.Fatalf("second Put error = %v, want ErrObjectExists", err)
			}
			assertSameBytes(t, mustGet(t, s, key, first.VersionID, 0, -1), original)
			assertOneVersion(t, s, key, first)
		})
	}
}

// Racing writers: at most one may be told it succeeded (S3 may refuse them
// all, see S3Store), the others get ErrObjectExists, and the winner's version
// holds the winner's bytes.
func contractConcurrentPuts(t *testing.T, s BlobStore) {
	for _, tc := range []struct {
		name      string
		knownSize bool
	}{
		{"known_size", true},
		{"unknown_size", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const writers = 4
			key := newTestKey()
			var (
				wg    sync.WaitGroup
				infos [writers]ObjectInfo
				errs  [writers]error
				datas [writers][]byte
			)
			for i := range writers {
				datas[i] = bytes.Repeat([]byte{byte('a' + i)}, 256<<10)
				wg.Go(func() {
					r := struct{ io.Reader }{bytes.NewReader(datas[i])}
					infos[i], errs[i] = s.Put(t.Context(), key, r, sizeArg(datas[i], tc.knownSize), PutOptions{})
				})
			}
			wg.Wait()
			winner := -1
			for i, err := range errs {
				switch {
				case err == nil && winner >= 0:
					t.Fatalf("writers %d and %d both succeeded", winner, i)
				case err == nil:
					winner = i
				case !errors.Is(err, ErrObjectExists):
					t.Fatalf("writer %d error = %v, want nil or ErrObjectExists", i, err)
				}
			}
			if winner < 0 {
				t.Logf("all %d writers were refused", writers)
				return
			}
			assertSameBytes(t, mustGet(t, s, key, infos[winner].VersionID, 0, -1), datas[winner])
			assertOneVersion(t, s, key, infos[winner])
		})
	}
}

func contractInvalidKeys(t *testing.T, s BlobStore) {
	keys := []string{
		"",
		"/leading-slash.bin",
		"trailing-slash.bin/",
		"double//slash.bin",
		"..",
		"a/../b.bin",
		"a/./b.bin",
		".hidden",
		"a/.hidden",
		"_reserved.bin",
		"a/_meta.json",
		"-dash-first.bin",
		"no-dot-in-last-segment",
		"a/b",
		"dot.in/directory.bin",
		"trailing-dot.",
		"Upper.bin",
		"sp ace.bin",
		"back\\slash.bin",
		"colon:.bin",
		"nul\x00.bin",
		"newline\n.bin",
		"ümlaut.bin",
		strings.Repeat("a", maxSegmentLen) + ".bin",
		strings.Repeat("abcdefg/", maxKeyLen/8) + "a.bin",
	}
	retention := Retention{Mode: Governance, Until: time.Now().Add(time.Hour)}
	ops := map[string]func(ctx context.Context, key string) error{
		"Put": func(ctx context.Context, key string) error {
			_, err := s.Put(ctx, key, strings.NewReader("x"), 1, PutOptions{})
			return err
		},
		"Get": func(ctx context.Context, key string) error {
			rc, err := s.Get(ctx, key, "v1", 0, -1)
			if err == nil {
				rc.Close()
			}
			return err
		},
		"Stat": func(ctx context.Context, key string) error {
			_, err := s.Stat(ctx, key, "v1")
			return err
		},
		"Versions": func(ctx context.Context, key string) error {
			_, err := s.Versions(ctx, key)
			return err
		},
		"SetRetention": func(ctx context.Context, key string) error {
			return s.SetRetention(ctx, key, "v1", retention)
		},
		"SetLegalHold": func(ctx context.Context, key string) error {
			return s.SetLegalHold(ctx, key, "v1", true)
		},
	}
	for _, key := range keys {
		for name, op := range ops {
			t.Run(fmt.Sprintf("%s/%.40q", name, key), func(t *testing.T) {
				if err := op(t.Context(), key); !errors.Is(err, ErrInvalidKey) {
					t.Fatalf("%s(%q) error = %v, want ErrInvalidKey", name, key, err)
				}
			})
		}
	}
}

func contractValidKeys(t *testing.T, s BlobStore) {
	dir := strings.TrimSuffix(newTestKey(), ".bin")
	for _, suffix := range []string{
		"a.b",
		"0.0",
		"image.e01",
		"disk_image-2.dd",
		"x.tar.gz",
		"a..b",
		"sub/a.b", // beside "a.b" and below the directory of "sub.b"
		"sub.b",
		"1/2/3/4/5/6/7/8/9.0",
		strings.Repeat("s", maxSegmentLen-2) + ".b",
	} {
		key := dir + "/" + suffix
		t.Run(suffix[:min(len(suffix), 20)], func(t *testing.T) {
			info := mustPut(t, s, key, []byte(key), int64(len(key)), PutOptions{})
			assertSameBytes(t, mustGet(t, s, key, info.VersionID, 0, -1), []byte(key))
			assertOneVersion(t, s, key, info)
		})
	}
}

func contractEmptyVersion(t *testing.T, s BlobStore) {
	key := newTestKey()
	mustPut(t, s, key, []byte("x"), 1, PutOptions{})
	retention := Retention{Mode: Governance, Until: time.Now().Add(time.Hour)}
	for name, op := range map[string]func() error{
		"Get": func() error {
			rc, err := s.Get(t.Context(), key, "", 0, -1)
			if err == nil {
				rc.Close()
			}
			return err
		},
		"Stat":         func() error { _, err := s.Stat(t.Context(), key, ""); return err },
		"SetRetention": func() error { return s.SetRetention(t.Context(), key, "", retention) },
		"SetLegalHold": func() error { return s.SetLegalHold(t.Context(), key, "", true) },
	} {
		t.Run(name, func(t *testing.T) {
			if err := op(); !errors.Is(err, ErrInvalidVersion) {
				t.Fatalf("%s with empty version error = %v, want ErrInvalidVersion", name, err)
			}
		})
	}
}

func contractNotFound(t *testing.T, s BlobStore) {
	key := newTestKey()
	mustPut(t, s, key, []byte("one"), 3, PutOptions{})
	otherKey := newTestKey()
	other := mustPut(t, s, otherKey, []byte("two"), 3, PutOptions{})
	missingKey := newTestKey()

	refs := []struct{ name, key, version string }{
		{"missing_key", missingKey, other.VersionID},
		{"version_of_another_object", key, other.VersionID},
		{"made_up_version", key, newMadeUpVersion()},
		{"malformed_version", key, "not-a-version"},
	}
	retention := Retention{Mode: Governance, Until: time.Now().Add(time.Hour)}
	ops := map[string]func(ctx context.Context, key, version string) error{
		"Get": func(ctx context.Context, key, version string) error {
			rc, err := s.Get(ctx, key, version, 0, -1)
			if err == nil {
				rc.Close()
			}
			return err
		},
		"GetRange": func(ctx context.Context, key, version string) error {
			rc, err := s.Get(ctx, key, version, 1, 1)
			if err == nil {
				rc.Close()
			}
			return err
		},
		"Stat": func(ctx context.Context, key, version string) error {
			_, err := s.Stat(ctx, key, version)
			return err
		},
		"SetRetention": func(ctx context.Context, key, version string) error {
			return s.SetRetention(ctx, key, version, retention)
		},
		"SetLegalHold": func(ctx context.Context, key, version string) error {
			return s.SetLegalHold(ctx, key, version, true)
		},
	}
	for _, ref := range refs {
		for name, op := range ops {
			t.Run(ref.name+"/"+name, func(t *testing.T) {
				if err := op(t.Context(), ref.key, ref.version); !errors.Is(err, ErrObjectNotFound) {
					t.Fatalf("%s error = %v, want ErrObjectNotFound", name, err)
				}
			})
		}
	}
	t.Run("missing_key/Versions", func(t *testing.T) {
		if _, err := s.Versions(t.Context(), missingKey); !errors.Is(err, ErrObjectNotFound) {
			t.Fatalf("Versions error = %v, want ErrObjectNotFound", err)
		}
	})
	t.Run("prefix_of_a_key/Versions", func(t *testing.T) {
		if _, err := s.Versions(t.Context(), key[:len(key)-1]); !errors.Is(err, ErrObjectNotFound) {
			t.Fatalf("Versions error = %v, want ErrObjectNotFound", err)
		}
	})
}

func contractVersions(t *testing.T, s BlobStore) {
	key := newTestKey()
	info := mustPut(t, s, key, testBytes(777), -1, PutOptions{LegalHold: true})
	mustPut(t, s, key+".sha256", []byte("x"), 1, PutOptions{}) // shares the prefix
	mustPut(t, s, key+"x", []byte("x"), 1, PutOptions{})
	assertOneVersion(t, s, key, info)
}

// putFailureCases cover the single-request and the multipart paths of S3.
var putFailureCases = []struct {
	name      string
	size      int
	failAt    int
	knownSize bool
}{
	{"small_known_size", 300 << 10, 100 << 10, true},
	{"small_unknown_size", 300 << 10, 100 << 10, false},
	{"multi_MiB_known_size", bigSize, partSize + 1<<20, true},
	{"multi_MiB_unknown_size", bigSize, partSize + 1<<20, false},
}

func contractFailingReader(t *testing.T, s BlobStore) {
	for _, tc := range putFailureCases {
		t.Run(tc.name, func(t *testing.T) {
			data := testBytes(tc.size)
			size := sizeArg(data, tc.knownSize)
			key := newTestKey()
			r := &brokenReader{r: bytes.NewReader(data), left: tc.failAt, err: errReader}
			if _, err := s.Put(t.Context(), key, r, size, PutOptions{LegalHold: true}); !errors.Is(err, errReader) {
				t.Fatalf("Put error = %v, want the reader's error", err)
			}
			assertNoObject(t, s, key)
			info := mustPut(t, s, key, data, size, PutOptions{})
			assertSameBytes(t, mustGet(t, s, key, info.VersionID, 0, -1), data)
		})
	}
}

func contractCancelledPut(t *testing.T, s BlobStore) {
	for _, tc := range putFailureCases {
		t.Run(tc.name, func(t *testing.T) {
			data := testBytes(tc.size)
			size := sizeArg(data, tc.knownSize)
			key := newTestKey()
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			// The reader goes on giving bytes: the store must notice ctx.
			r := &brokenReader{r: bytes.NewReader(data), left: tc.failAt, onFail: cancel}
			if _, err := s.Put(ctx, key, r, size, PutOptions{}); !errors.Is(err, context.Canceled) {
				t.Fatalf("Put error = %v, want context.Canceled", err)
			}
			assertNoObject(t, s, key)
			info := mustPut(t, s, key, data, size, PutOptions{})
			assertSameBytes(t, mustGet(t, s, key, info.VersionID, 0, -1), data)
		})
	}
}

func contractShortStream(t *testing.T, s BlobStore) {
	for _, tc := range []struct {
		name             string
		size, actualSize int
	}{
		{"small", 2000, 1000},
		{"multi_MiB", bigSize, partSize + 1<<20},
		{"empty", 10, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			key := newTestKey()
			_, err := s.Put(t.Context(), key, bytes.NewReader(testBytes(tc.actualSize)), int64(tc.size), PutOptions{})
			if !errors.Is(err, ErrSizeMismatch) {
				t.Fatalf("Put error = %v, want ErrSizeMismatch", err)
			}
			assertNoObject(t, s, key)
		})
	}
}

func contractLongStream(t *testing.T, s BlobStore) {
	data := testBytes(3000)
	key := newTestKey()
	info := mustPut(t, s, key, data, 1000, PutOptions{})
	if info.Size != 1000 {
		t.Errorf("Size = %d, want 1000", info.Size)
	}
	assertSameBytes(t, mustGet(t, s, key, info.VersionID, 0, -1), data[:1000])
}

func contractPing(t *testing.T, s BlobStore) {
	if err := s.Ping(t.Context()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
}

// brokenReader gives left bytes of r, then fails with err (after calling
// onFail), or with err nil keeps reading after onFail.
type brokenReader struct {
	r      io.Reader
	left   int
	err    error
	onFail func()
}

func (b *brokenReader) Read(p []byte) (int, error) {
	if b.left <= 0 {
		if b.onFail != nil {
			b.onFail()
			b.onFail = nil
		}
		if b.err != nil {
			return 0, b.err
		}
		return b.r.Read(p)
	}
	if len(p) > b.left {
		p = p[:b.left]
	}
	n, err := b.r.Read(p)
	b.left -= n
	return n, err
}

func sizeArg(data []byte, known bool) int64 {
	if known {
		return int64(len(data))
	}
	return -1
}

// testBytes returns n bytes that differ between calls, cheaply.
func testBytes(n int) []byte {
	var seed [32]byte
	_, _ = rand.Read(seed[:])
	b := make([]byte, n)
	_, _ = mrand.NewChaCha8(seed).Read(b)
	return b
}

func newTestKey() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return "cases/test/items/" + hex.EncodeToString(b[:]) + ".bin"
}

// newMadeUpVersion looks like a version ID of either backend (a UUID to
// MinIO) but names none.
func newMadeUpVersion() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-4" + h[13:16] + "-8" + h[17:20] + "-" + h[20:]
}

func mustPut(t testing.TB, s BlobStore, key string, data []byte, size int64, opts PutOptions) ObjectInfo {
	t.Helper()
	info, err := s.Put(t.Context(), key, bytes.NewReader(data), size, opts)
	if err != nil {
		t.Fatalf("Put %s: %v", key, err)
	}
	return info
}

func mustGet(t testing.TB, s BlobStore, key, version string, offset, length int64) []byte {
	t.Helper()
	rc, err := s.Get(t.Context(), key, version, offset, length)
	if err != nil {
		t.Fatalf("Get %s (offset %d, length %d): %v", key, offset, length, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("reading %s: %v", key, err)
	}
	return b
}

func assertSameBytes(t testing.TB, got, want []byte) {
	t.Helper()
	if !bytes.Equal(got, want) {
		t.Fatalf("got %d bytes (sha256 %x), want %d bytes (sha256 %x)", len(got), sha256.Sum256(got), len(want), sha256.Sum256(want))
	}
}

func assertSameInfo(t testing.TB, got, want ObjectInfo) {
	t.Helper()
	same := got.Key == want.Key && got.VersionID == want.VersionID && got.Size == want.Size &&
		got.ModTime.Equal(want.ModTime) && got.LegalHold == want.LegalHold &&
		(got.Retention == nil) == (want.Retention == nil)
	if same && got.Retention != nil {
		same = got.Retention.Mode == want.Retention.Mode && got.Retention.Until.Equal(want.Retention.Until)
	}
	if !same {
		t.Errorf("info = %+v (retention %+v), want %+v (retention %+v)", got, got.Retention, want, want.Retention)
	}
}

func assertOneVersion(t testing.TB, s BlobStore, key string, want ObjectInfo) {
	t.Helper()
	versions, err := s.Versions(t.Context(), key)
	if err != nil {
		t.Fatalf("Versions: %v", err)
	}
	if len(versions) != 1 {
		t.Fatalf("Versions = %+v, want exactly one", versions)
	}
	assertSameInfo(t, versions[0], want)
}

func assertNoObject(t testing.TB, s BlobStore, key string) {
	t.Helper()
	if v, err := s.Versions(t.Context(), key); !errors.Is(err, ErrObjectNotFound) {
		t.Fatalf("Versions after failed Put = %+v, %v; want ErrObjectNotFound", v, err)
	}
}

// contractDeleteVersion: a version is deleted for good only when neither
// its retention nor a legal hold keeps it; deleting it again finds nothing.
func contractDeleteVersion(t *testing.T, s BlobStore) {
	ctx := t.Context()
	key, data := newTestKey(), testBytes(100)
	info := mustPut(t, s, key, data, 100,
		PutOptions{Retention: &Retention{Mode: Governance, Until: time.Now().Add(time.Second)}, LegalHold: true})
	if err := s.DeleteVersion(ctx, key, info.VersionID); !errors.Is(err, ErrRetained) {
		t.Fatalf("delete under retention and hold: %v", err)
	}
	time.Sleep(2100 * time.Millisecond) // past the retention, rounded up to the second
	if err := s.DeleteVersion(ctx, key, info.VersionID); !errors.Is(err, ErrRetained) {
		t.Fatalf("delete under a legal hold: %v", err)
	}
	assertSameBytes(t, mustGet(t, s, key, info.VersionID, 0, -1), data)
	if err := s.SetLegalHold(ctx, key, info.VersionID, false); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteVersion(ctx, key, info.VersionID); err != nil {
		t.Fatalf("delete once free: %v", err)
	}
	assertNoObject(t, s, key)
	if err := s.DeleteVersion(ctx, key, info.VersionID); !errors.Is(err, ErrObjectNotFound) {
		t.Errorf("delete again: %v", err)
	}
}
