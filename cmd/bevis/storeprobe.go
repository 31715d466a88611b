package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/bevis-ir/bevis/audit"
	"github.com/bevis-ir/bevis/evidence"
	"github.com/bevis-ir/bevis/internal/config"
	"github.com/bevis-ir/bevis/internal/retry"
)

// errWeakStore is a store the lock probe found Bevis's own credentials able
// to destroy evidence in, with BEVIS_ALLOW_WEAK_STORE not set.
var errWeakStore = errors.New("the evidence store lets Bevis's own credentials destroy evidence")

// storeProbeEvery is how often the lock probe runs after the start.
const storeProbeEvery = 24 * time.Hour

// storeStatus is what the lock probe last found, for /metrics.
type storeStatus struct{ weak atomic.Bool }

// Weak reports whether the store was last found weak (the filesystem store
// always is: it cannot enforce a lock).
func (s *storeStatus) Weak() bool { return s.weak.Load() }

// probeStore runs the lock probe (evidence.S3Store.ProbeLocks) and says what
// it found. A weak store is errWeakStore, unless cfg allows it, when it is
// served with a loud warning and the bevis_evidence_store_weak metric at 1.
// The filesystem store cannot enforce Object Lock at all, which is said
// instead: the default single-machine set-up still serves.
func probeStore(ctx context.Context, cfg config.Config, store evidence.BlobStore, status *storeStatus, log *slog.Logger) error {
	s3, ok := store.(*evidence.S3Store)
	if !ok {
		status.weak.Store(true)
		log.Warn("the filesystem evidence store cannot enforce Object Lock: whoever can write its folder can change or "+
			"delete evidence; Bevis detects changes (sealed chunks, re-verification) but cannot prevent them. "+
			"Past one machine, use S3 with Object Lock (see the README's storage checklist)", "dir", cfg.EvidenceDir)
		return nil
	}
	var res evidence.ProbeResult
	err := retry.Until(ctx, cfg.StartupTimeout, log, "S3 lock probe", func(ctx context.Context) error {
		var err error
		res, err = s3.ProbeLocks(ctx)
		if err != nil && !errors.Is(err, evidence.ErrStoreUnavailable) {
			return fmt.Errorf("%w: %w", retry.ErrPermanent, err)
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("evidence store lock probe: %w", err)
	}
	status.weak.Store(res.Weak())
	switch {
	case !res.Weak():
		log.Info("evidence store lock probe passed", "canary", res.Canary, "found", res.String())
		return nil
	case !cfg.S3.AllowWeak:
		return fmt.Errorf("%w: %s (probed with canaries under %s). Give Bevis's credentials the policy of the README's storage checklist, or set BEVIS_ALLOW_WEAK_STORE=true to serve anyway",
			errWeakStore, res, res.Canary)
	}
	log.Error("WEAK EVIDENCE STORE: serving because BEVIS_ALLOW_WEAK_STORE=true, though Bevis's own credentials can destroy evidence",
		"weaknesses", res.Weaknesses, "canary", res.Canary)
	return nil
}

// integrityAlerts raises the alert of an integrity incident (an
// *alerts.Engine does).
type integrityAlerts interface {
	RaiseIntegrity(ctx context.Context, caseID, subject, agencyID, note string)
}

// checkCheckpoints reports, with an alert each, the audit checkpoint keys
// that have a version or a delete marker Bevis did not write.
func checkCheckpoints(ctx context.Context, store evidence.BlobStore, alerts integrityAlerts, log *slog.Logger) {
	s3, ok := store.(*evidence.S3Store)
	if !ok {
		return
	}
	found, err := s3.ForeignWrites(ctx, audit.CheckpointPrefix)
	if err != nil {
		if ctx.Err() == nil {
			log.Error("audit checkpoints in the evidence store could not be listed", "err", err)
		}
		return
	}
	for _, f := range found {
		key, _, _ := strings.Cut(f, ":")
		log.Error("an audit checkpoint was written to outside Bevis", "found", f)
		alerts.RaiseIntegrity(ctx, "", key, "", "audit checkpoint written to outside Bevis: "+f)
	}
}

// watchStore checks the audit checkpoints in the store at once, then every
// storeProbeEvery runs the lock probe and checks them again, until ctx
// ends. A store found weak when that is not allowed (its policy was
// changed) is sent on refused, for serve to stop; a probe that cannot run
// is logged and tried again next time.
func watchStore(ctx context.Context, cfg config.Config, store evidence.BlobStore, status *storeStatus, alerts integrityAlerts,
	log *slog.Logger, refused chan<- error) {
	if _, ok := store.(*evidence.S3Store); !ok {
		return
	}
	checkCheckpoints(ctx, store, alerts, log)
	tick := time.NewTicker(storeProbeEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		checkCheckpoints(ctx, store, alerts, log)
		err := probeStore(ctx, cfg, store, status, log)
		switch {
		case errors.Is(err, errWeakStore):
			refused <- err
			return
		case err != nil && ctx.Err() == nil:
			log.Error("evidence store lock probe could not run; trying again tomorrow", "err", err)
		}
	}
}
