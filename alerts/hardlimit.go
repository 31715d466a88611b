package alerts

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/bevis-ir/bevis/audit"
)

// ThrottledError refuses a download past the hard limit. The API answers
// it with 429 and Retry-After; another lead of the case can lift the limit
// by approving the alert it raised.
type ThrottledError struct {
	AlertID    string        // the download_hard_limit alert to approve ("" when one covering the window exists)
	Used       int64         // bytes the actor holds in the window: sent, or reserved by downloads under way
	Limit      int64         // BEVIS_DOWNLOAD_HARD_LIMIT
	RetryAfter time.Duration // until the oldest download counted leaves the window
}

func (e *ThrottledError) Error() string {
	return fmt.Sprintf("alerts: download refused: %d bytes downloaded in the window, limit %d", e.Used, e.Limit)
}

// Reservation is the bytes one download holds against the hard limit from
// before its first byte is sent until it is settled with what was sent.
// A nil Reservation (the hard limit is off) settles to nothing.
type Reservation struct {
	db    *gorm.DB
	id    string
	bytes int64
}

type reservationRow struct {
	ID         string `gorm:"primaryKey"`
	UserID     string
	CaseID     string
	ItemID     string
	ReservedAt time.Time
	Reserved   int64
	Sent       *int64 // nil until settled
	SettledAt  *time.Time
}

func (reservationRow) TableName() string { return "download_reservations" }

// ReserveDownload is asked before sending bytes of the evidence item itemID
// of caseID to actor. It counts what actor's user holds in the window (the
// bytes sent by downloads settled, the bytes reserved by those under way)
// and reserves bytes more, or refuses with a *ThrottledError past the hard
// limit, unless a lead of the case approved an alert of the user on it
// that is still in force. Each user's reservations are made one at a time
// (their row of download_budgets is locked for it), so downloads in
// parallel cannot together pass the limit. It is nil, nil when the hard
// limit is off.
func (e *Engine) ReserveDownload(ctx context.Context, actor audit.Actor, caseID, itemID string, bytes int64) (*Reservation, error) {
	if e == nil || e.opts.HardLimit <= 0 || actor.UserID == "" {
		return nil, nil
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	from := now.Add(-e.opts.Window)
	row := reservationRow{ID: uuid.Must(uuid.NewV7()).String(), UserID: actor.UserID, CaseID: caseID, ItemID: itemID,
		ReservedAt: now, Reserved: bytes}
	var used int64
	reserved := false
	err := e.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		// The upsert locks the user's budget row (on SQLite the whole
		// database) until the transaction ends.
		if err := tx.Exec(`INSERT INTO download_budgets (user_id, touched_at) VALUES (?, ?)
			ON CONFLICT (user_id) DO UPDATE SET touched_at = excluded.touched_at`, actor.UserID, now).Error; err != nil {
			return err
		}
		if err := tx.Where("user_id = ? AND reserved_at <= ?", actor.UserID, from).Delete(&reservationRow{}).Error; err != nil {
			return err
		}
		if err := tx.Model(&reservationRow{}).Select("COALESCE(SUM(COALESCE(sent, reserved)), 0)").
			Where("user_id = ? AND reserved_at > ?", actor.UserID, from).Scan(&used).Error; err != nil {
			return err
		}
		if used+bytes > e.opts.HardLimit {
			approved, err := approvedOn(tx, actor.UserID, caseID, now)
			if err != nil || !approved {
				return err
			}
		}
		reserved = true
		return tx.Create(&row).Error
	})
	if err != nil {
		return nil, fmt.Errorf("alerts: reserve download: %w", err)
	}
	if reserved {
		return &Reservation{db: e.db, id: row.ID, bytes: bytes}, nil
	}
	return nil, e.refuse(ctx, actor, caseID, used, bytes, now)
}

// approvedOn reports whether an approval of an alert of the user on the
// case is in force at now.
func approvedOn(tx *gorm.DB, userID, caseID string, now time.Time) (bool, error) {
	var approved int64
	err := tx.Model(&alertRow{}).
		Joins("JOIN alert_cases ON alert_cases.alert_id = alerts.id").
		Where("alerts.user_id = ? AND alerts.status = ? AND alerts.approved_until > ? AND alert_cases.case_id = ?",
			userID, string(StatusApproved), now, caseID).Count(&approved).Error
	return approved > 0, err
}

// refuse raises the download_hard_limit alert of a refused download and
// returns its ThrottledError.
func (e *Engine) refuse(ctx context.Context, actor audit.Actor, caseID string, used, bytes int64, now time.Time) error {
	from := now.Add(-e.opts.Window)
	var oldest []time.Time
	err := e.db.WithContext(ctx).Model(&reservationRow{}).Where("user_id = ? AND reserved_at > ?", actor.UserID, from).
		Order("reserved_at").Limit(1).Pluck("reserved_at", &oldest).Error
	if err != nil {
		return fmt.Errorf("alerts: reserve download: %w", err)
	}
	retry := e.opts.Window
	if len(oldest) > 0 {
		retry = max(oldest[0].Sub(from), time.Second)
	}
	a := Alert{Rule: RuleHardLimit, UserID: actor.UserID, AgencyID: actor.AgencyID, TokenID: actor.TokenID,
		CaseIDs: []string{caseID}, WindowStart: from, WindowEnd: now, Bytes: used + bytes, Threshold: e.opts.HardLimit,
		Note: fmt.Sprintf("a download of %d bytes was refused", bytes)}
	stored, err := e.Store.raise(ctx, &a, caseID, e.opts.Window)
	if err != nil {
		return err
	}
	refused := &ThrottledError{Used: used, Limit: e.opts.HardLimit, RetryAfter: retry}
	if stored {
		refused.AlertID = a.ID
		e.log.Warn("exfiltration alert", "alert_id", a.ID, "rule", string(a.Rule), "user_id", a.UserID, "cases", a.CaseIDs)
		e.hook.send(a)
	}
	return refused
}

// Settle records that sent bytes of the download went out: a range or a
// download cut short gives back what it did not send. A reservation is
// settled once; later calls change nothing.
func (r *Reservation) Settle(ctx context.Context, sent int64) error {
	if r == nil {
		return nil
	}
	sent = min(max(sent, 0), r.bytes)
	now := time.Now().UTC().Truncate(time.Microsecond)
	err := r.db.WithContext(ctx).Model(&reservationRow{}).Where("id = ? AND sent IS NULL", r.id).
		Updates(map[string]any{"sent": sent, "settled_at": now}).Error
	if err != nil {
		return fmt.Errorf("alerts: settle download: %w", err)
	}
	return nil
}
