// Package proc reads the processor time of processes from Linux's /proc,
// for the benchmarks and the load generator, which say where a machine's
// time went.
package proc

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// ClockTick is the unit of the times in /proc (USER_HZ, 100 on Linux).
const ClockTick = 10 * time.Millisecond

// CPU is the processor time (user and system) process pid has used.
func CPU(pid int) (time.Duration, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	return ParseStat(string(raw))
}

// ParseStat reads utime + stime from one /proc/PID/stat line; its second
// field, the command in parentheses, may hold spaces and parentheses, so
// fields count from the last ')'.
func ParseStat(stat string) (time.Duration, error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, fmt.Errorf("proc: no command in %q", stat)
	}
	f := strings.Fields(stat[i+1:]) // state ppid …: utime is field 14 of the line, 12 here
	if len(f) < 13 {
		return 0, fmt.Errorf("proc: short stat line %q", stat)
	}
	user, err1 := strconv.ParseInt(f[11], 10, 64)
	system, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("proc: bad times in %q", stat)
	}
	return time.Duration(user+system) * ClockTick, nil
}
