package reports

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/bevis-ir/bevis/access"
	bevisdb "github.com/bevis-ir/bevis/internal/db"
	"github.com/bevis-ir/bevis/internal/validate"
)

// phases are the case phases in their order (as the cases package names them).
var phases = []string{"new", "triage", "investigating", "containment", "eradication", "recovery", "closed"}

// ClockHorizon is how far ahead the portfolio looks for regulatory clocks
// (the SPA draws them as a week's timeline); DueSoon marks those due within
// a day.
const (
	ClockHorizon = 7 * 24 * time.Hour
	DueSoon      = 24 * time.Hour
)

// PortfolioQuery narrows the portfolio; the zero value is every case the
// caller can read.
type PortfolioQuery struct {
	AgencyID   string   // cases this agency is a member of
	Tag        string   // cases with this tag
	Severities []int    // 1 to 4
	Phases     []string // case phases
	// From and To bound when the cases were opened: From ≤ created < To.
	From, To *time.Time
	// StaleDays is how long without activity makes a case stale (default 7).
	StaleDays int
}

// Validate checks the query's values.
func (q PortfolioQuery) Validate() error {
	var v validate.Errors
	v.Check(len(q.AgencyID) <= 64, "agency", "must be an agency ID")
	v.Check(len(q.Tag) <= 64, "tag", "must be at most 64 characters")
	v.Check(len(q.Severities) <= 4, "severity", "at most four severities")
	for _, s := range q.Severities {
		v.Check(s >= 1 && s <= 4, "severity", "must be 1 to 4")
	}
	v.Check(len(q.Phases) <= len(phases), "phase", "at most one of each phase")
	for _, p := range q.Phases {
		v.Check(slices.Contains(phases, p), "phase", "must be one of "+strings.Join(phases, ", "))
	}
	v.Check(q.From == nil || q.To == nil || q.From.Before(*q.To), "to", "must be after from")
	v.Check(q.StaleDays >= 0 && q.StaleDays <= 365, "stale_days", "must be 1 to 365")
	return v.Err()
}

// CaseLine is one readable case of the portfolio, for drilling down.
type CaseLine struct {
	ID, Reference, Title string
	Phase                string
	PhaseSince           time.Time
	Severity             int
	TLP                  access.TLP
	LeadAgencyID         string
	UpdatedAt            time.Time
	// Stale: nothing changed on the case, its tasks or its timeline for
	// StaleDays.
	Stale bool
}

// ClockDue is an open regulatory clock due within ClockHorizon, or overdue.
type ClockDue struct {
	CaseID, Reference, CaseTitle string
	Clock, Title                 string
	DueAt                        time.Time
	State                        string // overdue, due_24h or due_7d
	OwnerAgencyID                string // the lead agency of the case, which must notify
}

// AgencyTasks are the overdue and blocked tasks assigned to one agency
// (directly, or to one of its people), with the cases they are on.
type AgencyTasks struct {
	AgencyID         string
	Overdue, Blocked int
	CaseIDs          []string
}

// CaseEvidence is what one case holds in evidence the caller may see.
type CaseEvidence struct {
	CaseID              string
	Items               int
	Bytes               int64
	AwaitingHandover    int // offered to someone who has not answered
	FailedVerifications int // latest re-verification found the content damaged or missing
}

// Durations is the median and 90th percentile of a span over some cases.
type Durations struct {
	Samples     int
	Median, P90 time.Duration
}

// Agency names an agency that appears on the portfolio's cases.
type Agency struct {
	ID   string `json:"id"`
	Code string `json:"code"`
	Name string `json:"name"`
}

// Portfolio is leadership's picture of the cases one person can read.
type Portfolio struct {
	GeneratedAt time.Time
	StaleDays   int
	Cases       []CaseLine
	Clocks      []ClockDue
	Tasks       []AgencyTasks
	Evidence    []CaseEvidence
	// PhaseTimes is the time spent in each phase over the closed cases
	// (phase → spans); DiscoveryToContainment from the discovery of a
	// breach to its first containment, over the same cases.
	PhaseTimes             map[string]Durations
	DiscoveryToContainment Durations
	Agencies               []Agency
}

// Portfolio builds p's portfolio in a fixed number of statements, whatever
// the number of cases: the cases, their clocks, their tasks, their
// evidence, the phase history of the closed ones, and the agencies named.
func (s *Store) Portfolio(ctx context.Context, p access.Principal, q PortfolioQuery) (Portfolio, error) {
	if err := q.Validate(); err != nil {
		return Portfolio{}, err
	}
	if q.StaleDays == 0 {
		q.StaleDays = 7
	}
	now := s.clock()
	db := s.db.WithContext(ctx)
	out := Portfolio{GeneratedAt: now, StaleDays: q.StaleDays, PhaseTimes: map[string]Durations{}}

	cutoff := now.Add(-time.Duration(q.StaleDays) * 24 * time.Hour)
	var rows []struct {
		ID, Reference, Title, Status, TLP, LeadAgencyID string
		Severity                                        int
		StatusChangedAt, UpdatedAt                      time.Time
		DiscoveredAt                                    *time.Time
		Stale                                           int
	}
	err := s.scope(db.Table("cases c"), p, q).Select(`c.id, c.reference, c.title, c.status, c.tlp, c.lead_agency_id,
		c.severity, c.status_changed_at, c.updated_at, c.discovered_at,
		CASE WHEN c.updated_at < ?
		      AND NOT EXISTS (SELECT 1 FROM case_tasks t WHERE t.case_id = c.id AND t.updated_at >= ?)
		      AND NOT EXISTS (SELECT 1 FROM timeline_events e WHERE e.case_id = c.id AND e.recorded_at >= ?)
		     THEN 1 ELSE 0 END AS stale`, cutoff, cutoff, cutoff).
		Order("c.severity DESC, c.updated_at DESC, c.id").Scan(&rows).Error
	if err != nil {
		return Portfolio{}, fmt.Errorf("reports: portfolio cases: %w", err)
	}
	agencies := map[string]bool{}
	discovered := map[string]time.Time{}
	ids := make([]string, 0, len(rows))
	closed := []string{}
	out.Cases = make([]CaseLine, 0, len(rows))
	for _, r := range rows {
		ids = append(ids, r.ID)
		out.Cases = append(out.Cases, CaseLine{ID: r.ID, Reference: r.Reference, Title: r.Title, Phase: r.Status,
			PhaseSince: r.StatusChangedAt.UTC(), Severity: r.Severity, TLP: access.TLP(r.TLP), LeadAgencyID: r.LeadAgencyID,
			UpdatedAt: r.UpdatedAt.UTC(), Stale: r.Stale == 1})
		agencies[r.LeadAgencyID] = true
		if r.DiscoveredAt != nil {
			discovered[r.ID] = r.DiscoveredAt.UTC()
		}
		if r.Status == "closed" {
			closed = append(closed, r.ID)
		}
	}
	if len(rows) == 0 {
		// Nothing to read: the other statements would find nothing either.
		out.Clocks, out.Tasks, out.Evidence, out.Agencies = []ClockDue{}, []AgencyTasks{}, []CaseEvidence{}, []Agency{}
		return out, nil
	}
	lines := make(map[string]*CaseLine, len(out.Cases))
	for i := range out.Cases {
		lines[out.Cases[i].ID] = &out.Cases[i]
	}
	// The other statements start from the cases just read, passed as one
	// value: the scope is not worked out (and planned) again for each, and
	// what they need of the cases themselves is taken from these lines.
	read := bevisdb.IDTable(db, ids)
	if out.Clocks, err = s.portfolioClocks(db, read, lines, now); err != nil {
		return Portfolio{}, err
	}
	if out.Tasks, err = s.portfolioTasks(db, read, now); err != nil {
		return Portfolio{}, err
	}
	for _, t := range out.Tasks {
		agencies[t.AgencyID] = true
	}
	if out.Evidence, err = s.portfolioEvidence(db, read, p); err != nil {
		return Portfolio{}, err
	}
	// The closed cases' phase history: its own statement even when there
	// are none, so that the portfolio always runs the same statements.
	if err := s.phaseTimes(db, bevisdb.IDTable(db, closed), discovered, &out); err != nil {
		return Portfolio{}, err
	}
	if out.Agencies, err = agencyNames(db, agencies); err != nil {
		return Portfolio{}, err
	}
	return out, nil
}

// scope narrows tx, a query of the cases table named c, to the cases p can
// read that match q.
func (s *Store) scope(tx *gorm.DB, p access.Principal, q PortfolioQuery) *gorm.DB {
	tx = tx.Where("c.id IN (?)", access.CaseScope(s.db, p))
	if len(q.Severities) > 0 {
		tx = tx.Where("c.severity IN ?", q.Severities)
	}
	if len(q.Phases) > 0 {
		tx = tx.Where("c.status IN ?", q.Phases)
	}
	if q.AgencyID != "" {
		tx = tx.Where("EXISTS (SELECT 1 FROM case_agency_members am WHERE am.case_id = c.id AND am.agency_id = ?)", q.AgencyID)
	}
	if q.Tag != "" {
		tx = tx.Where("EXISTS (SELECT 1 FROM case_tags t WHERE t.case_id = c.id AND t.tag = ?)", strings.ToLower(strings.TrimSpace(q.Tag)))
	}
	if q.From != nil {
		tx = tx.Where("c.created_at >= ?", q.From.UTC())
	}
	if q.To != nil {
		tx = tx.Where("c.created_at < ?", q.To.UTC())
	}
	return tx
}

// portfolioClocks lists the open clocks of the cases of scope due within
// ClockHorizon, or overdue, naming each case from cases (the lines read
// already) rather than reading its row again.
func (s *Store) portfolioClocks(db *gorm.DB, scope clause.Expr, cases map[string]*CaseLine, now time.Time) ([]ClockDue, error) {
	var rows []struct {
		CaseID, Clock, Title string
		DueAt                time.Time
	}
	err := db.Raw(`
		SELECT k.case_id, k.clock, k.title, k.due_at
		FROM ? s JOIN case_clocks k ON k.case_id = s.id
		WHERE k.met_at IS NULL AND k.due_at IS NOT NULL AND k.due_at < ?
		ORDER BY k.due_at, k.case_id, k.clock`, scope, now.Add(ClockHorizon)).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("reports: portfolio clocks: %w", err)
	}
	out := make([]ClockDue, 0, len(rows))
	for _, r := range rows {
		due, c := r.DueAt.UTC(), cases[r.CaseID]
		out = append(out, ClockDue{CaseID: r.CaseID, Reference: c.Reference, CaseTitle: c.Title, Clock: r.Clock,
			Title: r.Title, DueAt: due, State: clockState(due, now), OwnerAgencyID: c.LeadAgencyID})
	}
	return out, nil
}

// clockState places an open clock's due time relative to now.
func clockState(due, now time.Time) string {
	switch {
	case now.After(due):
		return "overdue"
	case due.Sub(now) <= DueSoon:
		return "due_24h"
	}
	return "due_7d"
}

// portfolioTasks counts the overdue and blocked tasks of the cases of scope
// by the agency they are assigned to (or their assignee's), from the
// index of open tasks (migration 00081).
func (s *Store) portfolioTasks(db *gorm.DB, scope clause.Expr, now time.Time) ([]AgencyTasks, error) {
	var rows []struct {
		CaseID, AgencyID string
		Overdue, Blocked int
	}
	err := db.Raw(`
		SELECT t.case_id, t.agency_id, SUM(t.overdue) AS overdue, SUM(t.blocked) AS blocked
		FROM (SELECT t.case_id,
		             COALESCE(t.assignee_agency_id, (SELECT u.agency_id FROM users u WHERE u.id = t.assignee_user_id)) AS agency_id,
		             CASE WHEN t.due_at < ? THEN 1 ELSE 0 END AS overdue,
		             CASE WHEN t.status = 'blocked' THEN 1 ELSE 0 END AS blocked
		      FROM ? s JOIN case_tasks t ON t.case_id = s.id
		      WHERE t.status NOT IN ('done', 'cancelled') AND (t.status = 'blocked' OR t.due_at < ?)) t
		GROUP BY t.case_id, t.agency_id`, now, scope, now).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("reports: portfolio tasks: %w", err)
	}
	byAgency := map[string]*AgencyTasks{}
	for _, r := range rows {
		a := byAgency[r.AgencyID]
		if a == nil {
			a = &AgencyTasks{AgencyID: r.AgencyID}
			byAgency[r.AgencyID] = a
		}
		a.Overdue += r.Overdue
		a.Blocked += r.Blocked
		a.CaseIDs = append(a.CaseIDs, r.CaseID)
	}
	out := make([]AgencyTasks, 0, len(byAgency))
	for _, a := range byAgency {
		sort.Strings(a.CaseIDs)
		out = append(out, *a)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Overdue != out[j].Overdue {
			return out[i].Overdue > out[j].Overdue
		}
		return out[i].AgencyID < out[j].AgencyID
	})
	return out, nil
}

// portfolioEvidence counts the items of the cases of scope that p may see.
// Whether an item awaits a handover or failed its last verification is
// kept on its row by the custody step that changed it (see the evidence
// package), so the count reads a case's entries of one index and no
// item's ledger.
func (s *Store) portfolioEvidence(db *gorm.DB, scope clause.Expr, p access.Principal) ([]CaseEvidence, error) {
	visible, args := visibleItems("e", p)
	var rows []CaseEvidence
	err := db.Raw(`
		SELECT e.case_id, COUNT(*) AS items, COALESCE(SUM(e.size), 0) AS bytes,
		       SUM(CASE WHEN e.awaiting_handover THEN 1 ELSE 0 END) AS awaiting_handover,
		       SUM(CASE WHEN e.verification_failed THEN 1 ELSE 0 END) AS failed_verifications
		FROM ? s JOIN evidence_items e ON e.case_id = s.id
		WHERE `+visible+`
		GROUP BY e.case_id ORDER BY e.case_id`, append([]any{scope}, args...)...).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("reports: portfolio evidence: %w", err)
	}
	if rows == nil {
		rows = []CaseEvidence{}
	}
	return rows, nil
}

// phaseTimes fills the time spent in each phase, and from discovery to
// containment, over the cases of scope, which are closed.
func (s *Store) phaseTimes(db *gorm.DB, scope clause.Expr, discovered map[string]time.Time, out *Portfolio) error {
	var rows []struct {
		CaseID, ToStatus string
		At               time.Time
	}
	err := db.Raw(`
		SELECT t.case_id, t.to_status, t.at FROM ? s JOIN case_transitions t ON t.case_id = s.id
		ORDER BY t.case_id, t.at, t.id`, scope).Scan(&rows).Error
	if err != nil {
		return fmt.Errorf("reports: phase history: %w", err)
	}
	spans := map[string][]time.Duration{}
	var toContainment []time.Duration
	for i := 0; i < len(rows); {
		j := i
		perPhase := map[string]time.Duration{}
		contained := false
		for ; j < len(rows) && rows[j].CaseID == rows[i].CaseID; j++ {
			r := rows[j]
			if j+1 < len(rows) && rows[j+1].CaseID == r.CaseID {
				perPhase[r.ToStatus] += rows[j+1].At.Sub(r.At)
			}
			if r.ToStatus == "containment" && !contained {
				contained = true
				if d, ok := discovered[r.CaseID]; ok && !r.At.Before(d) {
					toContainment = append(toContainment, r.At.Sub(d))
				}
			}
		}
		for phase, d := range perPhase {
			spans[phase] = append(spans[phase], d)
		}
		i = j
	}
	for _, phase := range phases[:len(phases)-1] {
		out.PhaseTimes[phase] = summarize(spans[phase])
	}
	out.DiscoveryToContainment = summarize(toContainment)
	return nil
}

// summarize gives the median and 90th percentile (nearest rank) of ds.
func summarize(ds []time.Duration) Durations {
	if len(ds) == 0 {
		return Durations{}
	}
	slices.Sort(ds)
	rank := func(q float64) time.Duration {
		i := int(q*float64(len(ds))+0.999999) - 1
		return ds[max(0, min(i, len(ds)-1))]
	}
	return Durations{Samples: len(ds), Median: rank(0.5), P90: rank(0.9)}
}

// agencyNames names the agencies in ids, which all appear on cases the
// caller can read.
func agencyNames(db *gorm.DB, ids map[string]bool) ([]Agency, error) {
	list := make([]string, 0, len(ids))
	for id := range ids {
		if id != "" {
			list = append(list, id)
		}
	}
	out := []Agency{}
	if len(list) == 0 {
		return out, nil
	}
	sort.Strings(list)
	if err := db.Raw(`SELECT id, code, name FROM agencies WHERE id IN ? ORDER BY name, id`, list).Scan(&out).Error; err != nil {
		return nil, fmt.Errorf("reports: agency names: %w", err)
	}
	return out, nil
}
