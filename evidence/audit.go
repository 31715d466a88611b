package evidence

import (
	"context"

	"gorm.io/gorm"

	"github.com/bevis-ir/bevis/audit"
)

// recordChange puts a change to an evidence item on the audit log in the
// transaction making it. The actor comes from ctx; Bevis's own steps (a
// scheduled verification) have none.
func recordChange(ctx context.Context, tx *gorm.DB, action, itemID, caseID string) error {
	return audit.Change(ctx, tx, action, "evidence", itemID, caseID)
}
