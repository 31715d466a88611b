package main

import (
	"testing"
)

func TestParseTicks_CountsFromTheLastParenthesis(t *testing.T) {
	// A command may hold spaces and parentheses; utime and stime are the
	// 14th and 15th fields of the line.
	line := "4242 (postgres: a (b) c) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 1 0 9 0 0\n"
	got, err := parseTicks(line)
	if err != nil {
		t.Fatal(err)
	}
	if want := 325 * clockTick; got != want {
		t.Errorf("parseTicks = %v, want %v", got, want)
	}
	for _, bad := range []string{"4242 no command", "4242 (x) S 1 2", "4242 (x) S 1 2 3 4 5 6 7 8 9 10 u s"} {
		if _, err := parseTicks(bad); err == nil {
			t.Errorf("parseTicks(%q) gave no error", bad)
		}
	}
}
