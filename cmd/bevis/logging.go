package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/mattn/go-isatty"

	"github.com/bevis-ir/bevis/internal/config"
)

// newLogger logs JSON for machines or short text lines for people, at the
// configured level. With the format "auto" (the default) people get text
// when w is a terminal, and collectors JSON otherwise.
func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	format := cfg.LogFormat
	if format == "auto" {
		format = "json"
		if isTerminal(w) {
			format = "text"
		}
	}
	if format == "text" {
		return slog.New(&peopleHandler{out: &lockedWriter{w: w}, level: cfg.LogLevel})
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && isatty.IsTerminal(f.Fd())
}

// lockedWriter serialises the lines of every handler derived from one.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) write(line []byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	_, _ = l.w.Write(line)
}

// peopleHandler writes one short line a record: the time of day, the
// level, the message and its attributes as key=value. A request becomes
// "GET /path 200 3.2ms", with its request ID only when it went wrong, since
// that is when someone will look it up.
type peopleHandler struct {
	out    *lockedWriter
	level  slog.Leveler
	attrs  []slog.Attr // from WithAttrs, keys already prefixed by their groups
	prefix string      // from WithGroup: "group." for the keys of later attributes
}

func (h *peopleHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level.Level() }

func (h *peopleHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	c := *h
	c.attrs = append(append([]slog.Attr(nil), h.attrs...), prefixed(h.prefix, attrs)...)
	return &c
}

func (h *peopleHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	c := *h
	c.prefix = h.prefix + name + "."
	return &c
}

func prefixed(prefix string, attrs []slog.Attr) []slog.Attr {
	if prefix == "" {
		return attrs
	}
	out := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		out[i] = slog.Attr{Key: prefix + a.Key, Value: a.Value}
	}
	return out
}

func (h *peopleHandler) Handle(_ context.Context, r slog.Record) error {
	attrs := append([]slog.Attr(nil), h.attrs...)
	r.Attrs(func(a slog.Attr) bool {
		attrs = append(attrs, prefixed(h.prefix, []slog.Attr{a})...)
		return true
	})
	var b strings.Builder
	t := r.Time
	if t.IsZero() {
		t = time.Now()
	}
	fmt.Fprintf(&b, "%s %-5s ", t.Format("15:04:05"), r.Level.String())
	if r.Message == "request" {
		attrs = writeRequest(&b, attrs)
	} else {
		b.WriteString(r.Message)
	}
	for _, a := range attrs {
		writeAttr(&b, "", a)
	}
	b.WriteByte('\n')
	h.out.write([]byte(b.String()))
	return nil
}

// writeRequest writes a request's method, path, status and duration, and
// returns the attributes still to show: its request ID when the status is
// an error, and anything else it was logged with that is not routine.
func writeRequest(b *strings.Builder, attrs []slog.Attr) []slog.Attr {
	get := map[string]slog.Value{}
	for _, a := range attrs {
		get[a.Key] = a.Value.Resolve()
	}
	status := get["status"].String()
	fmt.Fprintf(b, "%s %s %s %sms", get["method"].String(), get["path"].String(), status, get["duration_ms"].String())
	routine := map[string]bool{"method": true, "path": true, "status": true, "duration_ms": true, "route": true,
		"bytes_out": true, "client": true, "user_agent": true, "request_id": !strings.HasPrefix(status, "4") && !strings.HasPrefix(status, "5")}
	var rest []slog.Attr
	for _, a := range attrs {
		if !routine[a.Key] {
			rest = append(rest, a)
		}
	}
	return rest
}

func writeAttr(b *strings.Builder, prefix string, a slog.Attr) {
	v := a.Value.Resolve()
	if v.Kind() == slog.KindGroup {
		for _, g := range v.Group() {
			writeAttr(b, prefix+a.Key+".", g)
		}
		return
	}
	if a.Key == "" {
		return
	}
	b.WriteByte(' ')
	b.WriteString(prefix + a.Key)
	b.WriteByte('=')
	s := v.String()
	if v.Kind() == slog.KindTime {
		s = v.Time().Format(time.RFC3339)
	}
	if s == "" || strings.ContainsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || r == '"' || r == '=' || !unicode.IsPrint(r) }) {
		s = strconv.Quote(s)
	}
	b.WriteString(s)
}
