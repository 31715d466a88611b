package cases

import (
	"fmt"

	"gorm.io/gorm"
)

// allocateReference hands out the next reference of year, BEV-2026-0042,
// inside the caller's transaction. The counter row is locked by the upsert
// until that transaction ends, so two nodes creating cases at once queue on
// it and never share a number, and a creation that rolls back returns its
// number. The UNIQUE index on cases.reference backs this up. Creations of
// one node take the lock once per group (see db.Serial).
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
