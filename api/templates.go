package api

import (
	"github.com/gofiber/fiber/v2"

	"github.com/bevis-ir/bevis/access"
	"github.com/bevis-ir/bevis/cases"
)

type presetTaskJSON struct {
	Title       string   `json:"title"`
	Description string   `json:"description"`
	Priority    string   `json:"priority"`
	DueInHours  int      `json:"due_in_hours"`
	Checklist   []string `json:"checklist"`
}

type templateJSON struct {
	ID            string           `json:"id"`
	Name          string           `json:"name"`
	Description   string           `json:"description"`
	Severity      int              `json:"severity"`
	TLP           string           `json:"tlp"`
	Tags          []string         `json:"tags"`
	Jurisdictions []string         `json:"jurisdictions"`
	Tasks         []presetTaskJSON `json:"tasks"`
	CreatedBy     string           `json:"created_by"`
	CreatedAt     string           `json:"created_at"`
	UpdatedAt     string           `json:"updated_at"`
}

func toTemplateJSON(t cases.Template) templateJSON {
	out := templateJSON{ID: t.ID, Name: t.Name, Description: t.Description, Severity: int(t.Severity), TLP: string(t.TLP),
		Tags: nonNil(t.Tags), Jurisdictions: nonNil(t.Jurisdictions), Tasks: []presetTaskJSON{}, CreatedBy: t.CreatedBy,
		CreatedAt: timestamp(t.CreatedAt), UpdatedAt: timestamp(t.UpdatedAt)}
	for _, p := range t.Tasks {
		out.Tasks = append(out.Tasks, presetTaskJSON{Title: p.Title, Description: p.Description, Priority: string(p.Priority),
			DueInHours: p.DueInHours, Checklist: nonNil(p.Checklist)})
	}
	return out
}

// templateRequest is a whole template: PUT replaces every field.
type templateRequest struct {
	Name          string           `json:"name"`
	Description   string           `json:"description"`
	Severity      int              `json:"severity"`
	TLP           string           `json:"tlp"`
	Tags          []string         `json:"tags"`
	Jurisdictions []string         `json:"jurisdictions"`
	Tasks         []presetTaskJSON `json:"tasks"`
}

func (in templateRequest) template(id string) cases.Template {
	t := cases.Template{ID: id, Name: in.Name, Description: in.Description, Severity: cases.Severity(in.Severity),
		TLP: access.TLP(in.TLP), Tags: in.Tags, Jurisdictions: in.Jurisdictions}
	for _, p := range in.Tasks {
		t.Tasks = append(t.Tasks, cases.PresetTask{Title: p.Title, Description: p.Description,
			Priority: cases.TaskPriority(p.Priority), DueInHours: p.DueInHours, Checklist: p.Checklist})
	}
	return t
}

func (s *server) listTemplates(c *fiber.Ctx) error {
	if err := s.authorize(c, access.ActionTemplateRead, access.Resource{}); err != nil {
		return err
	}
	list, err := s.Cases.Templates(c.UserContext())
	if err != nil {
		return err
	}
	out := listJSON[templateJSON]{Items: make([]templateJSON, len(list))}
	for i, t := range list {
		out.Items[i] = toTemplateJSON(t)
	}
	return c.JSON(out)
}

func (s *server) getTemplate(c *fiber.Ctx) error {
	if err := s.authorize(c, access.ActionTemplateRead, access.Resource{}); err != nil {
		return err
	}
	t, err := s.Cases.Template(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(toTemplateJSON(t))
}

// saveTemplate creates (POST) or replaces (PUT) a template.
func (s *server) saveTemplate(c *fiber.Ctx) error {
	if err := s.authorize(c, access.ActionTemplateManage, access.Resource{}); err != nil {
		return err
	}
	var in templateRequest
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	t, err := s.Cases.SaveTemplate(c.UserContext(), principal(c), in.template(c.Params("id")))
	if err != nil {
		return err
	}
	if c.Method() == fiber.MethodPost {
		c.Location("/api/v1/templates/" + t.ID)
		return c.Status(fiber.StatusCreated).JSON(toTemplateJSON(t))
	}
	return c.JSON(toTemplateJSON(t))
}

func (s *server) deleteTemplate(c *fiber.Ctx) error {
	if err := s.authorize(c, access.ActionTemplateManage, access.Resource{}); err != nil {
		return err
	}
	if err := s.Cases.DeleteTemplate(c.UserContext(), c.Params("id")); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}
