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
	Actions    []string  // any of these exact actions; at most MaxFilterActions
	From, To   time.Time // From inclusive, To exclusive
	Cursor     string    // Next of the previous page
	Limit      int       // 1 to MaxListLimit; 0 means DefaultListLimit
	// Hidden are subqueries of resource IDs whose entries are left out:
	// what the reader may not see (the domains that own them make them).
	Hidden []*gorm.DB
}

// Limits of one page.
const (
	DefaultListLimit = 100
	MaxListLimit     = 1000
	MaxFilterActions = 100
)

// Recorded is a sealed entry as read back, with its place in the chain.
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

// List returns the sealed entries matching f, newest (highest seq) first,
// a page at a time. Entries show once sealed, within a second or so of
// being recorded. Authorization (who may read which case's record) is the
// caller's.
func List(ctx context.Context, db *gorm.DB, f Filter) (Page, error) {
	if f.Limit == 0 {
		f.Limit = DefaultListLimit
	}
	if f.Limit < 1 || f.Limit > MaxListLimit {
		return Page{}, fmt.Errorf("%w: limit must be 1 to %d", ErrInvalidFilter, MaxListLimit)
	}
	q := db.WithContext(ctx).Model(&chainRow{})
	for col, v := range map[string]string{"case_id": f.CaseID, "user_id": f.UserID, "agency_id": f.AgencyID, "resource_id": f.ResourceID} {
		if v != "" {
			q = q.Where(col+" = ?", v)
		}
	}
	if len(f.Actions) > MaxFilterActions {
		return Page{}, fmt.Errorf("%w: at most %d actions", ErrInvalidFilter, MaxFilterActions)
	}
	if len(f.Actions) > 0 {
		q = q.Where("action IN ?", f.Actions)
	}
	for _, hidden := range f.Hidden {
		q = q.Where("resource_id NOT IN (?)", hidden)
	}
	if !f.From.IsZero() {
		q = q.Where("at >= ?", f.From.UTC())
	}
	if !f.To.IsZero() {
		q = q.Where("at < ?", f.To.UTC())
	}
	if f.Cursor != "" {
		before, err := decodeCursor(f.Cursor)
		if err != nil {
			return Page{}, err
		}
		q = q.Where("seq < ?", before)
	}
	var chain []chainRow
	if err := q.Order("seq DESC").Limit(f.Limit + 1).Find(&chain).Error; err != nil {
		return Page{}, fmt.Errorf("audit: list: %w", err)
	}
	var page Page
	if len(chain) > f.Limit {
		chain = chain[:f.Limit]
		page.Next = encodeCursor(chain[len(chain)-1].Seq)
	}
	if len(chain) == 0 {
		return page, nil
	}
	ids := make([]string, len(chain))
	for i, c := range chain {
		ids[i] = c.EntryID
	}
	var rows []entryRow
	if err := db.WithContext(ctx).Where("id IN ?", ids).Find(&rows).Error; err != nil {
		return Page{}, fmt.Errorf("audit: list: %w", err)
	}
	byID := make(map[string]entryRow, len(rows))
	for _, r := range rows {
		byID[r.ID] = r
	}
	page.Entries = make([]Recorded, 0, len(chain))
	for _, c := range chain {
		if r, ok := byID[c.EntryID]; ok { // a missing entry is for Verify to report
			page.Entries = append(page.Entries, Recorded{Entry: r.entry(), Seq: c.Seq})
		}
	}
	return page, nil
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

// The cursor is the seq of the last entry shown, so a page never repeats
// or skips an entry as new ones arrive.
func encodeCursor(seq int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte("seq:" + strconv.FormatInt(seq, 10)))
}

func decodeCursor(c string) (int64, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return 0, fmt.Errorf("%w: malformed cursor", ErrInvalidFilter)
	}
	text, ok := strings.CutPrefix(string(b), "seq:")
	n, err := strconv.ParseInt(text, 10, 64)
	if !ok || err != nil || n < 1 {
		return 0, fmt.Errorf("%w: malformed cursor", ErrInvalidFilter)
	}
	return n, nil
}
