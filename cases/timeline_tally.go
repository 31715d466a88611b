package cases

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"

	"github.com/bevis-ir/bevis/internal/db"
)

// The tallies (migration 00085) count the current events of a case per TLP
// marking, so that what a reader may see is summed from them exactly: the
// histogram of the time axis in timeline_tally, the TTP summary in
// timeline_ttp_tally. Every write that changes which events are current
// changes them in its own transaction: Add counts the new event, Correct
// counts the new version and uncounts the old, an import counts its rows
// in bulk.

// LaneKind is what the lanes of the time axis are: the events' hosts,
// logs or systems.
type LaneKind string

// Lane kinds.
const (
	LaneHost   LaneKind = "host"
	LaneLog    LaneKind = "log"
	LaneSystem LaneKind = "system"
)

var laneKinds = [...]LaneKind{LaneHost, LaneLog, LaneSystem}

// laneCut is how many characters of a source field name its lane: enough
// for any real host or file name, and a key PostgreSQL can index.
const laneCut = 200

const (
	hourSeconds = 3600
	daySeconds  = 86400
)

// floorDiv divides rounding down, so that a time before 1970 falls in the
// bucket it starts.
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

func hourOf(t time.Time) int64 { return floorDiv(t.Unix(), hourSeconds) }
func dayOf(t time.Time) int64  { return floorDiv(t.Unix(), daySeconds) }

// laneName is the lane of a source field: its first laneCut characters.
func laneName(s string) string {
	if utf8.RuneCountInString(s) <= laneCut {
		return s
	}
	n := 0
	for i := range s {
		if n == laneCut {
			return s[:i]
		}
		n++
	}
	return s
}

// firstTactic is the tactic an event is marked by on the time axis.
func firstTactic(tactics string) string {
	if f := strings.Fields(tactics); len(f) > 0 {
		return f[0]
	}
	return ""
}

type histKey struct {
	kind   LaneKind
	hour   int64
	lane   string
	tactic string
	tlp    string
}

type ttpKey struct {
	tlp, tactic, technique string
	day                    int64
}

type ttpCount struct {
	events      int64
	first, last time.Time
}

// tally is the change some writes make to the tallies of one case: counts
// to add (negative for events no longer current) and the TTP groups whose
// events must be recounted because one left them.
type tally struct {
	caseID  string
	hist    map[histKey]int64
	ttp     map[ttpKey]ttpCount
	recount map[ttpKey]bool
}

func newTally(caseID string) *tally {
	return &tally{caseID: caseID, hist: map[histKey]int64{}, ttp: map[ttpKey]ttpCount{}, recount: map[ttpKey]bool{}}
}

// tallyFlushKeys bounds the groups an import holds before writing them:
// memory stays bounded whatever the file.
const tallyFlushKeys = 10_000

func (t *tally) full() bool { return len(t.hist)+len(t.ttp) >= tallyFlushKeys }

// add counts a new current event.
func (t *tally) add(r *eventRow) {
	t.countHist(r, 1)
	if r.Techniques == "" {
		return
	}
	end := r.OccurredAt
	if r.OccurredUntil != nil {
		end = *r.OccurredUntil
	}
	t.eachPair(r, func(k ttpKey) {
		c, ok := t.ttp[k]
		if !ok {
			t.ttp[k] = ttpCount{events: 1, first: r.OccurredAt, last: end}
			return
		}
		c.events++
		if r.OccurredAt.Before(c.first) {
			c.first = r.OccurredAt
		}
		if end.After(c.last) {
			c.last = end
		}
		t.ttp[k] = c
	})
}

// remove uncounts an event that is no longer current. Its TTP groups are
// recounted from the events, which keeps their first and last seen exact.
func (t *tally) remove(r *eventRow) {
	t.countHist(r, -1)
	if r.Techniques == "" {
		return
	}
	t.eachPair(r, func(k ttpKey) { t.recount[k] = true })
}

func (t *tally) countHist(r *eventRow, n int64) {
	hour, tactic := hourOf(r.OccurredAt), firstTactic(r.Tactics)
	for _, kind := range laneKinds {
		lane := r.SourceHost
		switch kind {
		case LaneLog:
			lane = r.SourceLog
		case LaneSystem:
			lane = r.SourceSystem
		}
		t.hist[histKey{kind: kind, hour: hour, lane: laneName(lane), tactic: tactic, tlp: r.TLP}] += n
	}
}

// eachPair calls f with the TTP group of each tactic and technique pair of
// the event (tactic "" when it has none).
func (t *tally) eachPair(r *eventRow, f func(ttpKey)) {
	tactics := strings.Fields(r.Tactics)
	if len(tactics) == 0 {
		tactics = []string{""}
	}
	day := dayOf(r.OccurredAt)
	for _, te := range strings.Fields(r.Techniques) {
		for _, ta := range tactics {
			f(ttpKey{tlp: r.TLP, tactic: ta, technique: te, day: day})
		}
	}
}

// execFunc runs one statement, with ? placeholders, in the transaction of
// the write, and says how many rows it changed.
type execFunc func(ctx context.Context, query string, args ...any) (int64, error)

func gormExec(tx *gorm.DB) execFunc {
	return func(_ context.Context, query string, args ...any) (int64, error) {
		res := tx.Exec(query, args...)
		return res.RowsAffected, res.Error
	}
}

// tallyUpsertRows is how many groups one statement writes: 500 rows of at
// most 8 columns stays well under either database's limit of parameters.
const tallyUpsertRows = 500

// histUpsert adds the counts of rows (a VALUES list or a query of the
// table's columns in order) to the time axis's tally.
func histUpsert(rows string) string {
	return `INSERT INTO timeline_tally (case_id, lane_kind, hour, lane, tactic, tlp, events) ` + rows +
		` ON CONFLICT (case_id, lane_kind, hour, lane, tactic, tlp) DO UPDATE SET events = timeline_tally.events + excluded.events`
}

// ttpUpsert adds the counts of rows to the TTP summary's tally.
func ttpUpsert(dialect, rows string) string {
	least, greatest := "LEAST", "GREATEST"
	if dialect != db.Postgres {
		least, greatest = "MIN", "MAX" // SQLite's scalar forms
	}
	return `INSERT INTO timeline_ttp_tally (case_id, tlp, tactic, technique, day, events, first_seen, last_seen) ` + rows +
		` ON CONFLICT (case_id, tlp, tactic, technique, day) DO UPDATE SET
			events = timeline_ttp_tally.events + excluded.events,
			first_seen = ` + least + `(timeline_ttp_tally.first_seen, excluded.first_seen),
			last_seen = ` + greatest + `(timeline_ttp_tally.last_seen, excluded.last_seen)`
}

// The column types of the two tallies, for a VALUES list PostgreSQL must
// type from its first row (see onOpenCase).
var (
	histTypes = []string{"text", "text", "bigint", "text", "text", "text", "bigint"}
	ttpTypes  = []string{"text", "text", "text", "text", "bigint", "bigint", "timestamptz", "timestamptz"}
)

// histKeys are the groups t adds to and takes from, each in the one order
// every writer uses, so that concurrent writers on PostgreSQL lock the rows
// they share in the same order and never deadlock.
func (t *tally) histKeys() (more, fewer []histKey) {
	for k, n := range t.hist {
		switch {
		case n > 0:
			more = append(more, k)
		case n < 0:
			fewer = append(fewer, k)
		}
	}
	compare := func(a, b histKey) int {
		return cmp.Or(cmp.Compare(a.kind, b.kind), cmp.Compare(a.hour, b.hour), cmp.Compare(a.lane, b.lane),
			cmp.Compare(a.tactic, b.tactic), cmp.Compare(a.tlp, b.tlp))
	}
	slices.SortFunc(more, compare)
	slices.SortFunc(fewer, compare)
	return more, fewer
}

func (t *tally) histArgs(keys []histKey) []any {
	args := make([]any, 0, len(keys)*len(histTypes))
	for _, k := range keys {
		args = append(args, t.caseID, string(k.kind), k.hour, k.lane, k.tactic, k.tlp, t.hist[k])
	}
	return args
}

// ttpKeys are the TTP groups t adds to, in one order (as histKeys).
func (t *tally) ttpKeys() []ttpKey {
	keys := make([]ttpKey, 0, len(t.ttp))
	for k := range t.ttp {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, compareTTPKeys)
	return keys
}

func (t *tally) ttpArgs(keys []ttpKey) []any {
	args := make([]any, 0, len(keys)*len(ttpTypes))
	for _, k := range keys {
		c := t.ttp[k]
		args = append(args, t.caseID, k.tlp, k.tactic, k.technique, k.day, c.events, c.first.UTC(), c.last.UTC())
	}
	return args
}

// write adds the counts to the tallies and empties t; recounts need a
// *gorm.DB and are left to recountTTP.
func (t *tally) write(ctx context.Context, dialect string, exec execFunc) error {
	hist, fewer := t.histKeys()
	for chunk := range slices.Chunk(hist, tallyUpsertRows) {
		query := histUpsert("VALUES " + placeholderRows(len(histTypes), len(chunk)))
		if _, err := exec(ctx, query, t.histArgs(chunk)...); err != nil {
			return fmt.Errorf("cases: tally the timeline: %w", err)
		}
	}
	// Events that stopped being current were counted when they were
	// written: their groups exist, and one left empty goes.
	for _, k := range fewer {
		key := []any{t.caseID, string(k.kind), k.hour, k.lane, k.tactic, k.tlp}
		n, err := exec(ctx, `UPDATE timeline_tally SET events = events + ? WHERE case_id = ? AND lane_kind = ? AND hour = ?
			AND lane = ? AND tactic = ? AND tlp = ?`, append([]any{t.hist[k]}, key...)...)
		if err == nil && n != 1 {
			err = fmt.Errorf("no tally of %s lane %q at hour %d to take an event from", k.kind, k.lane, k.hour)
		}
		if err == nil {
			_, err = exec(ctx, `DELETE FROM timeline_tally WHERE case_id = ? AND lane_kind = ? AND hour = ? AND lane = ?
				AND tactic = ? AND tlp = ? AND events = 0`, key...)
		}
		if err != nil {
			return fmt.Errorf("cases: tally the timeline: %w", err)
		}
	}
	for chunk := range slices.Chunk(t.ttpKeys(), tallyUpsertRows) {
		query := ttpUpsert(dialect, "VALUES "+placeholderRows(len(ttpTypes), len(chunk)))
		if _, err := exec(ctx, query, t.ttpArgs(chunk)...); err != nil {
			return fmt.Errorf("cases: tally the timeline's techniques: %w", err)
		}
	}
	clear(t.hist)
	clear(t.ttp)
	return nil
}

// onOpenCase is the counts of an added event (t holds nothing to take
// away or recount) as parts of one PostgreSQL WITH query in which c is
// the event's case if it is open: they count only when it is. Its first
// part, named tallied, returns a row per group; the second counts the
// techniques after the time axis, as write does, whatever order
// PostgreSQL gives the parts of a WITH query.
func (t *tally) onOpenCase() (parts []string, args []any) {
	hist, _ := t.histKeys()
	parts = append(parts, "tallied AS ("+histUpsert("SELECT * FROM (VALUES "+typedRows(histTypes, len(hist))+
		") v WHERE EXISTS (SELECT FROM c)")+" RETURNING 1)")
	args = t.histArgs(hist)
	if keys := t.ttpKeys(); len(keys) > 0 {
		parts = append(parts, "ttp AS ("+ttpUpsert(db.Postgres, "SELECT * FROM (VALUES "+typedRows(ttpTypes, len(keys))+
			") v WHERE (SELECT count(*) FROM tallied) > 0")+")")
		args = append(args, t.ttpArgs(keys)...)
	}
	return parts, args
}

func compareTTPKeys(a, b ttpKey) int {
	return cmp.Or(cmp.Compare(a.tlp, b.tlp), cmp.Compare(a.tactic, b.tactic), cmp.Compare(a.technique, b.technique),
		cmp.Compare(a.day, b.day))
}

// apply writes the whole change inside tx: the counts, then the recounts,
// which read the events as the transaction left them.
func (t *tally) apply(ctx context.Context, tx *gorm.DB) error {
	if err := t.write(ctx, db.Dialect(tx), gormExec(tx)); err != nil {
		return err
	}
	return t.recountTTP(tx)
}

// recountTTP sets each TTP group to be recounted to what its current
// events of that day say, from the partial index of events with
// techniques: a day of hand-marked events, not the whole timeline.
func (t *tally) recountTTP(tx *gorm.DB) error {
	keys := make([]ttpKey, 0, len(t.recount))
	for k := range t.recount {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, compareTTPKeys)
	for _, k := range keys {
		tactic, args := "e.tactics = ''", []any{t.caseID, time.Unix(k.day*daySeconds, 0).UTC(),
			time.Unix((k.day+1)*daySeconds, 0).UTC(), k.tlp, "% " + k.technique + " %"}
		if k.tactic != "" {
			tactic, args = "e.tactics LIKE ?", append(args, "% "+k.tactic+" %")
		}
		var rows []struct {
			Events              int64
			FirstSeen, LastSeen dbTime
		}
		err := tx.Raw(`SELECT COUNT(*) AS events, MIN(e.occurred_at) AS first_seen,
				MAX(COALESCE(e.occurred_until, e.occurred_at)) AS last_seen
			FROM timeline_events e
			WHERE e.case_id = ? AND e.techniques <> '' AND e.occurred_at >= ? AND e.occurred_at < ?
				AND e.tlp = ? AND e.techniques LIKE ? AND `+tactic+`
				AND NOT EXISTS (SELECT 1 FROM timeline_events s WHERE s.supersedes = e.id)
			HAVING COUNT(*) > 0`, args...).Scan(&rows).Error
		if err != nil {
			return fmt.Errorf("cases: recount the timeline's techniques: %w", err)
		}
		if len(rows) == 0 {
			err = tx.Exec(`DELETE FROM timeline_ttp_tally WHERE case_id = ? AND tlp = ? AND tactic = ? AND technique = ? AND day = ?`,
				t.caseID, k.tlp, k.tactic, k.technique, k.day).Error
		} else {
			r := rows[0]
			err = tx.Exec(`INSERT INTO timeline_ttp_tally (case_id, tlp, tactic, technique, day, events, first_seen, last_seen)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (case_id, tlp, tactic, technique, day) DO UPDATE SET
				events = excluded.events, first_seen = excluded.first_seen, last_seen = excluded.last_seen`,
				t.caseID, k.tlp, k.tactic, k.technique, k.day, r.Events, r.FirstSeen.Time, r.LastSeen.Time).Error
		}
		if err != nil {
			return fmt.Errorf("cases: recount the timeline's techniques: %w", err)
		}
	}
	clear(t.recount)
	return nil
}

// typedRows is placeholderRows for a VALUES list outside an INSERT's own
// VALUES, where PostgreSQL types each column from its first row: that
// row's placeholders carry their column's type ((?::text, ?::bigint), (?, ?)).
func typedRows(types []string, rows int) string {
	first := make([]string, len(types))
	for i, t := range types {
		first[i] = "?::" + t
	}
	row := "(" + strings.Join(first, ", ") + ")"
	if rows == 1 {
		return row
	}
	return row + ", " + placeholderRows(len(types), rows-1)
}

// placeholderRows is rows groups of n placeholders: (?, ?), (?, ?).
func placeholderRows(n, rows int) string {
	one := "(" + strings.TrimSuffix(strings.Repeat("?, ", n), ", ") + ")"
	return strings.TrimSuffix(strings.Repeat(one+", ", rows), ", ")
}

// dollarPlaceholders numbers the ? placeholders of a query as pgx wants
// them ($1, $2, …). The queries of this file hold no ? in literals.
func dollarPlaceholders(query string) string {
	var b strings.Builder
	n := 0
	for i := 0; i < len(query); i++ {
		if query[i] == '?' {
			n++
			fmt.Fprintf(&b, "$%d", n)
			continue
		}
		b.WriteByte(query[i])
	}
	return b.String()
}
