package evidence

import (
	"bytes"
	"crypto/md5"  //nolint:gosec // MD5 is recorded because acquisition tools declare it, never trusted alone
	"crypto/sha1" //nolint:gosec // SHA-1 likewise: recorded for comparison with declared hashes
	"crypto/sha256"
	"encoding"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"runtime"
	"sync"
	"sync/atomic"
)

// Sums are what Bevis computed over the bytes it received.
type Sums struct {
	Size   int64
	SHA256 string // lower-case hex
	SHA1   string
	MD5    string
}

// ErrHashState is a marshalled hash state that cannot be resumed.
var ErrHashState = errors.New("evidence: invalid hash state")

const (
	// hashBufSize is the unit handed to the hash goroutines: large enough
	// that the hand-over costs nothing beside hashing it.
	hashBufSize = 256 << 10
	// hashBufs bounds the memory of one MultiHasher (hashBufs × hashBufSize)
	// and how far the slowest hash may lag behind the writer.
	hashBufs = 4
)

// hashBuf is one buffer shared by the three hash goroutines; the last of
// them to finish with it gives it back to the pool.
type hashBuf struct {
	data    []byte
	pending atomic.Int32
}

// MultiHasher computes the size, SHA-256, SHA-1 and MD5 of what is written
// to it, the three hashes in parallel, one goroutine each, so the slowest
// hash (MD5) sets the pace rather than the sum of all three. Write copies
// the bytes once into a buffer of a small pool and returns; it blocks only
// when every buffer is still being hashed, so memory stays bounded whatever
// the size of the stream.
//
// Its state can be marshalled between writes, so an upload that resumes in
// another request, or on another node, continues the same hashes.
//
// A MultiHasher is not safe for concurrent use (like hash.Hash). Close ends
// its goroutines; one dropped without Close (an upload that failed half-way)
// has them ended when it is garbage collected.
type MultiHasher struct {
	size   int64
	hashes [3]hash.Hash // SHA-256, SHA-1, MD5
	pipes  *hashPipes
	made   int // buffers made so far, at most hashBufs
	cur    *hashBuf
	closed bool
}

// hashPipes is what the hash goroutines share. It holds nothing that leads
// back to its MultiHasher, so that one can be collected while they run.
type hashPipes struct {
	feeds   [3]chan *hashBuf
	free    chan *hashBuf
	busy    sync.WaitGroup // one count per hash per buffer handed over
	workers sync.WaitGroup
	stop    sync.Once
}

func (p *hashPipes) close() {
	p.stop.Do(func() {
		for _, f := range p.feeds {
			close(f)
		}
	})
}

// NewMultiHasher starts a MultiHasher at the beginning of a stream.
func NewMultiHasher() *MultiHasher {
	h := &MultiHasher{
		hashes: [3]hash.Hash{sha256.New(), sha1.New(), md5.New()}, //nolint:gosec // see the imports
		pipes:  &hashPipes{free: make(chan *hashBuf, hashBufs)},
	}
	for i := range h.hashes {
		h.pipes.feeds[i] = make(chan *hashBuf, hashBufs)
		h.pipes.workers.Add(1)
		go h.pipes.work(h.hashes[i], h.pipes.feeds[i])
	}
	runtime.AddCleanup(h, (*hashPipes).close, h.pipes)
	return h
}

// ResumeMultiHasher starts a MultiHasher from a state made by MarshalBinary.
func ResumeMultiHasher(state []byte) (*MultiHasher, error) {
	h := NewMultiHasher()
	if err := h.UnmarshalBinary(state); err != nil {
		h.Close()
		return nil, err
	}
	return h, nil
}

func (p *hashPipes) work(hh hash.Hash, feed <-chan *hashBuf) {
	defer p.workers.Done()
	for b := range feed {
		hh.Write(b.data) // a hash.Hash never fails to write
		if b.pending.Add(-1) == 0 {
			p.free <- b
		}
		p.busy.Done()
	}
}

// Write hashes p. It never fails before Close.
func (h *MultiHasher) Write(p []byte) (int, error) {
	if h.closed {
		return 0, errors.New("evidence: write to a closed MultiHasher")
	}
	n := len(p)
	h.size += int64(n)
	for len(p) > 0 {
		if h.cur == nil {
			h.cur = h.take()
		}
		room := h.cur.data[len(h.cur.data):cap(h.cur.data)]
		c := copy(room, p)
		h.cur.data = h.cur.data[:len(h.cur.data)+c]
		p = p[c:]
		if len(h.cur.data) == cap(h.cur.data) {
			h.dispatch()
		}
	}
	return n, nil
}

// take returns an empty buffer, making one while fewer than hashBufs exist
// and otherwise waiting for the hashes to finish with one.
func (h *MultiHasher) take() *hashBuf {
	var b *hashBuf
	select {
	case b = <-h.pipes.free:
	default:
		if h.made < hashBufs {
			h.made++
			b = &hashBuf{data: make([]byte, 0, hashBufSize)}
		} else {
			b = <-h.pipes.free
		}
	}
	b.data = b.data[:0]
	return b
}

// dispatch hands the current buffer to the three hashes.
func (h *MultiHasher) dispatch() {
	b := h.cur
	h.cur = nil
	b.pending.Store(int32(len(h.pipes.feeds))) //nolint:gosec // three
	h.pipes.busy.Add(len(h.pipes.feeds))
	for _, f := range h.pipes.feeds {
		f <- b
	}
}

// wait hands over what is buffered and waits until it is all hashed, after
// which the hash states may be read from this goroutine.
func (h *MultiHasher) wait() {
	if h.cur != nil && len(h.cur.data) > 0 {
		h.dispatch()
	}
	h.pipes.busy.Wait()
}

// Size is the number of bytes written so far, resumed state included.
func (h *MultiHasher) Size() int64 { return h.size }

// Sums returns the size and hashes of everything written so far. Writing
// may continue after it.
func (h *MultiHasher) Sums() Sums {
	h.wait()
	return Sums{
		Size:   h.size,
		SHA256: hex.EncodeToString(h.hashes[0].Sum(nil)),
		SHA1:   hex.EncodeToString(h.hashes[1].Sum(nil)),
		MD5:    hex.EncodeToString(h.hashes[2].Sum(nil)),
	}
}

// Close ends the hash goroutines. Sums and MarshalBinary still answer
// after it; Write does not.
func (h *MultiHasher) Close() {
	if h.closed {
		return
	}
	h.wait()
	h.closed = true
	h.pipes.close()
	h.pipes.workers.Wait()
}

// hashStateMagic starts a marshalled MultiHasher state, with its version.
const hashStateMagic = "bevis-multihash\x01"

// MarshalBinary returns the state after everything written so far: the
// size and the three hash states (each as the standard library marshals
// it), so ResumeMultiHasher continues exactly here.
func (h *MultiHasher) MarshalBinary() ([]byte, error) {
	h.wait()
	out := append([]byte(hashStateMagic), binary.BigEndian.AppendUint64(nil, uint64(h.size))...) //nolint:gosec // size is never negative
	for _, hh := range h.hashes {
		state, err := marshalHash(hh)
		if err != nil {
			return nil, err
		}
		out = binary.BigEndian.AppendUint16(out, uint16(len(state))) //nolint:gosec // a hash state is about 100 bytes
		out = append(out, state...)
	}
	return out, nil
}

// UnmarshalBinary replaces the state by one made by MarshalBinary. It is
// meant for a MultiHasher nothing was written to yet.
func (h *MultiHasher) UnmarshalBinary(state []byte) error {
	h.wait()
	rest, ok := bytes.CutPrefix(state, []byte(hashStateMagic))
	if !ok || len(rest) < 8 {
		return fmt.Errorf("%w: not a Bevis hash state of this version", ErrHashState)
	}
	size := binary.BigEndian.Uint64(rest)
	rest = rest[8:]
	if size > 1<<62 {
		return fmt.Errorf("%w: size %d", ErrHashState, size)
	}
	fresh := [3]hash.Hash{sha256.New(), sha1.New(), md5.New()} //nolint:gosec // see the imports
	for _, hh := range fresh {
		if len(rest) < 2 {
			return fmt.Errorf("%w: truncated", ErrHashState)
		}
		n := int(binary.BigEndian.Uint16(rest))
		rest = rest[2:]
		if len(rest) < n {
			return fmt.Errorf("%w: truncated", ErrHashState)
		}
		if err := unmarshalHash(hh, rest[:n]); err != nil {
			return err
		}
		rest = rest[n:]
	}
	if len(rest) != 0 {
		return fmt.Errorf("%w: %d bytes after the hash states", ErrHashState, len(rest))
	}
	// The goroutines hold the hash.Hash values, so the states are copied
	// into them rather than the values swapped; they are idle after wait.
	for i, hh := range fresh {
		st, err := marshalHash(hh)
		if err != nil {
			return err
		}
		if err := unmarshalHash(h.hashes[i], st); err != nil {
			return err
		}
	}
	h.size = int64(size) //nolint:gosec // bounded above
	return nil
}

// marshalHash and unmarshalHash use the state marshalling every standard
// library hash has.
func marshalHash(h hash.Hash) ([]byte, error) {
	m, ok := h.(encoding.BinaryMarshaler)
	if !ok {
		return nil, fmt.Errorf("evidence: %T cannot marshal its state", h)
	}
	state, err := m.MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("evidence: marshal hash state: %w", err)
	}
	return state, nil
}

func unmarshalHash(h hash.Hash, state []byte) error {
	u, ok := h.(encoding.BinaryUnmarshaler)
	if !ok {
		return fmt.Errorf("evidence: %T cannot unmarshal its state", h)
	}
	if err := u.UnmarshalBinary(state); err != nil {
		return fmt.Errorf("%w: %w", ErrHashState, err)
	}
	return nil
}
