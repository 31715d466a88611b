package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/bevis-ir/bevis/evidence"
)

// staleMultiparts is a store that can discard multipart writes nobody
// continued (both of Bevis's stores can).
type staleMultiparts interface {
	AbortStaleMultiparts(ctx context.Context, olderThan time.Duration) (int, error)
}

// verifyRound is how often keepEvidence runs.
const verifyRound = time.Minute

// keepEvidence runs until ctx ends: it discards uploads left unfinished
// past their expiry (and, a day later, any multipart write in the store
// that no upload record names, such as one a crash left between starting
// it and recording it), and re-reads stored evidence whose last check is
// older than interval, recording each result on the item's custody record.
// Several nodes may run it at once: an item checked twice is only checked
// more often.
func keepEvidence(ctx context.Context, uploads *evidence.Uploads, content *evidence.Content, store evidence.BlobStore,
	expiry, interval time.Duration, log *slog.Logger) {
	tick := time.NewTicker(verifyRound)
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

// verifyDue re-verifies this round's share of the stored evidence, the
// oldest check first, spread so each item is checked within the interval
// (see evidence.Reverifier); every incident is on the custody record and
// raises an alert through content.
func verifyDue(ctx context.Context, content *evidence.Content, interval time.Duration, log *slog.Logger) {
	done, err := evidence.NewReverifier(content, interval, verifyRound).Round(ctx)
	for _, v := range done {
		if v.Result != "ok" || len(v.Findings) > 0 {
			log.Error("evidence failed verification", "item", v.Event.ItemID, "result", v.Result, "findings", v.Findings)
		}
	}
	if err != nil && ctx.Err() == nil {
		log.Error("verify evidence", "err", err) // a store outage or a key problem: tried again next round
	}
}
