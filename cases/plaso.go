package cases

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// This file reads the exports of plaso's psort.py: the json_line output
// (one JSON object per line, "timestamp" in microseconds since 1970 UTC),
// the l2tcsv output (log2timeline.pl's 17 fixed columns) and the dynamic
// CSV output (the columns its header names). Readers stream: memory holds
// one row at a time, whatever the size of the file.

// ImportFormat is the format of a super-timeline file.
type ImportFormat string

// Supported plaso output formats.
const (
	FormatJSONLine ImportFormat = "json_line"
	FormatL2TCSV   ImportFormat = "l2tcsv"
	FormatDynamic  ImportFormat = "dynamic"
)

// maxRowBytes bounds one row (a JSON line, or a CSV record with its quoted
// line breaks): a row past it is refused rather than held in memory.
const maxRowBytes = 1 << 20

// plasoEvent is one row of a plaso export, in timeline terms.
type plasoEvent struct {
	Line        int64 // where the row starts, 1-based
	OccurredAt  time.Time
	Zone        string
	Host        string
	Log         string
	System      string
	Actor       string
	Description string
	Tags        []string
}

// rowError is a row that cannot be imported; reading goes on after it.
type rowError struct {
	Line   int64
	Reason string
}

func (e *rowError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Reason) }

// errRowTooLong ends an import: the file cannot be read row by row.
var errRowTooLong = fmt.Errorf("a row is longer than %d bytes", maxRowBytes)

// plasoReader yields the rows of one export. Next returns a *rowError for
// a row it refuses (the next call reads on), io.EOF at the end, and any
// other error when the file cannot be read further.
type plasoReader interface {
	Next() (plasoEvent, error)
}

func newPlasoReader(format ImportFormat, r io.Reader) (plasoReader, error) {
	switch format {
	case FormatJSONLine:
		return &jsonLineReader{br: bufio.NewReaderSize(r, maxRowBytes), zones: zoneCache{}}, nil
	case FormatL2TCSV, FormatDynamic:
		return newCSVReader(format, r)
	}
	return nil, fmt.Errorf("cases: unknown import format %q", format)
}

// plasoJSON holds the attributes of a json_line event that the timeline
// keeps; plaso adds parser-specific attributes, which are ignored.
type plasoJSON struct {
	ContainerType string          `json:"__container_type__"`
	Timestamp     json.RawMessage `json:"timestamp"`
	TimestampDesc string          `json:"timestamp_desc"`
	Message       string          `json:"message"`
	DataType      string          `json:"data_type"`
	Parser        string          `json:"parser"`
	Hostname      string          `json:"hostname"`
	Username      string          `json:"username"`
	DisplayName   string          `json:"display_name"`
	Filename      string          `json:"filename"`
	Tag           *struct {
		Labels []string `json:"labels"`
	} `json:"tag"`
}

type jsonLineReader struct {
	br    *bufio.Reader
	line  int64
	zones zoneCache
}

func (r *jsonLineReader) Next() (plasoEvent, error) {
	for {
		raw, err := r.br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			return plasoEvent{}, errRowTooLong
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return plasoEvent{}, err
		}
		if len(raw) == 0 && errors.Is(err, io.EOF) {
			return plasoEvent{}, io.EOF
		}
		r.line++
		if len(bytes.TrimSpace(raw)) == 0 {
			continue // plaso writes none, but a trailing blank line is harmless
		}
		return parseJSONLine(r.line, raw)
	}
}

func parseJSONLine(line int64, raw []byte) (plasoEvent, error) {
	reject := func(reason string) (plasoEvent, error) { return plasoEvent{}, &rowError{Line: line, Reason: reason} }
	var v plasoJSON
	if err := json.Unmarshal(raw, &v); err != nil {
		var typ *json.UnmarshalTypeError
		if errors.As(err, &typ) {
			return reject(fmt.Sprintf("field %q has the wrong type", typ.Field))
		}
		return reject("is not a JSON object")
	}
	if v.ContainerType != "" && v.ContainerType != "event" {
		return reject(fmt.Sprintf("is a %q container, not an event", clip(v.ContainerType)))
	}
	if len(v.Timestamp) == 0 || string(v.Timestamp) == "null" {
		return reject("has no timestamp")
	}
	micros, err := strconv.ParseInt(string(v.Timestamp), 10, 64)
	if err != nil {
		f, ferr := strconv.ParseFloat(string(v.Timestamp), 64)
		if ferr != nil || f < -1e17 || f > 1e17 {
			return reject(fmt.Sprintf("timestamp %s is not microseconds since 1970", clip(string(v.Timestamp))))
		}
		micros = int64(f)
	}
	if micros == 0 {
		return reject("has no timestamp (plaso writes 0 for a missing one)")
	}
	at := time.UnixMicro(micros).UTC()
	if at.Before(earliestEvent) || at.After(latestEvent) {
		return reject(fmt.Sprintf("timestamp %d is outside 1601 to 9999", micros))
	}
	log := v.DisplayName
	if log == "" {
		log = v.Filename
	}
	system := v.Parser
	if system == "" {
		system = v.DataType
	}
	ev := plasoEvent{Line: line, OccurredAt: at, Zone: "UTC", Host: v.Hostname, Log: log, System: system,
		Actor: v.Username, Description: describe(v.TimestampDesc, v.Message, v.DataType)}
	if v.Tag != nil {
		ev.Tags = v.Tag.Labels
	}
	return ev, nil
}

// describe makes an event's description from plaso's timestamp
// description ("Content Modification Time") and message.
func describe(timestampDesc, message, fallback string) string {
	message = strings.TrimSpace(message)
	if message == "" {
		message = strings.TrimSpace(fallback)
	}
	timestampDesc = strings.TrimSpace(timestampDesc)
	if timestampDesc == "" || timestampDesc == "Unknown Time" || message == "" {
		return message
	}
	return timestampDesc + ": " + message
}

// l2tcsvHeader is the fixed header of plaso's l2tcsv output.
var l2tcsvHeader = []string{"date", "time", "timezone", "MACB", "source", "sourcetype", "type", "user", "host",
	"short", "desc", "version", "filename", "inode", "notes", "format", "extra"}

type csvReader struct {
	cr    *csv.Reader
	guard *rowGuard
	zones zoneCache
	row   func(line int64, rec []string) (plasoEvent, error)
}

func newCSVReader(format ImportFormat, r io.Reader) (*csvReader, error) {
	guard := &rowGuard{r: r}
	c := &csvReader{cr: csv.NewReader(guard), guard: guard, zones: zoneCache{}}
	c.cr.ReuseRecord = true
	header, err := c.cr.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &rowError{Line: 1, Reason: "the file is empty; the header is missing"}
		}
		if pe := (*csv.ParseError)(nil); errors.As(err, &pe) {
			return nil, &rowError{Line: int64(pe.StartLine), Reason: "the header is not CSV: " + pe.Err.Error()}
		}
		return nil, err
	}
	header = append([]string(nil), header...)
	if len(header) > 0 {
		header[0] = strings.TrimPrefix(header[0], "\ufeff")
	}
	c.cr.FieldsPerRecord = len(header)
	switch format {
	case FormatL2TCSV:
		if !equalFold(header, l2tcsvHeader) {
			return nil, &rowError{Line: 1, Reason: "the header is not l2tcsv's (" + strings.Join(l2tcsvHeader, ",") + ")"}
		}
		c.row = c.l2tcsvRow
	case FormatDynamic:
		cols, err := dynamicColumns(header)
		if err != nil {
			return nil, err
		}
		c.row = func(line int64, rec []string) (plasoEvent, error) { return c.dynamicRow(cols, line, rec) }
	}
	return c, nil
}

func (c *csvReader) Next() (plasoEvent, error) {
	c.guard.n = 0
	rec, err := c.cr.Read()
	if c.guard.n > maxRowBytes {
		// What the CSV reader makes of a cut-off record does not matter.
		return plasoEvent{}, errRowTooLong
	}
	if err != nil {
		var pe *csv.ParseError
		switch {
		case errors.Is(err, io.EOF):
			return plasoEvent{}, io.EOF
		case errors.Is(err, errRowTooLong):
			return plasoEvent{}, errRowTooLong
		case errors.As(err, &pe) && errors.Is(pe.Err, csv.ErrFieldCount):
			return plasoEvent{}, &rowError{Line: int64(pe.StartLine),
				Reason: fmt.Sprintf("has %d fields, the header %d", len(rec), c.cr.FieldsPerRecord)}
		case errors.As(err, &pe):
			return plasoEvent{}, &rowError{Line: int64(pe.StartLine), Reason: "is not valid CSV: " + pe.Err.Error()}
		}
		return plasoEvent{}, err
	}
	line, _ := c.cr.FieldPos(0)
	return c.row(int64(line), rec)
}

func (c *csvReader) l2tcsvRow(line int64, rec []string) (plasoEvent, error) {
	f := func(i int) string { return dash(rec[i]) }
	loc, err := c.zones.lookup(f(2))
	if err != nil {
		return plasoEvent{}, &rowError{Line: line, Reason: err.Error()}
	}
	at, err := time.ParseInLocation("01/02/2006 15:04:05", rec[0]+" "+rec[1], loc)
	if err != nil {
		return plasoEvent{}, &rowError{Line: line,
			Reason: fmt.Sprintf("date and time %q are not MM/DD/YYYY and HH:MM:SS", clip(rec[0]+" "+rec[1]))}
	}
	if err := inTimelineRange(line, at); err != nil {
		return plasoEvent{}, err
	}
	tags, err := labels(line, f(14))
	if err != nil {
		return plasoEvent{}, err
	}
	return plasoEvent{Line: line, OccurredAt: at.UTC(), Zone: zoneName(f(2)), Host: f(8), Log: f(12), System: f(5),
		Actor: f(7), Description: describe(f(6), f(10), f(9)), Tags: tags}, nil
}

// dynamicCols are the positions of the dynamic output's columns the
// timeline uses; -1 when the export does not have one.
type dynamicCols struct {
	datetime, date, clock, zone, desc, message, short, system, parser, host, user, log, filename, tag int
}

func dynamicColumns(header []string) (dynamicCols, error) {
	at := func(names ...string) int {
		for _, n := range names {
			for i, h := range header {
				if strings.EqualFold(strings.TrimSpace(h), n) {
					return i
				}
			}
		}
		return -1
	}
	c := dynamicCols{datetime: at("datetime"), date: at("date"), clock: at("time"), zone: at("timezone", "zone"),
		desc: at("timestamp_desc", "type"), message: at("message"), short: at("message_short", "short"),
		system: at("source_long", "sourcetype"), parser: at("parser", "format"), host: at("hostname", "host"),
		user: at("username", "user"), log: at("display_name"), filename: at("filename"), tag: at("tag", "tags", "notes")}
	if c.datetime < 0 && (c.date < 0 || c.clock < 0) {
		return c, &rowError{Line: 1, Reason: "the header names no datetime column (nor date and time)"}
	}
	if c.message < 0 && c.short < 0 {
		return c, &rowError{Line: 1, Reason: "the header names no message column"}
	}
	return c, nil
}

func (c *csvReader) dynamicRow(cols dynamicCols, line int64, rec []string) (plasoEvent, error) {
	f := func(i int) string {
		if i < 0 {
			return ""
		}
		return dash(rec[i])
	}
	var at time.Time
	zone := "UTC"
	if cols.datetime >= 0 {
		t, err := time.Parse(time.RFC3339Nano, rec[cols.datetime])
		if err != nil {
			return plasoEvent{}, &rowError{Line: line,
				Reason: fmt.Sprintf("datetime %q is not ISO 8601 with an offset", clip(rec[cols.datetime]))}
		}
		if _, off := t.Zone(); off != 0 {
			zone = t.Format("-07:00")
		}
		at = t
	} else {
		loc, err := c.zones.lookup(f(cols.zone))
		if err != nil {
			return plasoEvent{}, &rowError{Line: line, Reason: err.Error()}
		}
		t, err := time.ParseInLocation("2006-01-02 15:04:05", rec[cols.date]+" "+rec[cols.clock], loc)
		if err != nil {
			return plasoEvent{}, &rowError{Line: line,
				Reason: fmt.Sprintf("date and time %q are not YYYY-MM-DD and HH:MM:SS", clip(rec[cols.date]+" "+rec[cols.clock]))}
		}
		at, zone = t, zoneName(f(cols.zone))
	}
	if err := inTimelineRange(line, at); err != nil {
		return plasoEvent{}, err
	}
	tags, err := labels(line, f(cols.tag))
	if err != nil {
		return plasoEvent{}, err
	}
	message := f(cols.message)
	if message == "" {
		message = f(cols.short)
	}
	system := f(cols.system)
	if system == "" {
		system = f(cols.parser)
	}
	log := f(cols.log)
	if log == "" {
		log = f(cols.filename)
	}
	return plasoEvent{Line: line, OccurredAt: at.UTC(), Zone: zone, Host: f(cols.host), Log: log, System: system,
		Actor: f(cols.user), Description: describe(f(cols.desc), message, ""), Tags: tags}, nil
}

// inTimelineRange refuses a row whose time the timeline cannot hold
// (before 1601 or after 9999), as a row of its own, not the whole file.
func inTimelineRange(line int64, at time.Time) error {
	if at.Before(earliestEvent) || at.After(latestEvent) {
		return &rowError{Line: line, Reason: fmt.Sprintf("time %s is outside 1601 to 9999", at.UTC().Format("2006-01-02T15:04:05Z07:00"))}
	}
	return nil
}

// labels splits plaso's tag labels, which it writes space-separated.
func labels(line int64, s string) ([]string, error) {
	out := strings.Fields(s)
	if len(out) == 0 {
		return nil, nil
	}
	for _, l := range out {
		if !tagPattern.MatchString(l) {
			return nil, &rowError{Line: line, Reason: fmt.Sprintf("tag %q is not a tag", clip(l))}
		}
	}
	return out, nil
}

// dash reads plaso's "-", which stands for "no value".
func dash(s string) string {
	if s == "-" {
		return ""
	}
	return s
}

func zoneName(z string) string {
	if z == "" {
		return "UTC"
	}
	return z
}

// zoneCache holds the time zones of one import: loading one from the
// system's database for every row would cost more than the row.
type zoneCache map[string]*time.Location

func (z zoneCache) lookup(name string) (*time.Location, error) {
	if name == "" || name == "UTC" {
		return time.UTC, nil
	}
	if loc, ok := z[name]; ok {
		return loc, nil
	}
	loc, err := loadZone(name)
	if err != nil {
		return nil, fmt.Errorf("time zone %q is unknown", clip(name))
	}
	if len(z) < 64 {
		z[name] = loc
	}
	return loc, nil
}

// loadZone reads "UTC", an offset ("+02:00") or an IANA name ("Europe/Oslo").
func loadZone(name string) (*time.Location, error) {
	if zoneOffset.MatchString(name) {
		h, _ := strconv.Atoi(name[1:3])
		m, _ := strconv.Atoi(name[4:6])
		secs := h*3600 + m*60
		if name[0] == '-' {
			secs = -secs
		}
		return time.FixedZone(name, secs), nil
	}
	if name == "" || name == "Local" || len(name) > 64 {
		return nil, errors.New("unknown time zone")
	}
	return time.LoadLocation(name)
}

func equalFold(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !strings.EqualFold(strings.TrimSpace(a[i]), b[i]) {
			return false
		}
	}
	return true
}

// clip shortens a value quoted back in a rejection reason.
func clip(s string) string {
	if len(s) <= 64 {
		return s
	}
	return strings.ToValidUTF8(s[:64], "") + "…"
}

// rowGuard fails reading when one CSV record grows past maxRowBytes, so an
// unterminated quote cannot pull a whole file into memory. The CSV reader
// reads ahead in 4 KiB chunks, so the bound is approximate by that much.
type rowGuard struct {
	r io.Reader
	n int
}

func (g *rowGuard) Read(p []byte) (int, error) {
	if g.n > maxRowBytes {
		return 0, errRowTooLong
	}
	n, err := g.r.Read(p)
	g.n += n
	return n, err
}
