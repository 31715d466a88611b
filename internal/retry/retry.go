// Package retry waits for a dependency that is not reachable yet, such as a
// database or S3 server still starting next to Bevis.
package retry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// ErrPermanent marks an error that retrying cannot fix (bad credentials, a
// misconfigured bucket): Until stops at once and returns it.
var ErrPermanent = errors.New("permanent failure")

// Until calls fn with exponential backoff (100 ms doubling to 5 s) until it
// succeeds, returns an error wrapping ErrPermanent, ctx ends, or timeout has
// passed since the first call (which is always made, even with no timeout). The last error is returned, naming what was
// awaited.
func Until(ctx context.Context, timeout time.Duration, log *slog.Logger, what string, fn func(context.Context) error) error {
	deadline := time.Now().Add(timeout)
	delay := 100 * time.Millisecond
	for attempt := 1; ; attempt++ {
		err := fn(ctx)
		if err == nil {
			if attempt > 1 {
				log.Info("reachable after retrying", "what", what, "attempts", attempt)
			}
			return nil
		}
		if errors.Is(err, ErrPermanent) {
			return fmt.Errorf("%s: %w", what, err)
		}
		remaining := time.Until(deadline)
		if remaining <= 0 {
			return fmt.Errorf("%s not reachable within %s: %w", what, timeout, err)
		}
		wait := min(delay, remaining)
		log.Warn("not reachable yet; retrying", "what", what, "attempt", attempt, "retry_in", wait.String(), "err", err)
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: %w (last error: %w)", what, ctx.Err(), err)
		case <-time.After(wait):
		}
		delay = min(delay*2, 5*time.Second)
	}
}
