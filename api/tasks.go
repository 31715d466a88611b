package api

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/bevis-ir/bevis/access"
	"github.com/bevis-ir/bevis/cases"
	"github.com/bevis-ir/bevis/internal/validate"
)

type checklistItemJSON struct {
	ID     string  `json:"id"`
	Text   string  `json:"text"`
	Done   bool    `json:"done"`
	DoneBy string  `json:"done_by,omitempty"`
	DoneAt *string `json:"done_at"`
}

type taskJSON struct {
	ID               string              `json:"id"`
	CaseID           string              `json:"case_id"`
	Title            string              `json:"title"`
	Description      string              `json:"description"`
	AssigneeUserID   string              `json:"assignee_user_id,omitempty"`
	AssigneeAgencyID string              `json:"assignee_agency_id,omitempty"`
	DelegatedTo      string              `json:"delegated_to,omitempty"`
	Priority         string              `json:"priority"`
	DueAt            *string             `json:"due_at"`
	Overdue          bool                `json:"overdue"`
	Status           string              `json:"status"`
	AcknowledgedAt   *string             `json:"acknowledged_at"`
	AcknowledgedBy   string              `json:"acknowledged_by,omitempty"`
	Checklist        []checklistItemJSON `json:"checklist"`
	CreatedBy        string              `json:"created_by"`
	CreatedAt        string              `json:"created_at"`
	UpdatedAt        string              `json:"updated_at"`
	Version          int64               `json:"version"`
	namesJSON
}

func (t *taskJSON) references() ([]string, []string) {
	people := []string{t.AssigneeUserID, t.DelegatedTo, t.AcknowledgedBy, t.CreatedBy}
	for _, it := range t.Checklist {
		people = append(people, it.DoneBy)
	}
	return people, []string{t.AssigneeAgencyID}
}

func toTaskJSON(k cases.Task, now time.Time) taskJSON {
	out := taskJSON{ID: k.ID, CaseID: k.CaseID, Title: k.Title, Description: k.Description,
		AssigneeUserID: k.AssigneeUserID, AssigneeAgencyID: k.AssigneeAgencyID, DelegatedTo: k.DelegatedTo,
		Priority: string(k.Priority), DueAt: optionalTimestamp(k.DueAt), Overdue: k.Overdue(now), Status: string(k.Status),
		AcknowledgedAt: optionalTimestamp(k.AcknowledgedAt), AcknowledgedBy: k.AcknowledgedBy,
		Checklist: make([]checklistItemJSON, len(k.Checklist)), CreatedBy: k.CreatedBy,
		CreatedAt: timestamp(k.CreatedAt), UpdatedAt: timestamp(k.UpdatedAt), Version: k.Version}
	for i, it := range k.Checklist {
		out.Checklist[i] = checklistItemJSON{ID: it.ID, Text: it.Text, Done: it.Done, DoneBy: it.DoneBy, DoneAt: optionalTimestamp(it.DoneAt)}
	}
	return out
}

// pageJSON is one page of a long list; next_cursor, when present, asks
// for the page after it.
type pageJSON[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor,omitempty"`
}

const (
	defaultPageSize = 50
	maxPageSize     = 200
)

// page reads the limit and cursor query parameters. Cursors are opaque to
// clients: the base64url of the last key of the previous page.
func page(c *fiber.Ctx) (limit int, after string, err error) {
	var v validate.Errors
	if limit = limitParam(c, &v, maxPageSize); limit == 0 {
		limit = defaultPageSize
	}
	if err := v.Err(); err != nil {
		return 0, "", err
	}
	if s := c.Query("cursor"); s != "" {
		raw, err := base64.RawURLEncoding.DecodeString(s)
		if err != nil || len(raw) == 0 || len(raw) > 64 {
			return 0, "", validate.Field("cursor", "is not a cursor this API gave out")
		}
		after = string(raw)
	}
	return limit, after, nil
}

// limitParam reads the limit query parameter of a list: 0 when absent,
// otherwise a whole number from 1 to most.
func limitParam(c *fiber.Ctx, v *validate.Errors, most int) int {
	s := c.Query("limit")
	if s == "" {
		return 0
	}
	n, err := strconv.Atoi(s)
	v.Check(err == nil && n >= 1 && n <= most, "limit", fmt.Sprintf("must be a whole number from 1 to %d", most))
	return n
}

// nextCursor is the cursor after a full page, or "" after the last one.
func nextCursor(n, limit int, lastKey string) string {
	if n < limit {
		return ""
	}
	return base64.RawURLEncoding.EncodeToString([]byte(lastKey))
}

func setETag(c *fiber.Ctx, version int64) {
	c.Set(fiber.HeaderETag, `"`+strconv.FormatInt(version, 10)+`"`)
}

func (s *server) sendTask(c *fiber.Ctx, status int, k cases.Task) error {
	setETag(c, k.Version)
	out := toTaskJSON(k, s.Tasks.Now())
	if err := s.nameAll(c.UserContext(), &out); err != nil {
		return err
	}
	return c.Status(status).JSON(out)
}

func (s *server) sendTasks(c *fiber.Ctx, list []cases.Task, limit int) error {
	out := pageJSON[taskJSON]{Items: make([]taskJSON, len(list))}
	now := s.Tasks.Now()
	named := make([]referrer, len(list))
	for i, k := range list {
		out.Items[i] = toTaskJSON(k, now)
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

// listMyTasks answers the cross-case views: the caller's tasks, their
// agency's, and the overdue ones, always within cases the caller can see.
func (s *server) listMyTasks(c *fiber.Ctx) error {
	if err := s.authorize(c, access.ActionCaseList, access.Resource{}); err != nil {
		return err
	}
	view := cases.TaskView(c.Query("view", string(cases.ViewMine)))
	if !view.Valid() {
		return validate.Field("view", "must be mine, agency or overdue")
	}
	limit, after, err := page(c)
	if err != nil {
		return err
	}
	list, err := s.Tasks.ListTasks(c.UserContext(), principal(c), view,
		cases.TaskFilter{Status: cases.TaskStatus(c.Query("status")), Limit: limit, After: after})
	if err != nil {
		return err
	}
	return s.sendTasks(c, list, limit)
}

func (s *server) listCaseTasks(c *fiber.Ctx) error {
	caseID, err := s.caseAction(c, access.ActionCaseRead)
	if err != nil {
		return err
	}
	limit, after, err := page(c)
	if err != nil {
		return err
	}
	list, err := s.Tasks.CaseTasks(c.UserContext(), caseID,
		cases.TaskFilter{Status: cases.TaskStatus(c.Query("status")), Limit: limit, After: after})
	if err != nil {
		return err
	}
	return s.sendTasks(c, list, limit)
}

type createTaskRequest struct {
	Title            string     `json:"title"`
	Description      string     `json:"description"`
	AssigneeUserID   string     `json:"assignee_user_id"`
	AssigneeAgencyID string     `json:"assignee_agency_id"`
	Priority         string     `json:"priority"`
	DueAt            *time.Time `json:"due_at"`
	Checklist        []string   `json:"checklist"`
}

func (s *server) createTask(c *fiber.Ctx) error {
	caseID, err := s.caseWork(c)
	if err != nil {
		return err
	}
	var in createTaskRequest
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	k, err := s.Tasks.CreateTask(c.UserContext(), principal(c), caseID, cases.NewTask{Title: in.Title,
		Description: in.Description, AssigneeUserID: in.AssigneeUserID, AssigneeAgencyID: in.AssigneeAgencyID,
		Priority: cases.TaskPriority(in.Priority), DueAt: in.DueAt, Checklist: in.Checklist})
	if err != nil {
		return err
	}
	c.Location("/api/v1/cases/" + caseID + "/tasks/" + k.ID)
	return s.sendTask(c, fiber.StatusCreated, k)
}

func (s *server) getTask(c *fiber.Ctx) error {
	caseID, err := s.caseAction(c, access.ActionCaseRead)
	if err != nil {
		return err
	}
	k, err := s.Tasks.Task(c.UserContext(), caseID, c.Params("taskId"))
	if err != nil {
		return err
	}
	return s.sendTask(c, fiber.StatusOK, k)
}

// patchTaskRequest distinguishes a field left out from a field set to
// null (due_at: null clears the due time).
type patchTaskRequest struct {
	Title            *string           `json:"title"`
	Description      *string           `json:"description"`
	Priority         *string           `json:"priority"`
	DueAt            field[*time.Time] `json:"due_at"`
	Status           *string           `json:"status"`
	AssigneeUserID   *string           `json:"assignee_user_id"`
	AssigneeAgencyID *string           `json:"assignee_agency_id"`
}

func (s *server) patchTask(c *fiber.Ctx) error {
	caseID, err := s.caseWork(c)
	if err != nil {
		return err
	}
	version, err := ifMatch(c)
	if err != nil {
		return err
	}
	var in patchTaskRequest
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	p := cases.TaskPatch{Title: in.Title, Description: in.Description,
		AssigneeUserID: in.AssigneeUserID, AssigneeAgencyID: in.AssigneeAgencyID}
	if in.Priority != nil {
		pr := cases.TaskPriority(*in.Priority)
		p.Priority = &pr
	}
	if in.Status != nil {
		st := cases.TaskStatus(*in.Status)
		p.Status = &st
	}
	p.DueAt = opt(in.DueAt)
	k, err := s.Tasks.UpdateTask(c.UserContext(), caseID, c.Params("taskId"), version, p)
	if err != nil {
		return err
	}
	return s.sendTask(c, fiber.StatusOK, k)
}

// taskForAcknowledgement loads a task of a case the caller can read, and
// asks whether the caller may take it on for its assignee.
func (s *server) taskForAcknowledgement(c *fiber.Ctx) (cases.Task, error) {
	caseID, err := s.caseAction(c, access.ActionCaseRead)
	if err != nil {
		return cases.Task{}, err
	}
	k, err := s.Tasks.Task(c.UserContext(), caseID, c.Params("taskId"))
	if err != nil {
		return cases.Task{}, err
	}
	res := access.Resource{CaseID: caseID, UserID: k.AssigneeUserID, AgencyID: k.AssigneeAgencyID}
	if err := s.authorize(c, access.ActionTaskAcknowledge, res); err != nil {
		return cases.Task{}, err
	}
	return k, s.Cases.EnsureOpen(c.UserContext(), caseID)
}

func (s *server) acknowledgeTask(c *fiber.Ctx) error {
	k, err := s.taskForAcknowledgement(c)
	if err != nil {
		return err
	}
	k, err = s.Tasks.Acknowledge(c.UserContext(), principal(c), k.CaseID, k.ID)
	if err != nil {
		return err
	}
	return s.sendTask(c, fiber.StatusOK, k)
}

func (s *server) delegateTask(c *fiber.Ctx) error {
	k, err := s.taskForAcknowledgement(c)
	if err != nil {
		return err
	}
	var in struct {
		UserID string `json:"user_id"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	k, err = s.Tasks.Delegate(c.UserContext(), principal(c), k.CaseID, k.ID, in.UserID)
	if err != nil {
		return err
	}
	return s.sendTask(c, fiber.StatusOK, k)
}

func (s *server) addChecklistItem(c *fiber.Ctx) error {
	caseID, err := s.caseWork(c)
	if err != nil {
		return err
	}
	var in struct {
		Text string `json:"text"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	k, err := s.Tasks.AddChecklistItem(c.UserContext(), caseID, c.Params("taskId"), in.Text)
	if err != nil {
		return err
	}
	return s.sendTask(c, fiber.StatusCreated, k)
}

func (s *server) patchChecklistItem(c *fiber.Ctx) error {
	caseID, err := s.caseWork(c)
	if err != nil {
		return err
	}
	var in struct {
		Done *bool `json:"done"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	if in.Done == nil {
		return validate.Field("done", "is required")
	}
	k, err := s.Tasks.SetChecklistItem(c.UserContext(), principal(c), caseID, c.Params("taskId"), c.Params("itemId"), *in.Done)
	if err != nil {
		return err
	}
	return s.sendTask(c, fiber.StatusOK, k)
}
