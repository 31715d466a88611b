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
}

func (userRow) TableName() string { return "users" }

func (r userRow) user() User {
	return User{ID: r.ID, AgencyID: r.AgencyID, Email: r.Email, Name: r.Name, Title: r.Title,
		Status: UserStatus(r.Status), SystemRole: SystemRole(r.SystemRole), MustChangePassword: r.MustChangePassword,
		TimeZone: r.TimeZone, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
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
	if in.Password != "" {
		if err := ValidateNewPassword(in.Password); err != nil {
			v.Add("password", err.Error())
		}
	}
	if err := v.Err(); err != nil {
		return User{}, err
	}
	if _, err := d.Agency(ctx, in.AgencyID); err != nil {
		if errors.Is(err, ErrNotFound) {
			return User{}, validate.Field("agency_id", "no such agency")
		}
		return User{}, err
	}
	hash := ""
	if in.Password != "" {
		var err error
		if hash, err = HashPassword(in.Password); err != nil {
			return User{}, err
		}
	}
	now := d.now()
	row := userRow{ID: newID(), AgencyID: in.AgencyID, Email: in.Email, Name: in.Name, Title: in.Title,
		Status: string(UserActive), SystemRole: string(in.SystemRole), PasswordHash: hash,
		MustChangePassword: in.MustChangePassword, CreatedAt: now, UpdatedAt: now}
	err := d.inTx(ctx, d.db, "users.post", "users", row.ID, "", func(tx *gorm.DB) error { return tx.Create(&row).Error })
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

// UpdateUser applies a patch. Who may set a role is the caller's to check
// with Authorize(ActionUserGrantRole) before.
func (d *Directory) UpdateUser(ctx context.Context, id string, p UserPatch) (User, error) {
	var v validate.Errors
	updates := map[string]any{"updated_at": d.now()}
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
		updates["status"] = string(*p.Status)
	}
	if p.SystemRole != nil {
		v.Check(p.SystemRole.Valid(), "system_role", "must be member, agency_admin, auditor or admin")
		updates["system_role"] = string(*p.SystemRole)
	}
	if err := v.Err(); err != nil {
		return User{}, err
	}
	if err := d.update(ctx, "users.patch", &userRow{}, id, updates); err != nil {
		return User{}, err
	}
	return d.User(ctx, id)
}

// SetPassword replaces a user's password. mustChange marks a one-time
// password that has to be replaced at the next sign-in.
func (d *Directory) SetPassword(ctx context.Context, userID, password string, mustChange bool) error {
	if err := ValidateNewPassword(password); err != nil {
		return validate.Field("password", err.Error())
	}
	hash, err := HashPassword(password)
	if err != nil {
		return err
	}
	return d.update(ctx, "users.password", &userRow{}, userID, map[string]any{
		"password_hash": hash, "must_change_password": mustChange, "updated_at": d.now(),
	})
}

// update changes columns of the row with id, recorded as action, or
// answers ErrNotFound.
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
