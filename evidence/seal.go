package evidence

// Evidence is sealed (encrypted and authenticated) inside Bevis before it
// reaches any blob store, so a copy of the bucket or of the evidence folder
// reveals nothing, and any change to it is detected on reading.
//
// The format is a chunked AES-256-GCM stream in the manner of the STREAM
// construction (as age and Tink's streaming AEAD use it):
//
//	header (SealHeaderSize = 64 bytes, version 1):
//	  0  8  magic "BEVISEAL"
//	  8  1  version, 1
//	  9  3  zero
//	 12  4  chunk size C, big-endian (plaintext bytes per chunk)
//	 16 16  ID of the case data key (a UUID)
//	 32 32  random salt
//	then chunks: each C plaintext bytes (the last 1..C, or 0 for an empty
//	object) sealed with AES-256-GCM, so C+16 bytes but the last.
//
// The AES key of one object is not the case data key itself but
// HKDF-SHA256(data key, salt, "bevis seal v1" || object key). A case data
// key seals every object of a case for years; sealing them all under it with
// random nonces would put GCM's nonce-reuse failure (which leaks the
// authentication key) a birthday bound away. With a key per object drawn from
// a 256-bit salt, nonces cannot repeat across objects, so the nonce can be a
// plain counter: 11 bytes of chunk number and a final byte that is 1 on the
// last chunk only. Binding the object key into the derivation means a sealed
// object (or any chunk of it) copied under another key does not open.
//
// Every chunk is authenticated with the header as associated data, so:
// a modified byte anywhere fails (header included); swapped or reordered
// chunks fail (the counter is in the nonce); dropping whole chunks at the
// end fails (the new last chunk was not sealed as last) and is reported as
// truncation; bytes appended after the last chunk fail. Because chunk i of
// the plaintext is at a computable offset, a range of the plaintext is read
// by fetching only the chunks that hold it (see SealHeader.SealedRange).

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/google/uuid"
)

// Errors of sealed objects.
var (
	// ErrSealFormat: not a sealed object of a format this Bevis reads.
	ErrSealFormat = errors.New("evidence: not a sealed object of a known format")
	// ErrSealKey: sealed with another data key than the one given.
	ErrSealKey = errors.New("evidence: sealed with another data key")
	// ErrSealTampered: a chunk failed authentication: the object was
	// modified, reordered, extended, belongs to another object key, or the
	// data key is wrong.
	ErrSealTampered = errors.New("evidence: sealed object failed authentication")
	// ErrSealTruncated: the object ends before its last chunk.
	ErrSealTruncated = errors.New("evidence: sealed object truncated")
)

const (
	// SealHeaderSize is the size of the header before the first chunk.
	SealHeaderSize = 64
	// DefaultSealChunkSize is small enough for fine range reads and large
	// enough that the 16-byte tag and the per-chunk work cost nothing.
	DefaultSealChunkSize = 64 << 10
	// MinSealChunkSize and MaxSealChunkSize bound the chunk size a header
	// may name, so a forged header cannot make a reader allocate much.
	MinSealChunkSize = 16
	MaxSealChunkSize = 4 << 20

	sealMagic   = "BEVISEAL"
	sealVersion = 1
	sealTagSize = 16
	sealInfo    = "bevis seal v1\x00"
)

// SealHeader is the parsed header of a sealed object.
type SealHeader struct {
	Version   int
	ChunkSize int
	KeyID     string // the data key that sealed the object
	raw       [SealHeaderSize]byte
}

// ParseSealHeader parses the first SealHeaderSize bytes of a sealed object.
func ParseSealHeader(b []byte) (SealHeader, error) {
	if len(b) < SealHeaderSize {
		return SealHeader{}, fmt.Errorf("%w: %d bytes, shorter than a header", ErrSealFormat, len(b))
	}
	var h SealHeader
	copy(h.raw[:], b)
	if string(h.raw[:8]) != sealMagic {
		return SealHeader{}, fmt.Errorf("%w: bad magic", ErrSealFormat)
	}
	if h.raw[8] != sealVersion {
		return SealHeader{}, fmt.Errorf("%w: version %d", ErrSealFormat, h.raw[8])
	}
	if h.raw[9]|h.raw[10]|h.raw[11] != 0 {
		return SealHeader{}, fmt.Errorf("%w: reserved bytes set", ErrSealFormat)
	}
	h.Version = sealVersion
	h.ChunkSize = int(binary.BigEndian.Uint32(h.raw[12:16])) //nolint:gosec // bounded just below
	if h.ChunkSize < MinSealChunkSize || h.ChunkSize > MaxSealChunkSize {
		return SealHeader{}, fmt.Errorf("%w: chunk size %d", ErrSealFormat, h.ChunkSize)
	}
	id, _ := uuid.FromBytes(h.raw[16:32]) // 16 bytes: cannot fail
	h.KeyID = id.String()
	return h, nil
}

// ReadSealHeader reads and parses the header at the start of r.
func ReadSealHeader(r io.Reader) (SealHeader, error) {
	var b [SealHeaderSize]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return SealHeader{}, fmt.Errorf("%w: no complete header", ErrSealTruncated)
		}
		return SealHeader{}, fmt.Errorf("evidence: read sealed header: %w", err)
	}
	return ParseSealHeader(b[:])
}

// aead derives the object's AES-GCM from the data key, after checking that
// the header names that key.
func (h *SealHeader) aead(key DataKey, objectKey string) (cipher.AEAD, error) {
	if key.ID != h.KeyID {
		return nil, fmt.Errorf("%w: sealed with %s, given %s", ErrSealKey, h.KeyID, key.ID)
	}
	return objectAEAD(key, h.raw[32:64], objectKey)
}

func objectAEAD(key DataKey, salt []byte, objectKey string) (cipher.AEAD, error) {
	k, err := hkdf.Key(sha256.New, key.secret[:], salt, sealInfo+objectKey, 32)
	if err != nil {
		return nil, fmt.Errorf("evidence: derive object key: %w", err)
	}
	block, err := aes.NewCipher(k)
	if err != nil {
		return nil, fmt.Errorf("evidence: object cipher: %w", err)
	}
	return cipher.NewGCM(block)
}

// chunkNonce is the nonce of chunk i: its number and whether it is the last.
func chunkNonce(nonce *[12]byte, i uint64, last bool) []byte {
	*nonce = [12]byte{}
	binary.BigEndian.PutUint64(nonce[3:11], i)
	if last {
		nonce[11] = 1
	}
	return nonce[:]
}

// SealedSize is the size of a sealed object of plainSize bytes.
func SealedSize(plainSize int64, chunkSize int) int64 {
	return SealHeaderSize + plainSize + chunkCount(plainSize, chunkSize)*sealTagSize
}

// PlainSize is the plaintext size of a sealed object of sealedSize bytes,
// or ErrSealFormat when no plaintext seals to that size.
func PlainSize(sealedSize int64, chunkSize int) (int64, error) {
	body := sealedSize - SealHeaderSize
	full := int64(chunkSize) + sealTagSize
	if body < sealTagSize || chunkSize <= 0 {
		return 0, fmt.Errorf("%w: %d bytes cannot be a sealed object", ErrSealFormat, sealedSize)
	}
	n := (body + full - 1) / full
	plain := body - n*sealTagSize
	if SealedSize(plain, chunkSize) != sealedSize {
		return 0, fmt.Errorf("%w: %d bytes cannot be a sealed object", ErrSealFormat, sealedSize)
	}
	return plain, nil
}

// chunkCount is how many chunks seal plainSize bytes: an empty object
// still has one (empty) last chunk, so its end is authenticated.
func chunkCount(plainSize int64, chunkSize int) int64 {
	if plainSize == 0 {
		return 1
	}
	return (plainSize + int64(chunkSize) - 1) / int64(chunkSize)
}

// SealWriter seals what is written to it into the underlying writer, in
// constant memory (one chunk). Close seals the last chunk; it does not close
// the underlying writer. Until Close returns nil the object is incomplete
// and will not open.
type SealWriter struct {
	w       io.Writer
	aead    cipher.AEAD
	header  [SealHeaderSize]byte
	chunk   int
	buf     []byte // plaintext of the chunk being filled, room for the tag
	counter uint64
	started bool
	closed  bool
	err     error
}

// NewSealWriter starts sealing an object stored under objectKey with the
// case data key. chunkSize 0 means DefaultSealChunkSize.
func NewSealWriter(w io.Writer, key DataKey, objectKey string, chunkSize int) (*SealWriter, error) {
	if chunkSize == 0 {
		chunkSize = DefaultSealChunkSize
	}
	if chunkSize < MinSealChunkSize || chunkSize > MaxSealChunkSize {
		return nil, fmt.Errorf("evidence: chunk size %d outside %d..%d", chunkSize, MinSealChunkSize, MaxSealChunkSize)
	}
	id, err := uuid.Parse(key.ID)
	if err != nil {
		return nil, fmt.Errorf("evidence: data key ID %q is not a UUID", key.ID)
	}
	s := &SealWriter{w: w, chunk: chunkSize, buf: make([]byte, 0, chunkSize+sealTagSize)}
	copy(s.header[:8], sealMagic)
	s.header[8] = sealVersion
	binary.BigEndian.PutUint32(s.header[12:16], uint32(chunkSize)) //nolint:gosec // bounded above
	copy(s.header[16:32], id[:])
	if _, err := rand.Read(s.header[32:64]); err != nil {
		return nil, fmt.Errorf("evidence: salt: %w", err)
	}
	if s.aead, err = objectAEAD(key, s.header[32:64], objectKey); err != nil {
		return nil, err
	}
	return s, nil
}

// Write seals p. A full chunk is sealed only once more bytes follow it,
// since only Close knows which chunk is the last.
func (s *SealWriter) Write(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	if s.closed {
		return 0, errors.New("evidence: write to a closed SealWriter")
	}
	n := len(p)
	for len(p) > 0 {
		if len(s.buf) == s.chunk {
			if err := s.flush(false); err != nil {
				return n - len(p), err
			}
		}
		c := copy(s.buf[len(s.buf):s.chunk], p)
		s.buf = s.buf[:len(s.buf)+c]
		p = p[c:]
	}
	return n, nil
}

// Close seals the last chunk. It does not close the underlying writer.
func (s *SealWriter) Close() error {
	if s.err != nil || s.closed {
		return s.err
	}
	s.closed = true
	if len(s.buf) == 0 && s.counter > 0 {
		// Only after a Suspend at the very end: the last chunk went out
		// as an inner one, and an empty last chunk would not open.
		s.err = errors.New("evidence: the sealed stream was suspended at its end; nothing can follow, so it cannot be finished (suspend only when more bytes follow)")
		return s.err
	}
	return s.flush(true)
}

func (s *SealWriter) flush(last bool) error {
	if !s.started {
		s.started = true
		if _, err := s.w.Write(s.header[:]); err != nil {
			s.err = fmt.Errorf("evidence: write sealed header: %w", err)
			return s.err
		}
	}
	var nonce [12]byte
	sealed := s.aead.Seal(s.buf[:0], chunkNonce(&nonce, s.counter, last), s.buf, s.header[:])
	s.counter++
	s.buf = s.buf[:0]
	if _, err := s.w.Write(sealed); err != nil {
		s.err = fmt.Errorf("evidence: write sealed chunk: %w", err)
		return s.err
	}
	return nil
}

// ChunkSize is the plaintext size of the writer's chunks: Suspend needs
// everything written to be a multiple of it.
func (s *SealWriter) ChunkSize() int { return s.chunk }

// ErrSealUnaligned: Suspend was called with a partial chunk written.
var ErrSealUnaligned = errors.New("evidence: a sealed stream can only be suspended at a multiple of its chunk size")

// sealStateMagic starts a suspended SealWriter's state, with its version.
const sealStateMagic = "bevis-sealstate\x01"

// Suspend seals what was written (which must be a whole number of chunks,
// else ErrSealUnaligned and nothing changes) as inner chunks, and returns
// the state ResumeSealWriter continues from, in another request or on
// another node. It is how a resumable upload stops between requests: no
// plaintext is kept, only the header and the chunk count. The writer is
// done after it.
//
// Suspend only when more bytes will follow: what it seals are inner chunks,
// so a stream suspended at its very end cannot be finished (the resumed
// writer's Close fails). A resumable upload that has received its whole
// length calls Close instead; one that received a partial chunk in a request
// keeps the bytes up to the last chunk boundary and reports that offset, so
// the client sends the rest again (the hash state is taken at the same
// offset).
func (s *SealWriter) Suspend() ([]byte, error) {
	if s.err != nil {
		return nil, s.err
	}
	if s.closed {
		return nil, errors.New("evidence: suspend of a closed SealWriter")
	}
	if len(s.buf) != 0 && len(s.buf) != s.chunk {
		return nil, fmt.Errorf("%w: %d bytes past a chunk boundary", ErrSealUnaligned, len(s.buf))
	}
	if len(s.buf) == s.chunk || !s.started {
		if err := s.flushInner(); err != nil {
			return nil, err
		}
	}
	s.closed = true
	state := append([]byte(sealStateMagic), s.header[:]...)
	return binary.BigEndian.AppendUint64(state, s.counter), nil
}

// flushInner writes the header if not yet written, and the buffered chunk
// (if any) as an inner one.
func (s *SealWriter) flushInner() error {
	if len(s.buf) == 0 {
		if _, err := s.w.Write(s.header[:]); err != nil {
			s.err = fmt.Errorf("evidence: write sealed header: %w", err)
			return s.err
		}
		s.started = true
		return nil
	}
	return s.flush(false)
}

// ResumeSealWriter continues a stream that Suspend stopped: what it writes
// to w follows the bytes written before the suspension.
func ResumeSealWriter(w io.Writer, key DataKey, objectKey string, state []byte) (*SealWriter, error) {
	rest, ok := bytes.CutPrefix(state, []byte(sealStateMagic))
	if !ok || len(rest) != SealHeaderSize+8 {
		return nil, fmt.Errorf("%w: not a suspended seal state of this version", ErrSealFormat)
	}
	h, err := ParseSealHeader(rest[:SealHeaderSize])
	if err != nil {
		return nil, err
	}
	aead, err := h.aead(key, objectKey)
	if err != nil {
		return nil, err
	}
	return &SealWriter{w: w, aead: aead, header: h.raw, chunk: h.ChunkSize,
		buf:     make([]byte, 0, h.ChunkSize+sealTagSize),
		counter: binary.BigEndian.Uint64(rest[SealHeaderSize:]), started: true}, nil
}

// OpenSealed returns the plaintext of the sealed object read from r,
// stored under objectKey. Every chunk is authenticated before any of its
// bytes are returned, and io.EOF comes only after the last chunk
// authenticated; any other ending is an error (ErrSealTampered,
// ErrSealTruncated), which a caller streaming the bytes onward must treat
// as the failure of the whole read.
func OpenSealed(r io.Reader, key DataKey, objectKey string) (io.Reader, error) {
	h, err := ReadSealHeader(r)
	if err != nil {
		return nil, err
	}
	aead, err := h.aead(key, objectKey)
	if err != nil {
		return nil, err
	}
	return &openReader{r: r, aead: aead, header: h.raw, chunk: h.ChunkSize, last: -1, left: -1,
		cbuf: make([]byte, h.ChunkSize+sealTagSize+1)}, nil
}

// SealedRange returns the byte range of a sealed object to fetch for the
// plaintext range [offset, offset+length) (length -1: to the end) of an
// object of plainSize bytes: the chunks that hold it, without the header.
// The range follows BlobStore.Get: it must start inside the object, except
// that an empty object may be read whole, and is cut at the end.
func (h SealHeader) SealedRange(plainSize, offset, length int64) (sealedOffset, sealedLength int64, err error) {
	first, last, err := h.chunkRange(plainSize, offset, length)
	if err != nil {
		return 0, 0, err
	}
	full := int64(h.ChunkSize) + sealTagSize
	start := SealHeaderSize + first*full
	end := SealedSize(plainSize, h.ChunkSize)
	if last < chunkCount(plainSize, h.ChunkSize)-1 {
		end = SealHeaderSize + (last+1)*full
	}
	return start, end - start, nil
}

func (h SealHeader) chunkRange(plainSize, offset, length int64) (first, last int64, err error) {
	wholeEmpty := plainSize == 0 && offset == 0 && length == -1
	if plainSize < 0 || offset < 0 || length == 0 || length < -1 || (offset >= plainSize && !wholeEmpty) {
		return 0, 0, fmt.Errorf("%w: offset %d, length %d of %d bytes", ErrInvalidRange, offset, length, plainSize)
	}
	end := plainSize
	if length != -1 && length < plainSize-offset {
		end = offset + length
	}
	c := int64(h.ChunkSize)
	if plainSize == 0 {
		return 0, 0, nil
	}
	return offset / c, (end - 1) / c, nil
}

// OpenRange returns the plaintext range [offset, offset+length) (length
// -1: to the end) of an object of plainSize bytes from r, which reads the
// bytes SealedRange named. plainSize must be the size recorded when the
// object was sealed; a wrong one makes the read fail, never succeed.
func (h SealHeader) OpenRange(r io.Reader, key DataKey, objectKey string, plainSize, offset, length int64) (io.Reader, error) {
	return h.openRange(r, key, objectKey, plainSize, offset, length)
}

func (h SealHeader) openRange(r io.Reader, key DataKey, objectKey string, plainSize, offset, length int64) (*openReader, error) {
	first, last, err := h.chunkRange(plainSize, offset, length)
	if err != nil {
		return nil, err
	}
	aead, err := h.aead(key, objectKey)
	if err != nil {
		return nil, err
	}
	if length == -1 || length > plainSize-offset {
		length = plainSize - offset
	}
	n := chunkCount(plainSize, h.ChunkSize)
	// Chunks are read, authenticated and handed on several at a time: a
	// few large reads of the store and writes to the client cost less
	// than many small ones.
	group := min(max(1, rangeReadSize/(h.ChunkSize+sealTagSize)), int(last-first+1)) //nolint:gosec // chunk count of a range held in memory
	return &openReader{r: r, aead: aead, header: h.raw, chunk: h.ChunkSize,
		counter: uint64(first), last: n - 1, stop: uint64(last), //nolint:gosec // not negative
		finalLen: int(plainSize - (n-1)*int64(h.ChunkSize)), //nolint:gosec // at most one chunk
		skip:     int(offset - first*int64(h.ChunkSize)),    //nolint:gosec // less than one chunk
		left:     length,
		cbuf:     make([]byte, group*(h.ChunkSize+sealTagSize)),
		pbuf:     make([]byte, 0, group*h.ChunkSize)}, nil
}

// rangeReadSize is about how many sealed bytes a range read takes from the
// store at a time (at least one chunk).
const rangeReadSize = 1 << 20

// openReader authenticates and decrypts chunks. Streaming (last -1) it
// reads one chunk at a time and finds the last by reading one byte ahead;
// reading a range it knows every chunk's length from the plaintext size,
// and reads as many chunks at a time as cbuf holds.
type openReader struct {
	r        io.Reader
	aead     cipher.AEAD
	header   [SealHeaderSize]byte
	chunk    int
	counter  uint64 // number of the next chunk to read
	cbuf     []byte // sealed chunks: streaming one and one byte ahead, a range several
	ahead    int    // bytes of the next chunk already in cbuf (0 or 1)
	plain    []byte // decrypted bytes not yet returned
	pbuf     []byte // the plaintext of the chunks in cbuf
	last     int64  // range: number of the object's last chunk; -1 streaming
	stop     uint64 // range: number of the last chunk to read
	finalLen int    // range: plaintext length of the object's last chunk
	skip     int    // plaintext bytes to drop from the first chunk read
	left     int64  // plaintext bytes still to return; -1 unlimited
	done     bool
	err      error
}

func (o *openReader) Read(p []byte) (int, error) {
	for len(o.plain) == 0 {
		if o.err != nil {
			return 0, o.err
		}
		if o.done || o.left == 0 {
			return 0, io.EOF
		}
		o.err = o.next()
	}
	n := copy(p, o.plain)
	o.plain = o.plain[n:]
	return n, nil
}

// WriteTo writes the rest of the plaintext to w as it is authenticated,
// each read's chunks in one Write, without copying them through a caller's
// buffer (io.Copy uses it, as does the HTTP server sending a download).
func (o *openReader) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for {
		if len(o.plain) > 0 {
			n, err := w.Write(o.plain)
			total += int64(n)
			o.plain = o.plain[n:]
			if err != nil {
				return total, err
			}
		}
		switch {
		case o.err != nil:
			return total, o.err
		case o.done || o.left == 0:
			return total, nil
		}
		o.err = o.next()
	}
}

// next reads, authenticates and decrypts the next chunks into o.plain: one
// streaming, as many as cbuf holds of a range.
func (o *openReader) next() error {
	if o.last < 0 {
		sealed, last, err := o.readStreaming()
		if err != nil {
			return err
		}
		o.pbuf = o.pbuf[:0]
		return o.open(sealed, last)
	}
	full := o.chunk + sealTagSize
	group := min(uint64(len(o.cbuf)/full), o.stop-o.counter+1) //nolint:gosec // a length is not negative
	size := int(group) * full                                  //nolint:gosec // bounded by len(o.cbuf)
	if int64(o.counter+group-1) == o.last {                    //nolint:gosec // chunk numbers fit
		size -= o.chunk - o.finalLen
	}
	sealed := o.cbuf[:size]
	if n, err := io.ReadFull(o.r, sealed); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return fmt.Errorf("%w: chunk %d incomplete", ErrSealTruncated, o.counter+uint64(n/full)) //nolint:gosec // not negative
		}
		return fmt.Errorf("evidence: read sealed chunk: %w", err)
	}
	o.pbuf = o.pbuf[:0]
	for len(sealed) > 0 {
		n := min(full, len(sealed))
		if err := o.open(sealed[:n], int64(o.counter) == o.last); err != nil { //nolint:gosec // chunk numbers fit
			return err
		}
		sealed = sealed[n:]
	}
	return nil
}

// readStreaming reads the next chunk of a stream, and one byte past it to
// tell whether it is the last.
func (o *openReader) readStreaming() (sealed []byte, last bool, err error) {
	if o.ahead == 1 {
		o.cbuf[0] = o.cbuf[len(o.cbuf)-1]
	}
	n, err := io.ReadFull(o.r, o.cbuf[o.ahead:])
	n += o.ahead
	switch {
	case err == nil:
		o.ahead = 1
		return o.cbuf[:n-1], false, nil
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		o.ahead = 0
		return o.cbuf[:n], true, nil
	default:
		return nil, false, fmt.Errorf("evidence: read sealed chunk: %w", err)
	}
}

// open authenticates and decrypts one sealed chunk, appends its plaintext
// (less what lies outside the range) to pbuf and makes o.plain all of pbuf.
func (o *openReader) open(sealed []byte, last bool) error {
	if len(sealed) < sealTagSize {
		if o.counter == 0 && len(sealed) == 0 {
			return fmt.Errorf("%w: no chunk after the header", ErrSealTruncated)
		}
		return fmt.Errorf("%w: chunk %d incomplete", ErrSealTruncated, o.counter)
	}
	if o.pbuf == nil {
		o.pbuf = make([]byte, 0, o.chunk)
	}
	var nonce [12]byte
	start := len(o.pbuf)
	pbuf, err := o.aead.Open(o.pbuf, chunkNonce(&nonce, o.counter, last), sealed, o.header[:])
	if err != nil {
		return o.diagnose(sealed, last)
	}
	plain := pbuf[start:]
	if last && len(plain) == 0 && o.counter > 0 {
		// Only an empty object ends with an empty chunk; the writer never
		// makes one otherwise, so this was not made by Bevis.
		return fmt.Errorf("%w: empty last chunk", ErrSealTampered)
	}
	o.counter++
	if last || (o.last >= 0 && o.counter > o.stop) {
		o.done = true
	}
	if o.skip > 0 { // the range starts inside this chunk
		plain = plain[:copy(plain, plain[min(o.skip, len(plain)):])]
		o.skip = 0
	}
	if o.left >= 0 && int64(len(plain)) > o.left {
		plain = plain[:o.left]
	}
	if o.left >= 0 {
		o.left -= int64(len(plain))
	}
	o.pbuf = pbuf[:start+len(plain)]
	o.plain = o.pbuf
	return nil
}

// diagnose tells truncation from other tampering once a chunk failed: a
// chunk read as the last that opens as an inner chunk means whole chunks
// were cut off the end; one read as inner that opens as the last means
// bytes were appended after it.
func (o *openReader) diagnose(sealed []byte, last bool) error {
	var nonce [12]byte
	scratch := make([]byte, 0, len(sealed))
	if _, err := o.aead.Open(scratch, chunkNonce(&nonce, o.counter, !last), sealed, o.header[:]); err == nil {
		if last {
			return fmt.Errorf("%w: ends after chunk %d, which is not the last", ErrSealTruncated, o.counter)
		}
		return fmt.Errorf("%w: bytes after the last chunk %d", ErrSealTampered, o.counter)
	}
	return fmt.Errorf("%w: chunk %d", ErrSealTampered, o.counter)
}

// blobReader is what reading a sealed range needs of a BlobStore.
type blobReader interface {
	Get(ctx context.Context, key, versionID string, offset, length int64) (io.ReadCloser, error)
}

// dataKeys finds the data key a sealed object names (a *Keyring does).
type dataKeys interface {
	DataKeyByID(ctx context.Context, id string) (DataKey, error)
}

// OpenSealedObject reads the plaintext range [offset, offset+length)
// (length -1: to the end) of the sealed object at key/versionID, whose
// recorded plaintext size is plainSize, fetching only the header and the
// chunks that hold the range.
func OpenSealedObject(ctx context.Context, store blobReader, keys dataKeys, key, versionID string, plainSize, offset, length int64) (io.ReadCloser, error) {
	o, err := openSealedObject(ctx, store, keys, key, versionID, plainSize, offset, length)
	if err != nil {
		return nil, err
	}
	return o, nil
}

// openSealedObject is OpenSealedObject, for Content, which primes it.
func openSealedObject(ctx context.Context, store blobReader, keys dataKeys, key, versionID string, plainSize, offset, length int64) (sealedObject, error) {
	var none sealedObject
	head, err := store.Get(ctx, key, versionID, 0, SealHeaderSize)
	if err != nil {
		return none, err
	}
	h, err := ReadSealHeader(head)
	_ = head.Close()
	if err != nil {
		return none, err
	}
	dk, err := keys.DataKeyByID(ctx, h.KeyID)
	if err != nil {
		return none, err
	}
	sealedOffset, sealedLength, err := h.SealedRange(plainSize, offset, length)
	if err != nil {
		return none, err
	}
	body, err := store.Get(ctx, key, versionID, sealedOffset, sealedLength)
	if err != nil {
		return none, err
	}
	plain, err := h.openRange(body, dk, key, plainSize, offset, length)
	if err != nil {
		_ = body.Close()
		return none, err
	}
	return sealedObject{plain, body}, nil
}

// sealedObject is the plaintext of a stored object (which it reads and
// writes on, see openReader.WriteTo) and the closer of the stored body.
type sealedObject struct {
	*openReader
	body io.Closer
}

func (o sealedObject) Close() error { return o.body.Close() }

// prime reads and authenticates the first chunks now, so a read that cannot
// even begin fails before anything was handed on.
func (o sealedObject) prime() error {
	if len(o.plain) == 0 && o.err == nil && !o.done && o.left != 0 {
		o.err = o.next()
	}
	return o.err
}
