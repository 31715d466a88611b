package cases

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/bevis-ir/bevis/access"
	"github.com/bevis-ir/bevis/internal/validate"
)

// ErrTaskNotFound is a task that does not exist in the case named.
var ErrTaskNotFound = errors.New("cases: task not found")

// TaskStatus is where a task stands.
type TaskStatus string

const (
	TaskOpen       TaskStatus = "open"
	TaskInProgress TaskStatus = "in_progress"
	TaskBlocked    TaskStatus = "blocked"
	TaskDone       TaskStatus = "done"
	TaskCancelled  TaskStatus = "cancelled"
)

func (s TaskStatus) valid() bool {
	switch s {
	case TaskOpen, TaskInProgress, TaskBlocked, TaskDone, TaskCancelled:
		return true
	}
	return false
}

// closed tasks are no longer overdue, whatever their due time.
func (s TaskStatus) closed() bool { return s == TaskDone || s == TaskCancelled }

// TaskPriority orders the work.
type TaskPriority string

func (p TaskPriority) valid() bool {
	switch p {
	case "low", "normal", "high", "urgent":
		return true
	}
	return false
}

// Task is a piece of work in a case, assigned to one user or one agency.
type Task struct {
	ID               string
	CaseID           string
	Title            string
	Description      string
	AssigneeUserID   string
	AssigneeAgencyID string
	DelegatedTo      string // for an agency task: the user the coordinator gave it to
	Priority         TaskPriority
	DueAt            *time.Time
	Status           TaskStatus
	AcknowledgedAt   *time.Time
	AcknowledgedBy   string
	Checklist        []ChecklistItem
	CreatedBy        string
	CreatedAt        time.Time
	UpdatedAt        time.Time
	Version          int64
}

// ChecklistItem is one step of a task.
type ChecklistItem struct {
	ID     string
	Text   string
	Done   bool
	DoneBy string
	DoneAt *time.Time
}

type taskRow struct {
	ID               string `gorm:"primaryKey"`
	CaseID           string
	Title            string
	Description      string
	AssigneeUserID   *string
	AssigneeAgencyID *string
	DelegatedTo      *string
	Priority         string
	DueAt            *time.Time
	Status           string
	AcknowledgedAt   *time.Time
	AcknowledgedBy   *string
	CreatedBy        string
	CreatedAt        time.Time
	UpdatedAt        time.Time
	Version          int64
}

func (taskRow) TableName() string { return "case_tasks" }

func (r taskRow) task(items []ChecklistItem) Task {
	return Task{ID: r.ID, CaseID: r.CaseID, Title: r.Title, Description: r.Description,
		AssigneeUserID: deref(r.AssigneeUserID), AssigneeAgencyID: deref(r.AssigneeAgencyID),
		DelegatedTo: deref(r.DelegatedTo), Priority: TaskPriority(r.Priority), DueAt: r.DueAt,
		Status: TaskStatus(r.Status), AcknowledgedAt: r.AcknowledgedAt, AcknowledgedBy: deref(r.AcknowledgedBy),
		Checklist: items, CreatedBy: r.CreatedBy, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt, Version: r.Version}
}

type checklistRow struct {
	ID       string `gorm:"primaryKey"`
	TaskID   string
	Position int
	Text     string
	Done     bool
	DoneBy   *string
	DoneAt   *time.Time
}

func (checklistRow) TableName() string { return "task_checklist_items" }

func (r checklistRow) item() ChecklistItem {
	return ChecklistItem{ID: r.ID, Text: r.Text, Done: r.Done, DoneBy: deref(r.DoneBy), DoneAt: r.DoneAt}
}

// Members answers who is on a case, so that tasks go only to people and
// agencies who can see the case, and mentions only name such people.
type Members interface {
	UserCaseRole(ctx context.Context, userID, caseID string) (access.CaseRole, error)
	AgencyCaseRole(ctx context.Context, agencyID, caseID string) (access.CaseRole, error)
}

// Tasks keeps the tasks and comments of cases. Whether the caller may read
// or change a case is decided before, by access.Authorize.
type Tasks struct {
	db      *gorm.DB
	members Members
	now     func() time.Time
}

// NewTasks returns the task store in db.
func NewTasks(db *gorm.DB, members Members) *Tasks {
	return &Tasks{db: db, members: members, now: func() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }}
}

// SetClock replaces the clock, for tests of due times.
func (t *Tasks) SetClock(now func() time.Time) { t.now = now }

// Now is the time by the store's clock, against which tasks are overdue.
func (t *Tasks) Now() time.Time { return t.now() }

const (
	maxChecklistItems = 100
	maxTaskText       = 20000
)

// NewTask is the input to CreateTask. Exactly one assignee is named.
type NewTask struct {
	Title            string
	Description      string
	AssigneeUserID   string
	AssigneeAgencyID string
	Priority         TaskPriority
	DueAt            *time.Time
	Checklist        []string
}

func (in NewTask) validate() error {
	var v validate.Errors
	v.Line("title", in.Title, 1, 300)
	v.Text("description", in.Description, maxTaskText)
	v.Check((in.AssigneeUserID == "") != (in.AssigneeAgencyID == ""), "assignee_user_id",
		"name exactly one of assignee_user_id and assignee_agency_id")
	v.Check(in.Priority.valid(), "priority", "must be low, normal, high or urgent")
	v.Check(len(in.Checklist) <= maxChecklistItems, "checklist", fmt.Sprintf("at most %d items", maxChecklistItems))
	for i, item := range in.Checklist {
		v.Line(fmt.Sprintf("checklist[%d]", i), item, 1, 500)
	}
	return v.Err()
}

// checkAssignee refuses an assignee who could not act on the task: a user
// without write access to the case, or an agency that is not a member.
func (t *Tasks) checkAssignee(ctx context.Context, caseID, userID, agencyID string) error {
	if userID != "" {
		role, err := t.members.UserCaseRole(ctx, userID, caseID)
		if errors.Is(err, access.ErrNotFound) || err == nil && role == access.CaseObserver {
			return validate.Field("assignee_user_id", "is not a member of this case who can work on it")
		}
		return err
	}
	_, err := t.members.AgencyCaseRole(ctx, agencyID, caseID)
	if errors.Is(err, access.ErrNotFound) {
		return validate.Field("assignee_agency_id", "is not a member agency of this case")
	}
	return err
}

// CreateTask adds a task to a case.
func (t *Tasks) CreateTask(ctx context.Context, p access.Principal, caseID string, in NewTask) (Task, error) {
	in.Title = strings.TrimSpace(in.Title)
	if in.Priority == "" {
		in.Priority = "normal"
	}
	if err := in.validate(); err != nil {
		return Task{}, err
	}
	if err := t.checkAssignee(ctx, caseID, in.AssigneeUserID, in.AssigneeAgencyID); err != nil {
		return Task{}, err
	}
	now := t.now()
	row := taskRow{ID: newID(), CaseID: caseID, Title: in.Title, Description: in.Description,
		AssigneeUserID: nonEmpty(in.AssigneeUserID), AssigneeAgencyID: nonEmpty(in.AssigneeAgencyID),
		Priority: string(in.Priority), DueAt: utcPtr(in.DueAt), Status: string(TaskOpen), CreatedBy: p.UserID,
		CreatedAt: now, UpdatedAt: now, Version: 1}
	items := make([]checklistRow, len(in.Checklist))
	for i, text := range in.Checklist {
		items[i] = checklistRow{ID: newID(), TaskID: row.ID, Position: i + 1, Text: text}
	}
	err := t.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(&row).Error; err != nil {
			return err
		}
		if err := recordChange(ctx, tx, "cases.tasks.post", "tasks", row.ID, caseID); err != nil {
			return err
		}
		if len(items) > 0 {
			return tx.Create(&items).Error
		}
		return nil
	})
	if err != nil {
		return Task{}, fmt.Errorf("cases: create task: %w", err)
	}
	return row.task(checklistItems(items)), nil
}

// Task returns one task of a case with its checklist.
func (t *Tasks) Task(ctx context.Context, caseID, id string) (Task, error) {
	return t.task(t.db.WithContext(ctx), caseID, id)
}

func (t *Tasks) task(db *gorm.DB, caseID, id string) (Task, error) {
	var row taskRow
	if err := db.Where("id = ? AND case_id = ?", id, caseID).Take(&row).Error; err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return Task{}, ErrTaskNotFound
		}
		return Task{}, fmt.Errorf("cases: task: %w", err)
	}
	var items []checklistRow
	if err := db.Where("task_id = ?", id).Order("position").Find(&items).Error; err != nil {
		return Task{}, fmt.Errorf("cases: task: %w", err)
	}
	return row.task(checklistItems(items)), nil
}

// TaskPatch changes a task; nil fields stay as they are. Changing the
// assignee clears the acknowledgement and any delegation.
type TaskPatch struct {
	Title            *string
	Description      *string
	Priority         *TaskPriority
	DueAt            Optional[*time.Time] // a nil Value clears the due time
	Status           *TaskStatus
	AssigneeUserID   *string
	AssigneeAgencyID *string
}

func (p TaskPatch) validate() error {
	var v validate.Errors
	if p.Title != nil {
		v.Line("title", strings.TrimSpace(*p.Title), 1, 300)
	}
	if p.Description != nil {
		v.Text("description", *p.Description, maxTaskText)
	}
	if p.Priority != nil {
		v.Check(p.Priority.valid(), "priority", "must be low, normal, high or urgent")
	}
	if p.Status != nil {
		v.Check(p.Status.valid(), "status", "must be open, in_progress, blocked, done or cancelled")
	}
	if p.AssigneeUserID != nil || p.AssigneeAgencyID != nil {
		v.Check(p.AssigneeUserID == nil || p.AssigneeAgencyID == nil || (*p.AssigneeUserID == "") != (*p.AssigneeAgencyID == ""),
			"assignee_user_id", "name exactly one of assignee_user_id and assignee_agency_id")
		v.Check(p.AssigneeUserID == nil || *p.AssigneeUserID != "" || p.AssigneeAgencyID != nil, "assignee_user_id",
			"a task needs an assignee")
		v.Check(p.AssigneeAgencyID == nil || *p.AssigneeAgencyID != "" || p.AssigneeUserID != nil, "assignee_agency_id",
			"a task needs an assignee")
	}
	return v.Err()
}

// UpdateTask applies a patch made against version ifVersion; a task changed
// since gets ErrStale and is left alone.
func (t *Tasks) UpdateTask(ctx context.Context, caseID, id string, ifVersion int64, p TaskPatch) (Task, error) {
	if err := p.validate(); err != nil {
		return Task{}, err
	}
	updates := map[string]any{}
	if p.Title != nil {
		updates["title"] = strings.TrimSpace(*p.Title)
	}
	if p.Description != nil {
		updates["description"] = *p.Description
	}
	if p.Priority != nil {
		updates["priority"] = string(*p.Priority)
	}
	if p.DueAt.Set {
		updates["due_at"] = utcPtr(p.DueAt.Value)
	}
	if p.Status != nil {
		updates["status"] = string(*p.Status)
	}
	if p.AssigneeUserID != nil || p.AssigneeAgencyID != nil {
		user, agency := "", ""
		if p.AssigneeUserID != nil {
			user = *p.AssigneeUserID
		}
		if p.AssigneeAgencyID != nil {
			agency = *p.AssigneeAgencyID
		}
		if err := t.checkAssignee(ctx, caseID, user, agency); err != nil {
			return Task{}, err
		}
		updates["assignee_user_id"], updates["assignee_agency_id"] = nonEmpty(user), nonEmpty(agency)
		updates["delegated_to"], updates["acknowledged_at"], updates["acknowledged_by"] = nil, nil, nil
	}
	return t.change(ctx, "cases.tasks.patch", caseID, id, ifVersion, func(*gorm.DB, Task) (map[string]any, error) { return updates, nil })
}

// change updates a task in one transaction if it is still at ifVersion
// (0: whatever its version), bumping the version; decide computes the
// updates from the current task. action names the change for the audit
// log, which records it in the same transaction.
func (t *Tasks) change(ctx context.Context, action, caseID, id string, ifVersion int64,
	decide func(tx *gorm.DB, current Task) (map[string]any, error)) (Task, error) {
	var out Task
	err := t.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := recordChange(ctx, tx, action, "tasks", id, caseID); err != nil {
			return err
		}
		current, err := t.task(tx, caseID, id)
		if err != nil {
			return err
		}
		if ifVersion != 0 && current.Version != ifVersion {
			return ErrStale
		}
		updates, err := decide(tx, current)
		if err != nil {
			return err
		}
		updates["updated_at"] = t.now()
		updates["version"] = gorm.Expr("version + 1")
		// The version in the WHERE clause makes two concurrent writers on
		// two nodes unable to both win.
		res := tx.Model(&taskRow{}).Where("id = ? AND version = ?", id, current.Version).Updates(updates)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return ErrStale
		}
		out, err = t.task(tx, caseID, id)
		return err
	})
	if err != nil {
		if errors.Is(err, ErrStale) || errors.Is(err, ErrTaskNotFound) || isValidation(err) || isConflict(err) {
			return Task{}, err
		}
		return Task{}, fmt.Errorf("cases: change task: %w", err)
	}
	return out, nil
}

// Acknowledge records that the assignee (or, for an agency task, the
// agency's coordinator, as Authorize decided) has taken the task on.
func (t *Tasks) Acknowledge(ctx context.Context, p access.Principal, caseID, id string) (Task, error) {
	return t.change(ctx, "cases.tasks.acknowledge.post", caseID, id, 0, func(_ *gorm.DB, cur Task) (map[string]any, error) {
		if cur.AcknowledgedAt != nil {
			return nil, &access.ConflictError{Reason: "the task is acknowledged already"}
		}
		return map[string]any{"acknowledged_at": t.now(), "acknowledged_by": p.UserID}, nil
	})
}

// Delegate gives an agency task to one of the agency's people who can work
// on the case, acknowledging it if that was not done yet.
func (t *Tasks) Delegate(ctx context.Context, p access.Principal, caseID, id, userID string) (Task, error) {
	return t.change(ctx, "cases.tasks.delegate.post", caseID, id, 0, func(tx *gorm.DB, cur Task) (map[string]any, error) {
		if cur.AssigneeAgencyID == "" {
			return nil, &access.ConflictError{Reason: "only a task given to an agency can be delegated"}
		}
		var agencyID string
		if err := tx.Table("users").Select("agency_id").Where("id = ?", userID).Scan(&agencyID).Error; err != nil {
			return nil, err
		}
		role, err := t.members.UserCaseRole(ctx, userID, caseID)
		if agencyID != cur.AssigneeAgencyID || errors.Is(err, access.ErrNotFound) || err == nil && role == access.CaseObserver {
			return nil, validate.Field("user_id", "is not a person of the assigned agency who can work on this case")
		}
		if err != nil {
			return nil, err
		}
		updates := map[string]any{"delegated_to": userID}
		if cur.AcknowledgedAt == nil {
			updates["acknowledged_at"], updates["acknowledged_by"] = t.now(), p.UserID
		}
		return updates, nil
	})
}

// AddChecklistItem appends a step to a task.
func (t *Tasks) AddChecklistItem(ctx context.Context, caseID, id, text string) (Task, error) {
	var v validate.Errors
	v.Line("text", text, 1, 500)
	if err := v.Err(); err != nil {
		return Task{}, err
	}
	return t.change(ctx, "cases.tasks.checklist.post", caseID, id, 0, func(tx *gorm.DB, cur Task) (map[string]any, error) {
		if len(cur.Checklist) >= maxChecklistItems {
			return nil, &access.ConflictError{Reason: fmt.Sprintf("a task has at most %d checklist items", maxChecklistItems)}
		}
		item := checklistRow{ID: newID(), TaskID: id, Position: len(cur.Checklist) + 1, Text: text}
		return map[string]any{}, tx.Create(&item).Error
	})
}

// SetChecklistItem ticks a step off, or back on.
func (t *Tasks) SetChecklistItem(ctx context.Context, p access.Principal, caseID, id, itemID string, done bool) (Task, error) {
	return t.change(ctx, "cases.tasks.checklist.patch", caseID, id, 0, func(tx *gorm.DB, _ Task) (map[string]any, error) {
		updates := map[string]any{"done": done, "done_by": nil, "done_at": nil}
		if done {
			updates["done_by"], updates["done_at"] = p.UserID, t.now()
		}
		res := tx.Model(&checklistRow{}).Where("id = ? AND task_id = ?", itemID, id).Updates(updates)
		if res.Error == nil && res.RowsAffected == 0 {
			return nil, ErrTaskNotFound
		}
		return map[string]any{}, res.Error
	})
}

// TaskFilter narrows a list of tasks.
type TaskFilter struct {
	Status TaskStatus // one status, or all
	Limit  int
	After  string // cursor: the last task ID of the previous page
}

// CaseTasks lists the tasks of one case, oldest first, a page at a time.
func (t *Tasks) CaseTasks(ctx context.Context, caseID string, f TaskFilter) ([]Task, error) {
	db := t.db.WithContext(ctx)
	q := db.Where("case_id = ?", caseID)
	if f.Status != "" {
		q = q.Where("status = ?", string(f.Status))
	}
	return t.list(db, f, q)
}

// TaskView is one of the cross-case task lists.
type TaskView string

const (
	ViewMine    TaskView = "mine"    // given to the caller, directly or by delegation
	ViewAgency  TaskView = "agency"  // given to the caller's agency
	ViewOverdue TaskView = "overdue" // past due and not closed, in any case the caller can see
)

// Valid reports whether v is a known view.
func (v TaskView) Valid() bool { return v == ViewMine || v == ViewAgency || v == ViewOverdue }

// ListTasks lists tasks across the cases p can see.
func (t *Tasks) ListTasks(ctx context.Context, p access.Principal, view TaskView, f TaskFilter) ([]Task, error) {
	db := t.db.WithContext(ctx)
	// Walks the view's index in ID order, testing each task's case for
	// visibility, and stops after a page (TestTaskListPlans).
	q := db.Where("EXISTS (SELECT 1 FROM cases WHERE cases.id = case_tasks.case_id AND ?)", access.CaseVisible(p))
	switch view {
	case ViewMine:
		// Given to p, or delegated to p: never both (an agency's task is
		// the one delegated), so two walks of their indexes merge into
		// the page, where one OR would be sorted whole.
		mine, delegated := q.Session(&gorm.Session{}).Where("assignee_user_id = ?", p.UserID), q.Where("delegated_to = ?", p.UserID)
		if f.Status != "" {
			mine, delegated = mine.Where("status = ?", string(f.Status)), delegated.Where("status = ?", string(f.Status))
		}
		return t.list(db, f, mine, delegated)
	case ViewAgency:
		q = q.Where("assignee_agency_id = ?", p.AgencyID)
	case ViewOverdue:
		q = q.Where("due_at < ? AND status NOT IN ?", t.now(), []string{string(TaskDone), string(TaskCancelled)})
	default:
		return nil, validate.Field("view", "must be mine, agency or overdue")
	}
	if f.Status != "" {
		q = q.Where("status = ?", string(f.Status))
	}
	return t.list(db, f, q)
}

// list pages through tasks by ID (UUIDv7, so in order of creation) and
// loads the checklists of the whole page in one query. The tasks of
// several disjoint queries merge into one page.
func (t *Tasks) list(db *gorm.DB, f TaskFilter, qs ...*gorm.DB) ([]Task, error) {
	if f.Status != "" && !f.Status.valid() {
		return nil, validate.Field("status", "must be open, in_progress, blocked, done or cancelled")
	}
	var rows []taskRow
	for _, q := range qs {
		if f.After != "" {
			q = q.Where("id > ?", f.After)
		}
		var some []taskRow
		if err := q.Order("id").Limit(f.Limit).Find(&some).Error; err != nil {
			return nil, fmt.Errorf("cases: list tasks: %w", err)
		}
		rows = append(rows, some...)
	}
	if len(qs) > 1 {
		slices.SortFunc(rows, func(a, b taskRow) int { return strings.Compare(a.ID, b.ID) })
		rows = slices.CompactFunc(rows, func(a, b taskRow) bool { return a.ID == b.ID })
		if f.Limit > 0 && len(rows) > f.Limit {
			rows = rows[:f.Limit]
		}
	}
	if len(rows) == 0 {
		return []Task{}, nil
	}
	ids := make([]string, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	var items []checklistRow
	if err := db.Where("task_id IN ?", ids).Order("task_id, position").
		Find(&items).Error; err != nil {
		return nil, fmt.Errorf("cases: list tasks: %w", err)
	}
	byTask := map[string][]ChecklistItem{}
	for _, it := range items {
		byTask[it.TaskID] = append(byTask[it.TaskID], it.item())
	}
	out := make([]Task, len(rows))
	for i, r := range rows {
		out[i] = r.task(byTask[r.ID])
	}
	return out, nil
}

// Overdue reports whether a task is past due at now.
func (k Task) Overdue(now time.Time) bool {
	return k.DueAt != nil && now.After(*k.DueAt) && !k.Status.closed()
}

func checklistItems(rows []checklistRow) []ChecklistItem {
	out := make([]ChecklistItem, len(rows))
	for i, r := range rows {
		out[i] = r.item()
	}
	return out
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func isValidation(err error) bool {
	var v *validate.Error
	return errors.As(err, &v)
}

func isConflict(err error) bool { return errors.Is(err, access.ErrConflict) }
