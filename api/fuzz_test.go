package api

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzByteRange: whatever the Range header, a satisfiable answer lies
// within the content, and nothing panics.
func FuzzByteRange(f *testing.F) {
	for _, seed := range []string{"", "bytes=0-", "bytes=0-0", "bytes=-1", "bytes=5-2", "bytes=-0", "bytes=0-1,3-4",
		"bytes=9223372036854775807-", "bytes=-9223372036854775808", "bytes= 3 - 4", "items=0-1"} {
		f.Add(seed, int64(10))
	}
	f.Add("bytes=0-", int64(0))
	f.Fuzz(func(t *testing.T, h string, size int64) {
		if size < 0 {
			size = -(size + 1)
		}
		offset, length, partial, err := byteRange(h, size)
		if err != nil {
			return
		}
		if !partial {
			if offset != 0 || length != size {
				t.Fatalf("%q of %d: a whole answer of %d+%d", h, size, offset, length)
			}
			return
		}
		if offset < 0 || length <= 0 || offset >= size || length > size-offset {
			t.Fatalf("%q of %d: range %d+%d is not within the content", h, size, offset, length)
		}
	})
}

// FuzzTusHeaders: Upload-Metadata and Upload-Checksum never panic; a file
// name read from metadata is valid UTF-8 and bounded, and a checksum is
// accepted only with its algorithm's digest length.
func FuzzTusHeaders(f *testing.F) {
	f.Add("filename ZXZpZGVuY2UuZGQ=,filetype YXBwbGljYXRpb24vb2N0ZXQtc3RyZWFt", "sha256 n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg=")
	f.Add("name //8=", "sha1 2jmj7l5rSw0yVb/vlWAYkK/YBwk=")
	f.Add("filename", "md5 1B2M2Y8AsgTpgAmY7PhCfg==")
	f.Add(",,, filename  ,name", "sha256")
	f.Fuzz(func(t *testing.T, metadata, checksum string) {
		// A name is refused unless it is valid UTF-8 without NUL, of at most
		// 255 characters, which is what reaches the database.
		if name, err := tusFilename(metadata); err == nil && (!utf8.ValidString(name) || strings.ContainsRune(name, 0) ||
			utf8.RuneCountInString(name) > 255) {
			t.Fatalf("file name %q accepted from %q", name, metadata)
		}
		sum, err := tusChecksum(checksum)
		if err != nil || sum == nil {
			return
		}
		want := map[string]int{"sha1": 20, "sha256": 32}[sum.Algorithm]
		if want == 0 || len(sum.Sum) != want || !strings.HasPrefix(checksum, sum.Algorithm+" ") {
			t.Fatalf("checksum %q accepted as %s of %d bytes", checksum, sum.Algorithm, len(sum.Sum))
		}
	})
}
