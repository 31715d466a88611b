package api

import (
	"github.com/gofiber/fiber/v2"

	"github.com/bevis-ir/bevis/access"
	"github.com/bevis-ir/bevis/cases"
)

type caseJSON struct {
	ID                  string `json:"id"`
	Title               string `json:"title"`
	TLP                 string `json:"tlp"`
	ClassificationLabel string `json:"classification_label"`
	LeadAgencyID        string `json:"lead_agency_id"`
	CreatedBy           string `json:"created_by"`
	CreatedAt           string `json:"created_at"`
	UpdatedAt           string `json:"updated_at"`
}

func toCaseJSON(k cases.Case) caseJSON {
	return caseJSON{ID: k.ID, Title: k.Title, TLP: string(k.TLP), ClassificationLabel: k.ClassificationLabel,
		LeadAgencyID: k.LeadAgencyID, CreatedBy: k.CreatedBy, CreatedAt: timestamp(k.CreatedAt), UpdatedAt: timestamp(k.UpdatedAt)}
}

type createCaseRequest struct {
	Title               string `json:"title"`
	TLP                 string `json:"tlp"`
	ClassificationLabel string `json:"classification_label"`
}

func (s *server) createCase(c *fiber.Ctx) error {
	if err := s.authorize(c, access.ActionCaseCreate, access.Resource{}); err != nil {
		return err
	}
	var in createCaseRequest
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	k, err := s.Cases.Create(c.UserContext(), principal(c), cases.NewCase{
		Title: in.Title, TLP: access.TLP(in.TLP), ClassificationLabel: in.ClassificationLabel})
	if err != nil {
		return err
	}
	c.Location("/api/v1/cases/" + k.ID)
	return c.Status(fiber.StatusCreated).JSON(toCaseJSON(k))
}

func (s *server) listCases(c *fiber.Ctx) error {
	if err := s.authorize(c, access.ActionCaseList, access.Resource{}); err != nil {
		return err
	}
	list, err := s.Cases.ListVisible(c.UserContext(), principal(c))
	if err != nil {
		return err
	}
	out := listJSON[caseJSON]{Items: make([]caseJSON, len(list))}
	for i, k := range list {
		out.Items[i] = toCaseJSON(k)
	}
	return c.JSON(out)
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
	return c.JSON(toCaseJSON(k))
}
