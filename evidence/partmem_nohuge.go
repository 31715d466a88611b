//go:build unix && !linux

package evidence

// hugePages: only Linux is asked for huge pages (partmem_linux.go).
func hugePages([]byte) {}
