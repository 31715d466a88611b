package evidence

import (
	"context"
	"io"
	"time"
)

// Storing a request's parts on a store that syncs a part once however many
// pieces it is written in (the folder): see partOpener.

// partOpener is a store that writes a part in pieces and syncs it once,
// when it is committed (FSStore). On it, what a request sends goes to one
// store part, the parts cut from the stream (16 MiB each) appended to it,
// and is made durable at the request's end, one sync of data per request
// rather than one per part, before the state that names it is recorded.
// Of the ways to sync a request's parts once, this keeps the store's parts
// what they were, whole files named by the part list, so completion and
// reads do not change: a file per part synced at the end would still cost
// a journal commit each on ext4, and ranges of one file a new part format.
// On S3 a part is durable once PutPart returns, at no extra cost, so there
// each part is stored, and the state kept, as it fills.
type partOpener interface {
	OpenPart(ctx context.Context, key, uploadID string, n int) (PartWriter, error)
}

// appendPart appends partBuf to the store part in the background.
func (w *writer) appendPart(ctx context.Context, cp *checkpoint) {
	data := w.partBuf
	stored := make(chan partStored, 1)
	go func() {
		r := &partReader{data: data}
		err := w.appendPiece(ctx, r, int64(len(data)), cp)
		_ = r.Close() // the buffer is the next part's once this returns
		stored <- partStored{storeErr: err}
	}()
	w.storing = stored
}

// appendPiece appends size bytes of r to the store part, opening one when
// none is, and makes cp (when given) the state to keep once they are
// durable, which the timer sees to within SyncInterval.
func (w *writer) appendPiece(ctx context.Context, r io.Reader, size int64, cp *checkpoint) error {
	w.pmu.Lock()
	defer w.pmu.Unlock()
	if w.syncErr != nil {
		return w.syncErr
	}
	if w.open != nil && w.open.Size()+size > MaxPartSize {
		if err := w.commitLocked(ctx, true); err != nil {
			return err
		}
	}
	if w.open == nil {
		w.mu.Lock()
		n := len(w.parts) + 1
		w.mu.Unlock()
		open, err := w.opener.OpenPart(ctx, w.row.ObjectKey, w.row.StoreUpload, n)
		if err != nil {
			return err
		}
		w.open = open
	}
	if err := w.open.Append(ctx, r, size); err != nil {
		return err
	}
	if cp == nil {
		// Bytes past the pending state: it no longer describes the part,
		// which now only the request's end makes durable.
		w.pending = nil
		return nil
	}
	w.pending = cp
	if !w.armed && !w.ended {
		// Without the request's cancellation: a durable point is a short
		// local write of what arrived, which a client gone should not lose.
		keep := context.WithoutCancel(ctx)
		if w.timer == nil {
			w.timer = time.AfterFunc(w.u.limits.SyncInterval, func() { w.syncPending(keep) })
		} else {
			w.timer.Reset(w.u.limits.SyncInterval)
		}
		w.armed = true
	}
	return nil
}

// stopTimer ends the timer's durable points, waiting for one under way.
func (w *writer) stopTimer() {
	w.pmu.Lock()
	defer w.pmu.Unlock()
	w.ended = true
	if w.timer != nil {
		w.timer.Stop()
	}
	w.armed = false
}

// syncPending is the timer's durable point: the pending state, if any, is
// made durable and kept. Should that fail, the request fails with it.
func (w *writer) syncPending(ctx context.Context) {
	w.pmu.Lock()
	defer w.pmu.Unlock()
	w.armed = false
	if w.ended || w.pending == nil || w.syncErr != nil {
		return
	}
	if err := w.commitLocked(ctx, true); err != nil {
		w.syncErr = err
	}
}

// commitLocked (pmu held) commits the store part, one sync for all that
// was appended to it, and adds it to the parts; with keep, it then keeps
// the pending state, which names it.
func (w *writer) commitLocked(ctx context.Context, keep bool) error {
	if w.armed {
		w.timer.Stop()
		w.armed = false
	}
	cp := w.pending
	w.pending = nil
	if w.open == nil {
		return nil
	}
	part, err := w.open.Commit(ctx)
	w.open = nil
	if err != nil {
		return err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.parts = append(w.parts, part)
	if keep && cp != nil {
		return w.saveLocked(ctx, *cp, false)
	}
	return nil
}

// settle ends the request's storing: once the part being stored is, what
// the request appended to a store part is made durable and added to the
// parts, for the caller to keep the state after it (the pending state
// describes less than the part now holds).
func (w *writer) settle(ctx context.Context) error {
	if err := w.awaitPart(); err != nil {
		return err
	}
	if w.opener == nil {
		return nil
	}
	w.pmu.Lock()
	defer w.pmu.Unlock()
	if w.syncErr != nil {
		return w.syncErr
	}
	return w.commitLocked(ctx, false)
}

// keepPending ends a request that was refused (too large, past the quota)
// keeping the state after the last part stored, as S3 keeps it after each:
// on a partOpener it is made durable and kept now.
func (w *writer) keepPending(ctx context.Context) error {
	if w.opener == nil {
		return nil
	}
	w.pmu.Lock()
	defer w.pmu.Unlock()
	if w.syncErr != nil || w.pending == nil {
		return w.syncErr
	}
	return w.commitLocked(ctx, true)
}

// storedNothing reports whether no bytes went to the store yet.
func (w *writer) storedNothing() bool {
	w.pmu.Lock()
	defer w.pmu.Unlock()
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.parts) == 0 && w.open == nil
}
