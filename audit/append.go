package audit

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// Append records e in the caller's transaction tx, so the entry commits
// with the change it records or not at all. The actor and request ID come
// from ctx (see WithActor) when e has none.
func Append(ctx context.Context, tx *gorm.DB, e Entry) error {
	r, err := normalize(fromContext(ctx, e), time.Now())
	if err != nil {
		return err
	}
	if err := tx.WithContext(ctx).Create(&r).Error; err != nil {
		return fmt.Errorf("audit: append: %w", err)
	}
	markAppended(ctx)
	return nil
}

// Change records a successful change in the transaction tx making it: the
// form domain packages use (and access receives as a function, as it may
// not import this package).
func Change(ctx context.Context, tx *gorm.DB, action, resourceType, resourceID, caseID string) error {
	return Append(ctx, tx, Entry{Action: action, Outcome: Success, ResourceType: resourceType, ResourceID: resourceID,
		CaseID: caseID})
}
