package alerts

import (
	"context"
	"fmt"
	"time"

	"github.com/bevis-ir/bevis/audit"
)

// ThrottledError refuses a download past the hard limit. The API answers
// it with 429 and Retry-After; a lead of the case can lift the limit by
// approving the alert it raised.
type ThrottledError struct {
	AlertID    string        // the download_hard_limit alert to approve ("" when one covering the window exists)
	Used       int64         // bytes the actor downloaded in the window
	Limit      int64         // BEVIS_DOWNLOAD_HARD_LIMIT
	RetryAfter time.Duration // until the oldest download counted leaves the window
}

func (e *ThrottledError) Error() string {
	return fmt.Sprintf("alerts: download refused: %d bytes downloaded in the window, limit %d", e.Used, e.Limit)
}

// CheckDownload is asked before sending bytes of an evidence item of
// caseID to actor. It counts what actor's user downloaded in the window
// (every recorded download, sealed or not) plus bytes, and refuses with a
// *ThrottledError past the hard limit, unless a lead of the case approved
// an alert of the user on it that is still in force. It is nil when the
// hard limit is off.
func (e *Engine) CheckDownload(ctx context.Context, actor audit.Actor, caseID string, bytes int64) error {
	if e == nil || e.opts.HardLimit <= 0 || actor.UserID == "" {
		return nil
	}
	now := time.Now().UTC()
	from := now.Add(-e.opts.Window)
	// The action is written out, not bound, so that PostgreSQL's generic
	// plans still match the partial index on downloads (migration 00013).
	var used struct{ Bytes int64 }
	err := e.db.WithContext(ctx).Raw(`SELECT COALESCE(SUM(CASE WHEN range_length > 0 THEN range_length ELSE 0 END), 0) AS bytes
		FROM audit_entries WHERE user_id = ? AND action = 'evidence.download' AND at > ? AND outcome = ?`,
		actor.UserID, from, string(audit.Success)).Scan(&used).Error
	if err != nil {
		return fmt.Errorf("alerts: check download: %w", err)
	}
	if used.Bytes+bytes <= e.opts.HardLimit {
		return nil
	}
	var approved int64
	err = e.db.WithContext(ctx).Model(&alertRow{}).
		Joins("JOIN alert_cases ON alert_cases.alert_id = alerts.id").
		Where("alerts.user_id = ? AND alerts.status = ? AND alerts.approved_until > ? AND alert_cases.case_id = ?",
			actor.UserID, string(StatusApproved), now, caseID).Count(&approved).Error
	if err != nil {
		return fmt.Errorf("alerts: check download: %w", err)
	}
	if approved > 0 {
		return nil
	}
	var oldest []time.Time
	err = e.db.WithContext(ctx).Raw(`SELECT at FROM audit_entries WHERE user_id = ? AND action = 'evidence.download' AND at > ? AND outcome = ?
		ORDER BY at LIMIT 1`, actor.UserID, from, string(audit.Success)).Scan(&oldest).Error
	if err != nil {
		return fmt.Errorf("alerts: check download: %w", err)
	}
	retry := e.opts.Window
	if len(oldest) > 0 {
		retry = max(oldest[0].Sub(from), time.Second)
	}
	a := Alert{Rule: RuleHardLimit, UserID: actor.UserID, AgencyID: actor.AgencyID, TokenID: actor.TokenID,
		CaseIDs: []string{caseID}, WindowStart: from, WindowEnd: now, Bytes: used.Bytes + bytes, Threshold: e.opts.HardLimit,
		Note: fmt.Sprintf("a download of %d bytes was refused", bytes)}
	stored, err := e.Store.raise(ctx, &a, caseID, e.opts.Window)
	if err != nil {
		return err
	}
	refused := &ThrottledError{Used: used.Bytes, Limit: e.opts.HardLimit, RetryAfter: retry}
	if stored {
		refused.AlertID = a.ID
		e.log.Warn("exfiltration alert", "alert_id", a.ID, "rule", string(a.Rule), "user_id", a.UserID, "cases", a.CaseIDs)
		e.hook.send(a)
	}
	return refused
}
