// Package cases owns breach cases: their content, tasks, the attack
// timeline and the regulatory clocks. Who may see a case is decided by
// access; this package stores what a case says.
package cases

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"

	"github.com/bevis-ir/bevis/access"
	"github.com/bevis-ir/bevis/internal/validate"
)

// ErrNotFound is a case that does not exist.
var ErrNotFound = errors.New("cases: not found")

// Case is one investigation shared by member agencies.
type Case struct {
	ID                  string
	Title               string
	TLP                 access.TLP
	ClassificationLabel string
	LeadAgencyID        string
	CreatedBy           string
	CreatedAt           time.Time
	UpdatedAt           time.Time
}

type caseRow struct {
	ID                  string `gorm:"primaryKey"`
	Title               string
	TLP                 string `gorm:"column:tlp"`
	ClassificationLabel string
	LeadAgencyID        string
	CreatedBy           string
	CreatedAt           time.Time
	UpdatedAt           time.Time
}

func (caseRow) TableName() string { return "cases" }

func (r caseRow) toCase() Case {
	return Case{ID: r.ID, Title: r.Title, TLP: access.TLP(r.TLP), ClassificationLabel: r.ClassificationLabel,
		LeadAgencyID: r.LeadAgencyID, CreatedBy: r.CreatedBy, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
}

// Store keeps cases.
type Store struct {
	db  *gorm.DB
	now func() time.Time
}

// NewStore returns the case store in db.
func NewStore(db *gorm.DB) *Store {
	return &Store{db: db, now: func() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }}
}

// NewCase is the input to Create.
type NewCase struct {
	Title               string
	TLP                 access.TLP
	ClassificationLabel string
}

func (in NewCase) validate() error {
	var v validate.Errors
	n := utf8.RuneCountInString(in.Title)
	v.Check(n >= 1 && n <= 300 && !strings.ContainsAny(in.Title, "\x00\r\n"), "title", "must be 1 to 300 characters on one line")
	v.Check(in.TLP.Valid(), "tlp", "must be CLEAR, GREEN, AMBER, AMBER+STRICT or RED")
	v.Check(utf8.RuneCountInString(in.ClassificationLabel) <= 100 && !strings.ContainsAny(in.ClassificationLabel, "\x00\r\n"),
		"classification_label", "must be at most 100 characters on one line")
	return v.Err()
}

// Create opens a case led by the creator's agency, with the creator as its
// lead, in one transaction.
func (s *Store) Create(ctx context.Context, creator access.Principal, in NewCase) (Case, error) {
	in.Title, in.ClassificationLabel = strings.TrimSpace(in.Title), strings.TrimSpace(in.ClassificationLabel)
	if in.TLP == "" {
		in.TLP = access.TLPAmber
	}
	if err := in.validate(); err != nil {
		return Case{}, err
	}
	now := s.now()
	row := caseRow{ID: newID(), Title: in.Title, TLP: string(in.TLP), ClassificationLabel: in.ClassificationLabel,
		LeadAgencyID: creator.AgencyID, CreatedBy: creator.UserID, CreatedAt: now, UpdatedAt: now}
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(&row).Error; err != nil {
			return err
		}
		return access.AddCreator(tx, row.ID, creator, now)
	})
	if err != nil {
		return Case{}, fmt.Errorf("cases: create: %w", err)
	}
	return row.toCase(), nil
}

// Get returns one case. Whether the caller may see it is access's to say.
func (s *Store) Get(ctx context.Context, id string) (Case, error) {
	var row caseRow
	err := s.db.WithContext(ctx).Where("id = ?", id).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return Case{}, ErrNotFound
	}
	if err != nil {
		return Case{}, fmt.Errorf("cases: get: %w", err)
	}
	return row.toCase(), nil
}

// ListVisible returns the cases p can see, newest first.
func (s *Store) ListVisible(ctx context.Context, p access.Principal) ([]Case, error) {
	var rows []caseRow
	db := s.db.WithContext(ctx)
	if err := db.Where("id IN (?)", access.CaseScope(db, p)).Order("created_at DESC, id DESC").Limit(500).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("cases: list: %w", err)
	}
	out := make([]Case, len(rows))
	for i, r := range rows {
		out[i] = r.toCase()
	}
	return out, nil
}
