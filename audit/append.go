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
	// Every change writes one: the statement is built once, not by GORM's
	// reflection over the row each time.
	if err := tx.WithContext(ctx).Exec(insertEntry, r.values()...).Error; err != nil {
		return fmt.Errorf("audit: append: %w", err)
	}
	markAppended(ctx)
	return nil
}

// entryTable is the audit table with an entryRow's columns, in the order of values.
const entryTable = `audit_entries (id, at, user_id, agency_id, token_id, client_ip, user_agent, action,
	resource_type, resource_id, case_id, outcome, request_id, range_offset, range_length, detail)`

// insertEntry inserts an entryRow, its values in the order of values.
const insertEntry = `INSERT INTO ` + entryTable + ` VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

func (r entryRow) values() []any {
	return []any{r.ID, r.At, r.UserID, r.AgencyID, r.TokenID, r.ClientIP, r.UserAgent, r.Action, r.ResourceType,
		r.ResourceID, r.CaseID, r.Outcome, r.RequestID, r.RangeOffset, r.RangeLength, r.Detail}
}

// Change records a successful change in the transaction tx making it: the
// form domain packages use (and access receives as a function, as it may
// not import this package).
func Change(ctx context.Context, tx *gorm.DB, action, resourceType, resourceID, caseID string) error {
	return ChangeWith(ctx, tx, action, resourceType, resourceID, caseID, nil)
}

// ChangeWith is Change with the entry's detail (what changed, in words an
// auditor reads: a custody step, an approval's reason).
func ChangeWith(ctx context.Context, tx *gorm.DB, action, resourceType, resourceID, caseID string, detail map[string]string) error {
	return Append(ctx, tx, Entry{Action: action, Outcome: Success, ResourceType: resourceType, ResourceID: resourceID,
		CaseID: caseID, Detail: detail})
}

// ChangeStatement is Change for a transaction GORM does not run (a pgx COPY
// on PostgreSQL): the INSERT, with PostgreSQL placeholders, and its
// arguments, for the caller to execute in that transaction.
func ChangeStatement(ctx context.Context, action, resourceType, resourceID, caseID string) (string, []any, error) {
	r, err := changeRow(ctx, action, resourceType, resourceID, caseID)
	if err != nil {
		return "", nil, err
	}
	return `INSERT INTO ` + entryTable + `
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`, r.values(), nil
}

// ChangeFrom is Change for a write that is one PostgreSQL statement (a
// WITH query whose parts change rows): the INSERT, with ? placeholders,
// of one entry for each row of from (a table the statement names), and its
// arguments. The caller's statement commits the entry with the change, or
// neither.
func ChangeFrom(ctx context.Context, from, action, resourceType, resourceID, caseID string) (string, []any, error) {
	r, err := changeRow(ctx, action, resourceType, resourceID, caseID)
	if err != nil {
		return "", nil, err
	}
	return `INSERT INTO ` + entryTable + `
		SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ? FROM ` + from, r.values(), nil
}

// changeRow is the entry of a successful change made on behalf of ctx's actor.
func changeRow(ctx context.Context, action, resourceType, resourceID, caseID string) (entryRow, error) {
	r, err := normalize(fromContext(ctx, Entry{Action: action, Outcome: Success, ResourceType: resourceType,
		ResourceID: resourceID, CaseID: caseID}), time.Now())
	if err != nil {
		return entryRow{}, err
	}
	markAppended(ctx)
	return r, nil
}
