//go:build unix

package reports

import (
	"syscall"
	"time"
)

// processCPU is the CPU time this process has used: on SQLite, where the
// queries run in the process, it measures their work however busy the
// machine is.
func processCPU() time.Duration {
	var u syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &u); err != nil {
		return 0
	}
	return time.Duration(u.Utime.Nano() + u.Stime.Nano())
}
