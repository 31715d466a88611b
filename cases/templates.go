package cases

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/bevis-ir/bevis/access"
	"github.com/bevis-ir/bevis/internal/validate"
)

// ErrTemplateNotFound is a case template that does not exist.
var ErrTemplateNotFound = errors.New("cases: template not found")

// Template presets a kind of case ("health-sector breach", "ransomware"):
// a case opened from it starts with its tags, severity, marking, clock sets
// and tasks.
type Template struct {
	ID            string
	Name          string
	Description   string
	Severity      Severity
	TLP           access.TLP
	Tags          []string
	Jurisdictions []string
	Tasks         []PresetTask
	CreatedBy     string
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// PresetTask is a task every case of a template starts with, given to the
// agency that opens the case, due a number of hours after opening.
type PresetTask struct {
	Title       string       `json:"title"`
	Description string       `json:"description"`
	Priority    TaskPriority `json:"priority"`
	DueInHours  int          `json:"due_in_hours"` // 0: no due time
	Checklist   []string     `json:"checklist"`
}

type templateRow struct {
	ID            string `gorm:"primaryKey"`
	Name          string
	Description   string
	Severity      int
	TLP           string `gorm:"column:tlp"`
	Tags          string
	Jurisdictions string
	Tasks         string
	CreatedBy     string
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

func (templateRow) TableName() string { return "case_templates" }

func (r templateRow) template() Template {
	t := Template{ID: r.ID, Name: r.Name, Description: r.Description, Severity: Severity(r.Severity),
		TLP: access.TLP(r.TLP), CreatedBy: r.CreatedBy, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
	_ = json.Unmarshal([]byte(r.Tags), &t.Tags)
	_ = json.Unmarshal([]byte(r.Jurisdictions), &t.Jurisdictions)
	_ = json.Unmarshal([]byte(r.Tasks), &t.Tasks)
	return t
}

const maxPresetTasks = 50

// validate checks a template as a case opened from it would be checked.
func (s *Store) validateTemplate(t *Template) error {
	t.Name = strings.TrimSpace(t.Name)
	if t.Severity == 0 {
		t.Severity = SeverityMedium
	}
	if t.TLP == "" {
		t.TLP = access.TLPAmber
	}
	var v validate.Errors
	v.Line("name", t.Name, 1, 200)
	v.Text("description", t.Description, maxTaskText)
	// The case rules check tags, severity, marking and jurisdictions.
	probe := Case{Title: "template", Severity: t.Severity, TLP: t.TLP, Tags: t.Tags, Jurisdictions: t.Jurisdictions}
	probe.normalize()
	t.Tags, t.Jurisdictions = probe.Tags, probe.Jurisdictions
	var invalid *validate.Error
	if err := probe.validate(s.rules, s.clock()); errors.As(err, &invalid) {
		for _, f := range invalid.Fields {
			v.Add(f.Field, f.Message)
		}
	} else if err != nil {
		return err
	}
	v.Check(len(t.Tasks) <= maxPresetTasks, "tasks", fmt.Sprintf("at most %d", maxPresetTasks))
	for i := range t.Tasks {
		p := &t.Tasks[i]
		p.Title = strings.TrimSpace(p.Title)
		if p.Priority == "" {
			p.Priority = "normal"
		}
		field := fmt.Sprintf("tasks[%d]", i)
		if err := (NewTask{Title: p.Title, Description: p.Description, AssigneeAgencyID: "-", Priority: p.Priority,
			Checklist: p.Checklist}).validate(); errors.As(err, &invalid) {
			for _, f := range invalid.Fields {
				v.Add(field+"."+f.Field, f.Message)
			}
		}
		v.Check(p.DueInHours >= 0 && p.DueInHours <= 24*366, field+".due_in_hours", "must be 0 to 8784 hours")
	}
	return v.Err()
}

func (t Template) row() templateRow {
	tags, _ := json.Marshal(nonNilList(t.Tags))
	jur, _ := json.Marshal(nonNilList(t.Jurisdictions))
	tasks, _ := json.Marshal(t.Tasks)
	if t.Tasks == nil {
		tasks = []byte("[]")
	}
	return templateRow{ID: t.ID, Name: t.Name, Description: t.Description, Severity: int(t.Severity), TLP: string(t.TLP),
		Tags: string(tags), Jurisdictions: string(jur), Tasks: string(tasks), CreatedBy: t.CreatedBy,
		CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt}
}

func nonNilList(v []string) []string {
	if v == nil {
		return []string{}
	}
	return v
}

// SaveTemplate creates a template (empty ID) or replaces one.
func (s *Store) SaveTemplate(ctx context.Context, by access.Principal, t Template) (Template, error) {
	if err := s.validateTemplate(&t); err != nil {
		return Template{}, err
	}
	now := s.clock()
	db := s.db.WithContext(ctx)
	if t.ID == "" {
		t.ID, t.CreatedBy, t.CreatedAt = newID(), by.UserID, now
	} else {
		old, err := s.Template(ctx, t.ID)
		if err != nil {
			return Template{}, err
		}
		t.CreatedBy, t.CreatedAt = old.CreatedBy, old.CreatedAt
	}
	t.UpdatedAt = now
	row := t.row()
	err := db.Transaction(func(tx *gorm.DB) error {
		if err := tx.Save(&row).Error; err != nil {
			return err
		}
		return recordChange(ctx, tx, "templates.save", "templates", t.ID, "")
	})
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return Template{}, &access.ConflictError{Reason: "a template of that name exists"}
	}
	if err != nil {
		return Template{}, fmt.Errorf("cases: save template: %w", err)
	}
	return row.template(), nil
}

// Template returns one template.
func (s *Store) Template(ctx context.Context, id string) (Template, error) {
	var row templateRow
	err := s.db.WithContext(ctx).Where("id = ?", id).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return Template{}, ErrTemplateNotFound
	}
	if err != nil {
		return Template{}, fmt.Errorf("cases: template: %w", err)
	}
	return row.template(), nil
}

// Templates lists every template by name.
func (s *Store) Templates(ctx context.Context) ([]Template, error) {
	var rows []templateRow
	if err := s.db.WithContext(ctx).Order("name").Limit(500).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("cases: templates: %w", err)
	}
	out := make([]Template, len(rows))
	for i, r := range rows {
		out[i] = r.template()
	}
	return out, nil
}

// DeleteTemplate removes a template; cases opened from it are untouched.
func (s *Store) DeleteTemplate(ctx context.Context, id string) error {
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Where("id = ?", id).Delete(&templateRow{})
		if res.Error != nil {
			return fmt.Errorf("cases: delete template: %w", res.Error)
		}
		if res.RowsAffected == 0 {
			return ErrTemplateNotFound
		}
		return recordChange(ctx, tx, "templates.delete", "templates", id, "")
	})
}

// FromTemplate fills what a new case leaves open from a template: its tags
// are added, and severity, marking and clock sets are taken when the case
// names none; the template's tasks come with it.
func FromTemplate(in NewCase, t Template) NewCase {
	in.Tags = append(append([]string{}, t.Tags...), in.Tags...)
	if in.Severity == 0 {
		in.Severity = t.Severity
	}
	if in.TLP == "" {
		in.TLP = t.TLP
	}
	if in.Jurisdictions == nil {
		in.Jurisdictions = t.Jurisdictions
	}
	in.Tasks = t.Tasks
	return in
}

// addPresetTasks creates a new case's preset tasks, given to the agency
// opening it, in the case's own transaction.
func addPresetTasks(tx *gorm.DB, caseID string, creator access.Principal, tasks []PresetTask, now time.Time) error {
	for _, p := range tasks {
		row := taskRow{ID: newID(), CaseID: caseID, Title: p.Title, Description: p.Description,
			AssigneeAgencyID: nonEmpty(creator.AgencyID), Priority: string(p.Priority), Status: string(TaskOpen),
			CreatedBy: creator.UserID, CreatedAt: now, UpdatedAt: now, Version: 1}
		if p.DueInHours > 0 {
			due := now.Add(time.Duration(p.DueInHours) * time.Hour)
			row.DueAt = &due
		}
		if err := tx.Create(&row).Error; err != nil {
			return err
		}
		for i, text := range p.Checklist {
			if err := tx.Create(&checklistRow{ID: newID(), TaskID: row.ID, Position: i + 1, Text: text}).Error; err != nil {
				return err
			}
		}
	}
	return nil
}
