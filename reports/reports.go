// Package reports holds the read models for leadership: the portfolio over
// the cases a person can read, the situation report of one case, and the
// reports a lead issued as numbered, immutable records.
//
// Every query starts from access.CaseScope (the cases the caller can read)
// or from a case the API has already authorized, and filters the items of a
// case (timeline events, evidence) by the TLP markings the caller may see,
// so nothing of a case or item outside the caller's need-to-know is counted,
// named or shown. The package reads the tables of cases and evidence
// directly: it is a read model, and it never writes them.
package reports

import (
	"errors"
	"time"

	"gorm.io/gorm"

	"github.com/bevis-ir/bevis/access"
)

// ErrNotFound is an issued report that does not exist (or a case without one).
var ErrNotFound = errors.New("reports: not found")

// Store reads portfolios and situation reports and keeps issued reports.
type Store struct {
	db  *gorm.DB
	now func() time.Time
}

// NewStore returns the reports of db.
func NewStore(db *gorm.DB) *Store {
	return &Store{db: db, now: time.Now}
}

// SetClock makes the store read the time from now (tests inject one).
func (s *Store) SetClock(now func() time.Time) { s.now = now }

func (s *Store) clock() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// visibleItems is the SQL condition for an item of a readable case (alias
// alias, with a tlp column) being one p may see, by the rules of
// access.ItemMarkings: AMBER+STRICT items are for named users of member
// agencies, RED items for named users. The case itself must already be
// known readable (in scope, so not excluded).
func visibleItems(alias string, p access.Principal) (string, []any) {
	return `(` + alias + `.tlp IN ('CLEAR', 'GREEN', 'AMBER')
		OR (` + alias + `.tlp = 'RED' AND EXISTS (SELECT 1 FROM case_user_members vu WHERE vu.case_id = ` + alias + `.case_id AND vu.user_id = ?))
		OR (` + alias + `.tlp = 'AMBER+STRICT' AND EXISTS (SELECT 1 FROM case_user_members vu WHERE vu.case_id = ` + alias + `.case_id AND vu.user_id = ?)
		    AND EXISTS (SELECT 1 FROM case_agency_members va WHERE va.case_id = ` + alias + `.case_id AND va.agency_id = ?)))`,
		[]any{p.UserID, p.UserID, p.AgencyID}
}

// markedAs is the SQL condition for an item (alias, with a tlp column)
// carrying one of markings; with none, nothing matches.
func markedAs(alias string, markings []access.TLP) (string, []any) {
	if len(markings) == 0 {
		return "1 = 0", nil
	}
	ms := make([]string, len(markings))
	for i, m := range markings {
		ms[i] = string(m)
	}
	return alias + ".tlp IN ?", []any{ms}
}
