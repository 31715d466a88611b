//go:build !unix

package evidence

// allocPart makes a part buffer on the heap where memory cannot be mapped.
func allocPart(n int) []byte { return make([]byte, n) }

// freePart leaves the buffer to the collector.
func freePart([]byte) {}
