package api

import (
	"github.com/gofiber/fiber/v2"

	"github.com/bevis-ir/bevis/access"
	"github.com/bevis-ir/bevis/cases"
)

type commentJSON struct {
	ID        string   `json:"id"`
	CaseID    string   `json:"case_id"`
	TaskID    string   `json:"task_id,omitempty"`
	AuthorID  string   `json:"author_id"`
	Body      string   `json:"body"`
	Mentions  []string `json:"mentions"`
	CreatedAt string   `json:"created_at"`
	namesJSON
}

func (k *commentJSON) references() ([]string, []string) {
	return append([]string{k.AuthorID}, k.Mentions...), nil
}

func toCommentJSON(k cases.Comment) commentJSON {
	out := commentJSON{ID: k.ID, CaseID: k.CaseID, TaskID: k.TaskID, AuthorID: k.AuthorID, Body: k.Body,
		Mentions: k.Mentions, CreatedAt: timestamp(k.CreatedAt)}
	if out.Mentions == nil {
		out.Mentions = []string{}
	}
	return out
}

// listComments serves the comments of a case, or of one of its tasks when
// the route names one.
func (s *server) listComments(c *fiber.Ctx) error {
	caseID, err := s.caseAction(c, access.ActionCaseRead)
	if err != nil {
		return err
	}
	limit, after, err := page(c)
	if err != nil {
		return err
	}
	taskID := c.Params("taskId")
	if taskID != "" {
		if _, err := s.Tasks.Task(c.UserContext(), caseID, taskID); err != nil {
			return err
		}
	}
	list, err := s.Tasks.Comments(c.UserContext(), caseID, cases.CommentFilter{TaskID: taskID, Limit: limit, After: after})
	if err != nil {
		return err
	}
	out := pageJSON[commentJSON]{Items: make([]commentJSON, len(list))}
	named := make([]referrer, len(list))
	for i, k := range list {
		out.Items[i] = toCommentJSON(k)
		named[i] = &out.Items[i]
	}
	if err := s.nameAll(c.UserContext(), named...); err != nil {
		return err
	}
	if len(list) > 0 {
		out.NextCursor = nextCursor(len(list), limit, list[len(list)-1].ID)
	}
	return c.JSON(out)
}

type createCommentRequest struct {
	Body     string   `json:"body"`
	Mentions []string `json:"mentions"`
}

func (s *server) createComment(c *fiber.Ctx) error {
	caseID, err := s.caseWork(c)
	if err != nil {
		return err
	}
	var in createCommentRequest
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	k, err := s.Tasks.AddComment(c.UserContext(), principal(c), caseID,
		cases.NewComment{TaskID: c.Params("taskId"), Body: in.Body, Mentions: in.Mentions})
	if err != nil {
		return err
	}
	out := toCommentJSON(k)
	if err := s.nameAll(c.UserContext(), &out); err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(out)
}
