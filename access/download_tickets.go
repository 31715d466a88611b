package access

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
)

// DownloadTicketTTL is how long a download ticket works: long enough for a
// browser to follow the link it was issued for, too short to be worth
// stealing from a history or a log.
const DownloadTicketTTL = time.Minute

// ErrTicketInvalid refuses a download ticket that is unknown, used,
// expired, for another item, or whose person or session has ended since.
var ErrTicketInvalid = errors.New("access: no such download ticket")

// ErrTicketNeedsSession refuses a ticket to a caller without a sign-in
// session: an API token sends its Authorization header with the download
// itself, and a ticket must not outlive what it was issued to.
var ErrTicketNeedsSession = errors.New("access: download tickets are for signed-in people")

type downloadTicketRow struct {
	TicketHash string `gorm:"primaryKey"`
	UserID     string
	SessionID  string
	ItemID     string
	CreatedAt  time.Time
	ExpiresAt  time.Time
	UsedAt     *time.Time
}

func (downloadTicketRow) TableName() string { return "download_tickets" }

// IssueDownloadTicket returns a single-use ticket for p to download item
// once within DownloadTicketTTL. The caller has authorized the download;
// the download itself is authorized again for the person the ticket
// names. Only the ticket's hash is kept.
func (s *Sessions) IssueDownloadTicket(ctx context.Context, p Principal, itemID string) (string, time.Time, error) {
	if p.SessionID == "" {
		return "", time.Time{}, ErrTicketNeedsSession
	}
	now := s.now()
	ticket := rand.Text()
	row := downloadTicketRow{TicketHash: hashTicket(ticket), UserID: p.UserID, SessionID: p.SessionID, ItemID: itemID,
		CreatedAt: now, ExpiresAt: now.Add(DownloadTicketTTL)}
	db := s.db.WithContext(ctx)
	// Tickets are worth nothing once expired; each issue clears some away.
	if err := db.Where("expires_at < ?", now.Add(-time.Hour)).Limit(100).Delete(&downloadTicketRow{}).Error; err != nil {
		return "", time.Time{}, fmt.Errorf("access: clear old download tickets: %w", err)
	}
	if err := db.Create(&row).Error; err != nil {
		return "", time.Time{}, fmt.Errorf("access: store download ticket: %w", err)
	}
	return ticket, row.ExpiresAt, nil
}

// RedeemDownloadTicket uses up ticket for a download of itemID and returns
// the principal it was issued to, as that person and session stand now. A
// ticket works once: of two requests racing with it, one wins.
func (s *Sessions) RedeemDownloadTicket(ctx context.Context, ticket, itemID string) (Principal, error) {
	if ticket == "" || len(ticket) > 64 {
		return Principal{}, ErrTicketInvalid
	}
	now := s.now()
	db := s.db.WithContext(ctx)
	hash := hashTicket(ticket)
	res := db.Model(&downloadTicketRow{}).
		Where("ticket_hash = ? AND item_id = ? AND used_at IS NULL AND expires_at > ?", hash, itemID, now).
		Update("used_at", now)
	if res.Error != nil {
		return Principal{}, fmt.Errorf("access: redeem download ticket: %w", res.Error)
	}
	if res.RowsAffected != 1 {
		return Principal{}, ErrTicketInvalid
	}
	var row struct {
		UserID     string
		SessionID  string
		AgencyID   string
		Status     string
		SystemRole string
		RevokedAt  *time.Time
		ExpiresAt  time.Time
	}
	err := db.Raw(`
		SELECT t.user_id, t.session_id, u.agency_id, u.status, u.system_role, s.revoked_at, s.expires_at
		FROM download_tickets t JOIN users u ON u.id = t.user_id JOIN sessions s ON s.id = t.session_id
		WHERE t.ticket_hash = ?`, hash).Scan(&row).Error
	if err != nil {
		return Principal{}, fmt.Errorf("access: redeem download ticket: %w", err)
	}
	if row.UserID == "" || row.Status != string(UserActive) || row.RevokedAt != nil || !now.Before(row.ExpiresAt) {
		return Principal{}, ErrTicketInvalid
	}
	return Principal{UserID: row.UserID, AgencyID: row.AgencyID, SystemRole: SystemRole(row.SystemRole),
		SessionID: row.SessionID}, nil
}

func hashTicket(ticket string) string {
	sum := sha256.Sum256([]byte(ticket))
	return hex.EncodeToString(sum[:])
}
