// Package alerts raises exfiltration alerts from the audit stream: one
// user reading more evidence bytes or items than usual within a window,
// downloading across many cases, reading case data in bulk, or working at
// an hour they never work at. Alerts are stored (one per actor, rule and
// window), sent to a webhook, and shown to admins and the leads of the
// cases they touch. An optional hard limit refuses evidence downloads past
// a byte budget per window until a lead of the case approves. Integrity
// incidents (evidence found changed, missing or written to behind Bevis's
// back) are alerts of their own rule, raised by the evidence package.
//
// Windows are recomputed from the audit tables on every evaluation rather
// than kept in memory, so they survive restarts, count the entries every
// node recorded, and a batch the engine had to drop under load is still
// counted by the next evaluation of the same actor.
//
// The actor is the user: an API token acts for its owner, so a user's
// sessions and tokens share one budget (splitting a bulk read over several
// tokens does not hide it); an alert names the token when the entries that
// raised it came through one.
package alerts

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/bevis-ir/bevis/audit"
	"github.com/bevis-ir/bevis/internal/validate"
)

// ErrNotFound is an alert that does not exist.
var ErrNotFound = errors.New("alerts: not found")

// Rule names what an alert is about.
type Rule string

const (
	RuleEvidenceBytes Rule = "evidence_bytes"       // more than MaxBytes of evidence content in Window
	RuleEvidenceItems Rule = "evidence_items"       // more than MaxItems distinct items downloaded in Window
	RuleManyCases     Rule = "cross_case_downloads" // downloads from more than MaxCases cases in Window
	RuleBulkReads     Rule = "bulk_reads"           // more than MaxReads reads of case data in ReadsWindow
	RuleUnusualHour   Rule = "unusual_hour"         // case data read at an hour the user rarely works
	RuleHardLimit     Rule = "download_hard_limit"  // a download refused by the hard limit
)

// Status is where an alert stands.
type Status string

const (
	StatusOpen         Status = "open"
	StatusAcknowledged Status = "acknowledged" // someone is looking at it
	StatusApproved     Status = "approved"     // a lead approved the activity; the hard limit is lifted until ApprovedUntil
)

// Alert is one raised alert with the figures of its window.
type Alert struct {
	ID          string
	Rule        Rule
	UserID      string
	AgencyID    string
	TokenID     string
	CaseIDs     []string
	WindowStart time.Time
	WindowEnd   time.Time
	// Figures of the window: evidence bytes and distinct items downloaded,
	// cases downloaded from, reads of case data. Threshold is the rule's
	// limit that was passed.
	Bytes, Items, Cases, Reads int64
	Threshold                  int64
	Note                       string
	Status                     Status
	CreatedAt                  time.Time

	AcknowledgedBy string
	AcknowledgedAt *time.Time
	ApprovedBy     string
	ApprovedAt     *time.Time
	ApprovedUntil  *time.Time
	ApprovalReason string // why the approver expected the activity
}

type alertRow struct {
	ID             string `gorm:"primaryKey"`
	Rule           string
	UserID         string
	AgencyID       string
	TokenID        string
	Scope          string
	DedupKey       string
	WindowStart    time.Time
	WindowEnd      time.Time
	Bytes          int64
	Items          int64
	Cases          int64
	Reads          int64
	Threshold      int64
	Note           string
	Status         string
	CreatedAt      time.Time
	AcknowledgedBy string
	AcknowledgedAt *time.Time
	ApprovedBy     string
	ApprovedAt     *time.Time
	ApprovedUntil  *time.Time
	ApprovalReason string
}

func (alertRow) TableName() string { return "alerts" }

type alertCaseRow struct {
	AlertID string `gorm:"primaryKey"`
	CaseID  string `gorm:"primaryKey"`
}

func (alertCaseRow) TableName() string { return "alert_cases" }

func (r alertRow) alert(caseIDs []string) Alert {
	utc := func(t *time.Time) *time.Time {
		if t == nil {
			return nil
		}
		u := t.UTC()
		return &u
	}
	return Alert{ID: r.ID, Rule: Rule(r.Rule), UserID: r.UserID, AgencyID: r.AgencyID, TokenID: r.TokenID, CaseIDs: caseIDs,
		WindowStart: r.WindowStart.UTC(), WindowEnd: r.WindowEnd.UTC(),
		Bytes: r.Bytes, Items: r.Items, Cases: r.Cases, Reads: r.Reads, Threshold: r.Threshold, Note: r.Note,
		Status: Status(r.Status), CreatedAt: r.CreatedAt.UTC(),
		AcknowledgedBy: r.AcknowledgedBy, AcknowledgedAt: utc(r.AcknowledgedAt),
		ApprovedBy: r.ApprovedBy, ApprovedAt: utc(r.ApprovedAt), ApprovedUntil: utc(r.ApprovedUntil),
		ApprovalReason: r.ApprovalReason}
}

// Store reads and changes stored alerts. Who may do so is the caller's
// question (access.Authorize with the alert actions).
type Store struct {
	db *gorm.DB
}

// NewStore returns the alert store in db.
func NewStore(db *gorm.DB) *Store { return &Store{db: db} }

// ListFilter selects alerts. An empty CaseIDs with AllCases false selects
// nothing: a lead sees the alerts of the cases they lead, an admin all.
type ListFilter struct {
	AllCases bool
	CaseIDs  []string
	Status   Status // "" for any
	Limit    int    // 1 to 500; 0 means 100
}

// List returns the alerts matching f, newest first.
func (s *Store) List(ctx context.Context, f ListFilter) ([]Alert, error) {
	if f.Limit <= 0 {
		f.Limit = 100
	}
	f.Limit = min(f.Limit, 500)
	if !f.AllCases && len(f.CaseIDs) == 0 {
		return []Alert{}, nil
	}
	db := s.db.WithContext(ctx)
	q := db.Model(&alertRow{})
	if !f.AllCases {
		q = q.Where("id IN (?)", db.Model(&alertCaseRow{}).Select("alert_id").Where("case_id IN ?", f.CaseIDs))
	}
	if f.Status != "" {
		q = q.Where("status = ?", string(f.Status))
	}
	var rows []alertRow
	if err := q.Order("created_at DESC, id DESC").Limit(f.Limit).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("alerts: list: %w", err)
	}
	return s.withCases(ctx, rows)
}

// Get returns one alert.
func (s *Store) Get(ctx context.Context, id string) (Alert, error) {
	var row alertRow
	err := s.db.WithContext(ctx).Where("id = ?", id).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return Alert{}, ErrNotFound
	}
	if err != nil {
		return Alert{}, fmt.Errorf("alerts: get: %w", err)
	}
	out, err := s.withCases(ctx, []alertRow{row})
	if err != nil {
		return Alert{}, err
	}
	return out[0], nil
}

func (s *Store) withCases(ctx context.Context, rows []alertRow) ([]Alert, error) {
	out := make([]Alert, 0, len(rows))
	if len(rows) == 0 {
		return out, nil
	}
	ids := make([]string, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	var links []alertCaseRow
	if err := s.db.WithContext(ctx).Where("alert_id IN ?", ids).Order("case_id").Find(&links).Error; err != nil {
		return nil, fmt.Errorf("alerts: cases: %w", err)
	}
	byAlert := map[string][]string{}
	for _, l := range links {
		byAlert[l.AlertID] = append(byAlert[l.AlertID], l.CaseID)
	}
	for _, r := range rows {
		out = append(out, r.alert(byAlert[r.ID]))
	}
	return out, nil
}

// Acknowledge records that userID is looking at the alert. An approved
// alert stays approved; acknowledging twice keeps the first.
func (s *Store) Acknowledge(ctx context.Context, id, userID string) (Alert, error) {
	now := time.Now().UTC().Truncate(time.Microsecond)
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var row alertRow
		if err := tx.Where("id = ?", id).Take(&row).Error; err != nil {
			return err
		}
		if row.AcknowledgedBy != "" {
			return nil
		}
		updates := map[string]any{"acknowledged_by": userID, "acknowledged_at": now}
		if row.Status == string(StatusOpen) {
			updates["status"] = string(StatusAcknowledged)
		}
		if err := tx.Model(&alertRow{}).Where("id = ?", id).Updates(updates).Error; err != nil {
			return err
		}
		return recordChange(ctx, tx, "alerts.acknowledge.post", id, nil)
	})
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return Alert{}, ErrNotFound
	}
	if err != nil {
		return Alert{}, fmt.Errorf("alerts: acknowledge: %w", err)
	}
	return s.Get(ctx, id)
}

// MaxApprovalReason is the longest reason of an approval, in characters.
const MaxApprovalReason = 1000

// Approve records that userID (a lead of every case of the alert) approves
// the activity, saying why it was expected: the hard limit is lifted for
// the alert's user on its cases for the period. Approving again extends it
// and replaces the reason. The reason is trimmed, 1 to MaxApprovalReason
// characters, and kept on the approval's audit entry too.
func (s *Store) Approve(ctx context.Context, id, userID, reason string, period time.Duration) (Alert, error) {
	reason = strings.TrimSpace(reason)
	var v validate.Errors
	v.Check(reason != "", "reason", "must say why the activity was expected")
	v.Text("reason", reason, MaxApprovalReason)
	if err := v.Err(); err != nil {
		return Alert{}, err
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	until := now.Add(period)
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Model(&alertRow{}).Where("id = ?", id).Updates(map[string]any{
			"status": string(StatusApproved), "approved_by": userID, "approved_at": now, "approved_until": until,
			"approval_reason": reason})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return ErrNotFound
		}
		return recordChange(ctx, tx, "alerts.approve.post", id, map[string]string{"reason": reason})
	})
	if errors.Is(err, ErrNotFound) {
		return Alert{}, err
	}
	if err != nil {
		return Alert{}, fmt.Errorf("alerts: approve: %w", err)
	}
	return s.Get(ctx, id)
}

// recordChange puts a change to alert id on the audit record of each of
// its cases (which their leads read), with detail, in the transaction tx
// making it.
func recordChange(ctx context.Context, tx *gorm.DB, action, id string, detail map[string]string) error {
	var caseIDs []string
	if err := tx.Model(&alertCaseRow{}).Where("alert_id = ?", id).Order("case_id").Pluck("case_id", &caseIDs).Error; err != nil {
		return err
	}
	if len(caseIDs) == 0 {
		caseIDs = []string{""}
	}
	for _, caseID := range caseIDs {
		if err := audit.ChangeWith(ctx, tx, action, "alerts", id, caseID, detail); err != nil {
			return err
		}
	}
	return nil
}

// raise stores a, unless an alert of the same user, rule and scope already
// covers part of its window (no alert storm: at most one per window). It
// reports whether a was stored.
func (s *Store) raise(ctx context.Context, a *Alert, scope string, window time.Duration) (bool, error) {
	a.CaseIDs = compactSorted(a.CaseIDs)
	if len(a.CaseIDs) == 0 && a.Rule != RuleIntegrity {
		return false, nil // an exfiltration alert is about case data, so of a case
	}
	a.ID = uuid.Must(uuid.NewV7()).String()
	a.Status = StatusOpen
	a.CreatedAt = time.Now().UTC().Truncate(time.Microsecond)
	a.WindowStart = a.WindowStart.UTC().Truncate(time.Microsecond)
	a.WindowEnd = a.WindowEnd.UTC().Truncate(time.Microsecond)
	bucket := a.WindowEnd.UnixMicro() / max(window.Microseconds(), 1)
	row := alertRow{ID: a.ID, Rule: string(a.Rule), UserID: a.UserID, AgencyID: a.AgencyID, TokenID: a.TokenID,
		Scope: scope, DedupKey: string(a.Rule) + "|" + a.UserID + "|" + scope + "|" + strconv.FormatInt(bucket, 10),
		WindowStart: a.WindowStart, WindowEnd: a.WindowEnd, Bytes: a.Bytes, Items: a.Items, Cases: a.Cases, Reads: a.Reads,
		Threshold: a.Threshold, Note: a.Note, Status: string(a.Status), CreatedAt: a.CreatedAt}
	stored := false
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var covering int64
		err := tx.Model(&alertRow{}).Where("user_id = ? AND rule = ? AND scope = ? AND window_end > ?",
			a.UserID, string(a.Rule), scope, a.WindowStart).Count(&covering).Error
		if err != nil || covering > 0 {
			return err
		}
		if err := tx.Create(&row).Error; err != nil {
			return err
		}
		links := make([]alertCaseRow, len(a.CaseIDs))
		for i, c := range a.CaseIDs {
			links[i] = alertCaseRow{AlertID: a.ID, CaseID: c}
		}
		stored = true
		if len(links) == 0 {
			return nil
		}
		return tx.Create(&links).Error
	})
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return false, nil // another node raised it for this window just now
	}
	if err != nil {
		return false, fmt.Errorf("alerts: raise: %w", err)
	}
	return stored, nil
}

func compactSorted(ids []string) []string {
	out := slices.DeleteFunc(slices.Clone(ids), func(s string) bool { return s == "" })
	slices.Sort(out)
	return slices.Compact(out)
}
