package api

import (
	"bytes"
	"errors"
	"io"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/bevis-ir/bevis/access"
	"github.com/bevis-ir/bevis/cases"
	"github.com/bevis-ir/bevis/internal/validate"
)

type eventSourceJSON struct {
	Host   string `json:"host"`
	Log    string `json:"log"`
	System string `json:"system"`
}

type eventJSON struct {
	ID               string          `json:"id"`
	CaseID           string          `json:"case_id"`
	OccurredAt       string          `json:"occurred_at"`
	OccurredUntil    *string         `json:"occurred_until"`
	SourceTimezone   string          `json:"source_timezone"`
	RecordedAt       string          `json:"recorded_at"`
	RecordedBy       string          `json:"recorded_by"`
	Source           eventSourceJSON `json:"source"`
	Actor            string          `json:"actor"`
	Description      string          `json:"description"`
	Tactics          []string        `json:"tactics"`
	Techniques       []string        `json:"techniques"`
	Tags             []string        `json:"tags"`
	Confidence       *string         `json:"confidence"`
	TLP              string          `json:"tlp"`
	Supersedes       *string         `json:"supersedes"`
	SupersededBy     *string         `json:"superseded_by"`
	CorrectionReason string          `json:"correction_reason,omitempty"`
	ImportID         *string         `json:"import_id"`
}

func toEventJSON(e cases.Event) eventJSON {
	out := eventJSON{ID: e.ID, CaseID: e.CaseID, OccurredAt: timestamp(e.OccurredAt), SourceTimezone: e.SourceTimezone,
		RecordedAt: timestamp(e.RecordedAt), RecordedBy: e.RecordedBy,
		Source: eventSourceJSON{Host: e.Source.Host, Log: e.Source.Log, System: e.Source.System},
		Actor:  e.Actor, Description: e.Description, Tactics: emptyIfNil(e.Tactics), Techniques: emptyIfNil(e.Techniques),
		Tags: emptyIfNil(e.Tags), TLP: string(e.TLP), Supersedes: orNull(e.Supersedes), SupersededBy: orNull(e.SupersededBy),
		CorrectionReason: e.CorrectionReason, ImportID: orNull(e.ImportID), Confidence: orNull(string(e.Confidence))}
	if e.OccurredUntil != nil {
		until := timestamp(*e.OccurredUntil)
		out.OccurredUntil = &until
	}
	return out
}

func emptyIfNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func orNull(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// eventRequest is an event as a client writes it. ID, case, recorder,
// times of recording, version links and import are the server's.
type eventRequest struct {
	OccurredAt     string          `json:"occurred_at"`
	OccurredUntil  *string         `json:"occurred_until"`
	SourceTimezone string          `json:"source_timezone"`
	Source         eventSourceJSON `json:"source"`
	Actor          string          `json:"actor"`
	Description    string          `json:"description"`
	Tactics        []string        `json:"tactics"`
	Techniques     []string        `json:"techniques"`
	Tags           []string        `json:"tags"`
	Confidence     string          `json:"confidence"`
	TLP            string          `json:"tlp"`
}

type correctionRequest struct {
	eventRequest
	Reason string `json:"reason"`
}

func (in eventRequest) toNewEvent() (cases.NewEvent, error) {
	var v validate.Errors
	occurred, err := time.Parse(time.RFC3339Nano, in.OccurredAt)
	v.Check(err == nil, "occurred_at", "must be an RFC 3339 time with an offset, e.g. 2026-01-15T09:30:00+01:00")
	var until *time.Time
	if in.OccurredUntil != nil {
		u, err := time.Parse(time.RFC3339Nano, *in.OccurredUntil)
		v.Check(err == nil, "occurred_until", "must be an RFC 3339 time with an offset, or null")
		until = &u
	}
	if err := v.Err(); err != nil {
		return cases.NewEvent{}, err
	}
	return cases.NewEvent{OccurredAt: occurred, OccurredUntil: until, SourceTimezone: in.SourceTimezone,
		Source: cases.EventSource{Host: in.Source.Host, Log: in.Source.Log, System: in.Source.System},
		Actor:  in.Actor, Description: in.Description, Tactics: in.Tactics, Techniques: in.Techniques, Tags: in.Tags,
		Confidence: cases.Confidence(in.Confidence), TLP: access.TLP(in.TLP)}, nil
}

// timelineWriter is timelineReader for a write, which a closed case refuses.
func (s *server) timelineWriter(c *fiber.Ctx) (cases.Reader, error) {
	reader, err := s.timelineReader(c, access.ActionCaseWrite)
	if err != nil {
		return cases.Reader{}, err
	}
	return reader, s.Cases.EnsureOpen(c.UserContext(), c.Params("id"))
}

// timelineReader authorizes action on the case of the request and returns
// the caller as a reader of its timeline, with the markings they may see.
func (s *server) timelineReader(c *fiber.Ctx, action access.Action) (cases.Reader, error) {
	caseID := c.Params("id")
	// Both questions are answered from one reading of the caller's standing.
	ctx, p := access.RememberCaseFacts(c.UserContext()), principal(c)
	if err := s.Authz.Authorize(ctx, p, action, access.Resource{CaseID: caseID}); err != nil {
		return cases.Reader{}, err
	}
	markings, err := s.Authz.ItemMarkings(ctx, p, caseID)
	if err != nil {
		return cases.Reader{}, err
	}
	return cases.Reader{Principal: p, Markings: markings}, nil
}

type eventPageJSON struct {
	Items      []eventJSON `json:"items"`
	NextCursor *string     `json:"next_cursor"`
}

// timelineQuery lists the query parameters of the timeline listing; any
// other is refused, so a misspelt filter does not silently list everything.
var timelineQuery = map[string]bool{"from": true, "to": true, "source": true, "technique": true, "tag": true,
	"q": true, "include_superseded": true, "cursor": true, "limit": true}

func (s *server) listTimeline(c *fiber.Ctx) error {
	reader, err := s.timelineReader(c, access.ActionCaseRead)
	if err != nil {
		return err
	}
	var v validate.Errors
	c.Context().QueryArgs().VisitAll(func(key, _ []byte) {
		if !timelineQuery[string(key)] {
			v.Add(string(key), "is not a filter of the timeline")
		}
	})
	f := cases.EventFilter{Source: c.Query("source"), Technique: c.Query("technique"), Tag: c.Query("tag"), Text: c.Query("q")}
	f.From = queryTime(c, &v, "from")
	f.To = queryTime(c, &v, "to")
	if raw := c.Query("include_superseded"); raw != "" {
		b, err := strconv.ParseBool(raw)
		v.Check(err == nil, "include_superseded", "must be true or false")
		f.IncludeSuperseded = b
	}
	page := cases.PageRequest{Cursor: c.Query("cursor")}
	page.Limit = limitParam(c, &v, cases.MaxPageSize)
	if err := v.Err(); err != nil {
		return err
	}
	list, err := s.Timeline.List(c.UserContext(), c.Params("id"), reader, f, page)
	if err != nil {
		return err
	}
	out := eventPageJSON{Items: make([]eventJSON, len(list.Events)), NextCursor: orNull(list.NextCursor)}
	for i, e := range list.Events {
		out.Items[i] = toEventJSON(e)
	}
	return c.JSON(out)
}

func queryTime(c *fiber.Ctx, v *validate.Errors, name string) *time.Time {
	raw := c.Query(name)
	if raw == "" {
		return nil
	}
	t, err := time.Parse(time.RFC3339Nano, raw)
	v.Check(err == nil, name, "must be an RFC 3339 time with an offset")
	return &t
}

func (s *server) addTimelineEvent(c *fiber.Ctx) error {
	// No timelineWriter: Add refuses a closed case in the statement adding
	// the event.
	reader, err := s.timelineReader(c, access.ActionCaseWrite)
	if err != nil {
		return err
	}
	var in eventRequest
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	ev, err := in.toNewEvent()
	if err != nil {
		return err
	}
	e, err := s.Timeline.Add(c.UserContext(), c.Params("id"), reader, ev)
	if err != nil {
		return err
	}
	c.Location("/api/v1/cases/" + e.CaseID + "/timeline/" + e.ID)
	return c.Status(fiber.StatusCreated).JSON(toEventJSON(e))
}

func (s *server) getTimelineEvent(c *fiber.Ctx) error {
	reader, err := s.timelineReader(c, access.ActionCaseRead)
	if err != nil {
		return err
	}
	e, err := s.Timeline.Get(c.UserContext(), c.Params("id"), c.Params("eventId"), reader)
	if err != nil {
		return err
	}
	return c.JSON(toEventJSON(e))
}

func (s *server) timelineHistory(c *fiber.Ctx) error {
	reader, err := s.timelineReader(c, access.ActionCaseRead)
	if err != nil {
		return err
	}
	versions, err := s.Timeline.History(c.UserContext(), c.Params("id"), c.Params("eventId"), reader)
	if err != nil {
		return err
	}
	out := listJSON[eventJSON]{Items: make([]eventJSON, len(versions))}
	for i, e := range versions {
		out.Items[i] = toEventJSON(e)
	}
	return c.JSON(out)
}

func (s *server) correctTimelineEvent(c *fiber.Ctx) error {
	ctx, p, caseID, eventID := c.UserContext(), principal(c), c.Params("id"), c.Params("eventId")
	markings, err := s.authorizeSeen(c, access.ActionCaseWrite, caseID, func(markings []access.TLP) error {
		_, err := s.Timeline.Get(ctx, caseID, eventID, cases.Reader{Principal: p, Markings: markings})
		return err
	})
	if err != nil {
		return err
	}
	if err := s.Cases.EnsureOpen(ctx, caseID); err != nil {
		return err
	}
	reader := cases.Reader{Principal: p, Markings: markings}
	var in correctionRequest
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	ev, err := in.toNewEvent()
	if err != nil {
		return err
	}
	e, err := s.Timeline.Correct(ctx, caseID, eventID, reader, ev, in.Reason)
	if err != nil {
		return err
	}
	c.Location("/api/v1/cases/" + e.CaseID + "/timeline/" + e.ID)
	return c.Status(fiber.StatusCreated).JSON(toEventJSON(e))
}

type rejectionJSON struct {
	Line   int64  `json:"line"`
	Reason string `json:"reason"`
}

type importJSON struct {
	ID             string          `json:"id"`
	CaseID         string          `json:"case_id"`
	Format         string          `json:"format"`
	Status         string          `json:"status"`
	TLP            string          `json:"tlp"`
	FileSHA256     *string         `json:"file_sha256"`
	BytesRead      int64           `json:"bytes_read"`
	RowsRead       int64           `json:"rows_read"`
	EventsImported int64           `json:"events_imported"`
	RowsRejected   int64           `json:"rows_rejected"`
	Rejections     []rejectionJSON `json:"rejections"`
	Failure        string          `json:"failure,omitempty"`
	CreatedBy      string          `json:"created_by"`
	StartedAt      string          `json:"started_at"`
	FinishedAt     string          `json:"finished_at"`
}

func toImportJSON(r cases.ImportRecord) importJSON {
	out := importJSON{ID: r.ID, CaseID: r.CaseID, Format: string(r.Format), Status: string(r.Status), TLP: string(r.TLP),
		FileSHA256: orNull(r.FileSHA256), BytesRead: r.BytesRead, RowsRead: r.RowsRead, EventsImported: r.EventsImported,
		RowsRejected: r.RowsRejected, Rejections: make([]rejectionJSON, len(r.Rejections)), Failure: r.Failure,
		CreatedBy: r.CreatedBy, StartedAt: timestamp(r.StartedAt), FinishedAt: timestamp(r.FinishedAt)}
	for i, j := range r.Rejections {
		out.Rejections[i] = rejectionJSON{Line: j.Line, Reason: j.Reason}
	}
	return out
}

func importLocation(r cases.ImportRecord) string {
	return "/api/v1/cases/" + r.CaseID + "/timeline/imports/" + r.ID
}

// importTimeline streams a plaso export into the timeline. The body is
// never buffered: a declared length over the import limit is refused
// before anything is read, and a chunked body is cut off at the limit.
func (s *server) importTimeline(c *fiber.Ctx) error {
	reader, err := s.timelineWriter(c)
	if err != nil {
		return err
	}
	limit := s.Config.ImportLimit
	if n := c.Request().Header.ContentLength(); int64(n) > limit {
		c.Context().SetConnectionClose()
		return importTooLarge(limit)
	}
	body := c.Context().RequestBodyStream()
	if body == nil {
		body = bytes.NewReader(c.Body()) // a body fasthttp has already read, within the general limit
	}
	req := cases.ImportRequest{Format: cases.ImportFormat(c.Query("format")), TLP: access.TLP(c.Query("tlp"))}
	limited := &limitedReader{r: body, limit: limit}
	rec, err := s.Timeline.Import(c.UserContext(), c.Params("id"), reader, req, limited)
	if !limited.ended {
		// The rest of an unread body must not be taken for the next
		// request on this connection.
		c.Context().SetConnectionClose()
	}
	if err != nil {
		return err
	}
	c.Location(importLocation(rec))
	return c.Status(fiber.StatusCreated).JSON(toImportJSON(rec))
}

func importTooLarge(limit int64) error {
	return newProblem(fiber.StatusRequestEntityTooLarge, "body_too_large",
		"The file is larger than the import limit of "+strconv.FormatInt(limit, 10)+" bytes.")
}

// limitedReader fails with a 413 problem once more than limit bytes come,
// and notes whether the body was read to its end.
type limitedReader struct {
	r           io.Reader
	limit, read int64
	ended       bool
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if room := l.limit - l.read + 1; int64(len(p)) > room {
		p = p[:room]
	}
	n, err := l.r.Read(p)
	l.read += int64(n)
	if l.read > l.limit {
		return n, importTooLarge(l.limit)
	}
	l.ended = errors.Is(err, io.EOF)
	return n, err
}

func (s *server) listTimelineImports(c *fiber.Ctx) error {
	reader, err := s.timelineReader(c, access.ActionCaseRead)
	if err != nil {
		return err
	}
	records, err := s.Timeline.Imports(c.UserContext(), c.Params("id"), reader)
	if err != nil {
		return err
	}
	out := listJSON[importJSON]{Items: make([]importJSON, len(records))}
	for i, r := range records {
		out.Items[i] = toImportJSON(r)
	}
	return c.JSON(out)
}

func (s *server) getTimelineImport(c *fiber.Ctx) error {
	reader, err := s.timelineReader(c, access.ActionCaseRead)
	if err != nil {
		return err
	}
	rec, err := s.Timeline.ImportRecordOf(c.UserContext(), c.Params("id"), c.Params("importId"), reader)
	if err != nil {
		return err
	}
	return c.JSON(toImportJSON(rec))
}
