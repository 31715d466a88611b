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

// recordStep puts a custody step on the audit log in the transaction
// recording it, naming the step (and the agency a transfer is offered to),
// so an auditor reads a handover from the log alone.
func recordStep(ctx context.Context, tx *gorm.DB, st Step, itemID, caseID string) error {
	detail := map[string]string{"step": string(st.Type)}
	if st.CounterpartyAgencyID != "" {
		detail["counterparty_agency_id"] = st.CounterpartyAgencyID
	}
	return audit.ChangeWith(ctx, tx, "evidence.custody.post", "evidence", itemID, caseID, detail)
}
