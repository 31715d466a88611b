package access

import (
	"context"
	"crypto/rand"
	"errors"

	"gorm.io/gorm"
)

// Bootstrap is the input to Bootstrap: the first agency and its admin.
type Bootstrap struct {
	Email      string
	Name       string
	AgencyCode string
	AgencyName string
	AgencyKind AgencyKind
	// Password, when empty, is replaced by a one-time password that is
	// returned once and must be changed at the first sign-in.
	Password string
}

// ErrAlreadyBootstrapped refuses a second bootstrap: Bevis has an admin.
var ErrAlreadyBootstrapped = &ConflictError{Reason: "an admin exists already"}

// RunBootstrap creates the first agency and admin on an empty database.
// There are never default credentials: without a password it returns a
// generated one-time password, which the caller shows once.
func RunBootstrap(ctx context.Context, db *gorm.DB, in Bootstrap) (User, string, error) {
	oneTime := ""
	if in.Password == "" {
		oneTime = NewOneTimePassword()
		in.Password = oneTime
	}
	if in.AgencyKind == "" {
		in.AgencyKind = "other"
	}
	var u User
	err := db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var admins int64
		if err := tx.Model(&userRow{}).Where("system_role = ?", RoleAdmin).Count(&admins).Error; err != nil {
			return err
		}
		if admins > 0 {
			return ErrAlreadyBootstrapped
		}
		d := NewDirectory(tx)
		agency, err := d.AgencyByCode(ctx, in.AgencyCode)
		if errors.Is(err, ErrNotFound) {
			agency, err = d.CreateAgency(ctx, NewAgency{Code: in.AgencyCode, Name: in.AgencyName, Kind: in.AgencyKind})
		}
		if err != nil {
			return err
		}
		u, err = d.CreateUser(ctx, NewUser{AgencyID: agency.ID, Email: in.Email, Name: in.Name,
			SystemRole: RoleAdmin, Password: in.Password, MustChangePassword: oneTime != ""})
		return err
	})
	if err != nil {
		return User{}, "", err
	}
	return u, oneTime, nil
}

// NewOneTimePassword makes a password for a first sign-in or a reset, to be
// shown once and replaced at that sign-in: 26 characters, 130 bits.
func NewOneTimePassword() string { return rand.Text() }
