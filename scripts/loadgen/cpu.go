package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/bevis-ir/bevis/internal/proc"
)

// cpuSample is where the machine's CPU time had gone at one moment: the
// server's (its own process_cpu_seconds_total), PostgreSQL's (every process
// named postgres: the pool's backends, the WAL writer, the checkpointer),
// the load generator's, and the machine's busy and whole time over all
// cores. A phase's difference of two samples says, per request, which of
// the programs sharing the cores spent them: the question behind a rate
// that falls short when the machine is busy. Outside Linux, or when a
// reading fails, the fields stay zero and nothing is printed.
type cpuSample struct {
	server, postgres, loadgen, busy, total time.Duration
	ok                                     bool
}

func (c *client) sampleCPU() cpuSample {
	var s cpuSample
	secs, err := c.metric("process_cpu_seconds_total")
	if err != nil {
		return s
	}
	s.server = time.Duration(secs * float64(time.Second))
	self, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return s
	}
	if s.loadgen, err = proc.ParseStat(string(self)); err != nil {
		return s
	}
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, f := range stats {
		if b, err := os.ReadFile(f); err == nil && strings.Contains(string(b), "(postgres)") {
			if t, err := proc.ParseStat(string(b)); err == nil {
				s.postgres += t
			}
		}
	}
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return s
	}
	line, _, _ := strings.Cut(string(b), "\n")
	fields := strings.Fields(line) // cpu user nice system idle iowait irq softirq steal …
	if len(fields) < 9 || fields[0] != "cpu" {
		return s
	}
	for i, f := range fields[1:9] {
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return s
		}
		s.total += time.Duration(n) * proc.ClockTick
		if i != 3 && i != 4 { // idle, iowait
			s.busy += time.Duration(n) * proc.ClockTick
		}
	}
	s.ok = true
	return s
}

// printCPU prints, per request, the CPU each program spent between two
// samples, and how busy the machine was.
func printCPU(before, after cpuSample, requests int) {
	if !before.ok || !after.ok || requests == 0 || after.total <= before.total {
		return
	}
	server, postgres, loadgen := after.server-before.server, after.postgres-before.postgres, after.loadgen-before.loadgen
	busy := after.busy - before.busy
	per := func(d time.Duration) string {
		return strconv.FormatFloat(float64(d.Microseconds())/1000/float64(requests), 'f', 2, 64)
	}
	fmt.Printf("   CPU per request, ms: server %s, postgres %s, loadgen %s, other %s; machine %.0f%% busy\n",
		per(server), per(postgres), per(loadgen), per(busy-server-postgres-loadgen),
		100*float64(busy)/float64(after.total-before.total))
}
