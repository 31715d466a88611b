package db

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// TestLogger_LogsFailedAndSlowStatementsAndFormatsNoOther: a failed or
// slow statement is logged with its text; a statement that went well is
// not, and its text is not even asked for; a not-found is no failure; and
// the silent mode (the audit writer's) logs nothing.
func TestLogger_LogsFailedAndSlowStatementsAndFormatsNoOther(t *testing.T) {
	var out bytes.Buffer
	l := newLogger(slog.New(slog.NewTextHandler(&out, nil)))
	ctx := context.Background()
	asked := 0
	text := func(sql string) func() (string, int64) {
		return func() (string, int64) { asked++; return sql, 1 }
	}
	l.Trace(ctx, time.Now(), text("SELECT 1 FROM fine"), nil)
	l.Trace(ctx, time.Now(), text("SELECT 1 FROM absent"), gorm.ErrRecordNotFound)
	if asked != 0 || out.Len() != 0 {
		t.Fatalf("statements that went well: text asked %d times, logged %q", asked, out.String())
	}
	l.Trace(ctx, time.Now(), text("INSERT INTO failed"), errors.New("refused"))
	l.Trace(ctx, time.Now().Add(-2*slowStatement), text("SELECT 1 FROM slow"), nil)
	for _, want := range []string{"INSERT INTO failed", "refused", "SELECT 1 FROM slow"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the log lacks %q: %s", want, out.String())
		}
	}
	out.Reset()
	l.LogMode(logger.Silent).Trace(ctx, time.Now(), text("INSERT INTO quiet"), errors.New("refused"))
	if out.Len() != 0 {
		t.Errorf("the silent mode logged %q", out.String())
	}
}
