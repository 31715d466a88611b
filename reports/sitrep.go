package reports

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/bevis-ir/bevis/access"
)

// Limits of a situation report: the key events it lists and how far it
// counts the events recorded since the last report, so that a case with a
// million events answers as fast as one with ten.
const (
	KeyEventsShown   = 20
	KeyEventsCounted = 1000
	// ClockRisk is how close to its due time an open clock is at risk.
	ClockRisk = 72 * time.Hour
)

// Sitrep is a situation report of one case in the CAN form crisis staffs
// use: conditions, actions, needs. It is also the content of an issued
// report, stored as its JSON (whose bytes are hashed onto the audit log),
// which is why it carries its own field names.
type Sitrep struct {
	Format      int        `json:"format"` // 1
	CaseID      string     `json:"case_id"`
	Reference   string     `json:"reference"`
	Title       string     `json:"title"`
	GeneratedAt time.Time  `json:"generated_at"`
	Since       *time.Time `json:"since"`        // when the last report was issued; nil before the first
	SinceNumber int        `json:"since_number"` // its number; 0 before the first
	Conditions  Conditions `json:"conditions"`
	Actions     Actions    `json:"actions"`
	Needs       Needs      `json:"needs"`
	// Changes against the last issued report, where the reader may see it.
	Changes  []Change `json:"changes"`
	Agencies []Agency `json:"agencies"` // names of the agencies mentioned
}

// Conditions is where the case stands.
type Conditions struct {
	Summary               string      `json:"summary"`
	Phase                 string      `json:"phase"`
	PhaseSince            time.Time   `json:"phase_since"`
	SecondsInPhase        int64       `json:"seconds_in_phase"`
	Severity              int         `json:"severity"`
	TLP                   access.TLP  `json:"tlp"`
	ClassificationLabel   string      `json:"classification_label"`
	LeadAgencyID          string      `json:"lead_agency_id"`
	AffectedOrganisations []string    `json:"affected_organisations"`
	AffectedSystems       []string    `json:"affected_systems"`
	PersonalDataBreach    bool        `json:"personal_data_breach"`
	KeyEvents             []KeyEvent  `json:"key_events"`
	EventsSince           int         `json:"events_since"`      // counted up to KeyEventsCounted
	EventsSinceMore       bool        `json:"events_since_more"` // more than that
	Clocks                []ClockLine `json:"clocks"`
}

// KeyEvent is a timeline event recorded since the last report.
type KeyEvent struct {
	ID          string     `json:"id"`
	OccurredAt  time.Time  `json:"occurred_at"`
	Description string     `json:"description"`
	Techniques  []string   `json:"techniques"`
	TLP         access.TLP `json:"tlp"`
}

// ClockLine is one regulatory clock of the case.
type ClockLine struct {
	Clock string     `json:"clock"`
	Title string     `json:"title"`
	DueAt *time.Time `json:"due_at"`
	MetAt *time.Time `json:"met_at"`
	State string     `json:"state"` // met, overdue, due_24h, due_72h, pending
}

// Actions is what was done since the last report.
type Actions struct {
	Tasks            []AgencyWork `json:"tasks"`
	EvidenceReceived []ItemLine   `json:"evidence_received"`
	HandedOver       []ItemLine   `json:"handed_over"`
}

// AgencyWork is the tasks of one agency done and in progress.
type AgencyWork struct {
	AgencyID   string     `json:"agency_id"`
	Done       []TaskLine `json:"done"`
	InProgress []TaskLine `json:"in_progress"`
}

// TaskLine is one task as a report names it.
type TaskLine struct {
	ID       string     `json:"id"`
	Title    string     `json:"title"`
	Status   string     `json:"status"`
	Priority string     `json:"priority"`
	DueAt    *time.Time `json:"due_at"`
	AgencyID string     `json:"agency_id"`
}

// ItemLine is one evidence item as a report names it.
type ItemLine struct {
	ID            string     `json:"id"`
	ExhibitNumber string     `json:"exhibit_number"`
	Title         string     `json:"title"`
	TLP           access.TLP `json:"tlp"`
	At            time.Time  `json:"at"`
	AgencyID      string     `json:"agency_id"` // who received it, or to whom it is offered
}

// Needs is what stands in the way.
type Needs struct {
	Blocked      []TaskLine  `json:"blocked"`
	Overdue      []TaskLine  `json:"overdue"`
	ClocksAtRisk []ClockLine `json:"clocks_at_risk"`
	OpenOffers   []ItemLine  `json:"open_offers"`
}

// Change is one fact that differs from the last issued report.
type Change struct {
	What string `json:"what"`
	From string `json:"from"`
	To   string `json:"to"`
}

// Sitrep builds the situation report of a case the caller may read, from
// what they may see (markings, from access.ItemMarkings). The caller has
// authorized the read.
func (s *Store) Sitrep(ctx context.Context, caseID string, markings []access.TLP) (Sitrep, error) {
	db := s.db.WithContext(ctx)
	last, err := s.latest(db, caseID)
	if err != nil {
		return Sitrep{}, err
	}
	r, err := s.build(db, caseID, markings, last, s.clock())
	if err != nil {
		return Sitrep{}, err
	}
	if last != nil && covers(markings, last.markings()) {
		var prev Sitrep
		if err := json.Unmarshal([]byte(last.Content), &prev); err == nil {
			r.Changes = compare(prev, r)
		}
	}
	return r, nil
}

// build reads the report in a fixed number of statements: the case, its
// clocks, its tasks, its key events and their count, its evidence received,
// handed over and offered, and the agencies named.
func (s *Store) build(db *gorm.DB, caseID string, markings []access.TLP, last *issuedRow, now time.Time) (Sitrep, error) {
	var k struct {
		ID, Reference, Title, Summary, Status, TLP, ClassificationLabel, LeadAgencyID string
		Severity                                                                      int
		StatusChangedAt                                                               time.Time
		AffectedOrganisations, AffectedSystems                                        string
		PersonalDataBreach                                                            bool
	}
	res := db.Raw(`SELECT id, reference, title, summary, status, tlp, classification_label, lead_agency_id, severity,
		status_changed_at, affected_organisations, affected_systems, personal_data_breach FROM cases WHERE id = ?`, caseID).Scan(&k)
	if res.Error != nil {
		return Sitrep{}, fmt.Errorf("reports: sitrep case: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return Sitrep{}, ErrNotFound
	}
	since := time.Time{}
	r := Sitrep{Format: 1, CaseID: k.ID, Reference: k.Reference, Title: k.Title, GeneratedAt: now, Changes: []Change{}}
	if last != nil {
		at := last.IssuedAt.UTC()
		r.Since, r.SinceNumber, since = &at, last.Number, at
	}
	c := &r.Conditions
	*c = Conditions{Summary: k.Summary, Phase: k.Status, PhaseSince: k.StatusChangedAt.UTC(),
		SecondsInPhase: int64(now.Sub(k.StatusChangedAt) / time.Second), Severity: k.Severity, TLP: access.TLP(k.TLP),
		ClassificationLabel: k.ClassificationLabel, LeadAgencyID: k.LeadAgencyID, PersonalDataBreach: k.PersonalDataBreach,
		KeyEvents: []KeyEvent{}, Clocks: []ClockLine{}}
	// The columns are only ever written as JSON arrays by the cases store.
	_ = json.Unmarshal([]byte(k.AffectedOrganisations), &c.AffectedOrganisations)
	_ = json.Unmarshal([]byte(k.AffectedSystems), &c.AffectedSystems)
	c.AffectedOrganisations, c.AffectedSystems = nonNil(c.AffectedOrganisations), nonNil(c.AffectedSystems)
	agencies := map[string]bool{k.LeadAgencyID: true}

	if err := s.clocks(db, caseID, now, &r); err != nil {
		return Sitrep{}, err
	}
	if err := s.events(db, caseID, markings, since, c); err != nil {
		return Sitrep{}, err
	}
	if err := s.tasks(db, caseID, since, now, &r, agencies); err != nil {
		return Sitrep{}, err
	}
	if err := s.evidence(db, caseID, markings, since, &r, agencies); err != nil {
		return Sitrep{}, err
	}
	var err error
	if r.Agencies, err = agencyNames(db, agencies); err != nil {
		return Sitrep{}, err
	}
	return r, nil
}

func nonNil[T any](v []T) []T {
	if v == nil {
		return []T{}
	}
	return v
}

func (s *Store) clocks(db *gorm.DB, caseID string, now time.Time, r *Sitrep) error {
	var rows []struct {
		Clock, Title string
		DueAt, MetAt *time.Time
	}
	if err := db.Raw(`SELECT clock, title, due_at, met_at FROM case_clocks WHERE case_id = ? ORDER BY due_at, clock`,
		caseID).Scan(&rows).Error; err != nil {
		return fmt.Errorf("reports: sitrep clocks: %w", err)
	}
	r.Needs.ClocksAtRisk = []ClockLine{}
	for _, row := range rows {
		l := ClockLine{Clock: row.Clock, Title: row.Title, DueAt: utc(row.DueAt), MetAt: utc(row.MetAt), State: "pending"}
		switch {
		case l.MetAt != nil:
			l.State = "met"
		case l.DueAt != nil && now.After(*l.DueAt):
			l.State = "overdue"
		case l.DueAt != nil && l.DueAt.Sub(now) <= DueSoon:
			l.State = "due_24h"
		case l.DueAt != nil && l.DueAt.Sub(now) <= ClockRisk:
			l.State = "due_72h"
		}
		r.Conditions.Clocks = append(r.Conditions.Clocks, l)
		if l.State == "overdue" || l.State == "due_24h" || l.State == "due_72h" {
			r.Needs.ClocksAtRisk = append(r.Needs.ClocksAtRisk, l)
		}
	}
	return nil
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// events lists the newest events recorded since the last report (current
// versions only) and counts them up to KeyEventsCounted, walking the index
// on (case_id, recorded_at) from the newest end.
func (s *Store) events(db *gorm.DB, caseID string, markings []access.TLP, since time.Time, c *Conditions) error {
	marked, margs := markedAs("e", markings)
	where := `e.case_id = ? AND e.recorded_at > ? AND ` + marked + `
		AND NOT EXISTS (SELECT 1 FROM timeline_events n WHERE n.supersedes = e.id)`
	args := append([]any{caseID, since}, margs...)
	var rows []struct {
		ID, Description, Techniques, TLP string
		OccurredAt                       time.Time
	}
	if err := db.Raw(`SELECT e.id, e.description, e.techniques, e.tlp, e.occurred_at FROM timeline_events e
		WHERE `+where+` ORDER BY e.recorded_at DESC, e.id DESC LIMIT ?`, append(args, KeyEventsShown)...).Scan(&rows).Error; err != nil {
		return fmt.Errorf("reports: sitrep events: %w", err)
	}
	for _, row := range rows {
		c.KeyEvents = append(c.KeyEvents, KeyEvent{ID: row.ID, OccurredAt: row.OccurredAt.UTC(), Description: row.Description,
			Techniques: nonNil(strings.Fields(row.Techniques)), TLP: access.TLP(row.TLP)})
	}
	// The newest recorded, told in the order they happened.
	sort.SliceStable(c.KeyEvents, func(i, j int) bool { return c.KeyEvents[i].OccurredAt.Before(c.KeyEvents[j].OccurredAt) })
	// Counted newest first too: without an order, PostgreSQL may walk the
	// primary key of every case's events and test each.
	var n int
	if err := db.Raw(`SELECT COUNT(*) FROM (SELECT 1 FROM timeline_events e WHERE `+where+`
		ORDER BY e.recorded_at DESC LIMIT ?) x`,
		append(args, KeyEventsCounted+1)...).Scan(&n).Error; err != nil {
		return fmt.Errorf("reports: sitrep event count: %w", err)
	}
	c.EventsSince, c.EventsSinceMore = min(n, KeyEventsCounted), n > KeyEventsCounted
	return nil
}

func (s *Store) tasks(db *gorm.DB, caseID string, since, now time.Time, r *Sitrep, agencies map[string]bool) error {
	var rows []struct {
		ID, Title, Status, Priority, AgencyID string
		DueAt                                 *time.Time
		UpdatedAt                             time.Time
	}
	if err := db.Raw(`SELECT t.id, t.title, t.status, t.priority, t.due_at, t.updated_at,
		       COALESCE(t.assignee_agency_id, u.agency_id) AS agency_id
		FROM case_tasks t LEFT JOIN users u ON u.id = t.assignee_user_id
		WHERE t.case_id = ? ORDER BY t.due_at, t.created_at, t.id`, caseID).Scan(&rows).Error; err != nil {
		return fmt.Errorf("reports: sitrep tasks: %w", err)
	}
	work := map[string]*AgencyWork{}
	at := func(agency string) *AgencyWork {
		w := work[agency]
		if w == nil {
			w = &AgencyWork{AgencyID: agency, Done: []TaskLine{}, InProgress: []TaskLine{}}
			work[agency] = w
		}
		return w
	}
	r.Needs.Blocked, r.Needs.Overdue = []TaskLine{}, []TaskLine{}
	for _, row := range rows {
		l := TaskLine{ID: row.ID, Title: row.Title, Status: row.Status, Priority: row.Priority, DueAt: utc(row.DueAt), AgencyID: row.AgencyID}
		open := row.Status != "done" && row.Status != "cancelled"
		switch {
		case row.Status == "done" && row.UpdatedAt.After(since):
			at(row.AgencyID).Done = append(at(row.AgencyID).Done, l)
		case row.Status == "in_progress":
			at(row.AgencyID).InProgress = append(at(row.AgencyID).InProgress, l)
		}
		if row.Status == "blocked" {
			r.Needs.Blocked = append(r.Needs.Blocked, l)
		}
		if open && l.DueAt != nil && now.After(*l.DueAt) {
			r.Needs.Overdue = append(r.Needs.Overdue, l)
		}
		if row.AgencyID != "" && (open || row.UpdatedAt.After(since)) {
			agencies[row.AgencyID] = true
		}
	}
	r.Actions.Tasks = make([]AgencyWork, 0, len(work))
	for _, w := range work {
		r.Actions.Tasks = append(r.Actions.Tasks, *w)
	}
	sort.Slice(r.Actions.Tasks, func(i, j int) bool { return r.Actions.Tasks[i].AgencyID < r.Actions.Tasks[j].AgencyID })
	return nil
}

func (s *Store) evidence(db *gorm.DB, caseID string, markings []access.TLP, since time.Time, r *Sitrep, agencies map[string]bool) error {
	marked, margs := markedAs("i", markings)
	var received []ItemLine
	if err := db.Raw(`SELECT i.id, i.exhibit_number, i.title, i.tlp, i.received_at AS at, '' AS agency_id
		FROM evidence_items i WHERE i.case_id = ? AND i.received_at > ? AND `+marked+`
		ORDER BY i.received_at, i.id`, append([]any{caseID, since}, margs...)...).Scan(&received).Error; err != nil {
		return fmt.Errorf("reports: sitrep evidence received: %w", err)
	}
	var handed []ItemLine
	if err := db.Raw(`SELECT i.id, i.exhibit_number, i.title, i.tlp, ev.recorded_at AS at, COALESCE(ev.actor_agency_id, '') AS agency_id
		FROM custody_events ev JOIN evidence_items i ON i.id = ev.item_id
		WHERE i.case_id = ? AND ev.type = 'transfer_accepted' AND ev.recorded_at > ? AND `+marked+`
		ORDER BY ev.recorded_at, ev.id`, append([]any{caseID, since}, margs...)...).Scan(&handed).Error; err != nil {
		return fmt.Errorf("reports: sitrep handovers: %w", err)
	}
	var offered []ItemLine
	if err := db.Raw(`SELECT i.id, i.exhibit_number, i.title, i.tlp, o.recorded_at AS at, COALESCE(o.counterparty_agency_id, '') AS agency_id
		FROM evidence_items i JOIN custody_events o ON o.item_id = i.id AND o.type = 'transfer_offered'
		WHERE i.case_id = ? AND `+marked+`
		  AND NOT EXISTS (SELECT 1 FROM custody_events x WHERE x.item_id = i.id AND x.seq > o.seq
		                  AND x.type IN ('transfer_offered', 'transfer_accepted', 'transfer_declined'))
		ORDER BY o.recorded_at, i.id`, append([]any{caseID}, margs...)...).Scan(&offered).Error; err != nil {
		return fmt.Errorf("reports: sitrep offers: %w", err)
	}
	for _, list := range [][]ItemLine{received, handed, offered} {
		for i := range list {
			list[i].At = list[i].At.UTC()
			if list[i].AgencyID != "" {
				agencies[list[i].AgencyID] = true
			}
		}
	}
	r.Actions.EvidenceReceived, r.Actions.HandedOver, r.Needs.OpenOffers = nonNil(received), nonNil(handed), nonNil(offered)
	return nil
}

// facts are the things a report compares with the last one.
func facts(r Sitrep) map[string]string {
	c := r.Conditions
	f := map[string]string{
		"phase":                  c.Phase,
		"severity":               fmt.Sprint(c.Severity),
		"tlp":                    string(c.TLP),
		"personal_data_breach":   fmt.Sprint(c.PersonalDataBreach),
		"affected_organisations": strings.Join(c.AffectedOrganisations, ", "),
		"affected_systems":       strings.Join(c.AffectedSystems, ", "),
		"blocked_tasks":          fmt.Sprint(len(r.Needs.Blocked)),
		"overdue_tasks":          fmt.Sprint(len(r.Needs.Overdue)),
		"open_offers":            fmt.Sprint(len(r.Needs.OpenOffers)),
	}
	for _, k := range c.Clocks {
		f["clock "+k.Clock] = k.State
	}
	return f
}

// compare lists what changed from prev to r, in a stable order.
func compare(prev, r Sitrep) []Change {
	before, after := facts(prev), facts(r)
	keys := make([]string, 0, len(after))
	for k := range after {
		keys = append(keys, k)
	}
	for k := range before {
		if _, ok := after[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	out := []Change{}
	for _, k := range keys {
		if before[k] != after[k] {
			out = append(out, Change{What: k, From: before[k], To: after[k]})
		}
	}
	return out
}

// covers reports whether every marking of need is in have.
func covers(have, need []access.TLP) bool {
	for _, n := range need {
		found := false
		for _, h := range have {
			found = found || h == n
		}
		if !found {
			return false
		}
	}
	return true
}
