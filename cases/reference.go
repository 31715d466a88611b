package cases

import (
	"fmt"

	"gorm.io/gorm"

	"github.com/bevis-ir/bevis/internal/db"
)

// allocateReference hands out the next reference of year, BEV-2026-0042,
// inside the caller's transaction. The counter row is locked by the upsert
// until that transaction ends, so two nodes creating cases at once queue on
// it and never share a number, and a creation that rolls back returns its
// number. The UNIQUE index on cases.reference backs this up.
func allocateReference(tx *gorm.DB, year int) (string, error) {
	var last int
	err := tx.Raw(`
		INSERT INTO case_reference_counters (year, last) VALUES (?, 1)
		ON CONFLICT (year) DO UPDATE SET last = case_reference_counters.last + 1
		RETURNING last`, year).Scan(&last).Error
	if err != nil {
		return "", fmt.Errorf("allocate reference: %w", err)
	}
	return fmt.Sprintf("BEV-%d-%04d", year, last), nil
}

// referenceLast reports whether a creation allocates its reference as its
// last statement (referenceCase) rather than its first (allocateReference).
// On PostgreSQL, where many creations run at once, the counter's row lock
// is held from the allocation to the commit and every other creation of
// the year queues behind it: allocated first, the lock covered the whole
// transaction (eight round trips and the commit; 80% of the waits sampled
// while opening cases at 16 in flight), allocated last only the commit.
// SQLite runs one writer at a time, so the order changes nothing there.
func referenceLast(tx *gorm.DB) bool { return db.Dialect(tx) == db.Postgres }

// pendingReference is the reference a case holds, unseen, inside the
// transaction that creates it until referenceCase gives it its own.
func pendingReference(caseID string) string { return "pending-" + caseID }

// referenceCase allocates the next reference of year as allocateReference
// does and gives it to the case, in one statement (PostgreSQL).
func referenceCase(tx *gorm.DB, caseID string, year int) (string, error) {
	var ref string
	err := tx.Raw(`
		WITH n AS (
			INSERT INTO case_reference_counters (year, last) VALUES (?, 1)
			ON CONFLICT (year) DO UPDATE SET last = case_reference_counters.last + 1
			RETURNING last)
		UPDATE cases SET reference = 'BEV-' || ? || '-' || lpad(n.last::text, greatest(4, length(n.last::text)), '0')
		FROM n WHERE cases.id = ?
		RETURNING cases.reference`, year, fmt.Sprint(year), caseID).Scan(&ref).Error
	if err != nil {
		return "", fmt.Errorf("allocate reference: %w", err)
	}
	return ref, nil
}
