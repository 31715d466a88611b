package cases

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"

	"github.com/bevis-ir/bevis/access"
	"github.com/bevis-ir/bevis/internal/validate"
)

// Status is the phase of a case, after NIST SP 800-61.
type Status string

const (
	StatusNew           Status = "new"
	StatusTriage        Status = "triage"
	StatusInvestigating Status = "investigating"
	StatusContainment   Status = "containment"
	StatusEradication   Status = "eradication"
	StatusRecovery      Status = "recovery"
	StatusClosed        Status = "closed"
)

// Statuses lists the phases in their order.
var Statuses = []Status{StatusNew, StatusTriage, StatusInvestigating, StatusContainment, StatusEradication, StatusRecovery, StatusClosed}

// Valid reports whether s is a phase.
func (s Status) Valid() bool { return slices.Contains(Statuses, s) }

// transitions are the allowed moves. The phases run forward; containment,
// eradication and recovery may fall back to investigating when new facts
// turn up (the NIST cycle back to detection and analysis); new, triage and
// investigating may close a case that turns out to be nothing; and a closed
// case reopens into investigating.
var transitions = map[Status][]Status{
	StatusNew:           {StatusTriage, StatusClosed},
	StatusTriage:        {StatusInvestigating, StatusClosed},
	StatusInvestigating: {StatusContainment, StatusClosed},
	StatusContainment:   {StatusEradication, StatusInvestigating},
	StatusEradication:   {StatusRecovery, StatusInvestigating},
	StatusRecovery:      {StatusClosed, StatusInvestigating},
	StatusClosed:        {StatusInvestigating},
}

// AllowedFrom lists the phases a case in s may move to.
func AllowedFrom(s Status) []Status { return slices.Clone(transitions[s]) }

// Governs reports whether moving from → to closes or reopens a case, which
// only the lead decides.
func Governs(from, to Status) bool { return from == StatusClosed || to == StatusClosed }

// ErrInvalidTransition is a move the lifecycle does not allow.
var ErrInvalidTransition = errors.New("cases: transition not allowed")

// TransitionError says which move was refused and what is allowed.
type TransitionError struct {
	From, To Status
	Allowed  []Status
}

func (e *TransitionError) Error() string {
	allowed := make([]string, len(e.Allowed))
	for i, s := range e.Allowed {
		allowed[i] = string(s)
	}
	return fmt.Sprintf("a case cannot go from %s to %s; from %s it can go to %s", e.From, e.To, e.From, strings.Join(allowed, ", "))
}

func (e *TransitionError) Unwrap() error { return ErrInvalidTransition }

// ErrClosed refuses new work on a closed case: tasks, comments, timeline
// events, evidence, uploads and edits wait until a lead reopens it.
// Custody of the evidence it holds goes on, and so do changes to who may
// see it.
var ErrClosed = errors.New("cases: the case is closed")

// EnsureOpen answers ErrClosed when the case is closed (ErrNotFound when
// there is no such case), for writes that add work to it.
func (s *Store) EnsureOpen(ctx context.Context, id string) error {
	var status []string
	if err := s.db.WithContext(ctx).Model(&caseRow{}).Where("id = ?", id).Pluck("status", &status).Error; err != nil {
		return fmt.Errorf("cases: status: %w", err)
	}
	switch {
	case len(status) == 0:
		return ErrNotFound
	case Status(status[0]) == StatusClosed:
		return ErrClosed
	}
	return nil
}

// ErrLeadOnly is a change only the case's lead may make.
var ErrLeadOnly = fmt.Errorf("cases: only the lead may close or reopen a case: %w", access.ErrForbidden)

// Transition is one recorded status change.
type Transition struct {
	ID       string
	From, To Status // From is "" for the creation
	ByUser   string
	ByAgency string
	At       time.Time
	Reason   string
}

type transitionRow struct {
	ID         string `gorm:"primaryKey"`
	CaseID     string
	FromStatus string
	ToStatus   string
	ByUser     string
	ByAgency   string
	At         time.Time
	Reason     string
}

func (transitionRow) TableName() string { return "case_transitions" }

func recordTransition(tx *gorm.DB, caseID string, from, to Status, by access.Principal, at time.Time, reason string) error {
	return tx.Create(&transitionRow{ID: newID(), CaseID: caseID, FromStatus: string(from), ToStatus: string(to),
		ByUser: by.UserID, ByAgency: by.AgencyID, At: at, Reason: reason}).Error
}

// Move is the input to Transition. MayGovern says whether the caller may
// close or reopen the case.
type Move struct {
	To        Status
	Reason    string
	MayGovern bool
}

// Transition moves the case to m.To if its version is still version and
// the lifecycle allows it, and records who did it, when and why.
func (s *Store) Transition(ctx context.Context, by access.Principal, id string, version int64, m Move) (Case, error) {
	m.Reason = strings.TrimSpace(m.Reason)
	var v validate.Errors
	v.Check(m.To.Valid(), "to", "must be one of new, triage, investigating, containment, eradication, recovery, closed")
	v.Check(utf8.RuneCountInString(m.Reason) <= 2000 && !strings.ContainsRune(m.Reason, 0), "reason", "must be at most 2000 characters")
	if err := v.Err(); err != nil {
		return Case{}, err
	}
	now := s.clock()
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		row, err := claimVersion(tx, id, version, now)
		if err != nil {
			return err
		}
		if err := recordChange(ctx, tx, "cases.transitions.post", "cases", id, id); err != nil {
			return err
		}
		from := Status(row.Status)
		if !slices.Contains(transitions[from], m.To) {
			return &TransitionError{From: from, To: m.To, Allowed: AllowedFrom(from)}
		}
		if Governs(from, m.To) && !m.MayGovern {
			return ErrLeadOnly
		}
		if err := tx.Model(&caseRow{}).Where("id = ?", id).
			Updates(map[string]any{"status": string(m.To), "status_changed_at": now}).Error; err != nil {
			return err
		}
		return recordTransition(tx, id, from, m.To, by, now, m.Reason)
	})
	if err != nil {
		return Case{}, wrapWrite("transition", err)
	}
	return s.Get(ctx, id)
}

// Phase is one stay of a case in a status.
type Phase struct {
	Status    Status
	EnteredAt time.Time
	LeftAt    *time.Time // nil for the current phase
	Duration  time.Duration
}

// History is a case's status changes and the time it spent in each phase.
type History struct {
	Transitions []Transition
	Phases      []Phase
	// TimeIn sums the phases by status, the current one up to now.
	TimeIn map[Status]time.Duration
}

// History returns the status changes of a case, oldest first, with the
// time spent in each phase.
func (s *Store) History(ctx context.Context, id string) (History, error) {
	var rows []transitionRow
	if err := s.db.WithContext(ctx).Where("case_id = ?", id).Order("at, id").Find(&rows).Error; err != nil {
		return History{}, fmt.Errorf("cases: history: %w", err)
	}
	if len(rows) == 0 {
		return History{}, ErrNotFound
	}
	now := s.clock()
	h := History{TimeIn: map[Status]time.Duration{}}
	for i, r := range rows {
		t := Transition{ID: r.ID, From: Status(r.FromStatus), To: Status(r.ToStatus), ByUser: r.ByUser,
			ByAgency: r.ByAgency, At: r.At.UTC(), Reason: r.Reason}
		h.Transitions = append(h.Transitions, t)
		p := Phase{Status: t.To, EnteredAt: t.At, Duration: now.Sub(t.At)}
		if i+1 < len(rows) {
			left := rows[i+1].At.UTC()
			p.LeftAt, p.Duration = &left, left.Sub(t.At)
		}
		h.Phases = append(h.Phases, p)
		h.TimeIn[p.Status] += p.Duration
	}
	return h, nil
}
