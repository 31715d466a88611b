package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"gorm.io/gorm"

	"github.com/bevis-ir/bevis/access"
	"github.com/bevis-ir/bevis/internal/db"
)

// admin runs `bevis admin <action> [options]` against the configured
// database, for set-up by script. These commands act with the authority of
// whoever can reach the database, as a migration does.
func admin(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	actions := map[string]func(context.Context, *gorm.DB, adminFlags, io.Writer) error{
		"bootstrap": adminBootstrap, "create-agency": adminCreateAgency, "create-user": adminCreateUser,
		"reset-password": adminResetPassword, "disable-user": adminDisableUser,
	}
	if len(args) == 0 || actions[args[0]] == nil {
		return &usageError{"usage: bevis admin bootstrap|create-agency|create-user|reset-password|disable-user [options]"}
	}
	var f adminFlags
	cfg, ok, err := loadConfig("admin "+args[0], args[1:], getenv, stdout, f.define)
	if !ok {
		return err
	}
	log := newLogger(cfg, stderr)
	gdb, err := openMigrated(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer db.Close(gdb)
	return actions[args[0]](ctx, gdb, f, stdout)
}

type adminFlags struct {
	email, name, title, role, agencyCode, agencyName, agencyKind, passwordFile string
}

func (f *adminFlags) define(fs *flag.FlagSet) {
	fs.StringVar(&f.email, "email", "", "the user's email address")
	fs.StringVar(&f.name, "name", "", "the user's full name")
	fs.StringVar(&f.title, "title", "", "the user's title")
	fs.StringVar(&f.role, "role", "member", "system role: member, agency_admin, auditor or admin")
	fs.StringVar(&f.agencyCode, "agency-code", "", "the agency's short code, e.g. NCSC")
	fs.StringVar(&f.agencyName, "agency-name", "", "the agency's name")
	fs.StringVar(&f.agencyKind, "agency-kind", "other", "police, security_authority, cert, victim, it_provider, ministry or other")
	fs.StringVar(&f.passwordFile, "password-file", "", "file holding the password (without it a one-time password is printed once)")
}

// password reads --password-file, or returns "" to have one made.
func (f adminFlags) password() (string, error) {
	if f.passwordFile == "" {
		return "", nil
	}
	b, err := os.ReadFile(f.passwordFile)
	if err != nil {
		return "", fmt.Errorf("--password-file: %w", err)
	}
	return strings.TrimRight(string(b), "\r\n"), nil
}

// passwordOrOneTime reads --password-file or, without one, makes a
// one-time password, returned as oneTime too so it can be shown once.
func (f adminFlags) passwordOrOneTime() (password, oneTime string, err error) {
	if password, err = f.password(); err != nil || password != "" {
		return password, "", err
	}
	oneTime = access.NewOneTimePassword()
	return oneTime, oneTime, nil
}

// required checks flag values given as name, value, name, value, ...
func required(pairs ...string) error {
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i+1] == "" {
			return &usageError{"--" + pairs[i] + " is required"}
		}
	}
	return nil
}

func adminBootstrap(ctx context.Context, gdb *gorm.DB, f adminFlags, out io.Writer) error {
	if err := required("email", f.email, "name", f.name, "agency-code", f.agencyCode, "agency-name", f.agencyName); err != nil {
		return err
	}
	pw, err := f.password()
	if err != nil {
		return err
	}
	u, oneTime, err := access.RunBootstrap(ctx, gdb, access.Bootstrap{Email: f.email, Name: f.name,
		AgencyCode: f.agencyCode, AgencyName: f.agencyName, AgencyKind: access.AgencyKind(f.agencyKind), Password: pw})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "created admin %s (%s) in agency %s\n", u.Email, u.ID, strings.ToUpper(f.agencyCode))
	printOneTime(out, oneTime)
	return nil
}

func printOneTime(out io.Writer, oneTime string) {
	if oneTime != "" {
		fmt.Fprintf(out, "one-time password (shown once; it must be changed at the first sign-in): %s\n", oneTime)
	}
}

func adminCreateAgency(ctx context.Context, gdb *gorm.DB, f adminFlags, out io.Writer) error {
	if err := required("agency-code", f.agencyCode, "agency-name", f.agencyName); err != nil {
		return err
	}
	a, err := access.NewDirectory(gdb).CreateAgency(ctx, access.NewAgency{Code: f.agencyCode, Name: f.agencyName,
		Kind: access.AgencyKind(f.agencyKind)})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "created agency %s (%s)\n", a.Code, a.ID)
	return nil
}

func adminCreateUser(ctx context.Context, gdb *gorm.DB, f adminFlags, out io.Writer) error {
	if err := required("email", f.email, "name", f.name, "agency-code", f.agencyCode); err != nil {
		return err
	}
	d := access.NewDirectory(gdb)
	agency, err := d.AgencyByCode(ctx, f.agencyCode)
	if err != nil {
		return fmt.Errorf("agency %s: %w", f.agencyCode, err)
	}
	pw, oneTime, err := f.passwordOrOneTime()
	if err != nil {
		return err
	}
	u, err := d.CreateUser(ctx, access.NewUser{AgencyID: agency.ID, Email: f.email, Name: f.name, Title: f.title,
		SystemRole: access.SystemRole(f.role), Password: pw, MustChangePassword: oneTime != ""})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "created user %s (%s) in agency %s\n", u.Email, u.ID, agency.Code)
	printOneTime(out, oneTime)
	return nil
}

// userOf finds the user named by --email.
func userOf(ctx context.Context, gdb *gorm.DB, f adminFlags) (*access.Directory, access.User, error) {
	if err := required("email", f.email); err != nil {
		return nil, access.User{}, err
	}
	d := access.NewDirectory(gdb)
	u, err := d.UserByEmail(ctx, f.email)
	if err != nil {
		return nil, access.User{}, fmt.Errorf("user %s: %w", f.email, err)
	}
	return d, u, nil
}

func adminResetPassword(ctx context.Context, gdb *gorm.DB, f adminFlags, out io.Writer) error {
	d, u, err := userOf(ctx, gdb, f)
	if err != nil {
		return err
	}
	pw, oneTime, err := f.passwordOrOneTime()
	if err != nil {
		return err
	}
	if err := d.SetPassword(ctx, u.ID, pw, oneTime != ""); err != nil {
		return err
	}
	fmt.Fprintf(out, "password of %s reset; their sessions are ended\n", u.Email)
	printOneTime(out, oneTime)
	return nil
}

func adminDisableUser(ctx context.Context, gdb *gorm.DB, f adminFlags, out io.Writer) error {
	d, u, err := userOf(ctx, gdb, f)
	if err != nil {
		return err
	}
	disabled := access.UserDisabled
	// The operator at the command line acts with an admin's authority: only
	// an admin may re-enable the user.
	operator := access.Principal{SystemRole: access.RoleAdmin}
	if _, err := d.UpdateUser(ctx, operator, u.ID, access.UserPatch{Status: &disabled}); err != nil {
		return err
	}
	fmt.Fprintf(out, "disabled %s; their sessions and API tokens are ended, and only an admin can re-enable them\n", u.Email)
	return nil
}
