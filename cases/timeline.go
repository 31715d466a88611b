package cases

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"

	"github.com/bevis-ir/bevis/access"
	"github.com/bevis-ir/bevis/audit"
	"github.com/bevis-ir/bevis/internal/db"
	"github.com/bevis-ir/bevis/internal/validate"
)

// ErrSuperseded is a correction of an event that has already been corrected:
// only the current version of an event can be superseded.
var ErrSuperseded = errors.New("cases: event already superseded")

// Confidence is how sure the investigators are of an event.
type Confidence string

// Confidence levels; the empty level is "not stated".
const (
	ConfidenceLow    Confidence = "low"
	ConfidenceMedium Confidence = "medium"
	ConfidenceHigh   Confidence = "high"
)

// EventSource is where an event was seen.
type EventSource struct {
	Host   string // the machine, e.g. "hr-fs01"
	Log    string // the log or artefact, e.g. "Security.evtx"
	System string // the system or parser that produced it, e.g. "winevtx"
}

// Event is one entry of a case's attack timeline. Events are never changed:
// a correction is a new event superseding the old one.
type Event struct {
	ID             string
	CaseID         string
	OccurredAt     time.Time
	OccurredUntil  *time.Time
	SourceTimezone string    // the zone the source recorded its times in
	RecordedAt     time.Time // when Bevis learnt of it, so back-dated entries show
	RecordedBy     string
	Source         EventSource
	Actor          string
	Description    string
	Tactics        []string // MITRE ATT&CK tactic IDs, e.g. TA0001
	Techniques     []string // MITRE ATT&CK technique IDs, e.g. T1078.002
	Tags           []string
	Confidence     Confidence
	TLP            access.TLP
	// Supersedes and SupersededBy link the versions of an event; either is
	// empty when there is no such version or the caller may not see it.
	Supersedes       string
	SupersededBy     string
	CorrectionReason string
	ImportID         string
}

// NewEvent is the content of an event, as added or as a correction.
type NewEvent struct {
	OccurredAt     time.Time
	OccurredUntil  *time.Time
	SourceTimezone string // default UTC
	Source         EventSource
	Actor          string
	Description    string
	Tactics        []string
	Techniques     []string
	Tags           []string
	Confidence     Confidence
	TLP            access.TLP // default AMBER
}

var (
	tacticID    = regexp.MustCompile(`^TA[0-9]{4}$`)
	techniqueID = regexp.MustCompile(`^T[0-9]{4}(\.[0-9]{3})?$`)
	tagPattern  = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:/+-]{0,63}$`)
	zoneOffset  = regexp.MustCompile(`^[+-](0[0-9]|1[0-4]):[0-5][0-9]$`)
)

// Limits of event fields.
const (
	maxDescription = 64 << 10 // bytes: plaso messages can be long
	maxSourceField = 1000     // runes
	maxActor       = 300      // runes
	maxListItems   = 50
)

// Years outside this range are clock errors, not events; 1601 is the
// Windows FILETIME epoch, which forensic tools print for zeroed values.
var (
	earliestEvent = time.Date(1601, 1, 1, 0, 0, 0, 0, time.UTC)
	latestEvent   = time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC)
)

// normalize trims, defaults and deduplicates in place.
func (in *NewEvent) normalize() {
	in.SourceTimezone = strings.TrimSpace(in.SourceTimezone)
	if in.SourceTimezone == "" {
		in.SourceTimezone = "UTC"
	}
	in.Source.Host, in.Source.Log, in.Source.System = strings.TrimSpace(in.Source.Host), strings.TrimSpace(in.Source.Log), strings.TrimSpace(in.Source.System)
	in.Actor, in.Description = strings.TrimSpace(in.Actor), strings.TrimSpace(in.Description)
	if in.TLP == "" {
		in.TLP = access.TLPAmber
	}
	in.OccurredAt = in.OccurredAt.UTC().Truncate(time.Microsecond)
	if in.OccurredUntil != nil {
		u := in.OccurredUntil.UTC().Truncate(time.Microsecond)
		in.OccurredUntil = &u
	}
	in.Tactics, in.Techniques, in.Tags = dedupe(in.Tactics), dedupe(in.Techniques), dedupe(in.Tags)
}

// validate checks an event; markings are the TLP markings the author may
// see, and no one may mark an event beyond their own reach.
func (in NewEvent) validate(markings []access.TLP) error {
	var v validate.Errors
	v.Check(!in.OccurredAt.Before(earliestEvent) && !in.OccurredAt.After(latestEvent), "occurred_at",
		"must be a time between 1601 and 9999")
	if in.OccurredUntil != nil {
		v.Check(!in.OccurredUntil.Before(in.OccurredAt) && !in.OccurredUntil.After(latestEvent), "occurred_until",
			"must not be before occurred_at")
	}
	v.Check(validZone(in.SourceTimezone), "source_timezone", "must be an IANA time zone (Europe/Oslo), UTC or an offset (+02:00)")
	v.Check(singleLine(in.Source.Host, maxSourceField), "source.host", "must be at most 1000 characters on one line")
	v.Check(singleLine(in.Source.Log, maxSourceField), "source.log", "must be at most 1000 characters on one line")
	v.Check(singleLine(in.Source.System, maxSourceField), "source.system", "must be at most 1000 characters on one line")
	v.Check(singleLine(in.Actor, maxActor), "actor", "must be at most 300 characters on one line")
	v.Check(in.Description != "" && len(in.Description) <= maxDescription && utf8.ValidString(in.Description) &&
		!strings.ContainsRune(in.Description, 0), "description", "must be 1 byte to 64 KiB of text")
	checkIDs(&v, "tactics", in.Tactics, tacticID, "must be MITRE ATT&CK tactic IDs such as TA0001")
	checkIDs(&v, "techniques", in.Techniques, techniqueID, "must be MITRE ATT&CK technique IDs such as T1078 or T1078.002")
	checkIDs(&v, "tags", in.Tags, tagPattern, "must be up to 64 letters, digits and . _ : / + - each")
	switch in.Confidence {
	case "", ConfidenceLow, ConfidenceMedium, ConfidenceHigh:
	default:
		v.Add("confidence", "must be low, medium or high")
	}
	switch {
	case !in.TLP.Valid():
		v.Add("tlp", "must be CLEAR, GREEN, AMBER, AMBER+STRICT or RED")
	case !marked(markings, in.TLP):
		v.Add("tlp", "must not be stricter than what you may see on this case")
	}
	return v.Err()
}

func checkIDs(v *validate.Errors, field string, values []string, pattern *regexp.Regexp, message string) {
	if len(values) > maxListItems {
		v.Add(field, "must have at most 50 entries")
		return
	}
	for _, s := range values {
		if !pattern.MatchString(s) {
			v.Add(field, message)
			return
		}
	}
}

func validZone(z string) bool {
	_, err := loadZone(z)
	return err == nil
}

func singleLine(s string, maxRunes int) bool { return utf8.ValidString(s) && oneLine(s, 0, maxRunes) }

func marked(markings []access.TLP, t access.TLP) bool {
	for _, m := range markings {
		if m == t {
			return true
		}
	}
	return false
}

func dedupe(values []string) []string {
	if len(values) == 0 {
		return nil
	}
	out := make([]string, 0, len(values))
	seen := make(map[string]bool, len(values))
	for _, s := range values {
		s = strings.TrimSpace(s)
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// joinList stores a list as ' a b ', so that LIKE '% a %' finds a value.
func joinList(values []string) string {
	if len(values) == 0 {
		return ""
	}
	return " " + strings.Join(values, " ") + " "
}

// eventRow is a timeline_events row as written.
type eventRow struct {
	ID               string `gorm:"primaryKey"`
	CaseID           string
	OccurredAt       time.Time
	OccurredUntil    *time.Time
	SourceTimezone   string
	RecordedAt       time.Time
	RecordedBy       string
	SourceHost       string
	SourceLog        string
	SourceSystem     string
	Actor            string
	Description      string
	Tactics          string
	Techniques       string
	Tags             string
	Confidence       string
	TLP              string `gorm:"column:tlp"`
	Supersedes       *string
	CorrectionReason string
	ImportID         *string
}

func (eventRow) TableName() string { return "timeline_events" }

// eventView is an event as read, with its version links resolved for the reader.
type eventView struct {
	Row               eventRow `gorm:"embedded"`
	VisibleSupersedes *string
	SupersededBy      *string
}

func (v eventView) toEvent() Event {
	r := v.Row
	return Event{ID: r.ID, CaseID: r.CaseID, OccurredAt: r.OccurredAt.UTC(), OccurredUntil: inUTC(r.OccurredUntil),
		SourceTimezone: r.SourceTimezone, RecordedAt: r.RecordedAt.UTC(), RecordedBy: r.RecordedBy,
		Source: EventSource{Host: r.SourceHost, Log: r.SourceLog, System: r.SourceSystem}, Actor: r.Actor,
		Description: r.Description, Tactics: strings.Fields(r.Tactics), Techniques: strings.Fields(r.Techniques),
		Tags: strings.Fields(r.Tags), Confidence: Confidence(r.Confidence), TLP: access.TLP(r.TLP),
		Supersedes: orEmpty(v.VisibleSupersedes), SupersededBy: orEmpty(v.SupersededBy),
		CorrectionReason: r.CorrectionReason, ImportID: orEmpty(r.ImportID)}
}

// tallied is the event as the tallies count it.
func (e Event) tallied() *eventRow {
	return &eventRow{CaseID: e.CaseID, OccurredAt: e.OccurredAt, OccurredUntil: e.OccurredUntil,
		SourceHost: e.Source.Host, SourceLog: e.Source.Log, SourceSystem: e.Source.System,
		Tactics: joinList(e.Tactics), Techniques: joinList(e.Techniques), TLP: string(e.TLP)}
}

func inUTC(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

func orEmpty(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// Timeline keeps the attack timelines of cases.
type Timeline struct {
	db  *gorm.DB
	now func() time.Time
}

// NewTimeline returns the timeline store in db.
func NewTimeline(db *gorm.DB) *Timeline {
	return &Timeline{db: db, now: func() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }}
}

// Reader is who reads a timeline: the markings are the TLP markings they
// may see on the case (access.Authorizer.ItemMarkings); events marked
// otherwise do not exist for them.
type Reader struct {
	Principal access.Principal
	Markings  []access.TLP
}

func (t *Timeline) newRow(caseID string, by access.Principal, in NewEvent) eventRow {
	return eventRow{ID: newID(), CaseID: caseID, OccurredAt: in.OccurredAt, OccurredUntil: in.OccurredUntil,
		SourceTimezone: in.SourceTimezone, RecordedAt: t.now(), RecordedBy: by.UserID, SourceHost: in.Source.Host,
		SourceLog: in.Source.Log, SourceSystem: in.Source.System, Actor: in.Actor, Description: in.Description,
		Tactics: joinList(in.Tactics), Techniques: joinList(in.Techniques), Tags: joinList(in.Tags),
		Confidence: string(in.Confidence), TLP: string(in.TLP)}
}

// Add records a new event on a case, unless the case is closed (ErrClosed).
func (t *Timeline) Add(ctx context.Context, caseID string, by Reader, in NewEvent) (Event, error) {
	in.normalize()
	if err := in.validate(by.Markings); err != nil {
		return Event{}, err
	}
	row := t.newRow(caseID, by.Principal, in)
	var err error
	if db.Dialect(t.db) == db.Postgres {
		err = t.addInOneStatement(ctx, row)
	} else {
		err = t.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			if err := insertOnOpenCase(tx, row); err != nil {
				return err
			}
			change := newTally(caseID)
			change.add(&row)
			if err := change.apply(ctx, tx); err != nil {
				return err
			}
			return recordChange(ctx, tx, addAction, "timeline", row.ID, caseID)
		})
	}
	switch {
	case errors.Is(err, ErrClosed), errors.Is(err, ErrNotFound):
		return Event{}, err
	case err != nil:
		return Event{}, fmt.Errorf("cases: add event: %w", err)
	}
	return eventView{Row: row}.toEvent(), nil
}

const addAction = "cases.timeline.post"

// addInOneStatement is Add on PostgreSQL: the event, its counts in the
// tallies and its audit entry are written by one statement (where BEGIN,
// three statements and COMMIT were five round trips), a WITH query whose
// parts all change rows or none, each on the condition that the case (c)
// is open as the statement reads it; it answers the event's ID, or an
// empty text when the case was not open. Its transaction is shared with
// the appends in flight (db.RunPipelined): one pipeline, round trip and
// WAL flush for each group of them (see the README's "What a write
// costs"). An event's most TTP pairs (50 tactics by 50 techniques) bind
// 20,000 parameters of PostgreSQL's 65,535.
func (t *Timeline) addInOneStatement(ctx context.Context, row eventRow) error {
	change := newTally(row.CaseID)
	change.add(&row)
	parts, args := change.onOpenCase()
	entry, entryArgs, err := audit.ChangeFrom(ctx, "c", addAction, "timeline", row.ID, row.CaseID)
	if err != nil {
		return err
	}
	query := "WITH c AS (SELECT id FROM cases WHERE id = ? AND status <> ?), " + strings.Join(parts, ", ") +
		", entry AS (" + entry + "), added AS (" + insertEvent + "c RETURNING id) SELECT COALESCE((SELECT id FROM added), '')"
	args = slices.Concat([]any{row.CaseID, string(StatusClosed)}, args, entryArgs, row.insertValues())
	var added string
	if err := db.RunPipelined(ctx, t.db, &added, query, args...); err != nil || added != "" {
		return err
	}
	return whyNotInserted(t.db.WithContext(ctx), row.CaseID)
}

// insertEvent inserts an event selected from its case, c, which the caller
// names and conditions; its values are insertValues.
const insertEvent = `INSERT INTO timeline_events (id, case_id, occurred_at, occurred_until, source_timezone,
	recorded_at, recorded_by, source_host, source_log, source_system, actor, description, tactics, techniques,
	tags, confidence, tlp, supersedes, correction_reason, import_id)
	SELECT ?, c.id, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ? FROM `

func (r eventRow) insertValues() []any {
	return []any{r.ID, r.OccurredAt, r.OccurredUntil, r.SourceTimezone, r.RecordedAt, r.RecordedBy, r.SourceHost,
		r.SourceLog, r.SourceSystem, r.Actor, r.Description, r.Tactics, r.Techniques, r.Tags, r.Confidence, r.TLP,
		r.Supersedes, r.CorrectionReason, r.ImportID}
}

// insertOnOpenCase adds an event in tx if its case is open. Whether it is
// open is the insert's own condition, so the check costs no statement of
// its own and no event lands on a case closed meanwhile.
func insertOnOpenCase(tx *gorm.DB, r eventRow) error {
	res := tx.Exec(insertEvent+"cases c WHERE c.id = ? AND c.status <> ?",
		append(r.insertValues(), r.CaseID, string(StatusClosed))...)
	if res.Error != nil || res.RowsAffected == 1 {
		return res.Error
	}
	return whyNotInserted(tx, r.CaseID)
}

// whyNotInserted says why an event was not added to the case: it is closed,
// or not there (this costs a statement on refusals alone).
func whyNotInserted(tx *gorm.DB, caseID string) error {
	var status []string
	if err := tx.Model(&caseRow{}).Where("id = ?", caseID).Pluck("status", &status).Error; err != nil {
		return err
	}
	if len(status) == 0 {
		return ErrNotFound
	}
	return ErrClosed
}

// Correct records in as the new version of an event the reader can see,
// with the reason for the correction. The old version stays, in the new
// one's history. Only the current version can be corrected (ErrSuperseded).
func (t *Timeline) Correct(ctx context.Context, caseID, eventID string, by Reader, in NewEvent, reason string) (Event, error) {
	in.normalize()
	reason = strings.TrimSpace(reason)
	err := in.validate(by.Markings)
	if !singleLine(reason, 1000) || reason == "" {
		var v validate.Errors
		var invalid *validate.Error
		if errors.As(err, &invalid) {
			for _, f := range invalid.Fields {
				v.Add(f.Field, f.Message)
			}
		}
		v.Add("reason", "must be 1 to 1000 characters on one line")
		err = v.Err()
	}
	if err != nil {
		return Event{}, err
	}
	row := t.newRow(caseID, by.Principal, in)
	row.Supersedes, row.CorrectionReason = &eventID, reason
	err = t.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		old, err := t.get(tx, caseID, eventID, by.Markings)
		if err != nil {
			return err
		}
		if old.SupersededBy != "" {
			return ErrSuperseded
		}
		if err := tx.Create(&row).Error; err != nil {
			return err
		}
		// The old version stops being current, the new one counts.
		change := newTally(caseID)
		change.remove(old.tallied())
		change.add(&row)
		if err := change.apply(ctx, tx); err != nil {
			return err
		}
		return recordChange(ctx, tx, "cases.timeline.corrections.post", "timeline", row.ID, caseID)
	})
	switch {
	case errors.Is(err, gorm.ErrDuplicatedKey):
		// A correction of the same version committed first, or one the reader cannot see exists.
		return Event{}, ErrSuperseded
	case errors.Is(err, ErrNotFound), errors.Is(err, ErrSuperseded):
		return Event{}, err
	case err != nil:
		return Event{}, fmt.Errorf("cases: correct event: %w", err)
	}
	return eventView{Row: row, VisibleSupersedes: &eventID}.toEvent(), nil
}

// eventColumns selects an event with its version links as the reader may
// see them. Both placeholders take the reader's markings.
const eventColumns = `e.id, e.case_id, e.occurred_at, e.occurred_until, e.source_timezone, e.recorded_at,
	e.recorded_by, e.source_host, e.source_log, e.source_system, e.actor, e.description, e.tactics,
	e.techniques, e.tags, e.confidence, e.tlp, e.supersedes, e.correction_reason, e.import_id,
	(SELECT o.id FROM timeline_events o WHERE o.id = e.supersedes AND o.tlp IN ?) AS visible_supersedes,
	(SELECT s.id FROM timeline_events s WHERE s.supersedes = e.id AND s.tlp IN ?) AS superseded_by`

// IDsMarkedOutside is a subquery of the IDs of a case's timeline events and
// imports marked other than markings: what a reader with those markings may
// not see, for leaving it out of what else they read (the case's audit log).
func (t *Timeline) IDsMarkedOutside(caseID string, markings []access.TLP) *gorm.DB {
	return t.db.Raw(`SELECT e.id FROM timeline_events e WHERE e.case_id = ? AND e.tlp NOT IN ?
		UNION ALL
		SELECT i.id FROM timeline_imports i WHERE i.case_id = ? AND i.tlp NOT IN ?`, caseID, markings, caseID, markings)
}

// Get returns one version of an event, current or not.
func (t *Timeline) Get(ctx context.Context, caseID, eventID string, by Reader) (Event, error) {
	return t.get(t.db.WithContext(ctx), caseID, eventID, by.Markings)
}

func (t *Timeline) get(db *gorm.DB, caseID, eventID string, markings []access.TLP) (Event, error) {
	var rows []eventView
	err := db.Raw(`SELECT `+eventColumns+` FROM timeline_events e WHERE e.id = ? AND e.case_id = ? AND e.tlp IN ?`,
		markings, markings, eventID, caseID, markings).Scan(&rows).Error
	if err != nil {
		return Event{}, fmt.Errorf("cases: get event: %w", err)
	}
	if len(rows) == 0 {
		return Event{}, ErrNotFound
	}
	return rows[0].toEvent(), nil
}

// History returns every version of an event the reader may see, oldest
// first: the chain of corrections through the given version.
func (t *Timeline) History(ctx context.Context, caseID, eventID string, by Reader) ([]Event, error) {
	db := t.db.WithContext(ctx)
	if _, err := t.get(db, caseID, eventID, by.Markings); err != nil {
		return nil, err
	}
	var rows []eventView
	// The chain is linear (an event is superseded at most once): walk back
	// to its first version, then forward through every correction.
	err := db.Raw(`
		WITH RECURSIVE back(id, supersedes) AS (
		    SELECT id, supersedes FROM timeline_events WHERE id = ? AND case_id = ?
		    UNION ALL
		    SELECT p.id, p.supersedes FROM timeline_events p JOIN back b ON p.id = b.supersedes
		), chain(id, depth) AS (
		    SELECT id, 0 FROM back WHERE supersedes IS NULL
		    UNION ALL
		    SELECT n.id, c.depth + 1 FROM timeline_events n JOIN chain c ON n.supersedes = c.id
		)
		SELECT `+eventColumns+` FROM chain c JOIN timeline_events e ON e.id = c.id
		WHERE e.tlp IN ? ORDER BY c.depth`, eventID, caseID, by.Markings, by.Markings, by.Markings).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("cases: event history: %w", err)
	}
	out := make([]Event, len(rows))
	for i, r := range rows {
		out[i] = r.toEvent()
	}
	return out, nil
}
