package main

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	"gorm.io/gorm"

	"github.com/bevis-ir/bevis/api"
	"github.com/bevis-ir/bevis/evidence"
	"github.com/bevis-ir/bevis/internal/db"
)

// staleMultiparts is a store that can discard multipart writes nobody
// continued (both of Bevis's stores can).
type staleMultiparts interface {
	AbortStaleMultiparts(ctx context.Context, olderThan time.Duration) (int, error)
}

// clusterJob is background work that runs on one node of the cluster at a
// time: only while its node holds the job's lease in the database.
type clusterJob struct {
	lease *db.Lease
	ttl   time.Duration
	held  atomic.Bool // for /metrics
}

// Names of the cluster jobs' leases.
const (
	leaseVerification = "evidence_verification"
	leaseExpiry       = "expiry"
)

// run runs work once if this node holds the lease (taking it when free),
// renewing the lease while work goes on; work's context ends if the lease
// cannot be renewed, so that two nodes never do the job at once.
func (j *clusterJob) run(ctx context.Context, log *slog.Logger, work func(context.Context)) {
	held, err := j.lease.Acquire(ctx)
	if err != nil && ctx.Err() == nil {
		log.Error("lease", "lease", j.lease.Name(), "err", err)
	}
	if j.held.Swap(held) != held && held {
		log.Info("took the lease", "lease", j.lease.Name())
	}
	if !held {
		return
	}
	workCtx, stop := context.WithCancel(ctx)
	defer stop()
	renewed := make(chan struct{})
	go func() {
		defer close(renewed)
		tick := time.NewTicker(j.ttl / 3)
		defer tick.Stop()
		for {
			select {
			case <-workCtx.Done():
				return
			case <-tick.C:
			}
			if ok, err := j.lease.Acquire(workCtx); !ok || err != nil {
				if workCtx.Err() == nil {
					log.Warn("lost the lease; stopping its work", "lease", j.lease.Name(), "err", err)
				}
				j.held.Store(false)
				stop()
				return
			}
		}
	}()
	work(workCtx)
	stop()
	<-renewed
}

// release gives the lease up at shutdown, so another node takes the job at
// once instead of when the lease expires.
func (j *clusterJob) release(log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := j.lease.Release(ctx); err != nil {
		log.Warn("lease not released", "lease", j.lease.Name(), "err", err)
	}
	j.held.Store(false)
}

// evidenceJobs are the cluster jobs of keepEvidence.
type evidenceJobs struct {
	verification, expiry *clusterJob
}

// newEvidenceJobs makes the jobs' leases for holder. A round runs every
// minute, or more often for a short verification interval; a lease
// outlasts three rounds, so a node that died hands its job over within
// that.
func newEvidenceJobs(gdb *gorm.DB, holder string, interval time.Duration) (evidenceJobs, time.Duration) {
	tick := min(time.Minute, max(interval/4, time.Second))
	ttl := 3 * tick
	return evidenceJobs{
		verification: &clusterJob{lease: db.NewLease(gdb, leaseVerification, holder, ttl), ttl: ttl},
		expiry:       &clusterJob{lease: db.NewLease(gdb, leaseExpiry, holder, ttl), ttl: ttl},
	}, tick
}

// keepEvidence runs until ctx ends. Holding the expiry lease, it discards
// uploads left unfinished past their expiry (and, a day later, any
// multipart write in the store that no upload record names, such as one a
// crash left between starting it and recording it) and idempotency keys
// past theirs. Holding the verification lease, it re-reads stored evidence
// whose last check is older than interval, recording each result on the
// item's custody record. The leases make each of them run on one node of
// the cluster at a time, so an item is checked once per interval, not once
// per node.
func keepEvidence(ctx context.Context, jobs evidenceJobs, tick time.Duration, uploads *evidence.Uploads,
	content *evidence.Content, store evidence.BlobStore, gdb *gorm.DB, expiry, interval time.Duration, log *slog.Logger) {
	ticker := time.NewTicker(tick)
	defer ticker.Stop()
	defer jobs.verification.release(log)
	defer jobs.expiry.release(log)
	for {
		jobs.expiry.run(ctx, log, func(ctx context.Context) {
			discardExpired(ctx, uploads, store, gdb, expiry, log)
		})
		jobs.verification.run(ctx, log, func(ctx context.Context) {
			verifyDue(ctx, content, interval, tick, log)
		})
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

// discardExpired discards what has expired: unfinished uploads, multipart
// writes no upload names, idempotency keys.
func discardExpired(ctx context.Context, uploads *evidence.Uploads, store evidence.BlobStore, gdb *gorm.DB,
	expiry time.Duration, log *slog.Logger) {
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
	if n, err := api.DiscardExpiredIdempotencyKeys(ctx, gdb); err != nil && ctx.Err() == nil {
		log.Error("discard expired idempotency keys", "err", err)
	} else if n > 0 {
		log.Info("discarded expired idempotency keys", "count", n)
	}
}

// verifyDue re-verifies this round's share of the stored evidence, the
// oldest check first, spread so each item is checked within the interval
// (see evidence.Reverifier); every incident is on the custody record and
// raises an alert through content. every is how often a round runs.
func verifyDue(ctx context.Context, content *evidence.Content, interval, every time.Duration, log *slog.Logger) {
	done, err := evidence.NewReverifier(content, interval, every).Round(ctx)
	for _, v := range done {
		if v.Result != "ok" || len(v.Findings) > 0 {
			log.Error("evidence failed verification", "item", v.Event.ItemID, "result", v.Result, "findings", v.Findings)
		}
	}
	if err != nil && ctx.Err() == nil {
		log.Error("verify evidence", "err", err) // a store outage or a key problem: tried again next round
	}
}
