package cases

import (
	"cmp"
	"context"
	"database/sql/driver"
	"fmt"
	"slices"
	"time"
)

// Tactic is an ATT&CK Enterprise tactic.
type Tactic struct {
	ID, Name string
}

// Tactics are the ATT&CK Enterprise tactics in kill-chain order.
var Tactics = []Tactic{
	{"TA0043", "Reconnaissance"},
	{"TA0042", "Resource Development"},
	{"TA0001", "Initial Access"},
	{"TA0002", "Execution"},
	{"TA0003", "Persistence"},
	{"TA0004", "Privilege Escalation"},
	{"TA0005", "Defense Evasion"},
	{"TA0006", "Credential Access"},
	{"TA0007", "Discovery"},
	{"TA0008", "Lateral Movement"},
	{"TA0009", "Collection"},
	{"TA0011", "Command and Control"},
	{"TA0010", "Exfiltration"},
	{"TA0040", "Impact"},
}

// MaxTTPRows bounds a TTP summary: ATT&CK Enterprise has some 650
// techniques and sub-techniques, few under more than three tactics, so a
// real timeline stays well below it; past it the least seen are left out.
const MaxTTPRows = 2000

// TechniqueUse is one technique seen under one tactic.
type TechniqueUse struct {
	Technique           string
	Events              int64 // current events the reader may see with this tactic and technique
	FirstSeen, LastSeen time.Time
}

// TacticUse is the techniques seen under one tactic, most seen first.
type TacticUse struct {
	Tactic     string // empty for events with techniques but no tactic
	Name       string // the ATT&CK name; empty for a tactic outside Enterprise, or none
	Techniques []TechniqueUse
}

// TTPSummary is the ATT&CK techniques of a timeline grouped by tactic, in
// kill-chain order, then tactics outside Enterprise, then events without one.
type TTPSummary struct {
	Tactics   []TacticUse
	Truncated bool // more than MaxTTPRows tactic and technique pairs: the least seen are left out
}

// TTP summarises the ATT&CK techniques of the events the reader may see on
// a case, current versions only, as List shows them: for each tactic and
// technique, how many events carry both, and when the first began and the
// last ended. An event with several tactics counts under each. It reads the
// tally the writes of events keep (timeline_ttp_tally: per marking, pair and
// day), not the events, so it costs the same whatever the size of the timeline.
func (t *Timeline) TTP(ctx context.Context, caseID string, by Reader) (TTPSummary, error) {
	query := `SELECT tactic, technique, CAST(SUM(events) AS BIGINT) AS events, MIN(first_seen) AS first_seen,
		MAX(last_seen) AS last_seen
	FROM timeline_ttp_tally WHERE case_id = ? AND tlp IN ?
	GROUP BY tactic, technique
	ORDER BY events DESC, tactic, technique LIMIT ?`
	var rows []struct {
		Tactic, Technique   string
		Events              int64
		FirstSeen, LastSeen dbTime
	}
	if err := t.db.WithContext(ctx).Raw(query, caseID, by.Markings, MaxTTPRows+1).Scan(&rows).Error; err != nil {
		return TTPSummary{}, fmt.Errorf("cases: timeline TTP summary: %w", err)
	}
	var out TTPSummary
	if len(rows) > MaxTTPRows {
		rows, out.Truncated = rows[:MaxTTPRows], true
	}
	at := map[string]int{}
	for _, r := range rows {
		i, ok := at[r.Tactic]
		if !ok {
			i = len(out.Tactics)
			at[r.Tactic] = i
			out.Tactics = append(out.Tactics, TacticUse{Tactic: r.Tactic, Name: tacticName(r.Tactic)})
		}
		// Rows come most seen first, so each tactic's techniques do too.
		out.Tactics[i].Techniques = append(out.Tactics[i].Techniques, TechniqueUse{Technique: r.Technique,
			Events: r.Events, FirstSeen: r.FirstSeen.Time, LastSeen: r.LastSeen.Time})
	}
	slices.SortFunc(out.Tactics, func(a, b TacticUse) int {
		return cmp.Or(cmp.Compare(tacticRank(a.Tactic), tacticRank(b.Tactic)), cmp.Compare(a.Tactic, b.Tactic))
	})
	return out, nil
}

func tacticName(id string) string {
	if i := slices.IndexFunc(Tactics, func(t Tactic) bool { return t.ID == id }); i >= 0 {
		return Tactics[i].Name
	}
	return ""
}

// tacticRank orders tactics as the kill chain does, then the unknown, then none.
func tacticRank(id string) int {
	if id == "" {
		return len(Tactics) + 1
	}
	if i := slices.IndexFunc(Tactics, func(t Tactic) bool { return t.ID == id }); i >= 0 {
		return i
	}
	return len(Tactics)
}

// dbTime scans a time from an aggregate, which SQLite returns as the text
// it stores (its driver parses only columns declared DATETIME).
type dbTime struct{ time.Time }

// Value makes dbTime a column type to GORM, which takes any other struct
// for a relation.
func (d dbTime) Value() (driver.Value, error) { return d.Time, nil }

func (d *dbTime) Scan(src any) error {
	switch v := src.(type) {
	case time.Time:
		d.Time = v.UTC()
		return nil
	case string:
		return d.parse(v)
	case []byte:
		return d.parse(string(v))
	}
	return fmt.Errorf("cases: a time from the database of type %T", src)
}

func (d *dbTime) parse(s string) error {
	for _, layout := range []string{"2006-01-02 15:04:05.999999999-07:00", time.RFC3339Nano} {
		if t, err := time.Parse(layout, s); err == nil {
			d.Time = t.UTC()
			return nil
		}
	}
	return fmt.Errorf("cases: a time from the database in an unknown form: %q", s)
}
