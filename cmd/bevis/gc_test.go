package main

import (
	"io"
	"log/slog"
	"runtime/debug"
	"testing"
)

// TestTuneGC_OperatorSettingsStand: a server collects at GOGC=400 within a
// 256 MiB soft limit unless the operator set GOGC or GOMEMLIMIT, whose
// values (applied by the Go runtime at start) it leaves alone.
func TestTuneGC_OperatorSettingsStand(t *testing.T) {
	percent, limit := debug.SetGCPercent(100), debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetGCPercent(percent); debug.SetMemoryLimit(limit) })
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	env := func(vars map[string]string) func(string) string { return func(k string) string { return vars[k] } }

	for _, c := range []struct {
		name         string
		vars         map[string]string
		wantPercent  int
		wantLimit    int64
		startPercent int
		startLimit   int64
	}{
		{"nothing set", nil, serverGCPercent, serverMemoryLimit, 100, 1 << 40},
		{"GOGC set", map[string]string{"GOGC": "150"}, 150, serverMemoryLimit, 150, 1 << 40},
		{"GOMEMLIMIT set", map[string]string{"GOMEMLIMIT": "1GiB"}, serverGCPercent, 1 << 30, 100, 1 << 30},
		{"both set", map[string]string{"GOGC": "off", "GOMEMLIMIT": "1GiB"}, -1, 1 << 30, -1, 1 << 30},
	} {
		// What the runtime made of the variables at start.
		debug.SetGCPercent(c.startPercent)
		debug.SetMemoryLimit(c.startLimit)
		tuneGC(env(c.vars), log)
		gotPercent := debug.SetGCPercent(c.startPercent)
		if gotLimit := debug.SetMemoryLimit(-1); gotPercent != c.wantPercent || gotLimit != c.wantLimit {
			t.Errorf("%s: GC percent %d, memory limit %d; want %d, %d", c.name, gotPercent, gotLimit, c.wantPercent, c.wantLimit)
		}
	}
}

// TestUploadPace_CollectsAtGosPaceWhileUploading: while uploads are under
// way a server collects at Go's default pace, and at its own after.
func TestUploadPace_CollectsAtGosPaceWhileUploading(t *testing.T) {
	percent := debug.SetGCPercent(serverGCPercent)
	t.Cleanup(func() { debug.SetGCPercent(percent) })
	uploadPace(true)
	if got := debug.SetGCPercent(uploadGCPercent); got != uploadGCPercent {
		t.Errorf("while uploading: GC percent %d, want %d", got, uploadGCPercent)
	}
	uploadPace(false)
	if got := debug.SetGCPercent(serverGCPercent); got != serverGCPercent {
		t.Errorf("after: GC percent %d, want %d", got, serverGCPercent)
	}
}
