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
