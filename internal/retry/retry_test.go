package retry

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func TestUntil(t *testing.T) {
	down := errors.New("connection refused")
	tests := []struct {
		name         string
		timeout      time.Duration
		failures     int // attempts that fail before one succeeds
		fail         error
		wantErr      error
		wantAttempts int // -1: several, as many as the backoff fits in the timeout
	}{
		{"succeeds at once", time.Second, 0, down, nil, 1},
		{"succeeds after backing off", 5 * time.Second, 3, down, nil, 4},
		{"no timeout still tries once", 0, 0, down, nil, 1},
		{"gives up after the timeout", 250 * time.Millisecond, 1000, down, down, -1},
		{"permanent failure stops at once", 5 * time.Second, 1000, ErrPermanent, ErrPermanent, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			attempts := 0
			err := Until(context.Background(), tt.timeout, quiet, "thing", func(context.Context) error {
				attempts++
				if attempts <= tt.failures {
					return tt.fail
				}
				return nil
			})
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Fatalf("err %v, want %v", err, tt.wantErr)
			}
			if tt.wantAttempts == -1 && attempts < 2 {
				t.Errorf("%d attempts, want several", attempts)
			}
			if tt.wantAttempts != -1 && attempts != tt.wantAttempts {
				t.Errorf("%d attempts, want %d", attempts, tt.wantAttempts)
			}
		})
	}
}

func TestUntil_StopsWhenContextEnds(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := Until(ctx, time.Minute, quiet, "thing", func(context.Context) error { return errors.New("down") })
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err %v, want context.Canceled", err)
	}
}
