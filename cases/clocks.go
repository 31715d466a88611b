package cases

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"

	"github.com/bevis-ir/bevis/access"
	"github.com/bevis-ir/bevis/internal/validate"
)

// ClockState is where a regulatory clock stands.
type ClockState string

const (
	ClockPending ClockState = "pending" // not met, and not past due (or no due time yet)
	ClockMet     ClockState = "met"
	ClockOverdue ClockState = "overdue" // not met, and past due
)

// Valid reports whether s is a clock state.
func (s ClockState) Valid() bool { return s == ClockPending || s == ClockMet || s == ClockOverdue }

// Clock is one regulatory deadline of a case.
type Clock struct {
	ID           string // the rule's ID, e.g. gdpr.art33
	Jurisdiction string
	Title        string
	DueAt        *time.Time // nil while the fact it runs from is unknown
	State        ClockState
	Met          *ClockMeeting
}

// ClockMeeting is the action that met a clock.
type ClockMeeting struct {
	At         time.Time // when the notification was made
	ByUser     string
	ByAgency   string
	Reference  string // e.g. the authority's acknowledgement number
	RecordedAt time.Time
	Late       bool // made after the due time
}

type clockRow struct {
	CaseID       string `gorm:"primaryKey"`
	Clock        string `gorm:"primaryKey"`
	Jurisdiction string
	Title        string
	DueAt        *time.Time
	MetAt        *time.Time
	MetBy        *string
	MetByAgency  *string
	MetReference string
	RecordedAt   *time.Time
}

func (clockRow) TableName() string { return "case_clocks" }

func (r clockRow) toClock(now time.Time) Clock {
	c := Clock{ID: r.Clock, Jurisdiction: r.Jurisdiction, Title: r.Title, DueAt: utcPtr(r.DueAt), State: ClockPending}
	switch {
	case r.MetAt != nil:
		c.State = ClockMet
		m := &ClockMeeting{At: r.MetAt.UTC(), Reference: r.MetReference, Late: c.DueAt != nil && r.MetAt.After(*c.DueAt)}
		if r.MetBy != nil {
			m.ByUser = *r.MetBy
		}
		if r.MetByAgency != nil {
			m.ByAgency = *r.MetByAgency
		}
		if r.RecordedAt != nil {
			m.RecordedAt = r.RecordedAt.UTC()
		}
		c.Met = m
	case c.DueAt != nil && now.After(*c.DueAt):
		c.State = ClockOverdue
	}
	return c
}

// syncClocks derives the clocks of a case from its facts and the rules and
// stores them: new clocks are added, due times follow the facts, a clock
// that no longer applies is dropped unless it was met (that happened).
func (s *Store) syncClocks(tx *gorm.DB, row caseRow) error {
	var existing []clockRow
	if err := tx.Where("case_id = ?", row.ID).Find(&existing).Error; err != nil {
		return err
	}
	keep, drop := s.deriveClocks(row.toCase(), existing)
	for i := range keep {
		if err := tx.Save(&keep[i]).Error; err != nil {
			return err
		}
	}
	for _, id := range drop {
		if err := tx.Where("case_id = ? AND clock = ?", row.ID, id).Delete(&clockRow{}).Error; err != nil {
			return err
		}
	}
	return nil
}

// deriveClocks returns the clocks case k should have, given the ones it
// has (existing), and the IDs of those to drop: unmet clocks that no
// longer apply.
func (s *Store) deriveClocks(k Case, existing []clockRow) (keep []clockRow, drop []string) {
	have := map[string]clockRow{}
	for _, c := range existing {
		have[c.Clock] = c
	}
	wanted := map[string]bool{}
	for _, rule := range s.rules.rules {
		if !rule.appliesTo(k) {
			continue
		}
		wanted[rule.ID] = true
		c, ok := have[rule.ID]
		if !ok {
			c = clockRow{CaseID: k.ID, Clock: rule.ID}
		}
		c.Jurisdiction, c.Title = rule.Jurisdiction, rule.Title
		c.DueAt = nil
		if anchor := rule.anchorOf(k, have); anchor != nil {
			due := rule.After.addTo(*anchor)
			c.DueAt = &due
		}
		have[rule.ID] = c // a later rule may run from this one
		keep = append(keep, c)
	}
	for id, c := range have {
		if !wanted[id] && c.MetAt == nil {
			drop = append(drop, id)
		}
	}
	return keep, drop
}

// ErrClockMet is a clock that was already met.
var ErrClockMet = errors.New("cases: the clock is already met")

// Meeting is the input to MeetClock. A nil At means now.
type Meeting struct {
	At        *time.Time
	Reference string
}

// MeetClock records that the notification a clock asks for was made, by
// whom, when and under what reference, if the case's version is still
// version. Clocks that run from this one get their due times.
func (s *Store) MeetClock(ctx context.Context, by access.Principal, caseID string, version int64, clock string, m Meeting) (Case, error) {
	now := s.clock()
	at := now
	if m.At != nil {
		at = m.At.UTC().Truncate(time.Microsecond)
	}
	m.Reference = strings.TrimSpace(m.Reference)
	var v validate.Errors
	v.Check(oneLine(m.Reference, 1, 200), "reference", "must be 1 to 200 characters on one line (the notification's reference)")
	v.Check(!at.After(now), "met_at", "must not be in the future")
	if err := v.Err(); err != nil {
		return Case{}, err
	}
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		row, err := claimVersion(tx, caseID, version, now)
		if err != nil {
			return err
		}
		if Status(row.Status) == StatusClosed {
			return ErrClosed
		}
		if err := recordChange(ctx, tx, "cases.clocks.met.post", "clocks", clock, caseID); err != nil {
			return err
		}
		var c clockRow
		err = tx.Where("case_id = ? AND clock = ?", caseID, clock).Take(&c).Error
		switch {
		case errors.Is(err, gorm.ErrRecordNotFound):
			return ErrNotFound
		case err != nil:
			return err
		case c.MetAt != nil:
			return ErrClockMet
		}
		c.MetAt, c.MetBy, c.MetByAgency, c.MetReference, c.RecordedAt = &at, &by.UserID, &by.AgencyID, m.Reference, &now
		if err := tx.Save(&c).Error; err != nil {
			return err
		}
		return s.syncClocks(tx, row)
	})
	if err != nil {
		return Case{}, wrapWrite("meet clock", err)
	}
	return s.Get(ctx, caseID)
}

// clockFilter is the SQL condition for a case having a clock in state, for
// the case list; now is the injected time.
func clockFilter(db *gorm.DB, state ClockState, now time.Time) *gorm.DB {
	cond, args := clockCondition(state, now)
	return db.Where("EXISTS (SELECT 1 FROM case_clocks k WHERE k.case_id = cases.id AND "+cond+")", args...)
}

// clockCondition is the SQL condition for a clock, named k, being in
// state at now. The open states read the index of open clocks
// (case_clocks_open).
func clockCondition(state ClockState, now time.Time) (string, []any) {
	switch state {
	case ClockMet:
		return "k.met_at IS NOT NULL", nil
	case ClockOverdue:
		return "k.met_at IS NULL AND k.due_at < ?", []any{now}
	}
	return "k.met_at IS NULL AND (k.due_at IS NULL OR k.due_at >= ?)", []any{now}
}

// order sorts clocks by the order of their rules.
func (r ClockRules) order(clocks []Clock) {
	slices.SortStableFunc(clocks, func(a, b Clock) int { return r.index(a.ID) - r.index(b.ID) })
}

func (r ClockRules) index(id string) int {
	for i, rule := range r.rules {
		if rule.ID == id {
			return i
		}
	}
	return len(r.rules) // a met clock whose rule was since removed
}

// validClockID is the shape of rule IDs, which appear in URLs.
func validClockID(id string) bool {
	if utf8.RuneCountInString(id) < 1 || len(id) > 64 {
		return false
	}
	for _, r := range id {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '.' && r != '_' && r != '-' {
			return false
		}
	}
	return true
}
