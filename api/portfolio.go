package api

import (
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/bevis-ir/bevis/access"
	"github.com/bevis-ir/bevis/internal/validate"
	"github.com/bevis-ir/bevis/reports"
)

type portfolioJSON struct {
	GeneratedAt            string                    `json:"generated_at"`
	StaleDays              int                       `json:"stale_days"`
	Cases                  []portfolioCaseJSON       `json:"cases"`
	ByPhase                []countJSON               `json:"by_phase"`
	BySeverity             []countJSON               `json:"by_severity"`
	Clocks                 []portfolioClockJSON      `json:"clocks"`
	Tasks                  []agencyTasksJSON         `json:"tasks"`
	Evidence               []caseEvidenceJSON        `json:"evidence"`
	Stale                  []string                  `json:"stale"`
	PhaseTimes             map[string]durationsJSON  `json:"phase_times"`
	DiscoveryToContainment durationsJSON             `json:"discovery_to_containment"`
	Agencies               map[string]agencyNameJSON `json:"agencies"` // every agency named above
}

type portfolioCaseJSON struct {
	ID           string `json:"id"`
	Reference    string `json:"reference"`
	Title        string `json:"title"`
	Phase        string `json:"phase"`
	PhaseSince   string `json:"phase_since"`
	Severity     int    `json:"severity"`
	TLP          string `json:"tlp"`
	LeadAgencyID string `json:"lead_agency_id"`
	UpdatedAt    string `json:"updated_at"`
	Stale        bool   `json:"stale"`
}

// countJSON is one bar of a chart: how many cases, and which.
type countJSON struct {
	Key     string   `json:"key"`
	Count   int      `json:"count"`
	CaseIDs []string `json:"case_ids"`
}

type portfolioClockJSON struct {
	CaseID        string `json:"case_id"`
	Reference     string `json:"reference"`
	CaseTitle     string `json:"case_title"`
	Clock         string `json:"clock"`
	Title         string `json:"title"`
	DueAt         string `json:"due_at"`
	State         string `json:"state"`
	OwnerAgencyID string `json:"owner_agency_id"`
}

type agencyTasksJSON struct {
	AgencyID string   `json:"agency_id"`
	Overdue  int      `json:"overdue"`
	Blocked  int      `json:"blocked"`
	CaseIDs  []string `json:"case_ids"`
}

type caseEvidenceJSON struct {
	CaseID              string `json:"case_id"`
	Items               int    `json:"items"`
	Bytes               int64  `json:"bytes"`
	AwaitingHandover    int    `json:"awaiting_handover"`
	FailedVerifications int    `json:"failed_verifications"`
}

type durationsJSON struct {
	Samples       int   `json:"samples"`
	MedianSeconds int64 `json:"median_seconds"`
	P90Seconds    int64 `json:"p90_seconds"`
}

// portfolioParams are the portfolio's filters; others are refused.
var portfolioParams = map[string]bool{"agency": true, "tag": true, "severity": true, "phase": true, "from": true,
	"to": true, "stale_days": true}

// getPortfolio answers leadership's picture over the cases the caller can
// read (none for admins and auditors, who hold no case content).
func (s *server) getPortfolio(c *fiber.Ctx) error {
	if err := s.authorize(c, access.ActionCaseList, access.Resource{}); err != nil {
		return err
	}
	q, err := parsePortfolioQuery(c)
	if err != nil {
		return err
	}
	p, err := s.Reports.Portfolio(c.UserContext(), principal(c), q)
	if err != nil {
		return err
	}
	return c.JSON(toPortfolioJSON(p))
}

func parsePortfolioQuery(c *fiber.Ctx) (reports.PortfolioQuery, error) {
	var v validate.Errors
	for name := range c.Queries() {
		v.Check(portfolioParams[name], name, "is not a parameter of the portfolio")
	}
	q := reports.PortfolioQuery{AgencyID: c.Query("agency"), Tag: c.Query("tag"), Phases: splitList(c.Query("phase"))}
	for _, sv := range splitList(c.Query("severity")) {
		n, err := strconv.Atoi(sv)
		v.Check(err == nil, "severity", "must be 1 to 4")
		q.Severities = append(q.Severities, n)
	}
	for name, dst := range map[string]**time.Time{"from": &q.From, "to": &q.To} {
		if raw := c.Query(name); raw != "" {
			t, err := time.Parse(time.RFC3339, raw)
			v.Check(err == nil, name, "must be an RFC 3339 time")
			if err == nil {
				*dst = &t
			}
		}
	}
	if raw := c.Query("stale_days"); raw != "" {
		n, err := strconv.Atoi(raw)
		v.Check(err == nil && n >= 1 && n <= 365, "stale_days", "must be a whole number from 1 to 365")
		q.StaleDays = n
	}
	if err := v.Err(); err != nil {
		return q, err
	}
	return q, q.Validate()
}

func toDurationsJSON(d reports.Durations) durationsJSON {
	return durationsJSON{Samples: d.Samples, MedianSeconds: int64(d.Median / time.Second), P90Seconds: int64(d.P90 / time.Second)}
}

func toPortfolioJSON(p reports.Portfolio) portfolioJSON {
	out := portfolioJSON{GeneratedAt: timestamp(p.GeneratedAt), StaleDays: p.StaleDays,
		Cases: make([]portfolioCaseJSON, 0, len(p.Cases)), Clocks: make([]portfolioClockJSON, 0, len(p.Clocks)),
		Tasks: make([]agencyTasksJSON, 0, len(p.Tasks)), Evidence: make([]caseEvidenceJSON, 0, len(p.Evidence)),
		Stale: []string{}, PhaseTimes: map[string]durationsJSON{}, Agencies: agencyNames(p.Agencies),
		DiscoveryToContainment: toDurationsJSON(p.DiscoveryToContainment)}
	byPhase, bySeverity := map[string]*countJSON{}, map[string]*countJSON{}
	for _, ph := range []string{"new", "triage", "investigating", "containment", "eradication", "recovery", "closed"} {
		out.ByPhase = append(out.ByPhase, countJSON{Key: ph, CaseIDs: []string{}})
	}
	for _, sv := range []string{"4", "3", "2", "1"} {
		out.BySeverity = append(out.BySeverity, countJSON{Key: sv, CaseIDs: []string{}})
	}
	for i := range out.ByPhase {
		byPhase[out.ByPhase[i].Key] = &out.ByPhase[i]
	}
	for i := range out.BySeverity {
		bySeverity[out.BySeverity[i].Key] = &out.BySeverity[i]
	}
	for _, k := range p.Cases {
		out.Cases = append(out.Cases, portfolioCaseJSON{ID: k.ID, Reference: k.Reference, Title: k.Title, Phase: k.Phase,
			PhaseSince: timestamp(k.PhaseSince), Severity: k.Severity, TLP: string(k.TLP), LeadAgencyID: k.LeadAgencyID,
			UpdatedAt: timestamp(k.UpdatedAt), Stale: k.Stale})
		for _, bar := range []*countJSON{byPhase[k.Phase], bySeverity[strconv.Itoa(k.Severity)]} {
			if bar != nil {
				bar.Count++
				bar.CaseIDs = append(bar.CaseIDs, k.ID)
			}
		}
		if k.Stale {
			out.Stale = append(out.Stale, k.ID)
		}
	}
	for _, k := range p.Clocks {
		out.Clocks = append(out.Clocks, portfolioClockJSON{CaseID: k.CaseID, Reference: k.Reference, CaseTitle: k.CaseTitle,
			Clock: k.Clock, Title: k.Title, DueAt: timestamp(k.DueAt), State: k.State, OwnerAgencyID: k.OwnerAgencyID})
	}
	for _, t := range p.Tasks {
		out.Tasks = append(out.Tasks, agencyTasksJSON{AgencyID: t.AgencyID, Overdue: t.Overdue, Blocked: t.Blocked, CaseIDs: nonNil(t.CaseIDs)})
	}
	for _, e := range p.Evidence {
		out.Evidence = append(out.Evidence, caseEvidenceJSON(e))
	}
	for phase, d := range p.PhaseTimes {
		out.PhaseTimes[phase] = toDurationsJSON(d)
	}
	return out
}

func agencyNames(list []reports.Agency) map[string]agencyNameJSON {
	out := make(map[string]agencyNameJSON, len(list))
	for _, a := range list {
		out[a.ID] = agencyNameJSON{Name: a.Name, Code: a.Code}
	}
	return out
}
