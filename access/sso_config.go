package access

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/bevis-ir/bevis/internal/validate"
)

// Defaults of an agency's single sign-on settings: the standard OpenID
// Connect scopes and claim names.
var (
	DefaultSSOScopes = []string{"openid", "email", "profile"}
)

const (
	DefaultSSOEmailClaim  = "email"
	DefaultSSONameClaim   = "name"
	DefaultSSOGroupsClaim = "groups"

	maxSSOGroupRoles = 200
	maxSSOScopes     = 20
)

// SSOSettings is an agency's single sign-on configuration as an admin
// sets it. Empty claim names and scopes take the defaults.
type SSOSettings struct {
	Enabled  bool
	Issuer   string
	ClientID string
	// ClientSecret, when empty, keeps the stored one.
	ClientSecret   string
	Scopes         []string
	EmailClaim     string
	NameClaim      string
	GroupsClaim    string
	ProvisionUsers bool
	// GroupRoles gives people provisioned on first sign-in the system role
	// of their provider groups; never admin.
	GroupRoles map[string]SystemRole
}

// SSOConfig is an agency's stored single sign-on configuration. It never
// carries the client secret, only whether one is stored, so that it can be
// shown and logged.
type SSOConfig struct {
	AgencyID        string
	Configured      bool // false: nothing stored yet; the rest are defaults
	Enabled         bool
	Issuer          string
	ClientID        string
	ClientSecretSet bool
	Scopes          []string
	EmailClaim      string
	NameClaim       string
	GroupsClaim     string
	ProvisionUsers  bool
	GroupRoles      map[string]SystemRole
	UpdatedAt       time.Time
}

type ssoConfigRow struct {
	AgencyID       string `gorm:"primaryKey"`
	Enabled        bool
	Issuer         string
	ClientID       string
	ClientSecret   string
	Scopes         string // space-separated, as OAuth sends them
	EmailClaim     string
	NameClaim      string
	GroupsClaim    string
	ProvisionUsers bool
	UpdatedAt      time.Time
}

func (ssoConfigRow) TableName() string { return "agency_sso" }

type ssoGroupRoleRow struct {
	AgencyID   string `gorm:"primaryKey"`
	GroupName  string `gorm:"primaryKey"`
	SystemRole string
}

func (ssoGroupRoleRow) TableName() string { return "agency_sso_group_roles" }

func (r ssoConfigRow) config(roles []ssoGroupRoleRow) SSOConfig {
	c := SSOConfig{AgencyID: r.AgencyID, Configured: true, Enabled: r.Enabled, Issuer: r.Issuer,
		ClientID: r.ClientID, ClientSecretSet: r.ClientSecret != "", Scopes: strings.Fields(r.Scopes),
		EmailClaim: r.EmailClaim, NameClaim: r.NameClaim, GroupsClaim: r.GroupsClaim,
		ProvisionUsers: r.ProvisionUsers, GroupRoles: map[string]SystemRole{}, UpdatedAt: r.UpdatedAt}
	for _, g := range roles {
		c.GroupRoles[g.GroupName] = SystemRole(g.SystemRole)
	}
	return c
}

var (
	// RFC 6749 §3.3 scope-token.
	scopeToken = regexp.MustCompile(`^[\x21\x23-\x5B\x5D-\x7E]{1,100}$`)
	claimName  = regexp.MustCompile(`^[A-Za-z0-9_:./-]{1,100}$`)
)

// normalize fills the defaults and checks every field; the secret is
// required only when none is stored yet (haveSecret).
func (in *SSOSettings) normalize(haveSecret bool) error {
	in.Issuer = strings.TrimSpace(in.Issuer)
	in.ClientID = strings.TrimSpace(in.ClientID)
	if len(in.Scopes) == 0 {
		in.Scopes = slices.Clone(DefaultSSOScopes)
	}
	for _, f := range []struct {
		v   *string
		def string
	}{{&in.EmailClaim, DefaultSSOEmailClaim}, {&in.NameClaim, DefaultSSONameClaim}, {&in.GroupsClaim, DefaultSSOGroupsClaim}} {
		if *f.v = strings.TrimSpace(*f.v); *f.v == "" {
			*f.v = f.def
		}
	}
	var v validate.Errors
	if msg := checkIssuer(in.Issuer); msg != "" {
		v.Add("issuer", msg)
	}
	v.Line("client_id", in.ClientID, 1, 255)
	v.Check(len(in.ClientSecret) <= 1024 && !strings.ContainsAny(in.ClientSecret, "\x00\r\n"),
		"client_secret", "must be at most 1024 characters on one line")
	v.Check(in.ClientSecret != "" || haveSecret, "client_secret", "is required: none is stored yet")
	scopesOK := len(in.Scopes) <= maxSSOScopes && slices.Contains(in.Scopes, "openid")
	for _, s := range in.Scopes {
		scopesOK = scopesOK && scopeToken.MatchString(s)
	}
	v.Check(scopesOK, "scopes", fmt.Sprintf("must include openid; at most %d scope names without spaces or quotes", maxSSOScopes))
	for field, name := range map[string]string{"email_claim": in.EmailClaim, "name_claim": in.NameClaim, "groups_claim": in.GroupsClaim} {
		v.Check(claimName.MatchString(name), field, "must be a claim name of 1 to 100 of A-Z, a-z, 0-9 and _:./-")
	}
	v.Check(len(in.GroupRoles) <= maxSSOGroupRoles, "group_roles", fmt.Sprintf("must map at most %d groups", maxSSOGroupRoles))
	for group, role := range in.GroupRoles {
		v.Line("group_roles", group, 1, 256)
		// Admin is never granted by a provider: whoever controls the
		// agency's directory would control Bevis.
		v.Check(role == RoleMember || role == RoleAgencyAdmin || role == RoleAuditor,
			"group_roles", fmt.Sprintf("group %q: the role must be member, agency_admin or auditor", truncateRunes(group, 64)))
	}
	return v.Err()
}

// checkIssuer wants an https URL; plain http only on the loopback
// interface, where a test or a local provider runs.
func checkIssuer(issuer string) string {
	const msg = "must be an https URL like https://login.agency.example/realms/staff (http only on loopback), at most 500 characters"
	u, err := url.Parse(issuer)
	if err != nil || len(issuer) > 500 || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return msg
	}
	switch u.Scheme {
	case "https":
		return ""
	case "http":
		if isLoopback(u.Hostname()) {
			return ""
		}
	}
	return msg
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// SSOConfig returns an agency's single sign-on configuration: the defaults,
// not configured, when none is stored. ErrNotFound when there is no such
// agency.
func (s *SSO) Config(ctx context.Context, agencyID string) (SSOConfig, error) {
	if _, err := NewDirectory(s.db).Agency(ctx, agencyID); err != nil {
		return SSOConfig{}, err
	}
	row, roles, err := loadSSOConfig(s.db.WithContext(ctx), agencyID)
	if errors.Is(err, ErrNotFound) {
		return SSOConfig{AgencyID: agencyID, Scopes: slices.Clone(DefaultSSOScopes), EmailClaim: DefaultSSOEmailClaim,
			NameClaim: DefaultSSONameClaim, GroupsClaim: DefaultSSOGroupsClaim, GroupRoles: map[string]SystemRole{}}, nil
	}
	if err != nil {
		return SSOConfig{}, err
	}
	return row.config(roles), nil
}

// SetConfig replaces an agency's single sign-on configuration. Who may is
// the caller's to check with Authorize(ActionAgencySSOWrite) before.
func (s *SSO) SetConfig(ctx context.Context, agencyID string, in SSOSettings) (SSOConfig, error) {
	if _, err := NewDirectory(s.db).Agency(ctx, agencyID); err != nil {
		return SSOConfig{}, err
	}
	err := s.inTx(ctx, s.db, "agencies.sso.put", "agencies", agencyID, "", func(tx *gorm.DB) error {
		old, _, err := loadSSOConfig(tx, agencyID)
		exists := err == nil
		if err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
		if err := in.normalize(exists && old.ClientSecret != ""); err != nil {
			return err
		}
		row := ssoConfigRow{AgencyID: agencyID, Enabled: in.Enabled, Issuer: in.Issuer, ClientID: in.ClientID,
			ClientSecret: in.ClientSecret, Scopes: strings.Join(in.Scopes, " "), EmailClaim: in.EmailClaim,
			NameClaim: in.NameClaim, GroupsClaim: in.GroupsClaim, ProvisionUsers: in.ProvisionUsers, UpdatedAt: s.now()}
		if row.ClientSecret == "" {
			row.ClientSecret = old.ClientSecret
		}
		if exists {
			err = tx.Model(&ssoConfigRow{}).Where("agency_id = ?", agencyID).Select("*").Updates(&row).Error
		} else {
			err = tx.Create(&row).Error
		}
		if err != nil {
			return err
		}
		if err := tx.Where("agency_id = ?", agencyID).Delete(&ssoGroupRoleRow{}).Error; err != nil {
			return err
		}
		if len(in.GroupRoles) == 0 {
			return nil
		}
		roles := make([]ssoGroupRoleRow, 0, len(in.GroupRoles))
		for group, role := range in.GroupRoles {
			roles = append(roles, ssoGroupRoleRow{AgencyID: agencyID, GroupName: group, SystemRole: string(role)})
		}
		return tx.Create(&roles).Error
	})
	if err != nil {
		var invalid *validate.Error
		if errors.As(err, &invalid) {
			return SSOConfig{}, err
		}
		return SSOConfig{}, fmt.Errorf("access: set single sign-on: %w", err)
	}
	return s.Config(ctx, agencyID)
}

// SSOAgency is an agency people may sign in to by single sign-on, as the
// sign-in page names it to anyone.
type SSOAgency struct {
	Code string
	Name string
}

// SignInAgencies lists the agencies whose single sign-on is on, by name.
// It is public: it says only what the sign-in page shows.
func (s *SSO) SignInAgencies(ctx context.Context) ([]SSOAgency, error) {
	var out []SSOAgency
	err := s.db.WithContext(ctx).Model(&agencyRow{}).Select("agencies.code", "agencies.name").
		Joins("JOIN agency_sso ON agency_sso.agency_id = agencies.id").Where("agency_sso.enabled = ?", true).
		Order("agencies.name, agencies.code").Scan(&out).Error
	if err != nil {
		return nil, fmt.Errorf("access: agencies with single sign-on: %w", err)
	}
	return out, nil
}

// loadSSOConfig reads the stored row and its group roles, or ErrNotFound.
func loadSSOConfig(db *gorm.DB, agencyID string) (ssoConfigRow, []ssoGroupRoleRow, error) {
	var row ssoConfigRow
	if err := db.Where("agency_id = ?", agencyID).Take(&row).Error; err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return ssoConfigRow{}, nil, ErrNotFound
		}
		return ssoConfigRow{}, nil, fmt.Errorf("access: single sign-on settings: %w", err)
	}
	var roles []ssoGroupRoleRow
	if err := db.Where("agency_id = ?", agencyID).Order("group_name").Find(&roles).Error; err != nil {
		return ssoConfigRow{}, nil, fmt.Errorf("access: single sign-on group roles: %w", err)
	}
	return row, roles, nil
}

// roleForGroups is the system role a person provisioned on first sign-in
// gets from their groups: the first of agency_admin, auditor and member
// that one of the groups maps to, and member when none does.
func roleForGroups(groups []string, mapped map[string]SystemRole) SystemRole {
	have := map[SystemRole]bool{}
	for _, g := range groups {
		if r, ok := mapped[g]; ok {
			have[r] = true
		}
	}
	for _, r := range []SystemRole{RoleAgencyAdmin, RoleAuditor} {
		if have[r] {
			return r
		}
	}
	return RoleMember
}
