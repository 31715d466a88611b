package evidence

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/google/uuid"
)

func testDataKey(t testing.TB) DataKey {
	t.Helper()
	k := DataKey{ID: uuid.Must(uuid.NewV7()).String(), CaseID: uuid.Must(uuid.NewV7()).String(), Version: 1}
	if _, err := rand.Read(k.secret[:]); err != nil {
		t.Fatal(err)
	}
	return k
}

const testObject = "cases/test/items/0001.bin"

// seal seals data with writes of awkward sizes.
func seal(t testing.TB, key DataKey, objectKey string, data []byte, chunk int) []byte {
	t.Helper()
	var out bytes.Buffer
	w, err := NewSealWriter(&out, key, objectKey, chunk)
	if err != nil {
		t.Fatal(err)
	}
	for i, rest := 0, data; len(rest) > 0; i++ {
		n := min([]int{1, 13, chunk, chunk + 1, 3*chunk - 1, 100000}[i%6], len(rest))
		if _, err := w.Write(rest[:n]); err != nil {
			t.Fatal(err)
		}
		rest = rest[n:]
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func openAll(sealed []byte, key DataKey, objectKey string) ([]byte, error) {
	r, err := OpenSealed(bytes.NewReader(sealed), key, objectKey)
	if err != nil {
		return nil, err
	}
	return io.ReadAll(r)
}

func TestSeal_RoundTripsAtEverySize(t *testing.T) {
	key := testDataKey(t)
	for _, chunk := range []int{MinSealChunkSize, 100, DefaultSealChunkSize} {
		for _, size := range []int{0, 1, chunk - 1, chunk, chunk + 1, 2 * chunk, 2*chunk + 1, 7*chunk + 3, 1<<20 + 5} {
			t.Run(fmt.Sprintf("chunk%d/size%d", chunk, size), func(t *testing.T) {
				data := testBytes(size)
				sealed := seal(t, key, testObject, data, chunk)
				if int64(len(sealed)) != SealedSize(int64(size), chunk) {
					t.Errorf("sealed %d bytes, SealedSize says %d", len(sealed), SealedSize(int64(size), chunk))
				}
				if p, err := PlainSize(int64(len(sealed)), chunk); err != nil || p != int64(size) {
					t.Errorf("PlainSize(%d) = %d, %v; want %d", len(sealed), p, err, size)
				}
				if size >= 32 && bytes.Contains(sealed, data[:32]) {
					t.Error("the sealed object contains the plaintext")
				}
				got, err := openAll(sealed, key, testObject)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, data) {
					t.Fatalf("opened %d bytes, not the %d sealed", len(got), size)
				}
			})
		}
	}
}

func TestSeal_SameInputSealsDifferently(t *testing.T) {
	key := testDataKey(t)
	data := testBytes(100)
	a, b := seal(t, key, testObject, data, 32), seal(t, key, testObject, data, 32)
	if bytes.Equal(a[SealHeaderSize:], b[SealHeaderSize:]) {
		t.Fatal("two seals of the same bytes are equal: the per-object key is not fresh")
	}
}

func TestPlainSize_RefusesImpossibleSizes(t *testing.T) {
	const chunk = 16
	possible := map[int64]bool{}
	for p := int64(0); p < 200; p++ {
		possible[SealedSize(p, chunk)] = true
	}
	for s := int64(0); s < SealedSize(150, chunk); s++ {
		p, err := PlainSize(s, chunk)
		if possible[s] != (err == nil) {
			t.Errorf("PlainSize(%d) = %d, %v; possible: %v", s, p, err, possible[s])
		}
	}
}

// Every range of small objects, read through SealedRange and OpenRange,
// equals the same range of the plaintext.
func TestSeal_EveryRangeMatchesPlaintext(t *testing.T) {
	key := testDataKey(t)
	const chunk = MinSealChunkSize
	for _, size := range []int{0, 1, chunk - 1, chunk, chunk + 1, 3*chunk - 1, 3 * chunk, 3*chunk + 7} {
		data := testBytes(size)
		sealed := seal(t, key, testObject, data, chunk)
		h, err := ParseSealHeader(sealed)
		if err != nil {
			t.Fatal(err)
		}
		type rng struct{ off, length int64 }
		var ranges []rng
		for off := int64(0); off <= int64(size)+1; off++ {
			ranges = append(ranges, rng{off, -1})
			for length := int64(1); off+length <= int64(size)+2; length++ {
				ranges = append(ranges, rng{off, length})
			}
		}
		for _, r := range ranges {
			valid := r.off < int64(size) || (size == 0 && r.off == 0 && r.length == -1)
			so, sl, err := h.SealedRange(int64(size), r.off, r.length)
			if !valid {
				if !errors.Is(err, ErrInvalidRange) {
					t.Errorf("size %d range %+v: SealedRange error = %v, want ErrInvalidRange", size, r, err)
				}
				continue
			}
			if err != nil {
				t.Fatalf("size %d range %+v: SealedRange: %v", size, r, err)
			}
			if so < SealHeaderSize || so+sl > int64(len(sealed)) || (so-SealHeaderSize)%(chunk+sealTagSize) != 0 {
				t.Fatalf("size %d range %+v: sealed range %d+%d is not chunks of the %d sealed bytes", size, r, so, sl, len(sealed))
			}
			pr, err := h.OpenRange(bytes.NewReader(sealed[so:so+sl]), key, testObject, int64(size), r.off, r.length)
			if err != nil {
				t.Fatalf("size %d range %+v: OpenRange: %v", size, r, err)
			}
			got, err := io.ReadAll(pr)
			if err != nil {
				t.Fatalf("size %d range %+v: read: %v", size, r, err)
			}
			end := int64(size)
			if r.length != -1 {
				end = min(end, r.off+r.length)
			}
			if want := data[r.off:end]; !bytes.Equal(got, want) {
				t.Fatalf("size %d range %+v: got %x, want %x", size, r, got, want)
			}
			// Fetching more than necessary would be waste; fetching a
			// chunk that holds none of the range too.
			first, last := r.off/chunk, (end-1)/chunk
			if size > 0 && sl > (last-first+1)*(chunk+sealTagSize) {
				t.Errorf("size %d range %+v: fetches %d sealed bytes for chunks %d..%d", size, r, sl, first, last)
			}
		}
	}
}

// A range longer than one read of the store is read in several groups of
// chunks; Read and WriteTo (which io.Copy and the download use) both give
// exactly the range, wherever it starts and ends against the groups.
func TestOpenRange_ReadsInGroupsThroughReadAndWriteTo(t *testing.T) {
	key := testDataKey(t)
	const chunk = MinSealChunkSize
	group := rangeReadSize / (chunk + sealTagSize) // chunks per read
	size := int64((2*group+3)*chunk + 7)
	data := testBytes(int(size))
	sealed := seal(t, key, testObject, data, chunk)
	h, err := ParseSealHeader(sealed)
	if err != nil {
		t.Fatal(err)
	}
	g := int64(group * chunk) // plaintext bytes per read
	for _, r := range []struct{ off, length int64 }{
		{0, -1}, {3, -1}, {g - 1, 2}, {g, g}, {g + 5, g + 9}, {g / 2, 2*g - 3}, {size - 1, -1}, {size - 8, 8}, {0, size + 100},
	} {
		end := size
		if r.length != -1 {
			end = min(size, r.off+r.length)
		}
		want := data[r.off:end]
		so, sl, err := h.SealedRange(size, r.off, r.length)
		if err != nil {
			t.Fatal(err)
		}
		for _, how := range []string{"Read", "WriteTo"} {
			pr, err := h.OpenRange(bytes.NewReader(sealed[so:so+sl]), key, testObject, size, r.off, r.length)
			if err != nil {
				t.Fatal(err)
			}
			var got bytes.Buffer
			if how == "Read" {
				_, err = io.Copy(&got, struct{ io.Reader }{pr})
			} else {
				_, err = pr.(io.WriterTo).WriteTo(&got)
			}
			if err != nil || !bytes.Equal(got.Bytes(), want) {
				t.Fatalf("range %+v by %s: %d bytes, %v; want the %d bytes of the range", r, how, got.Len(), err, len(want))
			}
		}
	}

	// A chunk tampered with in the second group: WriteTo hands on the
	// chunks before it, each authenticated, then fails; nothing of the
	// tampered chunk or after it is written.
	bad := bytes.Clone(sealed)
	bad[SealHeaderSize+(group+2)*(chunk+sealTagSize)+1] ^= 0x01
	pr, err := h.OpenRange(bytes.NewReader(bad[SealHeaderSize:]), key, testObject, size, 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	authentic := int64((group + 2) * chunk)
	if n, err := pr.(io.WriterTo).WriteTo(&got); !errors.Is(err, ErrSealTampered) || n != authentic || !bytes.Equal(got.Bytes(), data[:authentic]) {
		t.Errorf("tampered chunk %d: wrote %d bytes, %v; want the %d before it and ErrSealTampered", group+2, n, err, authentic)
	}
	// Cut inside the third group (the last chunk, of 7 bytes and its tag,
	// and part of the one before): the chunk cut short is named.
	pr, err = h.OpenRange(bytes.NewReader(sealed[SealHeaderSize:len(sealed)-40]), key, testObject, size, 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(io.Discard, pr); !errors.Is(err, ErrSealTruncated) || !strings.Contains(err.Error(), fmt.Sprintf("chunk %d ", 2*group+2)) {
		t.Errorf("truncated: %v, want ErrSealTruncated at chunk %d", err, 2*group+2)
	}
	// A writer that fails stops the copy with its error.
	pr, _ = h.OpenRange(bytes.NewReader(sealed[SealHeaderSize:]), key, testObject, size, 0, -1)
	if n, err := pr.(io.WriterTo).WriteTo(&failingWriter{after: 1}); err == nil || n != g {
		t.Errorf("WriteTo to a writer failing on its second write: %d bytes, %v; want one group and its error", n, err)
	}
}

func TestOpenRange_DetectsTamperingInTheRange(t *testing.T) {
	key := testDataKey(t)
	const chunk = MinSealChunkSize
	data := testBytes(5 * chunk)
	sealed := seal(t, key, testObject, data, chunk)
	h, _ := ParseSealHeader(sealed)
	so, sl, _ := h.SealedRange(int64(len(data)), chunk+3, chunk)
	for i := so; i < so+sl; i++ {
		bad := bytes.Clone(sealed)
		bad[i] ^= 0x01
		r, err := h.OpenRange(bytes.NewReader(bad[so:so+sl]), key, testObject, int64(len(data)), chunk+3, chunk)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadAll(r); !errors.Is(err, ErrSealTampered) {
			t.Fatalf("byte %d flipped: read error = %v, want ErrSealTampered", i, err)
		}
	}
	// A wrong recorded size makes the last chunk be read at the wrong
	// length or with the wrong last flag: it fails, never returns bytes.
	for _, size := range []int64{int64(len(data)) - 1, int64(len(data)) + 1, int64(len(data)) + chunk} {
		so, sl, err := h.SealedRange(size, 4*chunk, -1)
		if err != nil {
			t.Fatal(err)
		}
		r, err := h.OpenRange(bytes.NewReader(sealed[so:min(so+sl, int64(len(sealed)))]), key, testObject, size, 4*chunk, -1)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := io.ReadAll(r); err == nil {
			t.Errorf("size %d recorded for %d bytes: read %d bytes without error", size, len(data), len(got))
		}
	}
}

func TestOpenSealed_DetectsTampering(t *testing.T) {
	key := testDataKey(t)
	const chunk = MinSealChunkSize
	data := testBytes(4*chunk + 5)
	sealed := seal(t, key, testObject, data, chunk)
	full := chunk + sealTagSize
	chunkAt := func(b []byte, i int) []byte { return b[SealHeaderSize+i*full : min(SealHeaderSize+(i+1)*full, len(b))] }
	other := seal(t, key, "cases/test/items/0002.bin", data, chunk)
	wholeChunks := seal(t, key, testObject, data[:4*chunk], chunk) // last chunk full
	otherKey := testDataKey(t)
	otherKey.ID = key.ID // same ID, other secret: only authentication can tell

	cases := []struct {
		name      string
		sealed    []byte
		key       DataKey
		objectKey string
		want      error
	}{
		{"swapped chunks", func() []byte {
			b := bytes.Clone(sealed)
			c1, c2 := bytes.Clone(chunkAt(b, 1)), bytes.Clone(chunkAt(b, 2))
			copy(chunkAt(b, 1), c2)
			copy(chunkAt(b, 2), c1)
			return b
		}(), key, testObject, ErrSealTampered},
		{"chunk from another object", func() []byte {
			b := bytes.Clone(sealed)
			copy(chunkAt(b, 1), chunkAt(other, 1))
			return b
		}(), key, testObject, ErrSealTampered},
		{"header from another object", append(bytes.Clone(other[:SealHeaderSize]), sealed[SealHeaderSize:]...), key, testObject, ErrSealTampered},
		{"opened under another object key", sealed, key, "cases/test/items/0002.bin", ErrSealTampered},
		{"wrong key secret", sealed, otherKey, testObject, ErrSealTampered},
		{"another data key", sealed, testDataKey(t), testObject, ErrSealKey},
		{"truncated inside the last chunk", sealed[:len(sealed)-1], key, testObject, ErrSealTampered},
		{"last chunk dropped", sealed[:SealHeaderSize+4*full], key, testObject, ErrSealTruncated},
		{"last two chunks dropped", sealed[:SealHeaderSize+3*full], key, testObject, ErrSealTruncated},
		{"last full chunk dropped", wholeChunks[:SealHeaderSize+3*full], key, testObject, ErrSealTruncated},
		{"only the header", sealed[:SealHeaderSize], key, testObject, ErrSealTruncated},
		{"half a header", sealed[:SealHeaderSize/2], key, testObject, ErrSealTruncated},
		{"extended by a byte", append(bytes.Clone(sealed), 0), key, testObject, ErrSealTampered},
		{"full last chunk extended by a byte", append(bytes.Clone(wholeChunks), 0), key, testObject, ErrSealTampered},
		{"extended by a chunk", append(bytes.Clone(sealed), chunkAt(sealed, 1)...), key, testObject, ErrSealTampered},
		{"first chunk repeated", append(append(bytes.Clone(sealed[:SealHeaderSize+full]), chunkAt(sealed, 0)...), sealed[SealHeaderSize+full:]...), key, testObject, ErrSealTampered},
		{"chunk size changed", func() []byte { b := bytes.Clone(sealed); b[15]++; return b }(), key, testObject, ErrSealTampered},
		{"version changed", func() []byte { b := bytes.Clone(sealed); b[8] = 2; return b }(), key, testObject, ErrSealFormat},
		{"not sealed", data, key, testObject, ErrSealFormat},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := openAll(tc.sealed, tc.key, tc.objectKey)
			if !errors.Is(err, tc.want) {
				t.Fatalf("error = %v, want %v", err, tc.want)
			}
			if bytes.Equal(got, data) {
				t.Fatal("returned every byte despite the error")
			}
		})
	}
}

// Every single flipped bit is detected, wherever it is.
func TestOpenSealed_DetectsEveryModifiedByte(t *testing.T) {
	key := testDataKey(t)
	const chunk = MinSealChunkSize
	sealed := seal(t, key, testObject, testBytes(3*chunk+2), chunk)
	for i := range sealed {
		for _, bit := range []byte{0x01, 0x80} {
			bad := bytes.Clone(sealed)
			bad[i] ^= bit
			if _, err := openAll(bad, key, testObject); err == nil {
				t.Fatalf("byte %d bit %#x flipped: opened without error", i, bit)
			}
		}
	}
}

func TestSealWriter_RefusesBadParameters(t *testing.T) {
	key := testDataKey(t)
	for _, chunk := range []int{-1, 1, MinSealChunkSize - 1, MaxSealChunkSize + 1} {
		if _, err := NewSealWriter(io.Discard, key, testObject, chunk); err == nil {
			t.Errorf("chunk size %d accepted", chunk)
		}
	}
	bad := key
	bad.ID = "not-a-uuid"
	if _, err := NewSealWriter(io.Discard, bad, testObject, 0); err == nil {
		t.Error("a data key ID that is not a UUID accepted")
	}
}

type failingWriter struct{ after int }

func (f *failingWriter) Write(p []byte) (int, error) {
	if f.after <= 0 {
		return 0, errors.New("disk full")
	}
	f.after--
	return len(p), nil
}

func TestSealWriter_KeepsTheFirstWriteError(t *testing.T) {
	w, err := NewSealWriter(&failingWriter{after: 2}, testDataKey(t), testObject, MinSealChunkSize)
	if err != nil {
		t.Fatal(err)
	}
	var failed error
	for i := 0; i < 10 && failed == nil; i++ {
		_, failed = w.Write(testBytes(MinSealChunkSize))
	}
	if failed == nil {
		t.Fatal("writes never failed")
	}
	if _, err := w.Write([]byte("x")); err == nil {
		t.Error("Write after a failure succeeded")
	}
	if err := w.Close(); err == nil {
		t.Error("Close after a failure succeeded")
	}
}

// A range read against a real blob store fetches only the header and the
// chunks that hold the range.
func TestOpenSealedObject_ReadsRangesFromAStore(t *testing.T) {
	store := newTestFSStore(t)
	key := testDataKey(t)
	objectKey := newTestKey()
	const chunk = 1024
	data := testBytes(10*chunk + 100)
	sealed := seal(t, key, objectKey, data, chunk)
	info, err := store.Put(t.Context(), objectKey, bytes.NewReader(sealed), int64(len(sealed)), PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	counting := &countingStore{BlobStore: store}
	keys := oneKey{key}
	for _, r := range []struct{ off, length int64 }{{0, -1}, {0, 1}, {chunk - 1, 2}, {3*chunk + 5, 4 * chunk}, {int64(len(data)) - 1, -1}, {5 * chunk, 1 << 30}} {
		counting.fetched = 0
		rc, err := OpenSealedObject(t.Context(), counting, keys, objectKey, info.VersionID, int64(len(data)), r.off, r.length)
		if err != nil {
			t.Fatalf("range %+v: %v", r, err)
		}
		got, err := io.ReadAll(rc)
		_ = rc.Close()
		if err != nil {
			t.Fatalf("range %+v: %v", r, err)
		}
		end := int64(len(data))
		if r.length != -1 {
			end = min(end, r.off+r.length)
		}
		if !bytes.Equal(got, data[r.off:end]) {
			t.Fatalf("range %+v: wrong bytes", r)
		}
		chunks := (end-1)/chunk - r.off/chunk + 1
		if limit := SealHeaderSize + chunks*(chunk+sealTagSize); counting.fetched > limit {
			t.Errorf("range %+v: fetched %d bytes, more than the header and %d chunks (%d)", r, counting.fetched, chunks, limit)
		}
	}
	if _, err := OpenSealedObject(t.Context(), store, keys, objectKey, info.VersionID, int64(len(data)), int64(len(data)), -1); !errors.Is(err, ErrInvalidRange) {
		t.Fatalf("range past the end: error = %v, want ErrInvalidRange", err)
	}
}

type oneKey struct{ key DataKey }

func (o oneKey) DataKeyByID(_ context.Context, id string) (DataKey, error) {
	if id != o.key.ID {
		return DataKey{}, ErrDataKeyNotFound
	}
	return o.key, nil
}

// countingStore counts the bytes read through Get.
type countingStore struct {
	BlobStore
	fetched int64
}

func (c *countingStore) Get(ctx context.Context, key, versionID string, offset, length int64) (io.ReadCloser, error) {
	rc, err := c.BlobStore.Get(ctx, key, versionID, offset, length)
	if err != nil {
		return nil, err
	}
	return struct {
		io.Reader
		io.Closer
	}{io.TeeReader(rc, countWriter{&c.fetched}), rc}, nil
}

type countWriter struct{ n *int64 }

func (c countWriter) Write(p []byte) (int, error) { *c.n += int64(len(p)); return len(p), nil }

// FuzzOpenSealed: whatever the bytes, opening never panics, and never
// returns plaintext without error unless the bytes are the sealed object.
func FuzzOpenSealed(f *testing.F) {
	key := testDataKey(f)
	const chunk = MinSealChunkSize
	for _, size := range []int{0, 1, chunk, 2*chunk + 3} {
		f.Add(seal(f, key, testObject, testBytes(size), chunk), int64(0), int64(-1))
	}
	f.Add([]byte(sealMagic), int64(3), int64(2))
	f.Fuzz(func(t *testing.T, b []byte, off, length int64) {
		got, err := openAll(b, key, testObject)
		if err == nil {
			// Only a validly sealed object opens; re-sealing is random, so
			// check it is at least consistent with its own header.
			h, herr := ParseSealHeader(b)
			if herr != nil || SealedSize(int64(len(got)), h.ChunkSize) != int64(len(b)) {
				t.Fatalf("opened %d bytes from %d bytes that are not a sealed object", len(got), len(b))
			}
		}
		h, err := ParseSealHeader(b)
		if err != nil {
			return
		}
		plainSize, err := PlainSize(int64(len(b)), h.ChunkSize)
		if err != nil {
			plainSize = int64(len(b))
		}
		so, sl, err := h.SealedRange(plainSize, off, length)
		if err != nil {
			return
		}
		if so < 0 || sl < 0 || so > int64(len(b)) {
			return
		}
		r, err := h.OpenRange(bytes.NewReader(b[so:min(so+sl, int64(len(b)))]), key, testObject, plainSize, off, length)
		if err != nil {
			return
		}
		_, _ = io.ReadAll(r)
	})
}

// A resumable upload seals part of the stream per request, suspending at a
// chunk boundary and resuming (perhaps on another node) from the state.
func TestSealWriter_SuspendAndResumeMakeOneObject(t *testing.T) {
	key := testDataKey(t)
	const chunk = 32
	for _, parts := range [][]int{{0}, {0, 0}, {chunk}, {chunk, 0}, {0, 3 * chunk, chunk}, {2 * chunk, 2 * chunk, 2 * chunk}} {
		for _, tail := range []int{0, 1, chunk, chunk + 5} {
			var total int
			for _, p := range parts {
				total += p
			}
			if total > 0 && tail == 0 {
				continue // suspended at the end: see TestSealWriter_SuspendedAtTheEndCannotBeFinished
			}
			t.Run(fmt.Sprintf("%v+%d", parts, tail), func(t *testing.T) {
				data := testBytes(total + tail)
				var out bytes.Buffer
				var state []byte
				off := 0
				for i, p := range parts {
					var w *SealWriter
					var err error
					if i == 0 {
						w, err = NewSealWriter(&out, key, testObject, chunk)
					} else {
						w, err = ResumeSealWriter(&out, key, testObject, state)
					}
					if err != nil {
						t.Fatal(err)
					}
					if _, err := w.Write(data[off : off+p]); err != nil {
						t.Fatal(err)
					}
					off += p
					if state, err = w.Suspend(); err != nil {
						t.Fatal(err)
					}
					if want := SealHeaderSize + off/chunk*(chunk+sealTagSize); out.Len() != want {
						t.Fatalf("after %d bytes suspended, %d sealed bytes written, want %d", off, out.Len(), want)
					}
				}
				w, err := ResumeSealWriter(&out, key, testObject, state)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := w.Write(data[off:]); err != nil {
					t.Fatal(err)
				}
				if err := w.Close(); err != nil {
					t.Fatal(err)
				}
				if out.Len() != int(SealedSize(int64(len(data)), chunk)) {
					t.Errorf("sealed %d bytes, want %d", out.Len(), SealedSize(int64(len(data)), chunk))
				}
				got, err := openAll(out.Bytes(), key, testObject)
				if err != nil || !bytes.Equal(got, data) {
					t.Fatalf("opened %d bytes (%v), want the %d written", len(got), err, len(data))
				}
			})
		}
	}
}

func TestSealWriter_SuspendRefusesAPartialChunk(t *testing.T) {
	key := testDataKey(t)
	var out bytes.Buffer
	w, err := NewSealWriter(&out, key, testObject, 32)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(testBytes(40)); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Suspend(); !errors.Is(err, ErrSealUnaligned) {
		t.Fatalf("Suspend at 40 bytes: %v, want ErrSealUnaligned", err)
	}
	// Nothing changed: the stream can still be finished.
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := openAll(out.Bytes(), key, testObject); err != nil {
		t.Fatal(err)
	}

	w, _ = NewSealWriter(io.Discard, key, testObject, 32)
	state, err := w.Suspend()
	if err != nil {
		t.Fatal(err)
	}
	for name, bad := range map[string][]byte{"truncated": state[:len(state)-1], "other magic": append([]byte("x"), state[1:]...)} {
		if _, err := ResumeSealWriter(io.Discard, key, testObject, bad); !errors.Is(err, ErrSealFormat) {
			t.Errorf("%s state: %v, want ErrSealFormat", name, err)
		}
	}
	if _, err := ResumeSealWriter(io.Discard, testDataKey(t), testObject, state); !errors.Is(err, ErrSealKey) {
		t.Errorf("resumed with another data key: %v, want ErrSealKey", err)
	}
}

// Suspending at the very end seals the last chunk as an inner one; the
// stream cannot then be finished, and Close says so rather than writing an
// object that would not open.
func TestSealWriter_SuspendedAtTheEndCannotBeFinished(t *testing.T) {
	key := testDataKey(t)
	w, err := NewSealWriter(io.Discard, key, testObject, 32)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(testBytes(64)); err != nil {
		t.Fatal(err)
	}
	state, err := w.Suspend()
	if err != nil {
		t.Fatal(err)
	}
	resumed, err := ResumeSealWriter(io.Discard, key, testObject, state)
	if err != nil {
		t.Fatal(err)
	}
	if err := resumed.Close(); err == nil {
		t.Fatal("Close of a stream suspended at its end succeeded")
	}
}
