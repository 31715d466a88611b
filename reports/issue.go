package reports

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/bevis-ir/bevis/access"
	"github.com/bevis-ir/bevis/audit"
)

// Issued is a situation report a lead issued: numbered per case, frozen.
type Issued struct {
	ID             string
	CaseID         string
	Number         int
	IssuedBy       string
	IssuedByAgency string
	IssuedAt       time.Time
	Markings       []access.TLP // of the items its content drew on
	SHA256         string       // of Content
	// Content is the report's JSON exactly as issued; nil when the reader
	// may not see every marking it drew on (Withheld).
	Content  []byte
	Withheld bool
}

type issuedRow struct {
	ID             string `gorm:"primaryKey"`
	CaseID         string
	Number         int
	IssuedBy       string
	IssuedByAgency string
	IssuedAt       time.Time
	Markings       string // space-separated
	Content        string
	SHA256         string `gorm:"column:sha256"`
}

func (issuedRow) TableName() string { return "case_sitreps" }

func (r issuedRow) markings() []access.TLP {
	var out []access.TLP
	for _, m := range strings.Fields(r.Markings) {
		out = append(out, access.TLP(m))
	}
	return out
}

// issued converts a row for a reader with markings.
func (r issuedRow) issued(markings []access.TLP) Issued {
	out := Issued{ID: r.ID, CaseID: r.CaseID, Number: r.Number, IssuedBy: r.IssuedBy, IssuedByAgency: r.IssuedByAgency,
		IssuedAt: r.IssuedAt.UTC(), Markings: r.markings(), SHA256: r.SHA256}
	if covers(markings, out.Markings) {
		out.Content = []byte(r.Content)
	} else {
		out.Withheld = true
	}
	return out
}

// latest is the case's last issued report, or nil before the first.
func (s *Store) latest(db *gorm.DB, caseID string) (*issuedRow, error) {
	var rows []issuedRow
	if err := db.Where("case_id = ?", caseID).Order("number DESC").Limit(1).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("reports: last issued report: %w", err)
	}
	if len(rows) == 0 {
		return nil, nil //nolint:nilnil // no report issued yet is not an error
	}
	return &rows[0], nil
}

// audience is the markings an issued report draws on: what every reader of
// a case marked caseTLP may see (a case marked CLEAR, GREEN or AMBER is
// read through agency memberships, which see neither AMBER+STRICT nor RED
// items; every reader of an AMBER+STRICT case is named and of a member
// agency; every reader of a RED case is named), within what the issuer sees.
func audience(caseTLP access.TLP, issuer []access.TLP) []access.TLP {
	all := map[access.TLP][]access.TLP{
		access.TLPAmberStrict: {access.TLPClear, access.TLPGreen, access.TLPAmber, access.TLPAmberStrict, access.TLPRed},
		access.TLPRed:         {access.TLPClear, access.TLPGreen, access.TLPAmber, access.TLPRed},
	}
	wide, ok := all[caseTLP]
	if !ok {
		wide = []access.TLP{access.TLPClear, access.TLPGreen, access.TLPAmber}
	}
	var out []access.TLP
	for _, m := range wide {
		if covers(issuer, []access.TLP{m}) {
			out = append(out, m)
		}
	}
	return out
}

// ErrIssueRace is a report issued by someone else at the same moment.
var ErrIssueRace = &access.ConflictError{Reason: "another report of this case was issued at the same moment; try again"}

// Issue freezes the case's situation report as its next numbered record,
// drawn on what every reader of the case may see (see audience), and puts
// its SHA-256 on the audit log in the same transaction. The caller has
// authorized the issuer as a lead of the case.
func (s *Store) Issue(ctx context.Context, by access.Principal, caseID string, markings []access.TLP) (Issued, error) {
	var row issuedRow
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var tlp string
		if err := tx.Raw(`SELECT tlp FROM cases WHERE id = ?`, caseID).Scan(&tlp).Error; err != nil {
			return fmt.Errorf("reports: issue: %w", err)
		}
		if tlp == "" {
			return ErrNotFound
		}
		last, err := s.latest(tx, caseID)
		if err != nil {
			return err
		}
		drawn := audience(access.TLP(tlp), markings)
		now := s.clock()
		r, err := s.build(tx, caseID, drawn, last, now)
		if err != nil {
			return err
		}
		number := 1
		if last != nil {
			number = last.Number + 1
			var prev Sitrep
			if err := json.Unmarshal([]byte(last.Content), &prev); err == nil {
				r.Changes = compare(prev, r)
			}
		}
		content, err := json.Marshal(r)
		if err != nil {
			return fmt.Errorf("reports: issue: %w", err)
		}
		sum := sha256.Sum256(content)
		ms := make([]string, len(drawn))
		for i, m := range drawn {
			ms[i] = string(m)
		}
		row = issuedRow{ID: uuid.Must(uuid.NewV7()).String(), CaseID: caseID, Number: number, IssuedBy: by.UserID,
			IssuedByAgency: by.AgencyID, IssuedAt: now, Markings: strings.Join(ms, " "), Content: string(content),
			SHA256: hex.EncodeToString(sum[:])}
		if err := tx.Create(&row).Error; err != nil {
			if errors.Is(err, gorm.ErrDuplicatedKey) {
				return ErrIssueRace
			}
			return fmt.Errorf("reports: issue: %w", err)
		}
		return audit.Append(ctx, tx, audit.Entry{Action: "cases.sitreps.issue", Outcome: audit.Success,
			ResourceType: "sitrep", ResourceID: row.ID, CaseID: caseID,
			Detail: map[string]string{"number": strconv.Itoa(number), "sha256": row.SHA256}})
	})
	if err != nil {
		return Issued{}, err
	}
	return row.issued(markings), nil
}

// IssuedReports lists the case's issued reports, newest first, without
// their content.
func (s *Store) IssuedReports(ctx context.Context, caseID string, markings []access.TLP) ([]Issued, error) {
	var rows []issuedRow
	if err := s.db.WithContext(ctx).Select("id", "case_id", "number", "issued_by", "issued_by_agency", "issued_at", "markings", "sha256").
		Where("case_id = ?", caseID).Order("number DESC").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("reports: issued reports: %w", err)
	}
	out := make([]Issued, len(rows))
	for i, r := range rows {
		out[i] = r.issued(markings)
		out[i].Content = nil
	}
	return out, nil
}

// IssuedReport returns one issued report of the case with its content
// (unless withheld from a reader with markings).
func (s *Store) IssuedReport(ctx context.Context, caseID string, number int, markings []access.TLP) (Issued, error) {
	var rows []issuedRow
	if err := s.db.WithContext(ctx).Where("case_id = ? AND number = ?", caseID, number).Limit(1).Find(&rows).Error; err != nil {
		return Issued{}, fmt.Errorf("reports: issued report: %w", err)
	}
	if len(rows) == 0 {
		return Issued{}, ErrNotFound
	}
	return rows[0].issued(markings), nil
}
