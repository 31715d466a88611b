package evidence

import (
	"slices"
	"sync/atomic"
	"testing"
	"time"
)

// TestPartMemory_TheLastBigRequestReleasesTheHeap: when the last request
// holding part buffers ends, and those that held them since took at least
// releaseAfter bytes, the heap is collected and given back, once; not while
// another request still holds buffers, nor after requests of a few bytes.
func TestPartMemory_TheLastBigRequestReleasesTheHeap(t *testing.T) {
	var released atomic.Int64
	was := releaseMemory
	releaseMemory = func() { released.Add(1) }
	t.Cleanup(func() { releaseMemory = was })
	settled := func(want int64) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for released.Load() < want && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		time.Sleep(20 * time.Millisecond) // time for a release that should not come
		if got := released.Load(); got != want {
			t.Fatalf("released %d times, want %d", got, want)
		}
	}

	var a, b partMemory
	buf := a.take(releaseAfter)
	buf = append(buf, 1)
	b.take(releaseAfter / 2)
	a.free()
	settled(0) // b still holds its buffers
	b.free()
	settled(1)
	if len(buf) != 1 {
		t.Fatal("the buffer was not writable")
	}

	var small partMemory
	small.take(64 << 10)
	small.free()
	settled(1) // a small request's end releases nothing

	var twice partMemory
	twice.take(releaseAfter)
	twice.free()
	twice.free() // a second free counts nothing again
	settled(2)
	if n := partHolders.Load(); n != 0 {
		t.Fatalf("%d requests still counted as holding part buffers", n)
	}
}

// TestPartMemory_UploadPaceHearsTheFirstAndTheLastHolder: the pace is told
// once when requests begin to hold part buffers and once when the last
// lets them go, in that order, however requests overlap.
func TestPartMemory_UploadPaceHearsTheFirstAndTheLastHolder(t *testing.T) {
	var heard []bool
	SetUploadPace(func(uploading bool) { heard = append(heard, uploading) })
	t.Cleanup(func() { SetUploadPace(nil) })
	var a, b partMemory
	a.take(64 << 10)
	b.take(64 << 10)
	a.free()
	var c partMemory
	c.take(64 << 10)
	b.free()
	c.free()
	c.free()
	if want := []bool{true, false}; !slices.Equal(heard, want) {
		t.Fatalf("heard %v, want %v", heard, want)
	}
}
