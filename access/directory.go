package access

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"regexp"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/bevis-ir/bevis/internal/validate"
)

// Agency is an organisation taking part in investigations.
type Agency struct {
	ID         string
	Code       string
	Name       string
	Kind       AgencyKind
	RequireMFA bool
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// UserStatus says whether a user may sign in.
type UserStatus string

const (
	UserActive   UserStatus = "active"
	UserDisabled UserStatus = "disabled"
)

// User is a person of one home agency.
type User struct {
	ID                 string
	AgencyID           string
	Email              string
	Name               string
	Title              string
	Status             UserStatus
	SystemRole         SystemRole
	MustChangePassword bool
	TimeZone           string // IANA name the person reads times in; "" for their browser's
	CreatedAt          time.Time
	UpdatedAt          time.Time
	// Of a disabled user: when, by whom ("" for the command line) and with
	// what system role then, which decides who may re-enable them.
	DisabledAt     *time.Time
	DisabledBy     string
	DisabledByRole SystemRole
}

type agencyRow struct {
	ID         string `gorm:"primaryKey"`
	Code       string
	Name       string
	Kind       string
	RequireMFA bool `gorm:"column:require_mfa"`
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

func (agencyRow) TableName() string { return "agencies" }

func (r agencyRow) agency() Agency {
	return Agency{ID: r.ID, Code: r.Code, Name: r.Name, Kind: AgencyKind(r.Kind), RequireMFA: r.RequireMFA,
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
}

type userRow struct {
	ID                 string `gorm:"primaryKey"`
	AgencyID           string
	Email              string
	Name               string
	Title              string
	Status             string
	SystemRole         string
	PasswordHash       string
	MustChangePassword bool
	TimeZone           string
	CreatedAt          time.Time
	UpdatedAt          time.Time
	DisabledAt         *time.Time
	DisabledBy         string
	DisabledByRole     string
}

func (userRow) TableName() string { return "users" }

func (r userRow) user() User {
	return User{ID: r.ID, AgencyID: r.AgencyID, Email: r.Email, Name: r.Name, Title: r.Title,
		Status: UserStatus(r.Status), SystemRole: SystemRole(r.SystemRole), MustChangePassword: r.MustChangePassword,
		TimeZone: r.TimeZone, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt, DisabledAt: r.DisabledAt,
		DisabledBy: r.DisabledBy, DisabledByRole: SystemRole(r.DisabledByRole)}
}

// Directory keeps agencies and users.
type Directory struct {
	changes
	db  *gorm.DB
	now func() time.Time
}

// NewDirectory returns the directory stored in db.
func NewDirectory(db *gorm.DB) *Directory {
	return &Directory{db: db, now: dbNow}
}

// NewAgency is the input to CreateAgency.
type NewAgency struct {
	Code       string
	Name       string
	Kind       AgencyKind
	RequireMFA bool
}

var agencyCode = regexp.MustCompile(`^[A-Z0-9][A-Z0-9-]{1,15}$`)

func (in NewAgency) validate() error {
	var v validate.Errors
	v.Check(agencyCode.MatchString(in.Code), "code", "must be 2 to 16 of A-Z, 0-9 and '-', like NCSC or KRIPOS")
	v.Line("name", in.Name, 1, 200)
	v.Check(in.Kind.Valid(), "kind", "must be one of police, security_authority, cert, victim, it_provider, ministry, other")
	return v.Err()
}

// CreateAgency adds an agency; its code must be unique.
func (d *Directory) CreateAgency(ctx context.Context, in NewAgency) (Agency, error) {
	in.Code = strings.ToUpper(strings.TrimSpace(in.Code))
	in.Name = strings.TrimSpace(in.Name)
	if err := in.validate(); err != nil {
		return Agency{}, err
	}
	now := d.now()
	row := agencyRow{ID: newID(), Code: in.Code, Name: in.Name, Kind: string(in.Kind), RequireMFA: in.RequireMFA,
		CreatedAt: now, UpdatedAt: now}
	err := d.inTx(ctx, d.db, "agencies.post", "agencies", row.ID, "", func(tx *gorm.DB) error { return tx.Create(&row).Error })
	if err != nil {
		return Agency{}, translate(err, "agency code "+in.Code+" is taken")
	}
	return row.agency(), nil
}

// AgencyPatch changes some fields of an agency; nil fields stay.
type AgencyPatch struct {
	Name       *string
	Kind       *AgencyKind
	RequireMFA *bool
}

// UpdateAgency applies a patch.
func (d *Directory) UpdateAgency(ctx context.Context, id string, p AgencyPatch) (Agency, error) {
	var v validate.Errors
	updates := map[string]any{"updated_at": d.now()}
	if p.Name != nil {
		name := strings.TrimSpace(*p.Name)
		v.Line("name", name, 1, 200)
		updates["name"] = name
	}
	if p.Kind != nil {
		v.Check(p.Kind.Valid(), "kind", "must be one of police, security_authority, cert, victim, it_provider, ministry, other")
		updates["kind"] = string(*p.Kind)
	}
	if p.RequireMFA != nil {
		updates["require_mfa"] = *p.RequireMFA
	}
	if err := v.Err(); err != nil {
		return Agency{}, err
	}
	if err := d.update(ctx, "agencies.patch", &agencyRow{}, id, updates); err != nil {
		return Agency{}, err
	}
	return d.Agency(ctx, id)
}

// Agency returns one agency.
func (d *Directory) Agency(ctx context.Context, id string) (Agency, error) {
	var row agencyRow
	if err := d.db.WithContext(ctx).Where("id = ?", id).Take(&row).Error; err != nil {
		return Agency{}, translate(err, "")
	}
	return row.agency(), nil
}

// AgencyByCode returns the agency with a short code.
func (d *Directory) AgencyByCode(ctx context.Context, code string) (Agency, error) {
	var row agencyRow
	if err := d.db.WithContext(ctx).Where("code = ?", strings.ToUpper(code)).Take(&row).Error; err != nil {
		return Agency{}, translate(err, "")
	}
	return row.agency(), nil
}

// Agencies lists every agency by code.
func (d *Directory) Agencies(ctx context.Context) ([]Agency, error) {
	var rows []agencyRow
	if err := d.db.WithContext(ctx).Order("code").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("access: list agencies: %w", err)
	}
	out := make([]Agency, len(rows))
	for i, r := range rows {
		out[i] = r.agency()
	}
	return out, nil
}

// NewUser is the input to CreateUser.
type NewUser struct {
	AgencyID   string
	Email      string
	Name       string
	Title      string
	SystemRole SystemRole
	// Password, when set, must pass ValidateNewPassword. When empty the user
	// cannot sign in with a password until one is set (or signs in by SSO).
	Password           string
	MustChangePassword bool
}

func normalizeEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

func checkEmail(v *validate.Errors, email string) {
	addr, err := mail.ParseAddress(email)
	v.Check(err == nil && addr.Address == email && len(email) <= 254, "email", "must be a plain address like name@agency.example")
}

// CreateUser adds a user to an agency.
func (d *Directory) CreateUser(ctx context.Context, in NewUser) (User, error) {
	in.Email = normalizeEmail(in.Email)
	in.Name, in.Title = strings.TrimSpace(in.Name), strings.TrimSpace(in.Title)
	if in.SystemRole == "" {
		in.SystemRole = RoleMember
	}
	var v validate.Errors
	checkEmail(&v, in.Email)
	v.Line("name", in.Name, 1, 200)
	v.Line("title", in.Title, 0, 200)
	v.Check(in.SystemRole.Valid(), "system_role", "must be member, agency_admin, auditor or admin")
	if err := v.Err(); err != nil {
		return User{}, err
	}
	agency, err := d.Agency(ctx, in.AgencyID)
	if errors.Is(err, ErrNotFound) {
		return User{}, validate.Field("agency_id", "no such agency")
	}
	if err != nil {
		return User{}, err
	}
	hash := ""
	if in.Password != "" {
		if err := ValidateNewPasswordOf(in.Password, PasswordOwner{Email: in.Email, AgencyName: agency.Name}); err != nil {
			return User{}, validate.Field("password", err.Error())
		}
		if hash, err = HashPassword(in.Password); err != nil {
			return User{}, err
		}
	}
	now := d.now()
	row := userRow{ID: newID(), AgencyID: in.AgencyID, Email: in.Email, Name: in.Name, Title: in.Title,
		Status: string(UserActive), SystemRole: string(in.SystemRole), PasswordHash: hash,
		MustChangePassword: in.MustChangePassword, CreatedAt: now, UpdatedAt: now}
	err = d.inTx(ctx, d.db, "users.post", "users", row.ID, "", func(tx *gorm.DB) error { return tx.Create(&row).Error })
	if err != nil {
		return User{}, translate(err, "a user with this email exists")
	}
	return row.user(), nil
}

// UserPatch changes some fields of a user; nil fields stay.
type UserPatch struct {
	Name       *string
	Title      *string
	Status     *UserStatus
	SystemRole *SystemRole
}

// ErrNamedOnCases refuses to make an admin or auditor of someone named on
// cases: those roles hold no case content (separation of duties).
var ErrNamedOnCases = &ConflictError{Reason: "the user is named on cases, and admins and auditors are given no role " +
	"on cases: take them off their cases first"}

// UpdateUser applies a patch made by actor. Who may set a role or re-enable
// a user is the caller's to check with Authorize before. Disabling a user
// ends every session and API token they have, so that re-enabling them
// revives none of it; who disabled them, and in what role, is kept.
func (d *Directory) UpdateUser(ctx context.Context, actor Principal, id string, p UserPatch) (User, error) {
	var v validate.Errors
	now := d.now()
	updates := map[string]any{"updated_at": now}
	if p.Name != nil {
		name := strings.TrimSpace(*p.Name)
		v.Line("name", name, 1, 200)
		updates["name"] = name
	}
	if p.Title != nil {
		title := strings.TrimSpace(*p.Title)
		v.Line("title", title, 0, 200)
		updates["title"] = title
	}
	if p.Status != nil {
		v.Check(*p.Status == UserActive || *p.Status == UserDisabled, "status", "must be active or disabled")
	}
	if p.SystemRole != nil {
		v.Check(p.SystemRole.Valid(), "system_role", "must be member, agency_admin, auditor or admin")
		updates["system_role"] = string(*p.SystemRole)
	}
	if err := v.Err(); err != nil {
		return User{}, err
	}
	err := d.inTx(ctx, d.db, "users.patch", "users", id, "", func(tx *gorm.DB) error {
		var cur userRow
		if err := tx.Where("id = ?", id).Take(&cur).Error; err != nil {
			return translate(err, "")
		}
		if p.SystemRole != nil && p.SystemRole.holdsNoCaseRoles() {
			var named int64
			if err := tx.Model(&caseUserMemberRow{}).Where("user_id = ?", id).Count(&named).Error; err != nil {
				return err
			}
			if named > 0 {
				return ErrNamedOnCases
			}
		}
		switch {
		case p.Status == nil || *p.Status == UserStatus(cur.Status):
			// Disabling a disabled user again changes nobody's record of it.
		case *p.Status == UserDisabled:
			updates["status"], updates["disabled_at"] = string(UserDisabled), now
			updates["disabled_by"], updates["disabled_by_role"] = actor.UserID, string(actor.SystemRole)
			if err := endCredentials(tx, id, "user disabled", now); err != nil {
				return err
			}
		default:
			updates["status"], updates["disabled_at"] = string(UserActive), nil
			updates["disabled_by"], updates["disabled_by_role"] = "", ""
		}
		return tx.Model(&userRow{}).Where("id = ?", id).Updates(updates).Error
	})
	if err != nil {
		return User{}, translate(err, "")
	}
	return d.User(ctx, id)
}

// endCredentials revokes every session of a user (their refresh tokens die
// with it, their access tokens at their next use) and every API token, in
// the transaction tx that takes their access away.
func endCredentials(tx *gorm.DB, userID, reason string, now time.Time) error {
	if err := endSessions(tx, userID, reason, now); err != nil {
		return err
	}
	return tx.Model(&apiTokenRow{}).Where("user_id = ? AND revoked_at IS NULL", userID).Update("revoked_at", now).Error
}

// endSessions revokes every session of a user still open.
func endSessions(tx *gorm.DB, userID, reason string, now time.Time) error {
	return tx.Model(&sessionRow{}).Where("user_id = ? AND revoked_at IS NULL", userID).
		Updates(map[string]any{"revoked_at": now, "revoke_reason": reason}).Error
}

// SetPassword replaces a user's password and ends every session they have
// open: whoever knew the old password is signed out with it. mustChange
// marks a one-time password that has to be replaced at the next sign-in.
func (d *Directory) SetPassword(ctx context.Context, userID, password string, mustChange bool) error {
	var owner struct{ Email, AgencyName string }
	err := d.db.WithContext(ctx).Table("users u").Select("u.email, a.name AS agency_name").
		Joins("JOIN agencies a ON a.id = u.agency_id").Where("u.id = ?", userID).Take(&owner).Error
	if err != nil {
		return translate(err, "")
	}
	if err := ValidateNewPasswordOf(password, PasswordOwner(owner)); err != nil {
		return validate.Field("password", err.Error())
	}
	hash, err := HashPassword(password)
	if err != nil {
		return err
	}
	now := d.now()
	return d.inTx(ctx, d.db, "users.password", "users", userID, "", func(tx *gorm.DB) error {
		res := tx.Model(&userRow{}).Where("id = ?", userID).Updates(map[string]any{
			"password_hash": hash, "must_change_password": mustChange, "updated_at": now})
		if res.Error != nil {
			return fmt.Errorf("access: set password: %w", res.Error)
		}
		if res.RowsAffected == 0 {
			return ErrNotFound
		}
		return endSessions(tx, userID, "password changed", now)
	})
}

// update changes columns of an agency or a user (model), recorded as
// action, or answers ErrNotFound.
func (d *Directory) update(ctx context.Context, action string, model any, id string, updates map[string]any) error {
	resourceType := "users"
	if _, ok := model.(*agencyRow); ok {
		resourceType = "agencies"
	}
	return d.inTx(ctx, d.db, action, resourceType, id, "", func(tx *gorm.DB) error {
		res := tx.Model(model).Where("id = ?", id).Updates(updates)
		if res.Error != nil {
			return fmt.Errorf("access: update: %w", res.Error)
		}
		if res.RowsAffected == 0 {
			return ErrNotFound
		}
		return nil
	})
}

// User returns one user.
func (d *Directory) User(ctx context.Context, id string) (User, error) {
	var row userRow
	if err := d.db.WithContext(ctx).Where("id = ?", id).Take(&row).Error; err != nil {
		return User{}, translate(err, "")
	}
	return row.user(), nil
}

// UserByEmail returns the user with an email address.
func (d *Directory) UserByEmail(ctx context.Context, email string) (User, error) {
	var row userRow
	if err := d.db.WithContext(ctx).Where("email = ?", normalizeEmail(email)).Take(&row).Error; err != nil {
		return User{}, translate(err, "")
	}
	return row.user(), nil
}

// Users lists users, of one agency when agencyID is set, by email.
func (d *Directory) Users(ctx context.Context, agencyID string) ([]User, error) {
	q := d.db.WithContext(ctx).Order("email")
	if agencyID != "" {
		q = q.Where("agency_id = ?", agencyID)
	}
	var rows []userRow
	if err := q.Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("access: list users: %w", err)
	}
	out := make([]User, len(rows))
	for i, r := range rows {
		out[i] = r.user()
	}
	return out, nil
}

// translate maps GORM's translated errors onto this package's.
func translate(err error, conflict string) error {
	switch {
	case errors.Is(err, gorm.ErrRecordNotFound):
		return ErrNotFound
	case errors.Is(err, gorm.ErrDuplicatedKey):
		return &ConflictError{Reason: conflict}
	case errors.Is(err, gorm.ErrForeignKeyViolated):
		return &ConflictError{Reason: "a referenced object does not exist"}
	}
	return fmt.Errorf("access: %w", err)
}
