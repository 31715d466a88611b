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

	mustChange bool // the password is a one-time one, to be replaced at the first sign-in
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
	in.mustChange = oneTime != ""
	var u User
	err := db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var err error
		u, err = bootstrapIn(ctx, tx, in, nil)
		return err
	})
	if err != nil {
		return User{}, "", err
	}
	return u, oneTime, nil
}

// bootstrapIn creates the first agency (or takes the one of that code) and
// its admin in the transaction tx, refusing when an admin exists; record,
// when not nil, puts each creation on the audit log.
func bootstrapIn(ctx context.Context, tx *gorm.DB, in Bootstrap, record ChangeRecorder) (User, error) {
	needed, err := noAdmin(tx)
	if err != nil {
		return User{}, err
	}
	if !needed {
		return User{}, ErrAlreadyBootstrapped
	}
	if in.AgencyKind == "" {
		in.AgencyKind = "other"
	}
	d := NewDirectory(tx)
	d.RecordChangesWith(record)
	agency, err := d.AgencyByCode(ctx, in.AgencyCode)
	if errors.Is(err, ErrNotFound) {
		agency, err = d.CreateAgency(ctx, NewAgency{Code: in.AgencyCode, Name: in.AgencyName, Kind: in.AgencyKind})
	}
	if err != nil {
		return User{}, err
	}
	return d.CreateUser(ctx, NewUser{AgencyID: agency.ID, Email: in.Email, Name: in.Name,
		SystemRole: RoleAdmin, Password: in.Password, MustChangePassword: in.mustChange})
}

// NewOneTimePassword makes a password for a first sign-in or a reset, to be
// shown once and replaced at that sign-in: 26 characters, 130 bits.
func NewOneTimePassword() string { return rand.Text() }
