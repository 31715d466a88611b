package proc

import (
	"os"
	"testing"
)

func TestParseStat_CountsFromTheLastParenthesis(t *testing.T) {
	// A command may hold spaces and parentheses; utime and stime are the
	// 14th and 15th fields of the line.
	line := "4242 (postgres: a (b) c) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 1 0 9 0 0\n"
	got, err := ParseStat(line)
	if err != nil {
		t.Fatal(err)
	}
	if want := 325 * ClockTick; got != want {
		t.Errorf("ParseStat = %v, want %v", got, want)
	}
	for _, bad := range []string{"4242 no command", "4242 (x) S 1 2", "4242 (x) S 1 2 3 4 5 6 7 8 9 10 u s"} {
		if _, err := ParseStat(bad); err == nil {
			t.Errorf("ParseStat(%q) gave no error", bad)
		}
	}
}

func TestCPU_ReadsThisProcess(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc on this system")
	}
	if _, err := CPU(os.Getpid()); err != nil {
		t.Fatal(err)
	}
	if _, err := CPU(-1); err == nil {
		t.Error("CPU of no process gave no error")
	}
}
