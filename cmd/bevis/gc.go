package main

import (
	"log/slog"
	"runtime/debug"

	"github.com/bevis-ir/bevis/evidence"
)

// A node's live heap is small (tens of MiB: pages being answered, the
// caches of counts and cases), and at Go's default (GOGC=100: collect when
// the heap has doubled) the collector ran so often that it cost about a
// quarter of the case list's throughput (8 lists in flight on 2 cores:
// 1,045–1,212/s at 100, 1,377–1,514/s at 400). Unless the operator sets
// GOGC, a node collects when its heap has grown to five times what is
// live; unless they set GOMEMLIMIT, it collects sooner as its heap nears
// serverMemoryLimit, so a larger live heap (a big import) does not grow
// five times over. Uploads, which leave much garbage at once, have the heap
// collected and given back when the last of them ends (evidence/partmem.go),
// and while any is under way the collector keeps Go's default pace, so
// that a long one does not pile up its garbage to five times the live heap.
const (
	serverGCPercent   = 400
	uploadGCPercent   = 100
	serverMemoryLimit = 256 << 20
)

// tuneGC sets the collector's defaults for a server; what the operator
// set in GOGC or GOMEMLIMIT (read by the Go runtime itself) stands.
func tuneGC(getenv func(string) string, log *slog.Logger) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(serverGCPercent)
		evidence.SetUploadPace(uploadPace)
		log.Debug("garbage collector: GOGC not set", "gc_percent", serverGCPercent, "while_uploading", uploadGCPercent)
	}
	if getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(serverMemoryLimit)
		log.Debug("garbage collector: GOMEMLIMIT not set", "memory_limit_bytes", serverMemoryLimit)
	}
}

// uploadPace paces the collector of a server whose GOGC the operator left
// to it: Go's default while uploads are under way, serverGCPercent after.
func uploadPace(uploading bool) {
	if uploading {
		debug.SetGCPercent(uploadGCPercent)
	} else {
		debug.SetGCPercent(serverGCPercent)
	}
}
