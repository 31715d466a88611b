package cases

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"time"

	"github.com/bevis-ir/bevis/internal/db"
	"github.com/bevis-ir/bevis/internal/validate"
)

// EventFilter narrows a timeline listing. Zero fields do not filter.
type EventFilter struct {
	From, To  *time.Time // occurred_at in [From, To)
	Source    string     // equal to the source's host, log or system
	Technique string     // an ATT&CK technique; T1078 also finds its sub-techniques
	Tag       string
	Text      string // full-text search of description, actor and source
	// IncludeSuperseded lists every version; by default only current ones.
	IncludeSuperseded bool
}

// PageRequest asks for one page of a list: Cursor is empty for the first page,
// else the NextCursor of the page before.
type PageRequest struct {
	Cursor string
	Limit  int // 1 to MaxPageSize; 0 means DefaultPageSize
}

// Page sizes of timeline listings.
const (
	DefaultPageSize = 100
	MaxPageSize     = 500
)

// EventPage is one page of a timeline in (occurred_at, id) order.
type EventPage struct {
	Events     []Event
	NextCursor string // empty on the last page
}

// eventCursor is the keyset position after the last event of a page.
type eventCursor struct {
	at time.Time
	id string
}

func (c eventCursor) encode() string {
	return base64.RawURLEncoding.EncodeToString([]byte(c.at.UTC().Format(time.RFC3339Nano) + "|" + c.id))
}

func decodeEventCursor(s string) (eventCursor, error) {
	bad := validate.Field("cursor", "is not a cursor this list returned")
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(raw) > 200 {
		return eventCursor{}, bad
	}
	at, id, ok := strings.Cut(string(raw), "|")
	if !ok || id == "" {
		return eventCursor{}, bad
	}
	t, err := time.Parse(time.RFC3339Nano, at)
	if err != nil {
		return eventCursor{}, bad
	}
	return eventCursor{at: t.UTC(), id: id}, nil
}

func (f EventFilter) validate() error {
	var v validate.Errors
	v.Check(f.From == nil || f.To == nil || f.From.Before(*f.To), "to", "must be after from")
	v.Check(f.Technique == "" || techniqueID.MatchString(f.Technique), "technique",
		"must be a MITRE ATT&CK technique ID such as T1078 or T1078.002")
	v.Check(f.Tag == "" || tagPattern.MatchString(f.Tag), "tag", "must be a tag")
	v.Check(singleLine(f.Source, maxSourceField), "source", "must be at most 1000 characters on one line")
	v.Check(singleLine(f.Text, 500), "q", "must be at most 500 characters on one line")
	return v.Err()
}

// likeEscaper makes a value literal inside LIKE ... ESCAPE '\'.
var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// List returns one page of a case's timeline, oldest first, holding only
// events the reader may see. It is one query whatever the page size.
func (t *Timeline) List(ctx context.Context, caseID string, by Reader, f EventFilter, p PageRequest) (EventPage, error) {
	f.Source, f.Text = strings.TrimSpace(f.Source), strings.TrimSpace(f.Text)
	if err := f.validate(); err != nil {
		return EventPage{}, err
	}
	limit := p.Limit
	switch {
	case limit == 0:
		limit = DefaultPageSize
	case limit < 1 || limit > MaxPageSize:
		return EventPage{}, validate.Field("limit", "must be 1 to 500")
	}
	// Every condition is a fixed fragment; values go only to placeholders.
	where := []string{"e.case_id = ?", "e.tlp IN ?"}
	args := []any{caseID, by.Markings}
	if p.Cursor != "" {
		c, err := decodeEventCursor(p.Cursor)
		if err != nil {
			return EventPage{}, err
		}
		where, args = append(where, "(e.occurred_at, e.id) > (?, ?)"), append(args, c.at, c.id)
	}
	if f.From != nil {
		where, args = append(where, "e.occurred_at >= ?"), append(args, f.From.UTC())
	}
	if f.To != nil {
		where, args = append(where, "e.occurred_at < ?"), append(args, f.To.UTC())
	}
	if f.Source != "" {
		where = append(where, "(e.source_host = ? OR e.source_log = ? OR e.source_system = ?)")
		args = append(args, f.Source, f.Source, f.Source)
	}
	if f.Technique != "" {
		if strings.Contains(f.Technique, ".") {
			where, args = append(where, "e.techniques LIKE ?"), append(args, "% "+f.Technique+" %")
		} else {
			where = append(where, "(e.techniques LIKE ? OR e.techniques LIKE ?)")
			args = append(args, "% "+f.Technique+" %", "% "+f.Technique+".%")
		}
	}
	if f.Tag != "" {
		where, args = append(where, `e.tags LIKE ? ESCAPE '\'`), append(args, "% "+likeEscaper.Replace(f.Tag)+" %")
	}
	if f.Text != "" {
		if db.Dialect(t.db) == db.Postgres {
			where, args = append(where, "e.search @@ plainto_tsquery('simple', ?)"), append(args, f.Text)
		} else {
			where = append(where, "e.seq IN (SELECT rowid FROM timeline_events_fts WHERE timeline_events_fts MATCH ?)")
			args = append(args, ftsQuery(f.Text))
		}
	}
	if !f.IncludeSuperseded {
		where = append(where, "NOT EXISTS (SELECT 1 FROM timeline_events s WHERE s.supersedes = e.id)")
	}
	query := `SELECT ` + eventColumns + ` FROM timeline_events e WHERE ` + strings.Join(where, " AND ") +
		` ORDER BY e.occurred_at, e.id LIMIT ?`
	var rows []eventView
	allArgs := append([]any{by.Markings, by.Markings}, args...)
	if err := t.db.WithContext(ctx).Raw(query, append(allArgs, limit+1)...).Scan(&rows).Error; err != nil {
		return EventPage{}, fmt.Errorf("cases: list timeline: %w", err)
	}
	var page EventPage
	if len(rows) > limit {
		rows = rows[:limit]
		last := rows[limit-1]
		page.NextCursor = eventCursor{at: last.Row.OccurredAt, id: last.Row.ID}.encode()
	}
	page.Events = make([]Event, len(rows))
	for i, r := range rows {
		page.Events[i] = r.toEvent()
	}
	return page, nil
}

// ftsQuery turns free text into an FTS5 query that matches every word,
// whatever FTS5 syntax the text happens to contain.
func ftsQuery(text string) string {
	words := strings.Fields(text)
	for i, w := range words {
		words[i] = `"` + strings.ReplaceAll(w, `"`, `""`) + `"`
	}
	return strings.Join(words, " ")
}
