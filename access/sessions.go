package access

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/bevis-ir/bevis/internal/db"
)

// Sign-in limits. Ten failures within the window lock out further attempts
// for that account, and separately for that client address, until the
// oldest failure leaves the window.
const (
	maxLoginFailures   = 10
	loginFailureWindow = 15 * time.Minute
	refreshTokenBytes  = 32
)

// Sessions signs people in and out and turns tokens back into principals.
type Sessions struct {
	changes
	db         *gorm.DB
	tokens     *TokenIssuer
	sessionTTL time.Duration
	now        func() time.Time
}

// NewSessions returns the session service. sessionTTL bounds a sign-in
// however often its refresh token is rotated.
func NewSessions(db *gorm.DB, tokens *TokenIssuer, sessionTTL time.Duration) *Sessions {
	return &Sessions{db: db, tokens: tokens, sessionTTL: sessionTTL, now: dbNow}
}

// SetClock replaces the clock, for tests of expiry.
func (s *Sessions) SetClock(now func() time.Time) { s.now = now }

// LoginRequest is one sign-in attempt.
type LoginRequest struct {
	Email       string
	Password    string
	NewPassword string // replaces a one-time password in the same step
	Code        string // a TOTP code or a recovery code, once MFA is enrolled
	ClientIP    string
	UserAgent   string
}

// Grant is what a successful sign-in or refresh hands out. The refresh
// token is shown here once and stored only as a hash.
type Grant struct {
	AccessToken      string
	AccessExpiresAt  time.Time
	RefreshToken     string
	RefreshExpiresAt time.Time
	SessionID        string
	User             User
	// MFAEnrolmentRequired: the user's agency requires MFA and the user
	// has none yet; the session may do nothing but enrol.
	MFAEnrolmentRequired bool
}

type sessionRow struct {
	ID           string `gorm:"primaryKey"`
	UserID       string
	CreatedAt    time.Time
	ExpiresAt    time.Time
	RevokedAt    *time.Time
	RevokeReason string
	ClientIP     string `gorm:"column:client_ip"`
	UserAgent    string
	AuthMethod   string
}

func (sessionRow) TableName() string { return "sessions" }

type refreshTokenRow struct {
	TokenHash string `gorm:"primaryKey"`
	SessionID string
	IssuedAt  time.Time
	ExpiresAt time.Time
	UsedAt    *time.Time
}

func (refreshTokenRow) TableName() string { return "refresh_tokens" }

type loginFailureRow struct {
	ID       int64 `gorm:"primaryKey;autoIncrement"`
	Subject  string
	FailedAt time.Time
}

func (loginFailureRow) TableName() string { return "login_failures" }

// Login checks an email and password and opens a session. An unknown email
// and a wrong password get the same ErrUnauthenticated after the same
// password-hashing work. The attempt is counted against the limits before
// any of that work is done, so the limits hold however many attempts come
// at once.
func (s *Sessions) Login(ctx context.Context, in LoginRequest) (Grant, error) {
	email := normalizeEmail(in.Email)
	subjects := []string{"account:" + email, "address:" + in.ClientIP}
	attempt, err := s.reserveAttempt(ctx, subjects)
	if err != nil {
		return Grant{}, err
	}
	g, method, err := s.checkSignIn(ctx, email, in)
	if !errors.Is(err, ErrUnauthenticated) {
		// Only a refused sign-in counts as a failure.
		if rerr := s.releaseAttempt(ctx, attempt); rerr != nil {
			return Grant{}, rerr
		}
	}
	if err != nil {
		return Grant{}, err
	}
	if err := s.db.WithContext(ctx).Where("subject = ?", subjects[0]).Delete(&loginFailureRow{}).Error; err != nil {
		return Grant{}, fmt.Errorf("access: login: %w", err)
	}
	return s.withEnrolment(ctx, g, method)
}

// checkSignIn checks one sign-in whose attempt is counted, and opens its
// session. ErrUnauthenticated is a failure that stays counted.
func (s *Sessions) checkSignIn(ctx context.Context, email string, in LoginRequest) (Grant, string, error) {
	var row userRow
	err := s.db.WithContext(ctx).Where("email = ?", email).Take(&row).Error
	if err != nil && !errors.Is(err, gorm.ErrRecordNotFound) {
		return Grant{}, "", fmt.Errorf("access: login: %w", err)
	}
	ok, err := VerifyPasswordOrDummy(row.PasswordHash, in.Password)
	if errors.Is(err, ErrPasswordBusy) {
		return Grant{}, "", err
	}
	if err != nil {
		return Grant{}, "", fmt.Errorf("access: login: %w", err)
	}
	if !ok || row.Status != string(UserActive) {
		return Grant{}, "", ErrUnauthenticated
	}
	method, err := s.secondFactor(ctx, row.ID, in.Code)
	if err != nil {
		return Grant{}, "", err
	}
	if row.MustChangePassword {
		if in.NewPassword == "" {
			return Grant{}, "", ErrPasswordChangeRequired
		}
		if err := NewDirectory(s.db).SetPassword(ctx, row.ID, in.NewPassword, false); err != nil {
			return Grant{}, "", err
		}
		row.MustChangePassword = false
	} else if NeedsRehash(row.PasswordHash) {
		// The password is at hand only now: bring its stored hash up to
		// today's parameters.
		if err := s.rehash(ctx, row.ID, in.Password); err != nil {
			return Grant{}, "", err
		}
	}
	g, err := s.open(ctx, row.user(), method, in.ClientIP, in.UserAgent)
	return g, method, err
}

// withEnrolment tells the client whether the session may only enrol a
// second factor (Authorize enforces it on every request).
func (s *Sessions) withEnrolment(ctx context.Context, g Grant, method string) (Grant, error) {
	if method == methodSSO {
		return g, nil
	}
	st, err := s.MFAStatus(ctx, g.User.ID)
	if err != nil {
		return Grant{}, err
	}
	g.MFAEnrolmentRequired = st.EnrolmentRequired
	return g, nil
}

// open starts a session for a user whose sign-in has been checked by
// method (see the method constants).
func (s *Sessions) open(ctx context.Context, u User, method, clientIP, userAgent string) (Grant, error) {
	now := s.now()
	session := sessionRow{ID: newID(), UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(s.sessionTTL),
		ClientIP: clientIP, UserAgent: truncateRunes(userAgent, 256), AuthMethod: method}
	var g Grant
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(&session).Error; err != nil {
			return err
		}
		var err error
		g, err = s.grant(tx, session, u, now)
		return err
	})
	if err != nil {
		return Grant{}, fmt.Errorf("access: open session: %w", err)
	}
	return g, nil
}

func (s *Sessions) rehash(ctx context.Context, userID, password string) error {
	hash, err := HashPassword(password)
	if err != nil {
		return fmt.Errorf("access: rehash: %w", err)
	}
	err = s.db.WithContext(ctx).Model(&userRow{}).Where("id = ?", userID).Update("password_hash", hash).Error
	if err != nil {
		return fmt.Errorf("access: rehash: %w", err)
	}
	return nil
}

// grant issues a new refresh token in session, and an access token.
func (s *Sessions) grant(tx *gorm.DB, session sessionRow, u User, now time.Time) (Grant, error) {
	refresh, hash, err := newRefreshToken()
	if err != nil {
		return Grant{}, err
	}
	if err := tx.Create(&refreshTokenRow{TokenHash: hash, SessionID: session.ID, IssuedAt: now,
		ExpiresAt: session.ExpiresAt}).Error; err != nil {
		return Grant{}, err
	}
	access, claims, err := s.tokens.Issue(u.ID, session.ID, now)
	if err != nil {
		return Grant{}, err
	}
	return Grant{AccessToken: access, AccessExpiresAt: claims.ExpiresAt.Time, RefreshToken: refresh,
		RefreshExpiresAt: session.ExpiresAt, SessionID: session.ID, User: u}, nil
}

// Refresh rotates a refresh token: the presented one is spent and a new
// one is handed out with a new access token. Presenting a spent token
// means it was copied, so the whole session is revoked and the newer
// token dies with it.
func (s *Sessions) Refresh(ctx context.Context, refreshToken string) (Grant, error) {
	hash, ok := hashRefreshToken(refreshToken)
	if !ok {
		return Grant{}, ErrUnauthenticated
	}
	now := s.now()
	var g Grant
	method := ""
	reusedIn := "" // the session of a spent token presented again
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var tok refreshTokenRow
		if err := tx.Where("token_hash = ?", hash).Take(&tok).Error; err != nil {
			return translateAuth(err)
		}
		spend := tx.Model(&refreshTokenRow{}).Where("token_hash = ? AND used_at IS NULL", hash).Update("used_at", now)
		if spend.Error != nil {
			return spend.Error
		}
		if spend.RowsAffected == 0 {
			reusedIn = tok.SessionID
			return nil
		}
		var session sessionRow
		if err := tx.Where("id = ?", tok.SessionID).Take(&session).Error; err != nil {
			return translateAuth(err)
		}
		var u userRow
		if err := tx.Where("id = ?", session.UserID).Take(&u).Error; err != nil {
			return translateAuth(err)
		}
		if session.RevokedAt != nil || !now.Before(session.ExpiresAt) || !now.Before(tok.ExpiresAt) ||
			u.Status != string(UserActive) {
			return ErrUnauthenticated
		}
		var err error
		method = session.AuthMethod
		g, err = s.grant(tx, session, u.user(), now)
		return err
	})
	if reusedIn != "" {
		if err := s.revoke(ctx, reusedIn, "refresh token reused"); err != nil {
			return Grant{}, err
		}
		return Grant{}, ErrUnauthenticated
	}
	if err != nil {
		if errors.Is(err, ErrUnauthenticated) {
			return Grant{}, err
		}
		return Grant{}, fmt.Errorf("access: refresh: %w", err)
	}
	return s.withEnrolment(ctx, g, method)
}

// Logout revokes a session: its refresh tokens stop working at once, and
// its access tokens on their next use.
func (s *Sessions) Logout(ctx context.Context, sessionID string) error {
	return s.revoke(ctx, sessionID, "signed out")
}

// SessionOfRefreshToken names the session a refresh token belongs to, so
// that signing out with only the cookie still ends the right session.
func (s *Sessions) SessionOfRefreshToken(ctx context.Context, refreshToken string) (string, error) {
	hash, ok := hashRefreshToken(refreshToken)
	if !ok {
		return "", ErrUnauthenticated
	}
	var tok refreshTokenRow
	if err := s.db.WithContext(ctx).Where("token_hash = ?", hash).Take(&tok).Error; err != nil {
		return "", translateAuth(err)
	}
	return tok.SessionID, nil
}

func (s *Sessions) revoke(ctx context.Context, sessionID, reason string) error {
	err := s.db.WithContext(ctx).Model(&sessionRow{}).Where("id = ? AND revoked_at IS NULL", sessionID).
		Updates(map[string]any{"revoked_at": s.now(), "revoke_reason": reason}).Error
	if err != nil {
		return fmt.Errorf("access: revoke session: %w", err)
	}
	return nil
}

// Authenticate turns a bearer token (an access token, or an API token) into
// the principal of this request, reading the user and the session from the
// database so that a disabled user or a revoked session is refused whatever
// the token says.
func (s *Sessions) Authenticate(ctx context.Context, bearer, clientIP string) (Principal, error) {
	p, _, err := s.AuthenticateOnCase(ctx, bearer, clientIP, "")
	return p, err
}

// AuthenticateOnCase is Authenticate for a request about one case: the
// same read of the user and session reads the caller's standing on caseID
// (see caseFacts), and the context it returns hands that standing to the
// authorizer's first question about the case in the request, instead of
// the authorizer reading it again. The standing is the database's at the
// moment the request was authenticated, as the session is; every later
// question reads it anew. With no caseID, or one that is not an ID Bevis
// gives, it is Authenticate and returns ctx unchanged.
func (s *Sessions) AuthenticateOnCase(ctx context.Context, bearer, clientIP, caseID string) (Principal, context.Context, error) {
	if strings.HasPrefix(bearer, apiTokenPrefix) {
		p, err := s.authenticateAPIToken(ctx, bearer, clientIP)
		return p, ctx, err
	}
	now := s.now()
	claims, err := s.tokens.Verify(bearer, now)
	if err != nil {
		return Principal{}, ctx, fmt.Errorf("%w: %w", ErrUnauthenticated, err)
	}
	if !isID(caseID) {
		caseID = ""
	}
	var row struct {
		AgencyID   string
		Status     string
		SystemRole SystemRole
		RevokedAt  *time.Time
		ExpiresAt  time.Time
		AuthMethod string
		RequireMFA bool
		Enrolled   bool
		Standing   standingRow `gorm:"embedded"`
	}
	query, vars := sessionQuery, []any{claims.Subject, claims.SessionID}
	if caseID != "" {
		query, vars = sessionOnCaseQuery, []any{caseID, claims.Subject, claims.SessionID}
	}
	res := s.db.WithContext(ctx).Raw(query, vars...).Scan(&row)
	if res.Error != nil {
		return Principal{}, ctx, fmt.Errorf("access: authenticate: %w", res.Error)
	}
	switch {
	case res.RowsAffected == 0:
		return Principal{}, ctx, fmt.Errorf("%w: no such user or session", ErrUnauthenticated)
	case row.Status != string(UserActive):
		return Principal{}, ctx, fmt.Errorf("%w: user disabled", ErrUnauthenticated)
	case row.RevokedAt != nil || !now.Before(row.ExpiresAt):
		return Principal{}, ctx, fmt.Errorf("%w: session ended", ErrUnauthenticated)
	}
	p := Principal{UserID: claims.Subject, AgencyID: row.AgencyID, SystemRole: row.SystemRole,
		SessionID: claims.SessionID,
		// The agency's rule is read on every request, so turning it on
		// reaches sessions already open. The identity provider owns the
		// second factor of single sign-on sessions.
		MFAEnrolmentRequired: row.RequireMFA && !row.Enrolled && row.AuthMethod != methodSSO,
	}
	if caseID != "" {
		ctx = withStanding(ctx, p, caseID, row.Standing)
	}
	return p, ctx, nil
}

// sessionQuery reads what Authenticate checks of a token's user and
// session (their IDs its parameters); sessionOnCaseQuery also the user's
// standing on a case (its first parameter).
var sessionQuery, sessionOnCaseQuery = sessionSQL(false), sessionSQL(true)

func sessionSQL(onCase bool) string {
	columns, joins := "", ""
	if onCase {
		columns = ",\n\t\t       " + standingColumns
		joins = "\n\t\tLEFT JOIN cases c ON c.id = ?\n\t\t" + standingJoins("u.id", "u.agency_id")
	}
	return `
		SELECT u.agency_id, u.status, u.system_role, s.revoked_at, s.expires_at, s.auth_method,
		       a.require_mfa,
		       EXISTS (SELECT 1 FROM user_totp t WHERE t.user_id = u.id AND t.confirmed_at IS NOT NULL) AS enrolled` + columns + `
		FROM users u JOIN sessions s ON s.user_id = u.id JOIN agencies a ON a.id = u.agency_id` + joins + `
		WHERE u.id = ? AND s.id = ?`
}

// reserveAttempt counts one attempt against each subject before any
// password work is spent on it, or refuses with a *RateLimitedError when a
// subject has used up its attempts in the window. The reservation is the
// failure's record; an attempt that did not fail gives it back with
// releaseAttempt. Counting and reserving happen in one transaction that
// holds a lock on each subject (on PostgreSQL an advisory lock, taken in a
// fixed order; SQLite runs one write transaction at a time), so however
// many attempts arrive at once, on however many nodes, no more than the
// limit are ever evaluated.
func (s *Sessions) reserveAttempt(ctx context.Context, subjects []string) ([]int64, error) {
	now := s.now()
	since := now.Add(-loginFailureWindow)
	subjects = slices.Sorted(slices.Values(subjects))
	rows := make([]loginFailureRow, len(subjects))
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		for i, subject := range subjects {
			if db.Dialect(tx) == db.Postgres {
				if err := tx.Exec("SELECT pg_advisory_xact_lock(hashtextextended(?, 0))", "bevis.login:"+subject).Error; err != nil {
					return err
				}
			}
			var recent []time.Time
			err := tx.Model(&loginFailureRow{}).Where("subject = ? AND failed_at > ?", subject, since).
				Order("failed_at DESC").Limit(maxLoginFailures).Pluck("failed_at", &recent).Error
			if err != nil {
				return err
			}
			if len(recent) >= maxLoginFailures {
				oldest := recent[len(recent)-1]
				retry := max(oldest.Add(loginFailureWindow).Sub(now), time.Second)
				return &RateLimitedError{RetryAfter: retry.Round(time.Second)}
			}
			rows[i] = loginFailureRow{Subject: subject, FailedAt: now}
		}
		return tx.Create(&rows).Error
	})
	var limited *RateLimitedError
	if errors.As(err, &limited) {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("access: rate limit: %w", err)
	}
	// Old failures no longer count; drop them as we go.
	if err := s.db.WithContext(ctx).Where("failed_at < ?", since).Delete(&loginFailureRow{}).Error; err != nil {
		return nil, fmt.Errorf("access: rate limit: %w", err)
	}
	ids := make([]int64, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	return ids, nil
}

// releaseAttempt gives back what reserveAttempt took for an attempt that
// did not fail, even when the request that made it has gone away.
func (s *Sessions) releaseAttempt(ctx context.Context, attempt []int64) error {
	err := s.db.WithContext(context.WithoutCancel(ctx)).Where("id IN ?", attempt).Delete(&loginFailureRow{}).Error
	if err != nil {
		return fmt.Errorf("access: rate limit: %w", err)
	}
	return nil
}

// newRefreshToken returns an opaque token and the hash stored for it.
func newRefreshToken() (token, hash string, err error) {
	b := make([]byte, refreshTokenBytes)
	if _, err := rand.Read(b); err != nil {
		return "", "", err
	}
	token = "bvr_" + base64.RawURLEncoding.EncodeToString(b)
	hash, _ = hashRefreshToken(token)
	return token, hash, nil
}

// hashRefreshToken hashes a well-formed token. The tokens are 256-bit
// random, so a fast hash is as good as a slow one and lookups stay cheap.
func hashRefreshToken(token string) (string, bool) {
	if !strings.HasPrefix(token, "bvr_") || len(token) != 4+base64.RawURLEncoding.EncodedLen(refreshTokenBytes) {
		return "", false
	}
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:]), true
}

func translateAuth(err error) error {
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return ErrUnauthenticated
	}
	return err
}

func truncateRunes(s string, n int) string {
	r := []rune(s)
	if len(r) > n {
		return string(r[:n])
	}
	return s
}
