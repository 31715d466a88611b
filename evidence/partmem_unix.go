//go:build unix

package evidence

import "syscall"

// allocPart maps n bytes of anonymous memory, outside the Go heap; the
// system gives pages as they are first written, in huge pages where it can
// (hugePages). Should mapping fail, the buffer comes from the heap.
func allocPart(n int) []byte {
	b, err := syscall.Mmap(-1, 0, max(n, 1), syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		return make([]byte, n)
	}
	hugePages(b)
	return b[:n]
}

// freePart unmaps a buffer allocPart mapped (one it made on the heap is
// left to the collector).
func freePart(b []byte) {
	_ = syscall.Munmap(b)
}
