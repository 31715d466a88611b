package audit

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// Backlog is what is recorded but not yet sealed into the chain: the
// number of entries and when the oldest of them was recorded (zero when
// there are none). It grows while no node leads the sequencer.
type Backlog struct {
	Entries int64
	Oldest  time.Time
}

// Unsealed reads the backlog. It looks only where unsealed entries can be
// (on SQLite past the chain head's entry, on PostgreSQL from the head's
// scan_from on), so it stays cheap however long the log is.
func Unsealed(ctx context.Context, db *gorm.DB) (Backlog, error) {
	where := "e.pos > COALESCE((SELECT h.pos FROM audit_chain c JOIN audit_entries h ON h.id = c.entry_id" +
		" ORDER BY c.seq DESC LIMIT 1), 0)"
	if db.Dialector.Name() == "postgres" {
		where = "e.xid >= COALESCE((SELECT scan_from FROM audit_chain ORDER BY seq DESC LIMIT 1), 0)::text::xid8" +
			" AND " + notSealed
	}
	var b Backlog
	q := db.WithContext(ctx)
	if err := q.Raw("SELECT count(*) FROM audit_entries e WHERE " + where).Scan(&b.Entries).Error; err != nil {
		return Backlog{}, fmt.Errorf("audit: unsealed entries: %w", err)
	}
	if b.Entries == 0 {
		return b, nil
	}
	var oldest []time.Time
	if err := q.Raw("SELECT e.at FROM audit_entries e WHERE " + where + " ORDER BY e.at LIMIT 1").Scan(&oldest).Error; err != nil {
		return Backlog{}, fmt.Errorf("audit: oldest unsealed entry: %w", err)
	}
	if len(oldest) > 0 {
		b.Oldest = oldest[0].UTC()
	}
	return b, nil
}
