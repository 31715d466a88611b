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

	"github.com/bevis-ir/bevis/internal/validate"
)

// API tokens let scripts and other systems act for a user: within named
// actions, optionally on named cases only, until they expire or are
// revoked. They are 256-bit random strings, so a fast hash is as safe to
// store as a slow one and keeps the lookup on every request cheap.
const (
	apiTokenPrefix       = "bvt_"
	apiTokenBytes        = 32
	apiTokenMaxLifetime  = 366 * 24 * time.Hour
	apiTokenMaxActive    = 50
	apiTokenMaxCases     = 100
	apiTokenUseRecording = time.Minute // last use is written at most this often
)

// APIToken describes a token; the token itself is only ever returned by
// CreateAPIToken.
type APIToken struct {
	ID         string
	UserID     string
	Name       string
	Scopes     []Action
	CaseIDs    []string
	CreatedAt  time.Time
	ExpiresAt  time.Time
	RevokedAt  *time.Time
	LastUsedAt *time.Time
	LastUsedIP string
}

// NewAPIToken is the input to CreateAPIToken.
type NewAPIToken struct {
	Name      string
	Scopes    []Action
	CaseIDs   []string // empty: every case the user can see
	ExpiresAt time.Time
}

type apiTokenRow struct {
	ID         string `gorm:"primaryKey"`
	UserID     string
	Name       string
	TokenHash  string
	Scopes     string // space-separated actions
	CreatedAt  time.Time
	ExpiresAt  time.Time
	RevokedAt  *time.Time
	LastUsedAt *time.Time
	LastUsedIP string `gorm:"column:last_used_ip"`
	// CreatedWith is how the session that made the token was signed in
	// (the session's auth_method).
	CreatedWith string
}

func (apiTokenRow) TableName() string { return "api_tokens" }

type apiTokenCaseRow struct {
	TokenID string `gorm:"primaryKey"`
	CaseID  string `gorm:"primaryKey"`
}

func (apiTokenCaseRow) TableName() string { return "api_token_cases" }

func (r apiTokenRow) token(caseIDs []string) APIToken {
	var scopes []Action
	for _, s := range strings.Fields(r.Scopes) {
		scopes = append(scopes, Action(s))
	}
	return APIToken{ID: r.ID, UserID: r.UserID, Name: r.Name, Scopes: scopes, CaseIDs: caseIDs,
		CreatedAt: r.CreatedAt, ExpiresAt: r.ExpiresAt, RevokedAt: r.RevokedAt, LastUsedAt: r.LastUsedAt,
		LastUsedIP: r.LastUsedIP}
}

func (in NewAPIToken) validate(now time.Time) error {
	var v validate.Errors
	v.Line("name", in.Name, 1, 100)
	grantable := TokenScopes()
	v.Check(len(in.Scopes) > 0, "scopes", "name at least one action")
	for i, s := range in.Scopes {
		v.Check(slices.Contains(grantable, s), fmt.Sprintf("scopes[%d]", i), "is not an action a token can be given")
	}
	v.Check(len(in.CaseIDs) <= apiTokenMaxCases, "case_ids", fmt.Sprintf("at most %d cases", apiTokenMaxCases))
	v.Check(in.ExpiresAt.After(now), "expires_at", "must be in the future")
	v.Check(!in.ExpiresAt.After(now.Add(apiTokenMaxLifetime)), "expires_at", "must be within 366 days")
	return v.Err()
}

// CreateAPIToken makes a token for the caller and returns it with the
// secret, which is shown this once. A token can only name cases its user
// can read now; what it may do is checked again on every use against the
// user's current rights.
func (s *Sessions) CreateAPIToken(ctx context.Context, authz *Authorizer, p Principal, in NewAPIToken) (APIToken, string, error) {
	now := s.now()
	in.ExpiresAt = in.ExpiresAt.UTC().Truncate(time.Microsecond)
	in.Scopes = slices.Compact(slices.Sorted(slices.Values(in.Scopes)))
	in.CaseIDs = slices.Compact(slices.Sorted(slices.Values(in.CaseIDs)))
	if err := in.validate(now); err != nil {
		return APIToken{}, "", err
	}
	var v validate.Errors
	for i, id := range in.CaseIDs {
		// One answer for a case that does not exist and one the caller
		// cannot see, as everywhere.
		err := authz.Authorize(ctx, p, ActionCaseRead, Resource{CaseID: id})
		if errors.Is(err, ErrNotFound) || errors.Is(err, ErrForbidden) {
			v.Add(fmt.Sprintf("case_ids[%d]", i), "no such case")
		} else if err != nil {
			return APIToken{}, "", err
		}
	}
	if err := v.Err(); err != nil {
		return APIToken{}, "", err
	}
	secret, hash, err := newAPITokenSecret()
	if err != nil {
		return APIToken{}, "", err
	}
	scopes := make([]string, len(in.Scopes))
	for i, a := range in.Scopes {
		scopes[i] = string(a)
	}
	row := apiTokenRow{ID: newID(), UserID: p.UserID, Name: in.Name, TokenHash: hash,
		Scopes: strings.Join(scopes, " "), CreatedAt: now, ExpiresAt: in.ExpiresAt}
	err = s.inTx(ctx, s.db, "tokens.post", "tokens", row.ID, "", func(tx *gorm.DB) error {
		if err := tx.Model(&sessionRow{}).Where("id = ?", p.SessionID).Pluck("auth_method", &row.CreatedWith).Error; err != nil {
			return err
		}
		var active int64
		if err := tx.Model(&apiTokenRow{}).Where("user_id = ? AND revoked_at IS NULL AND expires_at > ?", p.UserID, now).
			Count(&active).Error; err != nil {
			return err
		}
		if active >= apiTokenMaxActive {
			return &ConflictError{Reason: fmt.Sprintf("at most %d active tokens; revoke one first", apiTokenMaxActive)}
		}
		if err := tx.Create(&row).Error; err != nil {
			return err
		}
		for _, id := range in.CaseIDs {
			if err := tx.Create(&apiTokenCaseRow{TokenID: row.ID, CaseID: id}).Error; err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return APIToken{}, "", fmt.Errorf("access: create API token: %w", err)
	}
	return row.token(in.CaseIDs), secret, nil
}

// APITokens lists a user's tokens, newest first, revoked and expired ones
// included so that their last use stays visible.
func (s *Sessions) APITokens(ctx context.Context, userID string) ([]APIToken, error) {
	db := s.db.WithContext(ctx)
	var rows []apiTokenRow
	if err := db.Where("user_id = ?", userID).Order("id DESC").Limit(500).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("access: API tokens: %w", err)
	}
	var links []apiTokenCaseRow
	if err := db.Where("token_id IN (?)", db.Model(&apiTokenRow{}).Select("id").Where("user_id = ?", userID)).
		Order("case_id").Find(&links).Error; err != nil {
		return nil, fmt.Errorf("access: API tokens: %w", err)
	}
	cases := map[string][]string{}
	for _, l := range links {
		cases[l.TokenID] = append(cases[l.TokenID], l.CaseID)
	}
	out := make([]APIToken, len(rows))
	for i, r := range rows {
		out[i] = r.token(cases[r.ID])
	}
	return out, nil
}

// RevokeAPIToken ends one of the user's tokens at once. Revoking a revoked
// token succeeds, so the call can be retried.
func (s *Sessions) RevokeAPIToken(ctx context.Context, userID, tokenID string) error {
	db := s.db.WithContext(ctx)
	var n int64
	if err := db.Model(&apiTokenRow{}).Where("id = ? AND user_id = ?", tokenID, userID).Count(&n).Error; err != nil {
		return fmt.Errorf("access: revoke API token: %w", err)
	}
	if n == 0 {
		return ErrNotFound
	}
	err := s.inTx(ctx, s.db, "tokens.delete", "tokens", tokenID, "", func(tx *gorm.DB) error {
		return tx.Model(&apiTokenRow{}).Where("id = ? AND revoked_at IS NULL", tokenID).Update("revoked_at", s.now()).Error
	})
	if err != nil {
		return fmt.Errorf("access: revoke API token: %w", err)
	}
	return nil
}

// authenticateAPIToken turns an API token into its principal, checking its
// user as a session's user is checked, and notes when it was last used.
// When the user's agency requires a second factor and the user has none,
// the token is confined as their sessions are (Principal.MFAEnrolmentRequired)
// until they enrol one; a token cannot enrol, so it stops working. A token
// made in a single sign-on session is exempt, as such sessions are: the
// agency's identity provider owns their second factor.
func (s *Sessions) authenticateAPIToken(ctx context.Context, secret, clientIP string) (Principal, error) {
	hash, ok := hashAPIToken(secret)
	if !ok {
		return Principal{}, fmt.Errorf("%w: malformed API token", ErrUnauthenticated)
	}
	now := s.now()
	db := s.db.WithContext(ctx)
	var row struct {
		ID, UserID, Scopes, LastUsedIP, CreatedWith string
		ExpiresAt                                   time.Time
		RevokedAt, LastUsedAt                       *time.Time
		AgencyID, Status, SystemRole                string
		RequireMFA, Enrolled                        bool
	}
	res := db.Raw(`
		SELECT t.id, t.user_id, t.scopes, t.last_used_ip, t.created_with, t.expires_at, t.revoked_at, t.last_used_at,
		       u.agency_id, u.status, u.system_role, a.require_mfa,
		       EXISTS (SELECT 1 FROM user_totp m WHERE m.user_id = u.id AND m.confirmed_at IS NOT NULL) AS enrolled
		FROM api_tokens t JOIN users u ON u.id = t.user_id JOIN agencies a ON a.id = u.agency_id
		WHERE t.token_hash = ?`, hash).Scan(&row)
	if res.Error != nil {
		return Principal{}, fmt.Errorf("access: authenticate: %w", res.Error)
	}
	switch {
	case res.RowsAffected == 0:
		return Principal{}, fmt.Errorf("%w: no such API token", ErrUnauthenticated)
	case row.Status != string(UserActive):
		return Principal{}, fmt.Errorf("%w: user disabled", ErrUnauthenticated)
	case row.RevokedAt != nil || !now.Before(row.ExpiresAt):
		return Principal{}, fmt.Errorf("%w: API token revoked or expired", ErrUnauthenticated)
	}
	var caseIDs []string
	if err := db.Model(&apiTokenCaseRow{}).Where("token_id = ?", row.ID).Order("case_id").
		Pluck("case_id", &caseIDs).Error; err != nil {
		return Principal{}, fmt.Errorf("access: authenticate: %w", err)
	}
	if row.LastUsedAt == nil || now.Sub(*row.LastUsedAt) >= apiTokenUseRecording || row.LastUsedIP != clientIP {
		err := db.Model(&apiTokenRow{}).Where("id = ?", row.ID).
			Updates(map[string]any{"last_used_at": now, "last_used_ip": clientIP}).Error
		if err != nil {
			return Principal{}, fmt.Errorf("access: authenticate: %w", err)
		}
	}
	t := apiTokenRow{Scopes: row.Scopes}.token(caseIDs)
	return Principal{UserID: row.UserID, AgencyID: row.AgencyID, SystemRole: SystemRole(row.SystemRole),
		MFAEnrolmentRequired: row.RequireMFA && !row.Enrolled && row.CreatedWith != methodSSO,
		TokenID:              row.ID, TokenScopes: t.Scopes, TokenCaseIDs: caseIDs}, nil
}

func newAPITokenSecret() (secret, hash string, err error) {
	b := make([]byte, apiTokenBytes)
	if _, err := rand.Read(b); err != nil {
		return "", "", err
	}
	secret = apiTokenPrefix + base64.RawURLEncoding.EncodeToString(b)
	hash, _ = hashAPIToken(secret)
	return secret, hash, nil
}

func hashAPIToken(secret string) (string, bool) {
	if !strings.HasPrefix(secret, apiTokenPrefix) ||
		len(secret) != len(apiTokenPrefix)+base64.RawURLEncoding.EncodedLen(apiTokenBytes) {
		return "", false
	}
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:]), true
}
