package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/bevis-ir/bevis/access"
	"github.com/bevis-ir/bevis/evidence"
)

// staleMultiparts is a store that can discard multipart writes nobody
// continued (both of Bevis's stores can).
type staleMultiparts interface {
	AbortStaleMultiparts(ctx context.Context, olderThan time.Duration) (int, error)
}

// keepEvidence runs until ctx ends: it discards uploads left unfinished
// past their expiry (and, a day later, any multipart write in the store
// that no upload record names, such as one a crash left between starting
// it and recording it), and re-reads stored evidence whose last check is
// older than interval, recording each result on the item's custody record.
// Several nodes may run it at once: an item checked twice is only checked
// more often.
func keepEvidence(ctx context.Context, uploads *evidence.Uploads, content *evidence.Content, store evidence.BlobStore,
	expiry, interval time.Duration, log *slog.Logger) {
	tick := time.NewTicker(time.Minute)
	defer tick.Stop()
	for {
		if n, err := uploads.AbortExpired(ctx); err != nil && ctx.Err() == nil {
			log.Error("discard expired uploads", "err", err)
		} else if n > 0 {
			log.Info("discarded expired uploads", "count", n)
		}
		if s, ok := store.(staleMultiparts); ok {
			if n, err := s.AbortStaleMultiparts(ctx, expiry+24*time.Hour); err != nil && ctx.Err() == nil {
				log.Error("discard stale multipart writes", "err", err)
			} else if n > 0 {
				log.Info("discarded stale multipart writes", "count", n)
			}
		}
		verifyDue(ctx, content, interval, log)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// verifyDue re-verifies a batch of items due for it.
func verifyDue(ctx context.Context, content *evidence.Content, interval time.Duration, log *slog.Logger) {
	due, err := content.Due(ctx, time.Now().Add(-interval), 20)
	if err != nil {
		if ctx.Err() == nil {
			log.Error("items due for verification", "err", err)
		}
		return
	}
	for _, it := range due {
		v, err := content.Verify(ctx, access.Principal{}, it)
		switch {
		case err != nil:
			if ctx.Err() == nil {
				log.Error("verify evidence", "item", it.ID, "err", err)
			}
			return // a store outage: try again next round
		case v.Result != "ok":
			log.Error("evidence failed verification", "item", it.ID, "exhibit", it.ExhibitNumber, "result", v.Result)
		}
	}
}
