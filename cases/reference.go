package cases

import (
	"gorm.io/gorm"

	"github.com/bevis-ir/bevis/internal/db"
)

// referenceOf is the statement that hands out the next reference of year,
// BEV-2026-0042 (at least four digits), into *ref, inside the caller's
// transaction. The counter row is locked by the upsert until that
// transaction ends, so two nodes creating cases at once queue on it and
// never share a number, and a creation that rolls back returns its number.
// The UNIQUE index on cases.reference backs this up. Creations of one node
// take the lock once per group (see db.Serial). On PostgreSQL it is a part
// of the creation's one statement (db.PrepareOneStatement), which the
// group sends with the others' in one pipeline (Prepared.RunSerial).
func referenceOf(tx *gorm.DB, year int, ref *string) db.Lead {
	format := "'BEV-' || year || '-' || lpad(last::text, greatest(4, length(last::text)), '0')"
	if db.Dialect(tx) == db.SQLite {
		format = "printf('BEV-%d-%04d', year, last)"
	}
	return db.Lead{SQL: `
		INSERT INTO case_reference_counters (year, last) VALUES (?, 1)
		ON CONFLICT (year) DO UPDATE SET last = case_reference_counters.last + 1
		RETURNING ` + format + ` AS reference`, Vars: []any{year}, Answer: "reference", Into: ref}
}
