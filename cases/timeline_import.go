package cases

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"

	"github.com/bevis-ir/bevis/access"
	"github.com/bevis-ir/bevis/internal/db"
	"github.com/bevis-ir/bevis/internal/validate"
)

// ImportStatus is how an import ended.
type ImportStatus string

// Import outcomes. Only a completed import added events; the others added
// none.
const (
	ImportCompleted ImportStatus = "completed"
	ImportRejected  ImportStatus = "rejected" // some rows were malformed; see Rejections
	ImportFailed    ImportStatus = "failed"   // the file could not be read to its end
)

// MaxReportedRejections caps the rows an import record lists; RowsRejected
// counts them all.
const MaxReportedRejections = 1000

// Rejection is one row an import refused, and why.
type Rejection struct {
	Line   int64  `json:"line"`
	Reason string `json:"reason"`
}

// ImportRecord is the record of one super-timeline import, kept whether
// or not it added any events.
type ImportRecord struct {
	ID             string
	CaseID         string
	Format         ImportFormat
	Status         ImportStatus
	TLP            access.TLP
	FileSHA256     string // of the bytes read; empty unless the file was read to its end
	BytesRead      int64
	RowsRead       int64
	EventsImported int64
	RowsRejected   int64
	Rejections     []Rejection
	Failure        string
	CreatedBy      string
	StartedAt      time.Time
	FinishedAt     time.Time
}

// ImportRejectedError is an import undone because rows were malformed.
type ImportRejectedError struct{ Record ImportRecord }

func (e *ImportRejectedError) Error() string {
	return fmt.Sprintf("cases: import %s rejected: %d malformed rows", e.Record.ID, e.Record.RowsRejected)
}

// ImportFailedError is an import undone because its file could not be
// read to its end; Err says why (a read error of the upload, or a row too
// long to read).
type ImportFailedError struct {
	Record ImportRecord
	Err    error
}

func (e *ImportFailedError) Error() string {
	return fmt.Sprintf("cases: import %s failed: %v", e.Record.ID, e.Err)
}

func (e *ImportFailedError) Unwrap() error { return e.Err }

// ImportRequest says how to read a file and how to mark its events.
type ImportRequest struct {
	Format ImportFormat
	TLP    access.TLP // default AMBER
}

type importRow struct {
	ID             string `gorm:"primaryKey"`
	CaseID         string
	Format         string
	Status         string
	TLP            string `gorm:"column:tlp"`
	FileSHA256     string `gorm:"column:file_sha256"`
	BytesRead      int64
	RowsRead       int64
	EventsImported int64
	RowsRejected   int64
	Rejections     string
	Failure        string
	CreatedBy      string
	StartedAt      time.Time
	FinishedAt     time.Time
}

func (importRow) TableName() string { return "timeline_imports" }

func (r importRow) toRecord() ImportRecord {
	rec := ImportRecord{ID: r.ID, CaseID: r.CaseID, Format: ImportFormat(r.Format), Status: ImportStatus(r.Status),
		TLP: access.TLP(r.TLP), FileSHA256: r.FileSHA256, BytesRead: r.BytesRead, RowsRead: r.RowsRead,
		EventsImported: r.EventsImported, RowsRejected: r.RowsRejected, Failure: r.Failure, CreatedBy: r.CreatedBy,
		StartedAt: r.StartedAt.UTC(), FinishedAt: r.FinishedAt.UTC()}
	_ = json.Unmarshal([]byte(r.Rejections), &rec.Rejections)
	if len(rec.Rejections) == 0 {
		rec.Rejections = nil
	}
	return rec
}

func toImportRow(rec ImportRecord) importRow {
	rejections, _ := json.Marshal(rec.Rejections)
	if rec.Rejections == nil {
		rejections = []byte("[]")
	}
	return importRow{ID: rec.ID, CaseID: rec.CaseID, Format: string(rec.Format), Status: string(rec.Status),
		TLP: string(rec.TLP), FileSHA256: rec.FileSHA256, BytesRead: rec.BytesRead, RowsRead: rec.RowsRead,
		EventsImported: rec.EventsImported, RowsRejected: rec.RowsRejected, Rejections: string(rejections),
		Failure: rec.Failure, CreatedBy: rec.CreatedBy, StartedAt: rec.StartedAt, FinishedAt: rec.FinishedAt}
}

// Import reads a plaso export from body and adds its rows as events of the
// case, all or nothing, in one transaction and in bounded memory. A file
// with malformed rows adds nothing and answers *ImportRejectedError listing
// them by line; a file that cannot be read to its end adds nothing and
// answers *ImportFailedError. Either way the import record is kept.
func (t *Timeline) Import(ctx context.Context, caseID string, by Reader, req ImportRequest, body io.Reader) (ImportRecord, error) {
	if req.TLP == "" {
		req.TLP = access.TLPAmber
	}
	var v validate.Errors
	v.Check(req.Format == FormatJSONLine || req.Format == FormatL2TCSV || req.Format == FormatDynamic,
		"format", "must be json_line, l2tcsv or dynamic")
	v.Check(req.TLP.Valid() && marked(by.Markings, req.TLP), "tlp",
		"must be a TLP marking no stricter than what you may see on this case")
	if err := v.Err(); err != nil {
		return ImportRecord{}, err
	}
	rec := ImportRecord{ID: newID(), CaseID: caseID, Format: req.Format, TLP: req.TLP, CreatedBy: by.Principal.UserID,
		StartedAt: t.now()}
	hash := sha256.New()
	counted := &countingReader{r: io.TeeReader(body, hash)}
	src := &importSource{template: eventRow{CaseID: caseID, RecordedAt: rec.StartedAt, RecordedBy: rec.CreatedBy,
		TLP: string(req.TLP), ImportID: &rec.ID}}
	// finish completes the record once every row has been read; a
	// completed import writes it in the transaction that adds its events.
	finish := func() importRow {
		_, _ = io.Copy(io.Discard, counted) // hash what follows the last row too
		rec.FileSHA256 = hex.EncodeToString(hash.Sum(nil))
		rec.BytesRead, rec.RowsRead, rec.EventsImported = counted.n, src.valid, src.valid
		rec.Status, rec.FinishedAt = ImportCompleted, t.now()
		return toImportRow(rec)
	}
	parser, err := newPlasoReader(req.Format, counted)
	if err == nil {
		src.parser = parser
		if db.Dialect(t.db) == db.Postgres {
			err = t.copyPostgres(ctx, src, finish)
		} else {
			err = t.insertSQLite(ctx, src, finish)
		}
	}
	if err == nil {
		return rec, nil
	}
	// Nothing was added; record why.
	var re *rowError
	rec.BytesRead, rec.RowsRead, rec.EventsImported = counted.n, src.valid+src.rejected, 0
	rec.RowsRejected, rec.Rejections = src.rejected, src.rejections
	rec.FinishedAt = t.now()
	var outcome error
	switch {
	case errors.Is(err, errRowsRejected):
		rec.Status, rec.FileSHA256 = ImportRejected, hex.EncodeToString(hash.Sum(nil))
		outcome = &ImportRejectedError{Record: rec}
	case errors.As(err, &re): // the header is wrong: no row could be read
		rec.Status, rec.RowsRejected, rec.Rejections = ImportRejected, 1, []Rejection{{Line: re.Line, Reason: re.Reason}}
		_, _ = io.Copy(io.Discard, counted)
		rec.BytesRead, rec.FileSHA256 = counted.n, hex.EncodeToString(hash.Sum(nil))
		outcome = &ImportRejectedError{Record: rec}
	case errors.Is(err, errRowTooLong) || src.readErr != nil:
		rec.Status, rec.FileSHA256 = ImportFailed, ""
		rec.Failure = "the file could not be read to its end: " + err.Error()
		outcome = &ImportFailedError{Record: rec, Err: err}
	default:
		rec.Status, rec.FileSHA256 = ImportFailed, ""
		rec.Failure = "the events could not be stored; the error is logged"
		outcome = fmt.Errorf("cases: import: %w", err)
	}
	// The request may be over (a client that went away); the record is
	// still written.
	row := toImportRow(rec)
	if werr := t.db.WithContext(context.WithoutCancel(ctx)).Create(&row).Error; werr != nil {
		return ImportRecord{}, fmt.Errorf("cases: record import: %w", werr)
	}
	return rec, outcome
}

// errRowsRejected undoes an import that had malformed rows.
var errRowsRejected = errors.New("cases: import rows rejected")

// importSource turns parsed rows into event rows. After the first
// malformed row it reads on only to report every malformed row, and adds
// none.
type importSource struct {
	parser     plasoReader
	template   eventRow
	row        eventRow
	valid      int64 // rows read and found well-formed
	rejected   int64
	rejections []Rejection
	readErr    error // the file could not be read further
}

// next makes the next event row, or answers false at the end.
func (s *importSource) next() bool {
	for {
		ev, err := s.parser.Next()
		var re *rowError
		switch {
		case errors.Is(err, io.EOF):
			return false
		case errors.As(err, &re):
			s.reject(re.Line, re.Reason)
			continue
		case err != nil:
			s.readErr = err
			return false
		}
		if reason := checkImported(&ev); reason != "" {
			s.reject(ev.Line, reason)
			continue
		}
		s.valid++
		if s.rejected > 0 {
			continue
		}
		s.row = s.template
		s.row.ID = newID()
		s.row.OccurredAt = ev.OccurredAt.Truncate(time.Microsecond)
		s.row.SourceTimezone = ev.Zone
		s.row.SourceHost, s.row.SourceLog, s.row.SourceSystem = ev.Host, ev.Log, ev.System
		s.row.Actor, s.row.Description, s.row.Tags = ev.Actor, ev.Description, joinList(dedupe(ev.Tags))
		return true
	}
}

func (s *importSource) reject(line int64, reason string) {
	s.rejected++
	if len(s.rejections) < MaxReportedRejections {
		s.rejections = append(s.rejections, Rejection{Line: line, Reason: reason})
	}
}

// err is why the rows must not be committed, once next has answered false.
func (s *importSource) err() error {
	switch {
	case s.readErr != nil:
		return s.readErr
	case s.rejected > 0:
		return errRowsRejected
	}
	return nil
}

// checkImported holds an imported row to the rules of events, and says
// what is wrong with it; the zone and time were checked while parsing.
func checkImported(ev *plasoEvent) string {
	ev.Host, ev.Log, ev.System = strings.TrimSpace(ev.Host), strings.TrimSpace(ev.Log), strings.TrimSpace(ev.System)
	ev.Actor, ev.Description = strings.TrimSpace(ev.Actor), strings.TrimSpace(ev.Description)
	switch {
	case ev.OccurredAt.Before(earliestEvent) || ev.OccurredAt.After(latestEvent):
		return "the time is outside 1601 to 9999"
	case ev.Description == "":
		return "has no message"
	case len(ev.Description) > maxDescription:
		return "the message is longer than 64 KiB"
	case !utf8.ValidString(ev.Description) || strings.ContainsRune(ev.Description, 0):
		return "the message is not valid UTF-8 text"
	case !singleLine(ev.Host, maxSourceField):
		return "the host is not one line of at most 1000 characters"
	case !singleLine(ev.Log, maxSourceField):
		return "the file name is not one line of at most 1000 characters"
	case !singleLine(ev.System, maxSourceField):
		return "the source type is not one line of at most 1000 characters"
	case !singleLine(ev.Actor, maxActor):
		return "the user is not one line of at most 300 characters"
	case len(ev.Tags) > maxListItems:
		return "has more than 50 tags"
	case !utf8.ValidString(ev.Zone):
		return "the time zone is not valid UTF-8"
	}
	for _, tag := range ev.Tags {
		if !tagPattern.MatchString(tag) {
			return fmt.Sprintf("tag %q is not a tag", clip(tag))
		}
	}
	return ""
}

// countingReader counts the bytes read, and answers its first error
// (io.EOF included) to every later read without asking the source again:
// some request bodies block when read past their end.
type countingReader struct {
	r   io.Reader
	n   int64
	err error
}

func (c *countingReader) Read(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	n, err := c.r.Read(p)
	c.n += int64(n)
	c.err = err
	return n, err
}

// Imports lists the import records of a case the reader may see (those
// marked within their markings, like the events they add), newest first.
func (t *Timeline) Imports(ctx context.Context, caseID string, by Reader) ([]ImportRecord, error) {
	var rows []importRow
	err := t.db.WithContext(ctx).Where("case_id = ? AND tlp IN ?", caseID, by.Markings).
		Order("started_at DESC, id DESC").Limit(500).Find(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("cases: list imports: %w", err)
	}
	out := make([]ImportRecord, len(rows))
	for i, r := range rows {
		out[i] = r.toRecord()
	}
	return out, nil
}

// ImportRecordOf returns one import record of a case the reader may see.
func (t *Timeline) ImportRecordOf(ctx context.Context, caseID, importID string, by Reader) (ImportRecord, error) {
	var row importRow
	err := t.db.WithContext(ctx).Where("id = ? AND case_id = ? AND tlp IN ?", importID, caseID, by.Markings).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return ImportRecord{}, ErrNotFound
	}
	if err != nil {
		return ImportRecord{}, fmt.Errorf("cases: get import: %w", err)
	}
	return row.toRecord(), nil
}
