package evidence

import (
	"context"
	"errors"
	"fmt"

	"gorm.io/gorm"
)

// ErrDisposed is a read of the content of an item disposed of: it is no
// longer available, though its record stays.
var ErrDisposed = errors.New("evidence: the item was disposed of; its content is no longer available")

// notDisposed is the SQL condition of an item i not disposed of.
const notDisposed = `NOT EXISTS (SELECT 1 FROM custody_events d WHERE d.item_id = i.id AND d.type = 'disposed')`

// Available returns ErrDisposed for an item disposed of, whose content may
// no longer be read.
func (c *Content) Available(ctx context.Context, it Item) error {
	var n int64
	err := c.db.WithContext(ctx).Model(&eventRow{}).Where("item_id = ? AND type = ?", it.ID, EventDisposed).Count(&n).Error
	if err != nil {
		return fmt.Errorf("evidence: disposal of %s: %w", it.ID, err)
	}
	if n > 0 {
		return ErrDisposed
	}
	return nil
}

// DeleteDisposed deletes the stored content of an item disposed of, once
// the store's retention allows it, and records the deletion on its custody
// record (the record itself stays). It reports whether the content is
// deleted now; false with no error means its retention has not passed yet.
func (c *Content) DeleteDisposed(ctx context.Context, it Item) (bool, error) {
	if it.ContentStatus != "received" {
		return false, nil
	}
	err := c.store.DeleteVersion(ctx, it.ObjectKey, it.ObjectVersion)
	switch {
	case errors.Is(err, ErrRetained):
		return false, nil
	case errors.Is(err, ErrObjectNotFound):
		// Deleted by an earlier attempt that could not record it.
	case err != nil:
		return false, err
	}
	now := c.now()
	err = c.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		past, err := events(tx, it.ID)
		if err != nil {
			return err
		}
		cur := Derive(past)
		if cur.Final != EventDisposed {
			return fmt.Errorf("evidence: %s is not disposed of", it.ID)
		}
		if cur.ContentDeleted {
			return nil
		}
		if err := recordChange(ctx, tx, "evidence.content.deleted", it.ID, it.CaseID); err != nil {
			return err
		}
		return appendEvent(tx, it.ID, past, &Event{Type: EventContentDeleted,
			Details:    Details{ObjectKey: it.ObjectKey, ObjectVersion: it.ObjectVersion, SHA256: it.Computed.SHA256},
			Notes:      "the stored content of the disposed item was deleted once its retention allowed it",
			OccurredAt: now, RecordedAt: now})
	})
	if err != nil {
		return false, fmt.Errorf("evidence: record deletion of %s: %w", it.ExhibitNumber, err)
	}
	return true, nil
}

// SweepDisposed deletes the content of up to limit items disposed of whose
// content is still stored, as their retention allows, and returns how
// many it deleted.
func (c *Content) SweepDisposed(ctx context.Context, limit int) (int, error) {
	var rows []itemRow
	err := c.db.WithContext(ctx).Raw(`SELECT i.* FROM evidence_items i WHERE i.content_status = 'received'
		AND NOT `+notDisposed+` -- disposed of
		AND NOT EXISTS (SELECT 1 FROM custody_events x WHERE x.item_id = i.id AND x.type = 'content_deleted')
		ORDER BY i.id LIMIT ?`, limit).Scan(&rows).Error
	if err != nil {
		return 0, fmt.Errorf("evidence: disposed items: %w", err)
	}
	deleted := 0
	var errs error
	for _, r := range rows {
		ok, err := c.DeleteDisposed(ctx, r.item())
		if errors.Is(err, ErrStoreUnavailable) {
			return deleted, err
		}
		errs = errors.Join(errs, err)
		if ok {
			deleted++
		}
	}
	return deleted, errs
}
