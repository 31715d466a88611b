package api

import (
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/bevis-ir/bevis/access"
	"github.com/bevis-ir/bevis/cases"
	"github.com/bevis-ir/bevis/internal/validate"
)

type caseJSON struct {
	ID                    string               `json:"id"`
	Reference             string               `json:"reference"`
	Title                 string               `json:"title"`
	Summary               string               `json:"summary"`
	Severity              int                  `json:"severity"`
	Status                string               `json:"status"`
	StatusChangedAt       string               `json:"status_changed_at"`
	AllowedTransitions    []cases.Status       `json:"allowed_transitions"`
	TLP                   string               `json:"tlp"`
	ClassificationLabel   string               `json:"classification_label"`
	LeadAgencyID          string               `json:"lead_agency_id"`
	Tags                  []string             `json:"tags"`
	AffectedOrganisations []string             `json:"affected_organisations"`
	AffectedSystems       []string             `json:"affected_systems"`
	PersonalDataBreach    bool                 `json:"personal_data_breach"`
	DiscoveredAt          *string              `json:"discovered_at"`
	AwareAt               *string              `json:"aware_at"`
	PartyAwareness        []partyAwarenessJSON `json:"party_awareness"`
	Jurisdictions         []string             `json:"jurisdictions"`
	Clocks                []clockJSON          `json:"clocks"`
	ObserversMayDownload  bool                 `json:"observers_may_download"`
	Version               int64                `json:"version"`
	CreatedBy             string               `json:"created_by"`
	CreatedAt             string               `json:"created_at"`
	UpdatedAt             string               `json:"updated_at"`
}

type partyAwarenessJSON struct {
	Party   string    `json:"party"`
	AwareAt time.Time `json:"aware_at"`
}

type clockJSON struct {
	ID           string        `json:"id"`
	Jurisdiction string        `json:"jurisdiction"`
	Title        string        `json:"title"`
	DueAt        *string       `json:"due_at"`
	State        string        `json:"state"`
	Met          *clockMetJSON `json:"met"`
}

type clockMetJSON struct {
	At         string `json:"at"`
	ByUser     string `json:"by_user"`
	ByAgency   string `json:"by_agency"`
	Reference  string `json:"reference"`
	RecordedAt string `json:"recorded_at"`
	Late       bool   `json:"late"`
}

func optionalTimestamp(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := timestamp(*t)
	return &s
}

func toCaseJSON(k cases.Case) caseJSON {
	out := caseJSON{ID: k.ID, Reference: k.Reference, Title: k.Title, Summary: k.Summary, Severity: int(k.Severity),
		Status: string(k.Status), StatusChangedAt: timestamp(k.StatusChangedAt), AllowedTransitions: cases.AllowedFrom(k.Status),
		TLP: string(k.TLP), ClassificationLabel: k.ClassificationLabel, LeadAgencyID: k.LeadAgencyID,
		Tags: nonNil(k.Tags), AffectedOrganisations: nonNil(k.AffectedOrganisations), AffectedSystems: nonNil(k.AffectedSystems),
		PersonalDataBreach: k.PersonalDataBreach, DiscoveredAt: optionalTimestamp(k.DiscoveredAt), AwareAt: optionalTimestamp(k.AwareAt),
		PartyAwareness: []partyAwarenessJSON{}, Jurisdictions: nonNil(k.Jurisdictions), Clocks: []clockJSON{},
		ObserversMayDownload: k.ObserversMayDownload, Version: k.Version, CreatedBy: k.CreatedBy, CreatedAt: timestamp(k.CreatedAt), UpdatedAt: timestamp(k.UpdatedAt)}
	for _, p := range k.PartyAwareness {
		out.PartyAwareness = append(out.PartyAwareness, partyAwarenessJSON(p))
	}
	for _, c := range k.Clocks {
		cj := clockJSON{ID: c.ID, Jurisdiction: c.Jurisdiction, Title: c.Title, DueAt: optionalTimestamp(c.DueAt), State: string(c.State)}
		if m := c.Met; m != nil {
			cj.Met = &clockMetJSON{At: timestamp(m.At), ByUser: m.ByUser, ByAgency: m.ByAgency, Reference: m.Reference,
				RecordedAt: timestamp(m.RecordedAt), Late: m.Late}
		}
		out.Clocks = append(out.Clocks, cj)
	}
	return out
}

func nonNil[T any](v []T) []T {
	if v == nil {
		return []T{}
	}
	return v
}

// etag is the case's version as a strong entity tag.
func etag(k cases.Case) string { return `"` + strconv.FormatInt(k.Version, 10) + `"` }

// sendCase answers with the case and its ETag.
func sendCase(c *fiber.Ctx, status int, k cases.Case) error {
	c.Set(fiber.HeaderETag, etag(k))
	return c.Status(status).JSON(toCaseJSON(k))
}

// ifMatch reads the version a write is based on from If-Match (the ETag of
// a case or a task). Without it the answer is 428; a tag that cannot be the
// current one (a weak tag, a list) gets 412 like any stale one.
func ifMatch(c *fiber.Ctx) (int64, error) {
	h := strings.TrimSpace(c.Get(fiber.HeaderIfMatch))
	switch h {
	case "":
		return 0, newProblem(fiber.StatusPreconditionRequired, "precondition_required",
			"Send If-Match with the ETag from your last read, so that concurrent changes are not lost.")
	case "*":
		return 0, newProblem(fiber.StatusPreconditionRequired, "precondition_required",
			"If-Match must name an ETag, not *.")
	}
	v, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimPrefix(h, `"`), `"`), 10, 64)
	if err != nil || !strings.HasPrefix(h, `"`) || !strings.HasSuffix(h, `"`) || len(h) < 3 {
		return 0, cases.ErrStale
	}
	return v, nil
}

type partyAwarenessInput struct {
	Party   string    `json:"party"`
	AwareAt time.Time `json:"aware_at"`
}

func toPartyAwareness(in []partyAwarenessInput) []cases.PartyAwareness {
	out := make([]cases.PartyAwareness, len(in))
	for i, p := range in {
		out[i] = cases.PartyAwareness(p)
	}
	return out
}

type createCaseRequest struct {
	Title                 string                `json:"title"`
	Summary               string                `json:"summary"`
	Severity              int                   `json:"severity"`
	TLP                   string                `json:"tlp"`
	ClassificationLabel   string                `json:"classification_label"`
	Tags                  []string              `json:"tags"`
	AffectedOrganisations []string              `json:"affected_organisations"`
	AffectedSystems       []string              `json:"affected_systems"`
	PersonalDataBreach    bool                  `json:"personal_data_breach"`
	DiscoveredAt          *time.Time            `json:"discovered_at"`
	AwareAt               *time.Time            `json:"aware_at"`
	PartyAwareness        []partyAwarenessInput `json:"party_awareness"`
	Jurisdictions         []string              `json:"jurisdictions"`
	TemplateID            string                `json:"template_id"`
}

func (s *server) createCase(c *fiber.Ctx) error {
	if err := s.authorize(c, access.ActionCaseCreate, access.Resource{}); err != nil {
		return err
	}
	var in createCaseRequest
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	nc := cases.NewCase{
		Title: in.Title, Summary: in.Summary, Severity: cases.Severity(in.Severity), TLP: access.TLP(in.TLP),
		ClassificationLabel: in.ClassificationLabel, Tags: in.Tags, AffectedOrganisations: in.AffectedOrganisations,
		AffectedSystems: in.AffectedSystems, PersonalDataBreach: in.PersonalDataBreach, DiscoveredAt: in.DiscoveredAt,
		AwareAt: in.AwareAt, PartyAwareness: toPartyAwareness(in.PartyAwareness), Jurisdictions: in.Jurisdictions}
	if in.TemplateID != "" {
		t, err := s.Cases.Template(c.UserContext(), in.TemplateID)
		if errors.Is(err, cases.ErrTemplateNotFound) {
			return validate.Field("template_id", "no such template")
		}
		if err != nil {
			return err
		}
		nc = cases.FromTemplate(nc, t)
	}
	k, err := s.Cases.Create(c.UserContext(), principal(c), nc)
	if err != nil {
		return err
	}
	c.Location("/api/v1/cases/" + k.ID)
	return sendCase(c, fiber.StatusCreated, k)
}

func (s *server) getCase(c *fiber.Ctx) error {
	id := c.Params("id")
	if err := s.authorize(c, access.ActionCaseRead, access.Resource{CaseID: id}); err != nil {
		return err
	}
	k, err := s.Cases.Get(c.UserContext(), id)
	if err != nil {
		return err
	}
	return sendCase(c, fiber.StatusOK, k)
}

// patchCaseRequest is a JSON merge patch of the editable fields; the
// reference, status, lead agency, version and timestamps are the server's.
type patchCaseRequest struct {
	Title                 field[string]                `json:"title"`
	Summary               field[string]                `json:"summary"`
	Severity              field[int]                   `json:"severity"`
	TLP                   field[string]                `json:"tlp"`
	ClassificationLabel   field[string]                `json:"classification_label"`
	Tags                  field[[]string]              `json:"tags"`
	AffectedOrganisations field[[]string]              `json:"affected_organisations"`
	AffectedSystems       field[[]string]              `json:"affected_systems"`
	PersonalDataBreach    field[bool]                  `json:"personal_data_breach"`
	DiscoveredAt          field[*time.Time]            `json:"discovered_at"`
	AwareAt               field[*time.Time]            `json:"aware_at"`
	PartyAwareness        field[[]partyAwarenessInput] `json:"party_awareness"`
	Jurisdictions         field[[]string]              `json:"jurisdictions"`
	ObserversMayDownload  field[bool]                  `json:"observers_may_download"`
}

func (in patchCaseRequest) toUpdate() cases.Update {
	return cases.Update{
		Title: opt(in.Title), Summary: opt(in.Summary),
		Severity:              cases.Optional[cases.Severity]{Set: in.Severity.set, Value: cases.Severity(in.Severity.v)},
		TLP:                   cases.Optional[access.TLP]{Set: in.TLP.set, Value: access.TLP(in.TLP.v)},
		ClassificationLabel:   opt(in.ClassificationLabel),
		Tags:                  opt(in.Tags),
		AffectedOrganisations: opt(in.AffectedOrganisations),
		AffectedSystems:       opt(in.AffectedSystems),
		PersonalDataBreach:    opt(in.PersonalDataBreach),
		DiscoveredAt:          opt(in.DiscoveredAt),
		AwareAt:               opt(in.AwareAt),
		PartyAwareness: cases.Optional[[]cases.PartyAwareness]{Set: in.PartyAwareness.set,
			Value: toPartyAwareness(in.PartyAwareness.v)},
		Jurisdictions:        opt(in.Jurisdictions),
		ObserversMayDownload: opt(in.ObserversMayDownload),
	}
}

func (s *server) patchCase(c *fiber.Ctx) error {
	id := c.Params("id")
	res := access.Resource{CaseID: id}
	if err := s.authorize(c, access.ActionCaseWrite, res); err != nil {
		return err
	}
	version, err := ifMatch(c)
	if err != nil {
		return err
	}
	var in patchCaseRequest
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	u := in.toUpdate()
	if u.Governs() {
		if err := s.authorize(c, access.ActionCaseGovern, res); err != nil {
			return err
		}
	}
	k, err := s.Cases.Update(c.UserContext(), principal(c), id, version, u)
	if err != nil {
		return err
	}
	return sendCase(c, fiber.StatusOK, k)
}

type transitionRequest struct {
	To     string `json:"to"`
	Reason string `json:"reason"`
}

func (s *server) transitionCase(c *fiber.Ctx) error {
	id := c.Params("id")
	res := access.Resource{CaseID: id}
	if err := s.authorize(c, access.ActionCaseWrite, res); err != nil {
		return err
	}
	version, err := ifMatch(c)
	if err != nil {
		return err
	}
	var in transitionRequest
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	// Closing and reopening are the lead's; the store knows the current
	// status and refuses them when mayGovern is false.
	mayGovern := s.authorize(c, access.ActionCaseGovern, res) == nil
	k, err := s.Cases.Transition(c.UserContext(), principal(c), id, version,
		cases.Move{To: cases.Status(in.To), Reason: in.Reason, MayGovern: mayGovern})
	if err != nil {
		return err
	}
	return sendCase(c, fiber.StatusOK, k)
}

type meetClockRequest struct {
	Reference string     `json:"reference"`
	MetAt     *time.Time `json:"met_at"`
}

func (s *server) meetClock(c *fiber.Ctx) error {
	id := c.Params("id")
	if err := s.authorize(c, access.ActionCaseWrite, access.Resource{CaseID: id}); err != nil {
		return err
	}
	version, err := ifMatch(c)
	if err != nil {
		return err
	}
	var in meetClockRequest
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	k, err := s.Cases.MeetClock(c.UserContext(), principal(c), id, version, c.Params("clock"),
		cases.Meeting{At: in.MetAt, Reference: in.Reference})
	if err != nil {
		return err
	}
	return sendCase(c, fiber.StatusOK, k)
}

type transitionJSON struct {
	ID       string `json:"id"`
	From     string `json:"from"`
	To       string `json:"to"`
	ByUser   string `json:"by_user"`
	ByAgency string `json:"by_agency"`
	At       string `json:"at"`
	Reason   string `json:"reason"`
}

type phaseJSON struct {
	Status    string  `json:"status"`
	EnteredAt string  `json:"entered_at"`
	LeftAt    *string `json:"left_at"`
	Seconds   float64 `json:"seconds"`
}

type historyJSON struct {
	Transitions []transitionJSON   `json:"transitions"`
	Phases      []phaseJSON        `json:"phases"`
	TimeInPhase map[string]float64 `json:"time_in_phase_seconds"`
}

func (s *server) caseHistory(c *fiber.Ctx) error {
	id := c.Params("id")
	if err := s.authorize(c, access.ActionCaseRead, access.Resource{CaseID: id}); err != nil {
		return err
	}
	h, err := s.Cases.History(c.UserContext(), id)
	if err != nil {
		return err
	}
	out := historyJSON{Transitions: []transitionJSON{}, Phases: []phaseJSON{}, TimeInPhase: map[string]float64{}}
	for _, t := range h.Transitions {
		out.Transitions = append(out.Transitions, transitionJSON{ID: t.ID, From: string(t.From), To: string(t.To),
			ByUser: t.ByUser, ByAgency: t.ByAgency, At: timestamp(t.At), Reason: t.Reason})
	}
	for _, p := range h.Phases {
		out.Phases = append(out.Phases, phaseJSON{Status: string(p.Status), EnteredAt: timestamp(p.EnteredAt),
			LeftAt: optionalTimestamp(p.LeftAt), Seconds: p.Duration.Seconds()})
	}
	for st, d := range h.TimeIn {
		out.TimeInPhase[string(st)] = d.Seconds()
	}
	return c.JSON(out)
}

type casePageJSON struct {
	Items      []caseJSON     `json:"items"`
	NextCursor string         `json:"next_cursor,omitempty"`
	Counts     map[string]int `json:"counts"`
}

// listParams are the query parameters of the case list; others are refused.
var listParams = map[string]bool{"status": true, "severity": true, "agency": true, "tag": true,
	"clock_state": true, "sort": true, "cursor": true, "limit": true}

func (s *server) listCases(c *fiber.Ctx) error {
	if err := s.authorize(c, access.ActionCaseList, access.Resource{}); err != nil {
		return err
	}
	q, err := parseListQuery(c)
	if err != nil {
		return err
	}
	page, err := s.Cases.List(c.UserContext(), principal(c), q)
	if err != nil {
		return err
	}
	out := casePageJSON{Items: make([]caseJSON, len(page.Cases)), NextCursor: page.NextCursor, Counts: map[string]int{}}
	for i, k := range page.Cases {
		out.Items[i] = toCaseJSON(k)
	}
	for st, n := range page.Counts {
		out.Counts[string(st)] = n
	}
	return c.JSON(out)
}

// parseListQuery reads the list's filters; lists are comma-separated.
func parseListQuery(c *fiber.Ctx) (cases.ListQuery, error) {
	var v validate.Errors
	for name := range c.Queries() {
		v.Check(listParams[name], name, "is not a parameter of this list")
	}
	q := cases.ListQuery{AgencyID: c.Query("agency"), Tag: c.Query("tag"), ClockState: cases.ClockState(c.Query("clock_state")),
		Sort: c.Query("sort"), Cursor: c.Query("cursor")}
	for _, st := range splitList(c.Query("status")) {
		q.Statuses = append(q.Statuses, cases.Status(st))
	}
	for _, sv := range splitList(c.Query("severity")) {
		n, err := strconv.Atoi(sv)
		v.Check(err == nil, "severity", "must be 1 to 4")
		q.Severities = append(q.Severities, cases.Severity(n))
	}
	q.Limit = limitParam(c, &v, cases.MaxListLimit)
	return q, v.Err()
}

func splitList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}
