package main

import (
	"bytes"
	"errors"
	"log/slog"
	"os"
	"strings"
	"testing"

	"github.com/creack/pty"

	"github.com/bevis-ir/bevis/internal/config"
)

func TestLogger_TextForATerminalJSONOtherwiseAndTheFormatOptionWins(t *testing.T) {
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Fatalf("open a pseudo-terminal: %v", err)
	}
	defer ptmx.Close()
	defer tty.Close()
	file, err := os.Create(t.TempDir() + "/log")
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	for _, c := range []struct {
		format string
		w      *os.File
		text   bool
	}{
		{"auto", tty, true}, {"auto", file, false}, {"json", tty, false}, {"text", file, true},
	} {
		h := newLogger(config.Config{LogFormat: c.format}, c.w).Handler()
		if _, text := h.(*peopleHandler); text != c.text {
			t.Errorf("format %s on %s: text %v, want %v", c.format, c.w.Name(), text, c.text)
		}
	}
}

func TestLogger_ARequestIsOneShortLineForPeople(t *testing.T) {
	var out bytes.Buffer
	log := newLogger(config.Config{LogFormat: "text"}, &out).With("component", "api")
	request := func(status int) {
		log.Info("request", "request_id", "01a2-req", "method", "GET", "route", "/api/v1/cases/:id",
			"path", "/api/v1/cases/42", "status", status, "duration_ms", 3.25, "bytes_out", 1234,
			"client", "127.0.0.1", "user_agent", "Mozilla/5.0 (X11; Linux x86_64) a long one")
	}
	request(200)
	request(503)
	log.WithGroup("db").Error("query failed", "err", errors.New("connection reset"), "attempt", 2)

	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d lines, want 3:\n%s", len(lines), out.String())
	}
	want := []string{
		"INFO  GET /api/v1/cases/42 200 3.25ms component=api",
		"INFO  GET /api/v1/cases/42 503 3.25ms component=api request_id=01a2-req",
		`ERROR query failed component=api db.err="connection reset" db.attempt=2`,
	}
	for i, line := range lines {
		// Each starts with the time of day, HH:MM:SS and a space.
		if len(line) < 9 || line[2] != ':' || line[5] != ':' || line[9-1] != ' ' || line[9:] != want[i] {
			t.Errorf("line %d:\n got %q\nwant %q", i, line, "HH:MM:SS "+want[i])
		}
	}
	if len(lines[0]) > 80 {
		t.Errorf("a request line of %d characters is not short", len(lines[0]))
	}
	var _ slog.Handler = (*peopleHandler)(nil)
}
