package access

import (
	"context"

	"gorm.io/gorm"
)

// ChangeRecorder records a change in the transaction tx that makes it (the
// audit log's audit.Change, which access may not import itself).
type ChangeRecorder func(ctx context.Context, tx *gorm.DB, action, resourceType, resourceID, caseID string) error

// changes puts the stores' changes on the record given to RecordChangesWith.
type changes struct{ record ChangeRecorder }

// RecordChangesWith has every change recorded by r, in the change's own
// transaction.
func (c *changes) RecordChangesWith(r ChangeRecorder) { c.record = r }

// inTx runs fn on db and records it as action, in one transaction.
func (c *changes) inTx(ctx context.Context, db *gorm.DB, action, resourceType, resourceID, caseID string,
	fn func(tx *gorm.DB) error) error {
	return db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := fn(tx); err != nil {
			return err
		}
		return c.recordIn(ctx, tx, action, resourceType, resourceID, caseID)
	})
}

// recordIn records a change made in the transaction tx, in it.
func (c *changes) recordIn(ctx context.Context, tx *gorm.DB, action, resourceType, resourceID, caseID string) error {
	if c.record == nil {
		return nil
	}
	return c.record(ctx, tx, action, resourceType, resourceID, caseID)
}
