package evidence

import (
	"os"

	"golang.org/x/sys/unix"
)

// startWriteback asks Linux to begin writing n bytes of f at off to the
// disk now, without waiting for it, so that the sync at the request's end
// finds most of them written instead of starting on all of them while the
// client waits. Where the system declines, the sync does it all.
func startWriteback(f *os.File, off, n int64) {
	if n <= 0 {
		return
	}
	if rc, err := f.SyscallConn(); err == nil {
		_ = rc.Control(func(fd uintptr) {
			_ = unix.SyncFileRange(int(fd), off, n, unix.SYNC_FILE_RANGE_WRITE) //nolint:gosec // a descriptor fits an int
		})
	}
}
