package access

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
	"golang.org/x/sync/singleflight"
	"gorm.io/gorm"

	"github.com/bevis-ir/bevis/internal/validate"
)

// Single sign-on with an agency's own OpenID Connect provider, by the
// authorization code flow with PKCE. What a sign-in under way needs (state,
// nonce, code verifier) is kept in the database, not in the node, so that
// the callback may reach another Bevis node than the start did.
const (
	// SSOLoginTTL bounds the time between the start of a sign-in and the
	// provider sending the person back.
	SSOLoginTTL = 10 * time.Minute
	// providerTTL is how long a provider's discovery document is reused
	// before it is fetched again.
	providerTTL = time.Hour
	// discoveryRetry is how long a failed discovery is remembered: the
	// sign-ins meanwhile are refused at once instead of each asking (and
	// waiting on) a provider that is down.
	discoveryRetry   = 30 * time.Second
	ssoRandomBytes   = 32
	ssoRequestLimit  = 15 * time.Second
	maxProviderError = 64
)

// Reasons a single sign-on fails, as SSOError.Code. They are shown to the
// person, so they say no more than what to do next; the log has the cause.
const (
	SSOUnavailable     = "unavailable"      // no such agency, or its single sign-on is off
	SSOInvalidState    = "invalid_state"    // unknown, spent, expired or another browser's sign-in
	SSOProviderError   = "provider_error"   // the provider refused, or could not be reached
	SSOTokenInvalid    = "token_invalid"    // the ID token failed verification or lacks claims
	SSOEmailUnverified = "email_unverified" // the provider says the email is not verified
	SSOAccountRefused  = "account_refused"  // no such person here, disabled, or of another agency
)

// SSOError is a refused single sign-on. Code is safe to show; Err is the
// cause, for the log.
type SSOError struct {
	Code string
	Err  error
}

func (e *SSOError) Error() string { return "access: single sign-on: " + e.Code + ": " + e.Err.Error() }
func (e *SSOError) Unwrap() error { return e.Err }

func ssoErr(code, format string, args ...any) error {
	return &SSOError{Code: code, Err: fmt.Errorf(format, args...)}
}

// SSO signs people in through their agency's OpenID Connect provider.
type SSO struct {
	changes
	db       *gorm.DB
	sessions *Sessions
	client   *http.Client
	now      func() time.Time

	mu        sync.Mutex
	providers map[string]cachedProvider
	discovery singleflight.Group // one discovery of an issuer at a time, shared by those waiting
}

// cachedProvider is the outcome of one discovery: the provider, or the
// error it failed with.
type cachedProvider struct {
	p       *oidc.Provider
	err     error
	fetched time.Time
}

// NewSSO returns the single sign-on service; sessions opens the sessions
// of the people it signs in.
func NewSSO(db *gorm.DB, sessions *Sessions) *SSO {
	return &SSO{db: db, sessions: sessions, client: &http.Client{Timeout: ssoRequestLimit}, now: dbNow,
		providers: map[string]cachedProvider{}}
}

// SetClock replaces the clock, for tests of expiry.
func (s *SSO) SetClock(now func() time.Time) { s.now = now }

type ssoLoginRow struct {
	StateHash    string `gorm:"primaryKey"`
	AgencyID     string
	Issuer       string
	Nonce        string
	CodeVerifier string
	CreatedAt    time.Time
	ExpiresAt    time.Time
}

func (ssoLoginRow) TableName() string { return "sso_logins" }

type ssoLinkRow struct {
	AgencyID    string `gorm:"primaryKey"`
	Issuer      string `gorm:"primaryKey"`
	Subject     string `gorm:"primaryKey"`
	UserID      string
	CreatedAt   time.Time
	LastLoginAt time.Time
}

func (ssoLinkRow) TableName() string { return "sso_links" }

// SSOStart is where to send the browser to sign in, and the state the
// browser must bring back: the caller binds it to the browser (a cookie)
// so that nobody can finish a sign-in they did not start in it.
type SSOStart struct {
	AuthURL string
	State   string
}

// Start begins a sign-in at the provider of the agency with the code, for
// a callback at redirectURL.
func (s *SSO) Start(ctx context.Context, agencyCode, redirectURL string) (SSOStart, error) {
	db := s.db.WithContext(ctx)
	now := s.now()
	// Sign-ins never finished are dropped as new ones start.
	if err := db.Where("expires_at < ?", now).Delete(&ssoLoginRow{}).Error; err != nil {
		return SSOStart{}, fmt.Errorf("access: single sign-on start: %w", err)
	}
	agency, err := NewDirectory(s.db).AgencyByCode(ctx, strings.TrimSpace(agencyCode))
	if errors.Is(err, ErrNotFound) {
		return SSOStart{}, ssoErr(SSOUnavailable, "no agency with code %q", truncateRunes(agencyCode, 32))
	}
	if err != nil {
		return SSOStart{}, err
	}
	cfg, _, err := loadSSOConfig(db, agency.ID)
	if errors.Is(err, ErrNotFound) || (err == nil && !cfg.Enabled) {
		return SSOStart{}, ssoErr(SSOUnavailable, "agency %s has no single sign-on enabled", agency.Code)
	}
	if err != nil {
		return SSOStart{}, err
	}
	provider, err := s.provider(ctx, cfg.Issuer)
	if err != nil {
		return SSOStart{}, err
	}
	state, nonce := randomToken(), randomToken()
	verifier := oauth2.GenerateVerifier()
	row := ssoLoginRow{StateHash: hashState(state), AgencyID: agency.ID, Issuer: cfg.Issuer, Nonce: nonce,
		CodeVerifier: verifier, CreatedAt: now, ExpiresAt: now.Add(SSOLoginTTL)}
	if err := db.Create(&row).Error; err != nil {
		return SSOStart{}, fmt.Errorf("access: single sign-on start: %w", err)
	}
	authURL := oauthConfig(cfg, provider, redirectURL).AuthCodeURL(state,
		oauth2.S256ChallengeOption(verifier), oidc.Nonce(nonce))
	return SSOStart{AuthURL: authURL, State: state}, nil
}

// SSOCallback is what the provider sent the browser back with.
type SSOCallback struct {
	State         string // the state query parameter
	BrowserState  string // the state the browser kept from Start
	Code          string
	ProviderError string // the error query parameter, when the provider refused
	RedirectURL   string // the same as given to Start
	ClientIP      string
	UserAgent     string
}

// Finish completes a sign-in: the state is spent whatever happens next,
// the code is exchanged with the PKCE verifier, the ID token verified
// (signature, issuer, audience, expiry, nonce), and its claims mapped to a
// user of the agency, who gets a session.
//
// There is no local second factor here, even where the agency requires
// one for password sign-in: multi-factor authentication of single sign-on
// is the provider's, which the agency configures.
func (s *SSO) Finish(ctx context.Context, in SSOCallback) (Grant, error) {
	login, err := s.consume(ctx, in.State)
	if err != nil {
		return Grant{}, err
	}
	if subtle.ConstantTimeCompare([]byte(in.State), []byte(in.BrowserState)) != 1 {
		return Grant{}, ssoErr(SSOInvalidState, "the state was not started in this browser")
	}
	if in.ProviderError != "" {
		return Grant{}, ssoErr(SSOProviderError, "the provider answered %q", truncateRunes(in.ProviderError, maxProviderError))
	}
	cfg, roles, err := loadSSOConfig(s.db.WithContext(ctx), login.AgencyID)
	if errors.Is(err, ErrNotFound) || (err == nil && (!cfg.Enabled || cfg.Issuer != login.Issuer)) {
		return Grant{}, ssoErr(SSOUnavailable, "single sign-on of agency %s was turned off or changed", login.AgencyID)
	}
	if err != nil {
		return Grant{}, err
	}
	provider, err := s.provider(ctx, cfg.Issuer)
	if err != nil {
		return Grant{}, err
	}
	httpCtx := oidc.ClientContext(ctx, s.client)
	token, err := oauthConfig(cfg, provider, in.RedirectURL).Exchange(httpCtx, in.Code, oauth2.VerifierOption(login.CodeVerifier))
	if err != nil {
		return Grant{}, ssoErr(SSOProviderError, "code exchange: %s", describeExchangeError(err))
	}
	rawID, _ := token.Extra("id_token").(string)
	if rawID == "" {
		return Grant{}, ssoErr(SSOTokenInvalid, "the token response has no id_token")
	}
	// The verifier pins the issuer (discovery refused any other), the
	// audience to this client and the provider's algorithms and keys (the
	// provider's key set, cached with it and fetched through s.client).
	idToken, err := provider.Verifier(&oidc.Config{ClientID: cfg.ClientID, Now: s.now}).Verify(httpCtx, rawID)
	if err != nil {
		return Grant{}, ssoErr(SSOTokenInvalid, "id token: %v", err)
	}
	if subtle.ConstantTimeCompare([]byte(idToken.Nonce), []byte(login.Nonce)) != 1 {
		return Grant{}, ssoErr(SSOTokenInvalid, "id token nonce does not match this sign-in")
	}
	id, err := identityOf(idToken, cfg)
	if err != nil {
		return Grant{}, err
	}
	u, err := s.resolveUser(ctx, cfg, roles, id)
	if err != nil {
		return Grant{}, err
	}
	return s.sessions.open(ctx, u, methodSSO, in.ClientIP, in.UserAgent)
}

// consume spends a sign-in under way: a state works once, in one
// transaction, so two callbacks with it cannot both pass.
func (s *SSO) consume(ctx context.Context, state string) (ssoLoginRow, error) {
	if state == "" || len(state) > 256 {
		return ssoLoginRow{}, ssoErr(SSOInvalidState, "no state")
	}
	var row ssoLoginRow
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Where("state_hash = ?", hashState(state)).Take(&row).Error; err != nil {
			return err
		}
		res := tx.Where("state_hash = ?", row.StateHash).Delete(&ssoLoginRow{})
		if res.Error == nil && res.RowsAffected != 1 {
			return gorm.ErrRecordNotFound
		}
		return res.Error
	})
	switch {
	case errors.Is(err, gorm.ErrRecordNotFound):
		return ssoLoginRow{}, ssoErr(SSOInvalidState, "unknown or spent state")
	case err != nil:
		return ssoLoginRow{}, fmt.Errorf("access: single sign-on state: %w", err)
	case !s.now().Before(row.ExpiresAt):
		return ssoLoginRow{}, ssoErr(SSOInvalidState, "the sign-in started at %s expired", row.CreatedAt.Format(time.RFC3339))
	}
	return row, nil
}

// provider returns the discovered provider of an issuer, from the cache
// while it is fresh; a failed discovery is remembered for discoveryRetry.
// Concurrent sign-ins share one discovery, so a flood of them asks the
// provider once. go-oidc refuses a discovery document naming another
// issuer than the one asked for.
func (s *SSO) provider(ctx context.Context, issuer string) (*oidc.Provider, error) {
	s.mu.Lock()
	c, ok := s.providers[issuer]
	s.mu.Unlock()
	switch age := s.now().Sub(c.fetched); {
	case ok && c.err == nil && age < providerTTL:
		return c.p, nil
	case ok && c.err != nil && age < discoveryRetry:
		return nil, c.err
	}
	// The discovery is shared, so it must not end with the request that
	// happened to start it; the client's timeout bounds it.
	shared := context.WithoutCancel(ctx)
	v, err, _ := s.discovery.Do(issuer, func() (any, error) {
		p, err := oidc.NewProvider(oidc.ClientContext(shared, s.client), issuer)
		if err != nil {
			err = ssoErr(SSOProviderError, "discovery of %s: %s", issuer, truncateRunes(err.Error(), 300))
		}
		s.mu.Lock()
		s.providers[issuer] = cachedProvider{p: p, err: err, fetched: s.now()}
		s.mu.Unlock()
		return p, err
	})
	p, _ := v.(*oidc.Provider)
	return p, err
}

func oauthConfig(cfg ssoConfigRow, p *oidc.Provider, redirectURL string) *oauth2.Config {
	return &oauth2.Config{ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret, Endpoint: p.Endpoint(),
		RedirectURL: redirectURL, Scopes: strings.Fields(cfg.Scopes)}
}

// describeExchangeError says why the token endpoint refused without its
// response body, which some providers fill with what the client sent.
func describeExchangeError(err error) string {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		status := 0
		if re.Response != nil {
			status = re.Response.StatusCode
		}
		return fmt.Sprintf("token endpoint answered %d %q", status, truncateRunes(re.ErrorCode, maxProviderError))
	}
	return err.Error()
}

// ssoIdentity is what Bevis takes from a verified ID token.
type ssoIdentity struct {
	issuer, subject, email, name string
	groups                       []string
}

// identityOf reads the configured claims. An email_verified claim that is
// present and false refuses the sign-in: the address is what links the
// person to a Bevis user.
func identityOf(tok *oidc.IDToken, cfg ssoConfigRow) (ssoIdentity, error) {
	var claims map[string]any
	if err := tok.Claims(&claims); err != nil {
		return ssoIdentity{}, ssoErr(SSOTokenInvalid, "id token claims: %v", err)
	}
	id := ssoIdentity{issuer: tok.Issuer, subject: tok.Subject}
	id.email, _ = claims[cfg.EmailClaim].(string)
	id.email = normalizeEmail(id.email)
	id.name, _ = claims[cfg.NameClaim].(string)
	id.name = strings.TrimSpace(id.name)
	switch g := claims[cfg.GroupsClaim].(type) {
	case string:
		id.groups = []string{g}
	case []any:
		for _, v := range g {
			if s, ok := v.(string); ok {
				id.groups = append(id.groups, s)
			}
		}
	}
	if id.subject == "" || len(id.subject) > 255 {
		return ssoIdentity{}, ssoErr(SSOTokenInvalid, "id token has no usable subject")
	}
	switch v := claims["email_verified"].(type) {
	case bool:
		if !v {
			return ssoIdentity{}, ssoErr(SSOEmailUnverified, "email_verified is false for subject %q", id.subject)
		}
	case string: // some providers send it as a string
		if v != "true" {
			return ssoIdentity{}, ssoErr(SSOEmailUnverified, "email_verified is %q for subject %q", v, id.subject)
		}
	}
	var v validate.Errors
	checkEmail(&v, id.email)
	if v.Err() != nil {
		return ssoIdentity{}, ssoErr(SSOTokenInvalid, "claim %q holds no plain email address", cfg.EmailClaim)
	}
	return id, nil
}

// resolveUser finds the Bevis user of a verified identity: by its link,
// else by email within the agency (then links it), else provisions a
// member when the agency allows. The user must be an active non-admin of
// that agency.
func (s *SSO) resolveUser(ctx context.Context, cfg ssoConfigRow, roles []ssoGroupRoleRow, id ssoIdentity) (User, error) {
	now := s.now()
	var u userRow
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var link ssoLinkRow
		err := tx.Where("agency_id = ? AND issuer = ? AND subject = ?", cfg.AgencyID, id.issuer, id.subject).Take(&link).Error
		switch {
		case err == nil:
			if err := tx.Where("id = ?", link.UserID).Take(&u).Error; err != nil {
				return err
			}
			if err := checkSSOUser(u, cfg.AgencyID); err != nil {
				return err
			}
			return tx.Model(&ssoLinkRow{}).Where("agency_id = ? AND issuer = ? AND subject = ?", cfg.AgencyID, id.issuer, id.subject).
				Update("last_login_at", now).Error
		case !errors.Is(err, gorm.ErrRecordNotFound):
			return err
		}

		err = tx.Where("email = ?", id.email).Take(&u).Error
		switch {
		case err == nil:
			if err := checkSSOUser(u, cfg.AgencyID); err != nil {
				return err
			}
			// A user already linked to another subject of this provider is
			// not taken over by whoever now holds the address there.
			var others int64
			if err := tx.Model(&ssoLinkRow{}).Where("agency_id = ? AND issuer = ? AND user_id = ?", cfg.AgencyID, id.issuer, u.ID).
				Count(&others).Error; err != nil {
				return err
			}
			if others > 0 {
				return ssoErr(SSOAccountRefused, "user %s is linked to another subject of %s", u.ID, id.issuer)
			}
		case errors.Is(err, gorm.ErrRecordNotFound):
			if !cfg.ProvisionUsers {
				return ssoErr(SSOAccountRefused, "no user with the email of subject %q and provisioning is off", id.subject)
			}
			mapped := map[string]SystemRole{}
			for _, r := range roles {
				mapped[r.GroupName] = SystemRole(r.SystemRole)
			}
			name := truncateRunes(id.name, 200)
			if name == "" || !utf8.ValidString(name) || strings.ContainsAny(name, "\x00\r\n") {
				name, _, _ = strings.Cut(id.email, "@")
			}
			created, err := NewDirectory(tx).CreateUser(ctx, NewUser{AgencyID: cfg.AgencyID, Email: id.email,
				Name: name, SystemRole: roleForGroups(id.groups, mapped)})
			if err != nil {
				return err
			}
			if err := s.recordIn(ctx, tx, "auth.sso.provision", "users", created.ID, ""); err != nil {
				return err
			}
			if err := tx.Where("id = ?", created.ID).Take(&u).Error; err != nil {
				return err
			}
		default:
			return err
		}
		return tx.Create(&ssoLinkRow{AgencyID: cfg.AgencyID, Issuer: id.issuer, Subject: id.subject, UserID: u.ID,
			CreatedAt: now, LastLoginAt: now}).Error
	})
	if err != nil {
		var se *SSOError
		if errors.As(err, &se) {
			return User{}, err
		}
		return User{}, fmt.Errorf("access: single sign-on user: %w", err)
	}
	return u.user(), nil
}

// checkSSOUser refuses a user of another agency, a disabled one, and an
// admin: the administrators of Bevis sign in with their password, so that
// no agency's directory controls them.
func checkSSOUser(u userRow, agencyID string) error {
	switch {
	case u.AgencyID != agencyID:
		return ssoErr(SSOAccountRefused, "the email of user %s belongs to another agency", u.ID)
	case u.Status != string(UserActive):
		return ssoErr(SSOAccountRefused, "user %s is disabled", u.ID)
	case u.SystemRole == string(RoleAdmin):
		return ssoErr(SSOAccountRefused, "user %s is an admin, who signs in with a password", u.ID)
	}
	return nil
}

func randomToken() string {
	b := make([]byte, ssoRandomBytes)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return base64.RawURLEncoding.EncodeToString(b)
}

func hashState(state string) string {
	sum := sha256.Sum256([]byte(state))
	return hex.EncodeToString(sum[:])
}
