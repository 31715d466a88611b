package evidence

import (
	"crypto/md5" //nolint:gosec // the reference the MultiHasher is checked against
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// oneShotSums hashes data the plain way, each hash on its own.
func oneShotSums(data []byte) Sums {
	s256, s1, m5 := sha256.Sum256(data), sha1.Sum(data), md5.Sum(data) //nolint:gosec // reference
	return Sums{Size: int64(len(data)), SHA256: hex.EncodeToString(s256[:]), SHA1: hex.EncodeToString(s1[:]), MD5: hex.EncodeToString(m5[:])}
}

// writeOdd writes data in pieces of awkward sizes, some crossing and some
// filling the hasher's buffers exactly.
func writeOdd(t *testing.T, w io.Writer, data []byte) {
	t.Helper()
	sizes := []int{1, 7, 4093, hashBufSize - 8, 8, hashBufSize, 3*hashBufSize + 5, 0, 65537}
	for i := 0; len(data) > 0; i++ {
		n := min(sizes[i%len(sizes)], len(data))
		if got, err := w.Write(data[:n]); err != nil || got != n {
			t.Fatalf("Write(%d bytes) = %d, %v", n, got, err)
		}
		data = data[n:]
	}
}

func TestMultiHasher_MatchesOneShotHashes(t *testing.T) {
	for _, size := range []int{0, 1, 55, 56, 64, hashBufSize - 1, hashBufSize, hashBufSize + 1, hashBufs*hashBufSize + 3, 5<<20 + 17} {
		data := testBytes(size)
		h := NewMultiHasher()
		writeOdd(t, h, data)
		got := h.Sums()
		h.Close()
		if want := oneShotSums(data); got != want {
			t.Errorf("size %d: Sums() = %+v, want %+v", size, got, want)
		}
	}
}

func TestMultiHasher_SumsMidStreamThenContinues(t *testing.T) {
	data := testBytes(3*hashBufSize + 999)
	h := NewMultiHasher()
	defer h.Close()
	cut := hashBufSize + 123
	writeOdd(t, h, data[:cut])
	if got, want := h.Sums(), oneShotSums(data[:cut]); got != want {
		t.Fatalf("mid-stream Sums() = %+v, want %+v", got, want)
	}
	writeOdd(t, h, data[cut:])
	if got, want := h.Sums(), oneShotSums(data); got != want {
		t.Fatalf("final Sums() = %+v, want %+v", got, want)
	}
}

// A resumed upload hashes its first part in one request, marshals the state,
// and continues in a later request (another MultiHasher, perhaps on another
// node); the result must equal hashing the whole in one go.
func TestMultiHasher_ResumeFromMarshalledStateGivesOneShotSums(t *testing.T) {
	data := testBytes(2*hashBufSize*hashBufs + 4321)
	cuts := []int{0, 1, 63, 64, 65, hashBufSize - 1, hashBufSize, 2*hashBufSize + 77, len(data) - 1, len(data)}
	want := oneShotSums(data)
	for _, cut := range cuts {
		first := NewMultiHasher()
		writeOdd(t, first, data[:cut])
		state, err := first.MarshalBinary()
		first.Close()
		if err != nil {
			t.Fatalf("cut %d: MarshalBinary: %v", cut, err)
		}
		second, err := ResumeMultiHasher(state)
		if err != nil {
			t.Fatalf("cut %d: ResumeMultiHasher: %v", cut, err)
		}
		if second.Size() != int64(cut) {
			t.Errorf("cut %d: resumed Size() = %d", cut, second.Size())
		}
		writeOdd(t, second, data[cut:])
		got := second.Sums()
		second.Close()
		if got != want {
			t.Errorf("cut %d: resumed Sums() = %+v, want %+v", cut, got, want)
		}
	}
}

// Several resumes in a row, as a tus upload over a bad link would make.
func TestMultiHasher_ManyResumesMatchSha256sum(t *testing.T) {
	data := testBytes(1<<20 + 333)
	var state []byte
	for start := 0; start < len(data); {
		var h *MultiHasher
		if state == nil {
			h = NewMultiHasher()
		} else {
			var err error
			if h, err = ResumeMultiHasher(state); err != nil {
				t.Fatal(err)
			}
		}
		end := min(start+start/3+99991, len(data))
		writeOdd(t, h, data[start:end])
		var err error
		if state, err = h.MarshalBinary(); err != nil {
			t.Fatal(err)
		}
		h.Close()
		start = end
	}
	h, err := ResumeMultiHasher(state)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	got := h.Sums()
	if want := oneShotSums(data); got != want {
		t.Fatalf("Sums() = %+v, want %+v", got, want)
	}
	// And against the tool an analyst would use, where it is installed.
	if _, err := exec.LookPath("sha256sum"); err != nil {
		return
	}
	path := filepath.Join(t.TempDir(), "data.bin")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("sha256sum", path).Output()
	if err != nil {
		t.Fatal(err)
	}
	if tool := strings.Fields(string(out))[0]; tool != got.SHA256 {
		t.Fatalf("sha256sum says %s, MultiHasher %s", tool, got.SHA256)
	}
}

func TestMultiHasher_RefusesBadState(t *testing.T) {
	h := NewMultiHasher()
	writeOdd(t, h, testBytes(1000))
	good, err := h.MarshalBinary()
	h.Close()
	if err != nil {
		t.Fatal(err)
	}
	bad := map[string][]byte{
		"empty":          nil,
		"other magic":    append([]byte("not-a-multihash"), good[len(hashStateMagic)-1:]...),
		"truncated":      good[:len(good)-1],
		"trailing bytes": append(append([]byte{}, good...), 0),
		"size only":      good[:len(hashStateMagic)+8],
	}
	for name, state := range bad {
		if _, err := ResumeMultiHasher(state); !errors.Is(err, ErrHashState) {
			t.Errorf("%s: ResumeMultiHasher error = %v, want ErrHashState", name, err)
		}
	}
}

func TestMultiHasher_WriteAfterCloseFails(t *testing.T) {
	h := NewMultiHasher()
	h.Close()
	if _, err := h.Write([]byte("x")); err == nil {
		t.Fatal("Write after Close succeeded")
	}
	if got, want := h.Sums(), oneShotSums(nil); got != want {
		t.Fatalf("Sums() after Close = %+v, want %+v", got, want)
	}
}

// An upload that fails half-way may drop its MultiHasher without Close;
// its goroutines must not outlive it.
func TestMultiHasher_DroppedWithoutCloseEndsItsGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	for range 20 {
		h := NewMultiHasher()
		writeOdd(t, h, testBytes(hashBufSize+10))
		_ = h.Size()
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		runtime.GC()
		n := runtime.NumGoroutine()
		if n <= before {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines before, %d after dropping 20 hashers", before, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// FuzzResumeMultiHasher: a stored hash state is read back from the
// database; whatever it holds, resuming never panics, and a state that is
// accepted hashes on consistently.
func FuzzResumeMultiHasher(f *testing.F) {
	h := NewMultiHasher()
	writeOddF(h, testBytes(1000))
	state, err := h.MarshalBinary()
	h.Close()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(state)
	f.Add([]byte(hashStateMagic))
	f.Fuzz(func(t *testing.T, state []byte) {
		h, err := ResumeMultiHasher(state)
		if err != nil {
			if !errors.Is(err, ErrHashState) {
				t.Fatalf("error %v is not ErrHashState", err)
			}
			return
		}
		defer h.Close()
		if _, err := h.Write([]byte("more")); err != nil {
			t.Fatal(err)
		}
		if _, err := h.MarshalBinary(); err != nil {
			t.Fatal(err)
		}
	})
}

func writeOddF(w io.Writer, data []byte) {
	for len(data) > 0 {
		n := min(77, len(data))
		_, _ = w.Write(data[:n])
		data = data[n:]
	}
}
