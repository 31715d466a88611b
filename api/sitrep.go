package api

import (
	"encoding/json"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/bevis-ir/bevis/access"
	"github.com/bevis-ir/bevis/reports"
)

// issuedJSON is an issued situation report; content is the report exactly
// as issued, whose SHA-256 is sha256 (and on the audit log).
type issuedJSON struct {
	Number         int             `json:"number"`
	IssuedBy       string          `json:"issued_by"`
	IssuedByAgency string          `json:"issued_by_agency"`
	IssuedAt       string          `json:"issued_at"`
	Markings       []string        `json:"markings"`
	SHA256         string          `json:"sha256"`
	Withheld       bool            `json:"withheld"`
	Content        json.RawMessage `json:"content,omitempty"`
}

type issuedListJSON struct {
	Items []issuedJSON `json:"items"`
	namesJSON
}

func (l *issuedListJSON) references() (people, agencies []string) {
	for _, r := range l.Items {
		people, agencies = append(people, r.IssuedBy), append(agencies, r.IssuedByAgency)
	}
	return people, agencies
}

func toIssuedJSON(r reports.Issued) issuedJSON {
	out := issuedJSON{Number: r.Number, IssuedBy: r.IssuedBy, IssuedByAgency: r.IssuedByAgency, IssuedAt: timestamp(r.IssuedAt),
		Markings: []string{}, SHA256: r.SHA256, Withheld: r.Withheld}
	for _, m := range r.Markings {
		out.Markings = append(out.Markings, string(m))
	}
	if !r.Withheld {
		out.Content = r.Content
	}
	return out
}

// sitrepReader authorizes a read of the case of the route and returns the
// markings of the items the caller may see on it.
func (s *server) sitrepReader(c *fiber.Ctx) (string, []access.TLP, error) {
	caseID, err := s.caseAction(c, access.ActionCaseRead)
	if err != nil {
		return "", nil, err
	}
	markings, err := s.Authz.ItemMarkings(c.UserContext(), principal(c), caseID)
	return caseID, markings, err
}

// getSitrep answers the case's situation report as of now, as JSON or, with
// format=html, as a printable page.
func (s *server) getSitrep(c *fiber.Ctx) error {
	caseID, markings, err := s.sitrepReader(c)
	if err != nil {
		return err
	}
	if err := formatParam(c); err != nil {
		return err
	}
	r, err := s.Reports.Sitrep(c.UserContext(), caseID, markings)
	if err != nil {
		return err
	}
	if c.Query("format") == "html" {
		return sendSitrepPage(c, r, nil)
	}
	return c.JSON(r)
}

// formatParam refuses any query but format=json or format=html.
func formatParam(c *fiber.Ctx) error {
	for name := range c.Queries() {
		if name != "format" {
			return newProblem(fiber.StatusBadRequest, "invalid_query", name+" is not a parameter of this resource.")
		}
	}
	if f := c.Query("format"); f != "" && f != "json" && f != "html" {
		return newProblem(fiber.StatusBadRequest, "invalid_query", "format must be json or html.")
	}
	return nil
}

func (s *server) listSitreps(c *fiber.Ctx) error {
	caseID, markings, err := s.sitrepReader(c)
	if err != nil {
		return err
	}
	list, err := s.Reports.IssuedReports(c.UserContext(), caseID, markings)
	if err != nil {
		return err
	}
	out := issuedListJSON{Items: make([]issuedJSON, len(list))}
	for i, r := range list {
		out.Items[i] = toIssuedJSON(r)
	}
	if err := s.nameAll(c.UserContext(), &out); err != nil {
		return err
	}
	return c.JSON(out)
}

// issueSitrep freezes the case's report as its next numbered record: the
// lead's decision, like the case's marking.
func (s *server) issueSitrep(c *fiber.Ctx) error {
	caseID, err := s.caseAction(c, access.ActionCaseGovern)
	if err != nil {
		return err
	}
	if len(c.Body()) > 0 {
		return newProblem(fiber.StatusBadRequest, "invalid_json", "Issuing a report takes no body: its content is the case's.")
	}
	p := principal(c)
	markings, err := s.Authz.ItemMarkings(c.UserContext(), p, caseID)
	if err != nil {
		return err
	}
	r, err := s.Reports.Issue(c.UserContext(), p, caseID, markings)
	if err != nil {
		return err
	}
	c.Location("/api/v1/cases/" + caseID + "/sitreps/" + strconv.Itoa(r.Number))
	return c.Status(fiber.StatusCreated).JSON(toIssuedJSON(r))
}

func (s *server) getIssuedSitrep(c *fiber.Ctx) error {
	caseID, markings, err := s.sitrepReader(c)
	if err != nil {
		return err
	}
	if err := formatParam(c); err != nil {
		return err
	}
	n, err := strconv.Atoi(c.Params("number"))
	if err != nil || n < 1 || n > 1_000_000 {
		return reports.ErrNotFound
	}
	r, err := s.Reports.IssuedReport(c.UserContext(), caseID, n, markings)
	if err != nil {
		return err
	}
	if c.Query("format") == "html" && !r.Withheld {
		var content reports.Sitrep
		if err := json.Unmarshal(r.Content, &content); err != nil {
			return err
		}
		return sendSitrepPage(c, content, &r)
	}
	return c.JSON(toIssuedJSON(r))
}
