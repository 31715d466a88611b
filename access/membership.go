package access

import (
	"context"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/bevis-ir/bevis/internal/validate"
)

// AgencyMember is an agency on a case, with the default role of its users.
type AgencyMember struct {
	AgencyID string
	Name     string // the agency's, for showing
	Code     string
	Role     CaseRole
	AddedBy  string
	AddedAt  time.Time
}

// UserMember is a user named on a case, overriding their agency's role.
type UserMember struct {
	UserID   string
	Name     string // the person's, for showing to others on the case
	AgencyID string
	Role     CaseRole
	AddedBy  string
	AddedAt  time.Time
}

// Exclusion cuts a user off a case whatever they are granted.
type Exclusion struct {
	UserID     string
	Reason     string
	ExcludedBy string
	ExcludedAt time.Time
}

// Members is the membership of one case.
type Members struct {
	Agencies   []AgencyMember
	Users      []UserMember
	Exclusions []Exclusion
}

type caseAgencyMemberRow struct {
	CaseID   string `gorm:"primaryKey"`
	AgencyID string `gorm:"primaryKey"`
	Role     string
	AddedBy  string
	AddedAt  time.Time
}

func (caseAgencyMemberRow) TableName() string { return "case_agency_members" }

type caseUserMemberRow struct {
	CaseID  string `gorm:"primaryKey"`
	UserID  string `gorm:"primaryKey"`
	Role    string
	AddedBy string
	AddedAt time.Time
}

func (caseUserMemberRow) TableName() string { return "case_user_members" }

type caseExclusionRow struct {
	CaseID     string `gorm:"primaryKey"`
	UserID     string `gorm:"primaryKey"`
	Reason     string
	ExcludedBy string
	ExcludedAt time.Time
}

func (caseExclusionRow) TableName() string { return "case_exclusions" }

// Membership changes who is on a case. Whether the actor may is decided
// before, by Authorize(ActionCaseMembersManage).
type Membership struct {
	changes
	db  *gorm.DB
	now func() time.Time
}

// change runs fn and records it as action, in one transaction.
func (m *Membership) change(ctx context.Context, action, caseID, memberID string, fn func(tx *gorm.DB) error) error {
	return m.inTx(ctx, m.db, action, "members", memberID, caseID, fn)
}

// NewMembership returns the membership store in db.
func NewMembership(db *gorm.DB) *Membership {
	return &Membership{db: db, now: dbNow}
}

// ErrLastLead refuses a change that would leave a case without a lead.
var ErrLastLead = &ConflictError{Reason: "a case needs at least one lead"}

// AddCreator makes the creator of a new case its lead and their agency a
// member, inside the transaction that creates the case.
func AddCreator(tx *gorm.DB, caseID string, creator Principal, now time.Time) error {
	if err := tx.Create(&caseUserMemberRow{CaseID: caseID, UserID: creator.UserID, Role: string(CaseLead),
		AddedBy: creator.UserID, AddedAt: now}).Error; err != nil {
		return err
	}
	return tx.Create(&caseAgencyMemberRow{CaseID: caseID, AgencyID: creator.AgencyID, Role: string(CaseInvestigator),
		AddedBy: creator.UserID, AddedAt: now}).Error
}

// List returns the members of a case.
func (m *Membership) List(ctx context.Context, caseID string) (Members, error) {
	db := m.db.WithContext(ctx)
	// Flat rows: GORM does not fill the fields of embedded unexported structs.
	var agencies []struct {
		AgencyID, Name, Code, Role, AddedBy string
		AddedAt                             time.Time
	}
	var users []struct {
		UserID, Name, UserAgencyID, Role, AddedBy string
		AddedAt                                   time.Time
	}
	var excluded []caseExclusionRow
	if err := db.Table("case_agency_members m").Select("m.agency_id, a.name, a.code, m.role, m.added_by, m.added_at").
		Joins("JOIN agencies a ON a.id = m.agency_id").Where("m.case_id = ?", caseID).
		Order("m.added_at, m.agency_id").Scan(&agencies).Error; err != nil {
		return Members{}, fmt.Errorf("access: members: %w", err)
	}
	if err := db.Table("case_user_members m").Select("m.user_id, u.name, u.agency_id AS user_agency_id, m.role, m.added_by, m.added_at").
		Joins("JOIN users u ON u.id = m.user_id").Where("m.case_id = ?", caseID).
		Order("m.added_at, m.user_id").Scan(&users).Error; err != nil {
		return Members{}, fmt.Errorf("access: members: %w", err)
	}
	if err := db.Where("case_id = ?", caseID).Order("excluded_at, user_id").Find(&excluded).Error; err != nil {
		return Members{}, fmt.Errorf("access: members: %w", err)
	}
	out := Members{Agencies: []AgencyMember{}, Users: []UserMember{}, Exclusions: []Exclusion{}}
	for _, r := range agencies {
		out.Agencies = append(out.Agencies, AgencyMember{AgencyID: r.AgencyID, Name: r.Name, Code: r.Code,
			Role: CaseRole(r.Role), AddedBy: r.AddedBy, AddedAt: r.AddedAt})
	}
	for _, r := range users {
		out.Users = append(out.Users, UserMember{UserID: r.UserID, Name: r.Name, AgencyID: r.UserAgencyID,
			Role: CaseRole(r.Role), AddedBy: r.AddedBy, AddedAt: r.AddedAt})
	}
	for _, r := range excluded {
		out.Exclusions = append(out.Exclusions, Exclusion{UserID: r.UserID, Reason: r.Reason, ExcludedBy: r.ExcludedBy, ExcludedAt: r.ExcludedAt})
	}
	return out, nil
}

func checkRole(role CaseRole) error {
	if !role.Valid() {
		return validate.Field("role", "must be lead, investigator, analyst or observer")
	}
	return nil
}

// SetAgency adds an agency to a case or changes its default role.
func (m *Membership) SetAgency(ctx context.Context, actor Principal, caseID, agencyID string, role CaseRole) (AgencyMember, error) {
	if err := checkRole(role); err != nil {
		return AgencyMember{}, err
	}
	row := caseAgencyMemberRow{CaseID: caseID, AgencyID: agencyID, Role: string(role), AddedBy: actor.UserID, AddedAt: m.now()}
	var a agencyRow
	err := m.change(ctx, "cases.members.agencies.put", caseID, agencyID, func(tx *gorm.DB) error {
		if err := exists(tx, &agencyRow{}, agencyID, "agency_id"); err != nil {
			return err
		}
		if err := upsertRole(tx, &row, caseID, "agency_id", agencyID); err != nil {
			return err
		}
		return tx.Where("id = ?", agencyID).Take(&a).Error
	})
	if err != nil {
		return AgencyMember{}, translate(err, "")
	}
	return AgencyMember{AgencyID: agencyID, Name: a.Name, Code: a.Code, Role: CaseRole(row.Role), AddedBy: row.AddedBy,
		AddedAt: row.AddedAt}, nil
}

// upsertRole inserts a membership row or, when the member is on the case
// already, changes only its role (who added it, and when, stay), then reads
// the stored row back into row.
func upsertRole(tx *gorm.DB, row any, caseID, memberColumn, memberID string) error {
	key := []clause.Column{{Name: "case_id"}, {Name: memberColumn}}
	err := tx.Clauses(clause.OnConflict{Columns: key, DoUpdates: clause.AssignmentColumns([]string{"role"})}).Create(row).Error
	if err != nil {
		return err
	}
	return tx.Where("case_id = ? AND "+memberColumn+" = ?", caseID, memberID).Take(row).Error
}

// deleteMembership removes one membership row, or answers ErrNotFound.
func deleteMembership(db *gorm.DB, model any, caseID, memberColumn, memberID string) error {
	res := db.Where("case_id = ? AND "+memberColumn+" = ?", caseID, memberID).Delete(model)
	if res.Error != nil {
		return fmt.Errorf("access: remove membership: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return ErrNotFound
	}
	return nil
}

// RemoveAgency takes an agency off a case; its users keep only the roles
// they were named with.
func (m *Membership) RemoveAgency(ctx context.Context, caseID, agencyID string) error {
	return m.change(ctx, "cases.members.agencies.delete", caseID, agencyID, func(tx *gorm.DB) error {
		return deleteMembership(tx, &caseAgencyMemberRow{}, caseID, "agency_id", agencyID)
	})
}

// ErrSeparatedRole refuses to name an admin or auditor on a case.
var ErrSeparatedRole = &ConflictError{Reason: "admins and auditors are given no role on cases (separation of duties)"}

// SetUser names a user on a case with a role, or changes it. Admins and
// auditors are refused (ErrSeparatedRole).
func (m *Membership) SetUser(ctx context.Context, actor Principal, caseID, userID string, role CaseRole) (UserMember, error) {
	if err := checkRole(role); err != nil {
		return UserMember{}, err
	}
	row := caseUserMemberRow{CaseID: caseID, UserID: userID, Role: string(role), AddedBy: actor.UserID, AddedAt: m.now()}
	var u userRow
	err := m.change(ctx, "cases.members.users.put", caseID, userID, func(tx *gorm.DB) error {
		if err := exists(tx, &userRow{}, userID, "user_id"); err != nil {
			return err
		}
		if err := tx.Where("id = ?", userID).Take(&u).Error; err != nil {
			return err
		}
		if SystemRole(u.SystemRole).holdsNoCaseRoles() {
			return ErrSeparatedRole
		}
		if role != CaseLead {
			if err := keepALead(tx, caseID, userID); err != nil {
				return err
			}
		}
		return upsertRole(tx, &row, caseID, "user_id", userID)
	})
	if err != nil {
		return UserMember{}, translate(err, "")
	}
	return UserMember{UserID: userID, Name: u.Name, AgencyID: u.AgencyID, Role: CaseRole(row.Role), AddedBy: row.AddedBy,
		AddedAt: row.AddedAt}, nil
}

// RemoveUser takes a named user off a case; they may still see it through
// their agency's membership (exclude them to prevent that).
func (m *Membership) RemoveUser(ctx context.Context, caseID, userID string) error {
	return m.change(ctx, "cases.members.users.delete", caseID, userID, func(tx *gorm.DB) error {
		if err := keepALead(tx, caseID, userID); err != nil {
			return err
		}
		return deleteMembership(tx, &caseUserMemberRow{}, caseID, "user_id", userID)
	})
}

// Exclude cuts a user off a case at once, whatever they are granted: the
// answer to a suspected insider. Leads cannot exclude themselves, and the
// last lead cannot be excluded.
func (m *Membership) Exclude(ctx context.Context, actor Principal, caseID, userID, reason string) (Exclusion, error) {
	reason = strings.TrimSpace(reason)
	var v validate.Errors
	v.Line("reason", reason, 1, 1000)
	v.Check(userID != actor.UserID, "user_id", "you cannot exclude yourself")
	if err := v.Err(); err != nil {
		return Exclusion{}, err
	}
	row := caseExclusionRow{CaseID: caseID, UserID: userID, Reason: reason, ExcludedBy: actor.UserID, ExcludedAt: m.now()}
	err := m.change(ctx, "cases.members.exclusions.put", caseID, userID, func(tx *gorm.DB) error {
		if err := exists(tx, &userRow{}, userID, "user_id"); err != nil {
			return err
		}
		if err := keepALead(tx, caseID, userID); err != nil {
			return err
		}
		return tx.Create(&row).Error
	})
	if err != nil {
		return Exclusion{}, translate(err, "the user is excluded already")
	}
	return Exclusion{UserID: userID, Reason: reason, ExcludedBy: actor.UserID, ExcludedAt: row.ExcludedAt}, nil
}

// Readmit lifts an exclusion.
func (m *Membership) Readmit(ctx context.Context, caseID, userID string) error {
	return m.change(ctx, "cases.members.exclusions.delete", caseID, userID, func(tx *gorm.DB) error {
		return deleteMembership(tx, &caseExclusionRow{}, caseID, "user_id", userID)
	})
}

// keepALead refuses a change to userID when no other, non-excluded user
// would remain lead of the case.
func keepALead(tx *gorm.DB, caseID, userID string) error {
	var others int64
	err := tx.Model(&caseUserMemberRow{}).
		Where("case_id = ? AND role = ? AND user_id <> ?", caseID, CaseLead, userID).
		Where("user_id NOT IN (?)", tx.Model(&caseExclusionRow{}).Select("user_id").Where("case_id = ?", caseID)).
		Count(&others).Error
	if err != nil {
		return err
	}
	var isLead int64
	if err := tx.Model(&caseUserMemberRow{}).Where("case_id = ? AND user_id = ? AND role = ?", caseID, userID, CaseLead).
		Count(&isLead).Error; err != nil {
		return err
	}
	if isLead > 0 && others == 0 {
		return ErrLastLead
	}
	return nil
}

// exists checks that a referenced row exists, so that a bad ID in input is
// a clear validation error rather than a foreign-key failure.
func exists(tx *gorm.DB, model any, id, field string) error {
	var n int64
	if err := tx.Model(model).Where("id = ?", id).Count(&n).Error; err != nil {
		return err
	}
	if n == 0 {
		return validate.Field(field, "no such "+strings.TrimSuffix(field, "_id"))
	}
	return nil
}
