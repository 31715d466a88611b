package evidence

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"time"

	"gorm.io/gorm"

	"github.com/bevis-ir/bevis/access"
)

// ErrNoContent is an item whose content has not been received.
var ErrNoContent = errors.New("evidence: the item has no content")

// Content reads and re-verifies received evidence content.
type Content struct {
	db    *gorm.DB
	store BlobStore
	keys  *Keyring
	now   func() time.Time
}

// NewContent returns the content reader.
func NewContent(db *gorm.DB, store BlobStore, keys *Keyring) *Content {
	return &Content{db: db, store: store, keys: keys, now: func() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }}
}

// Open reads length bytes (-1: to the end) of an item's content from
// offset: exactly the version recorded, unsealed, every chunk
// authenticated on the way.
func (c *Content) Open(ctx context.Context, it Item, offset, length int64) (io.ReadCloser, error) {
	if it.ContentStatus != "received" {
		return nil, ErrNoContent
	}
	return OpenSealedObject(ctx, c.store, c.keys, it.ObjectKey, it.ObjectVersion, it.Size, offset, length)
}

// SetHold places or lifts the legal hold on an item's stored content, so
// that the store itself refuses to delete it while the custody record says
// it is held. Items without content have nothing to hold.
func (c *Content) SetHold(ctx context.Context, it Item, on bool) error {
	if it.ContentStatus != "received" {
		return nil
	}
	return c.store.SetLegalHold(ctx, it.ObjectKey, it.ObjectVersion, on)
}

// Verification is the outcome of re-reading an item's content.
type Verification struct {
	Result string // ok, mismatch or missing
	SHA256 string // what the stored bytes hash to now, when they could be read
	Event  Event
}

// Verify re-reads an item's whole content, recomputes its SHA-256 and
// records the result as a verified custody event: ok, mismatch (the
// object was changed, or does not open), or missing. by is the person who
// asked, or the zero Principal for Bevis's own scheduled checks. A storage
// outage is an error, not a result.
func (c *Content) Verify(ctx context.Context, by access.Principal, it Item) (Verification, error) {
	if it.ContentStatus != "received" {
		return Verification{}, ErrNoContent
	}
	v := Verification{Result: "ok"}
	r, err := c.Open(ctx, it, 0, -1)
	if err == nil {
		h := sha256.New()
		_, err = io.Copy(h, r)
		_ = r.Close()
		v.SHA256 = hex.EncodeToString(h.Sum(nil))
	}
	switch {
	case errors.Is(err, ErrObjectNotFound):
		v.Result, v.SHA256 = "missing", ""
	case errors.Is(err, ErrStoreUnavailable), errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return Verification{}, err
	case err != nil:
		// The object is there but does not open: it was modified, cut
		// short, or replaced.
		v.Result, v.SHA256 = "mismatch", ""
	case v.SHA256 != it.Computed.SHA256:
		v.Result = "mismatch"
	}
	if v.Result != "missing" {
		if err := c.reconcileHold(ctx, it); err != nil {
			return Verification{}, err
		}
	}
	now := c.now()
	v.Event = Event{Type: EventVerified, ActorUserID: by.UserID, ActorAgencyID: by.AgencyID,
		Details: Details{Result: v.Result, SHA256: v.SHA256}, OccurredAt: now, RecordedAt: now}
	if err != nil && v.Result != "missing" {
		v.Event.Notes = "the stored object does not open: " + err.Error()
	}
	err = c.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := recordChange(ctx, tx, "evidence.verify", it.ID, it.CaseID); err != nil {
			return err
		}
		return recordOwn(tx, it.ID, &v.Event)
	})
	if err != nil {
		return Verification{}, fmt.Errorf("evidence: record verification: %w", err)
	}
	return v, nil
}

// reconcileHold makes the stored object's legal hold what the custody
// record says, repairing a hold a storage outage left behind.
func (c *Content) reconcileHold(ctx context.Context, it Item) error {
	evs, err := events(c.db.WithContext(ctx), it.ID)
	if err != nil {
		return err
	}
	held := Derive(evs).LegalHold
	info, err := c.store.Stat(ctx, it.ObjectKey, it.ObjectVersion)
	switch {
	case errors.Is(err, ErrObjectNotFound):
		return nil // a missing object is the verification's finding
	case err != nil:
		return err
	case info.LegalHold == held:
		return nil
	}
	return c.SetHold(ctx, it, held)
}

// Due lists received items not verified since before, oldest check first,
// for the scheduled re-verification.
func (c *Content) Due(ctx context.Context, before time.Time, limit int) ([]Item, error) {
	var rows []itemRow
	err := c.db.WithContext(ctx).Raw(`
		SELECT i.* FROM evidence_items i
		WHERE i.content_status = 'received'
		  AND COALESCE((SELECT MAX(e.recorded_at) FROM custody_events e WHERE e.item_id = i.id AND e.type = 'verified'),
		               i.received_at) < ?
		ORDER BY i.received_at LIMIT ?`, before, limit).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("evidence: items due for verification: %w", err)
	}
	out := make([]Item, len(rows))
	for i, r := range rows {
		out[i] = r.item()
	}
	return out, nil
}
