package evidence

import (
	"errors"
	"io"
	"runtime/debug"
	"sync"
	"sync/atomic"
)

// Part buffers. An upload holds up to two parts of sealed bytes in memory
// (16 MiB each by default): the one filling and the one being stored. Made
// on the Go heap, they are garbage once the request ends, but the heap they
// grew stays the process's until a later collection, which an idle server
// does not run for minutes: a few uploads left a server some 70 MiB above
// its idle memory. So a part buffer is taken from the operating system for
// the request that fills it and given back, at once, when that request ends
// (see partmem_unix.go), where the system allows; elsewhere it is an
// ordinary slice.
//
// What such a request allocated besides (the body's read buffers, its
// chunks) is garbage on the heap when it ends; a server collects it only
// once its heap has grown to five times what is live (GOGC=400, see
// cmd/bevis/gc.go), which left it some 75 MiB above idle after eight 64 MiB
// uploads. So when no request holds part buffers any more, and those that
// did since took at least releaseAfter bytes of them, the heap is collected
// and given back, in the background (releaseMemory).
//
// A long upload makes garbage as it goes (a part's checkpoint, its store
// request), which a server collecting at five times its live heap lets
// pile up: a 4 GiB upload to S3 grew a server by 110 MiB, most of it heap
// waiting for a collection. So a server may pace its collector otherwise
// while requests hold part buffers (SetUploadPace, cmd/bevis/gc.go).

// partMemory is the part buffers of one request.
type partMemory struct {
	mu      sync.Mutex
	blocks  [][]byte
	holding bool // counted in partHolders
}

const releaseAfter = 8 << 20

var (
	partHolders   atomic.Int64 // requests holding part buffers
	partTaken     atomic.Int64 // bytes of part buffers taken since none were held
	releaseMemory = debug.FreeOSMemory

	holdingMu  sync.Mutex           // orders the changes of partHolders from and to 0
	uploadPace func(uploading bool) // see SetUploadPace
)

// SetUploadPace has f told, in order, when a request begins to hold part
// buffers while none did (true) and when the last one that held them ends
// (false). nil stops it.
func SetUploadPace(f func(uploading bool)) {
	holdingMu.Lock()
	defer holdingMu.Unlock()
	uploadPace = f
}

// startHolding counts a request that begins to hold part buffers.
func startHolding() {
	holdingMu.Lock()
	defer holdingMu.Unlock()
	if partHolders.Add(1) == 1 && uploadPace != nil {
		uploadPace(true)
	}
}

// stopHolding counts a request that holds part buffers no more; the last
// one has the heap released when they took releaseAfter bytes or more.
func stopHolding() {
	holdingMu.Lock()
	defer holdingMu.Unlock()
	if partHolders.Add(-1) != 0 {
		return
	}
	if uploadPace != nil {
		uploadPace(false)
	}
	if partTaken.Swap(0) >= releaseAfter {
		go releaseMemory()
	}
}

// take returns an empty buffer of capacity n, the request's own until free.
func (m *partMemory) take(n int) []byte {
	b := allocPart(n)
	m.mu.Lock()
	m.blocks = append(m.blocks, b)
	partTaken.Add(int64(n))
	if !m.holding {
		m.holding = true
		startHolding()
	}
	m.mu.Unlock()
	return b[:0]
}

// give gives back one buffer take returned (nothing for an empty slice).
func (m *partMemory) give(b []byte) {
	if cap(b) == 0 {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for i, block := range m.blocks {
		if cap(block) > 0 && &block[:1][0] == &b[:1][0] {
			freePart(block)
			m.blocks = append(m.blocks[:i], m.blocks[i+1:]...)
			return
		}
	}
}

// free gives every buffer back. Nothing may use them after it: readers
// handed out by reader are closed first, so that a store that still reads
// a part after PutPart returned (an HTTP client can) gets an error, never
// freed memory.
func (m *partMemory) free() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, b := range m.blocks {
		freePart(b)
	}
	m.blocks = nil
	if m.holding {
		m.holding = false
		stopHolding()
	}
}

// partReader reads a part from its buffer until closed, after which it
// fails rather than touch the buffer. It seeks (an S3 store checksums the
// part first).
type partReader struct {
	mu     sync.Mutex
	data   []byte
	off    int
	closed bool
}

var errPartReleased = errors.New("evidence: the part's buffer was released")

func (r *partReader) Read(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return 0, errPartReleased
	}
	if r.off >= len(r.data) {
		return 0, io.EOF
	}
	n := copy(p, r.data[r.off:])
	r.off += n
	return n, nil
}

func (r *partReader) Seek(offset int64, whence int) (int64, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch whence {
	case io.SeekCurrent:
		offset += int64(r.off)
	case io.SeekEnd:
		offset += int64(len(r.data))
	}
	if offset < 0 || offset > int64(len(r.data)) {
		return 0, errors.New("evidence: seek outside the part")
	}
	r.off = int(offset)
	return offset, nil
}

// Close ends the reader's access to the buffer, waiting for a read under way.
func (r *partReader) Close() error {
	r.mu.Lock()
	r.closed = true
	r.data = nil
	r.mu.Unlock()
	return nil
}
