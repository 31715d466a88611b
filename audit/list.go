package audit

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"
)

// ErrInvalidFilter is a List filter or cursor that cannot be used; the
// API answers it with 400.
var ErrInvalidFilter = errors.New("audit: invalid filter")

// Filter selects entries for List. Empty fields do not filter.
type Filter struct {
	CaseID     string
	UserID     string
	AgencyID   string
	ResourceID string    // an evidence item, a case, a user…
	From, To   time.Time // From inclusive, To exclusive
	Cursor     string    // Next of the previous page
	Limit      int       // 1 to MaxListLimit; 0 means DefaultListLimit
}

// Limits of one page.
const (
	DefaultListLimit = 100
	MaxListLimit     = 1000
)

// Recorded is an entry as read back, with its place in the chain (Seq 0
// while not yet sealed).
type Recorded struct {
	Entry
	Seq int64
}

// Page is one page of List, newest first; Next is the cursor of the
// following page, "" after the last.
type Page struct {
	Entries []Recorded
	Next    string
}

// List returns the entries matching f, newest first, a page at a time.
// Authorization (who may read which case's record) is the caller's.
func List(ctx context.Context, db *gorm.DB, f Filter) (Page, error) {
	if f.Limit == 0 {
		f.Limit = DefaultListLimit
	}
	if f.Limit < 1 || f.Limit > MaxListLimit {
		return Page{}, fmt.Errorf("%w: limit must be 1 to %d", ErrInvalidFilter, MaxListLimit)
	}
	q := db.WithContext(ctx).Model(&entryRow{})
	for col, v := range map[string]string{"case_id": f.CaseID, "user_id": f.UserID, "agency_id": f.AgencyID, "resource_id": f.ResourceID} {
		if v != "" {
			q = q.Where(col+" = ?", v)
		}
	}
	if !f.From.IsZero() {
		q = q.Where("at >= ?", f.From.UTC())
	}
	if !f.To.IsZero() {
		q = q.Where("at < ?", f.To.UTC())
	}
	if f.Cursor != "" {
		at, id, err := decodeCursor(f.Cursor)
		if err != nil {
			return Page{}, err
		}
		q = q.Where("at < ? OR (at = ? AND id < ?)", at, at, id)
	}
	var rows []entryRow
	if err := q.Order("at DESC, id DESC").Limit(f.Limit + 1).Find(&rows).Error; err != nil {
		return Page{}, fmt.Errorf("audit: list: %w", err)
	}
	var page Page
	if len(rows) > f.Limit {
		rows = rows[:f.Limit]
		last := rows[len(rows)-1]
		page.Next = encodeCursor(last.At, last.ID)
	}
	seqs, err := seqsOf(ctx, db, rows)
	if err != nil {
		return Page{}, err
	}
	page.Entries = make([]Recorded, len(rows))
	for i, r := range rows {
		page.Entries[i] = Recorded{Entry: r.entry(), Seq: seqs[r.ID]}
	}
	return page, nil
}

func seqsOf(ctx context.Context, db *gorm.DB, rows []entryRow) (map[string]int64, error) {
	seqs := make(map[string]int64, len(rows))
	if len(rows) == 0 {
		return seqs, nil
	}
	ids := make([]string, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	var chain []chainRow
	if err := db.WithContext(ctx).Where("entry_id IN ?", ids).Find(&chain).Error; err != nil {
		return nil, fmt.Errorf("audit: list: %w", err)
	}
	for _, c := range chain {
		seqs[c.EntryID] = c.Seq
	}
	return seqs, nil
}

// entry turns a stored row back into an Entry.
func (r entryRow) entry() Entry {
	e := Entry{
		ID: r.ID, At: r.At.UTC(),
		Actor:        Actor{UserID: r.UserID, AgencyID: r.AgencyID, TokenID: r.TokenID, ClientIP: r.ClientIP, UserAgent: r.UserAgent},
		Action:       r.Action,
		ResourceType: r.ResourceType, ResourceID: r.ResourceID, CaseID: r.CaseID,
		Outcome: Outcome(r.Outcome), RequestID: r.RequestID,
	}
	if r.RangeOffset != nil && r.RangeLength != nil {
		e.Range = &ByteRange{Offset: *r.RangeOffset, Length: *r.RangeLength}
	}
	if r.Detail != "" {
		e.Detail = decodeDetail(r.Detail)
	}
	return e
}

// The cursor is the time (Unix microseconds) and ID of the last entry
// shown, so a page never repeats or skips an entry as new ones arrive.
func encodeCursor(at time.Time, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(at.UnixMicro(), 10) + "/" + id))
}

func decodeCursor(c string) (time.Time, string, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return time.Time{}, "", fmt.Errorf("%w: malformed cursor", ErrInvalidFilter)
	}
	us, id, ok := strings.Cut(string(b), "/")
	n, err := strconv.ParseInt(us, 10, 64)
	if !ok || err != nil || id == "" || len(id) > MaxIDLen {
		return time.Time{}, "", fmt.Errorf("%w: malformed cursor", ErrInvalidFilter)
	}
	return time.UnixMicro(n).UTC(), id, nil
}
