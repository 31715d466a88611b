package cases

import (
	"context"

	"gorm.io/gorm"

	"github.com/bevis-ir/bevis/audit"
)

// recordChange puts a change on the audit log in the transaction making
// it, so it commits with the change or not at all. The actor comes from
// ctx (the API puts the caller there).
func recordChange(ctx context.Context, tx *gorm.DB, action, resourceType, resourceID, caseID string) error {
	return audit.Change(ctx, tx, action, resourceType, resourceID, caseID)
}
