package access

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

var (
	// ErrInvalidToken is every reason an access token is refused. Callers
	// answer 401 for all of them alike so that a caller probing with forged
	// tokens learns nothing; the wrapped detail is for the log and never
	// contains the token.
	ErrInvalidToken = errors.New("access: invalid access token")

	// ErrTokenTooLarge is refused before any parsing, so a huge header
	// costs no base64 or JSON work. It is also an ErrInvalidToken.
	ErrTokenTooLarge = fmt.Errorf("%w: longer than %d bytes", ErrInvalidToken, maxAccessTokenBytes)

	// ErrTokenIssuerConfig means NewTokenIssuer was given settings under
	// which it could not check tokens properly.
	ErrTokenIssuerConfig = errors.New("access: invalid token issuer configuration")
)

// Reasons for a refusal, wrapped under ErrInvalidToken for the log and for
// tests that must know a token was refused for the intended reason.
var (
	errAccessTokenType       = errors.New("type is not " + accessTokenType)
	errAccessTokenCrit       = errors.New("header has crit extensions, none are understood")
	errAccessTokenNoKeyID    = errors.New("no key ID (kid)")
	errAccessTokenUnknownKey = errors.New("unknown key ID")
)

const (
	// maxAccessTokenBytes matches the limit on the Authorization header;
	// a token of ours is well under 1 KiB.
	maxAccessTokenBytes = 8 << 10

	// DefaultAccessTokenTTL is short because a token cannot be recalled
	// before it expires except through its session (sid).
	DefaultAccessTokenTTL = 10 * time.Minute

	// accessTokenLeeway absorbs clock skew between the nodes that issue
	// and the nodes that verify.
	accessTokenLeeway = 30 * time.Second

	// accessTokenType is the RFC 9068 explicit type. Requiring it keeps
	// any other JWT signed with the same key (now or in the future) from
	// being replayed as an access token (RFC 8725 section 3.11).
	accessTokenType = "at+jwt"

	accessTokenAlg = "EdDSA"
)

// AccessClaims is what an access token asserts: who the user is (sub),
// which session it belongs to (sid) and when it is valid. It deliberately
// carries no roles, agencies or case memberships: Bevis checks those against
// the database on every request, so removing a suspected insider from a case
// takes effect at once rather than when a token expires. Never add
// authorization data here and trust it.
type AccessClaims struct {
	jwt.RegisteredClaims
	// SessionID names the session (refresh-token family) the token was
	// issued under, so that logging out can refuse its access tokens too.
	SessionID string `json:"sid,omitempty"`
}

// TokenIssuer issues and verifies Bevis access tokens: JWTs signed with
// Ed25519 (alg EdDSA), typed at+jwt, naming their key by kid. It is safe
// for concurrent use.
type TokenIssuer struct {
	keys     *SigningKeys
	issuer   string
	audience string
	ttl      time.Duration
	// verified is behind a pointer so that printing an issuer prints no
	// token.
	verified *verifiedTokens
}

// NewTokenIssuer returns an issuer for tokens from issuer to audience that
// live for ttl (DefaultAccessTokenTTL when ttl is zero). issuer and audience
// are required because the checks against them are skipped when empty.
func NewTokenIssuer(keys *SigningKeys, issuer, audience string, ttl time.Duration) (*TokenIssuer, error) {
	switch {
	case keys == nil || keys.signer == nil:
		return nil, fmt.Errorf("%w: no signing keys", ErrTokenIssuerConfig)
	case issuer == "":
		return nil, fmt.Errorf("%w: empty issuer", ErrTokenIssuerConfig)
	case audience == "":
		return nil, fmt.Errorf("%w: empty audience", ErrTokenIssuerConfig)
	case ttl < 0:
		return nil, fmt.Errorf("%w: negative token lifetime %s", ErrTokenIssuerConfig, ttl)
	case ttl == 0:
		ttl = DefaultAccessTokenTTL
	}
	return &TokenIssuer{keys: keys, issuer: issuer, audience: audience, ttl: ttl, verified: &verifiedTokens{kept: verifiedTokensKept}}, nil
}

// Issue signs a new access token for the user subject within session
// sessionID (may be empty), valid from now for the issuer's lifetime. The
// claims are returned too, so the caller can record the jti and expiry
// without parsing its own token.
func (t *TokenIssuer) Issue(subject, sessionID string, now time.Time) (string, AccessClaims, error) {
	if subject == "" {
		// Verify refuses such a token, so issuing it would only defer the
		// failure to a confusing 401.
		return "", AccessClaims{}, errors.New("access: issue token: empty subject")
	}
	jti := make([]byte, 16)
	// crypto/rand.Read never returns an error: it crashes the program
	// rather than hand out predictable bytes.
	_, _ = rand.Read(jti)
	claims := AccessClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    t.issuer,
			Subject:   subject,
			Audience:  jwt.ClaimStrings{t.audience},
			ExpiresAt: jwt.NewNumericDate(now.Add(t.ttl)),
			NotBefore: jwt.NewNumericDate(now),
			IssuedAt:  jwt.NewNumericDate(now),
			ID:        base64.RawURLEncoding.EncodeToString(jti),
		},
		SessionID: sessionID,
	}
	token := jwt.NewWithClaims(jwt.SigningMethodEdDSA, claims)
	token.Header["typ"] = accessTokenType
	token.Header["kid"] = t.keys.signerKID
	signed, err := token.SignedString(t.keys.signer())
	if err != nil {
		return "", AccessClaims{}, fmt.Errorf("access: sign token: %w", err)
	}
	return signed, claims, nil
}

// Verify returns the claims of token if it is a valid access token at now:
// signed by one of the verifying keys with EdDSA, typed at+jwt, from this
// issuer to this audience, within its validity window (with 30 s leeway)
// and naming a subject, a token ID and an issue time. Every refusal wraps
// ErrInvalidToken, and its detail never contains the token.
func (t *TokenIssuer) Verify(token string, now time.Time) (AccessClaims, error) {
	if len(token) > maxAccessTokenBytes {
		return AccessClaims{}, ErrTokenTooLarge
	}
	// A token whose signature was checked before is the same token, byte
	// for byte (strict decoding gives it one spelling), under the same
	// keys (a TokenIssuer's never change): only the checks that depend on
	// the time are made again.
	if claims, ok := t.verified.get(token); ok {
		if err := jwt.NewValidator(t.checks(now)...).Validate(claims); err != nil {
			return AccessClaims{}, fmt.Errorf("%w: %w", ErrInvalidToken, err)
		}
		return claims, nil
	}
	var claims AccessClaims
	if _, err := jwt.NewParser(t.checks(now)...).ParseWithClaims(token, &claims, t.verifyingKeyFor); err != nil {
		return AccessClaims{}, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	// RFC 9068 requires these; we always set them, so their absence means
	// the token was not made by Issue.
	switch {
	case claims.Subject == "":
		return AccessClaims{}, fmt.Errorf("%w: %w: sub", ErrInvalidToken, jwt.ErrTokenRequiredClaimMissing)
	case claims.ID == "":
		return AccessClaims{}, fmt.Errorf("%w: %w: jti", ErrInvalidToken, jwt.ErrTokenRequiredClaimMissing)
	case claims.IssuedAt == nil:
		return AccessClaims{}, fmt.Errorf("%w: %w: iat", ErrInvalidToken, jwt.ErrTokenRequiredClaimMissing)
	}
	t.verified.put(token, claims)
	return claims, nil
}

// checks are what a token's claims must pass at now, beside its signature.
func (t *TokenIssuer) checks(now time.Time) []jwt.ParserOption {
	return []jwt.ParserOption{
		// The allowlist is what defeats "alg":"none" and the HS256
		// key-confusion attack: the token never chooses the algorithm.
		jwt.WithValidMethods([]string{accessTokenAlg}),
		jwt.WithIssuer(t.issuer),
		jwt.WithAudience(t.audience),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(accessTokenLeeway),
		jwt.WithTimeFunc(func() time.Time { return now }),
		// Non-canonical base64 would let one signed token exist under
		// several spellings.
		jwt.WithStrictDecoding(),
	}
}

// verifiedTokensKept bounds the tokens a TokenIssuer remembers having
// verified, per generation (two are kept): a token is about 400 bytes, and
// 4,096 cover the clients of a busy node for a token's lifetime.
const verifiedTokensKept = 4096

// verifiedTokens are the claims of tokens whose signature checked out,
// by the token's exact text. An Ed25519 check was an eighth of the CPU of
// adding a timeline event on PostgreSQL, made again on every request of a
// client with the same token. Only tokens that passed every check are
// kept, so forged ones cannot fill it; the oldest generation goes when the
// newest is full.
type verifiedTokens struct {
	kept      int // per generation: verifiedTokensKept
	mu        sync.Mutex
	cur, prev map[string]AccessClaims
}

func (v *verifiedTokens) get(token string) (AccessClaims, bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if c, ok := v.cur[token]; ok {
		return c, true
	}
	c, ok := v.prev[token]
	if ok {
		v.putLocked(token, c)
	}
	return c, ok
}

func (v *verifiedTokens) put(token string, c AccessClaims) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.putLocked(token, c)
}

// putLocked keeps a copy of token: the caller's may live in a buffer that
// is reused for the next request (Fiber's headers do), which would change
// a key of the map under it and give one caller another's claims.
func (v *verifiedTokens) putLocked(token string, c AccessClaims) {
	if len(v.cur) >= v.kept {
		v.prev, v.cur = v.cur, nil
	}
	if v.cur == nil {
		v.cur = make(map[string]AccessClaims)
	}
	v.cur[strings.Clone(token)] = c
}

// verifyingKeyFor is the jwt.Keyfunc: it checks the header before any
// signature work and picks the one key the kid names. Detail in its errors
// quotes at most a short prefix of header values, which are not secret but
// are attacker-chosen.
func (t *TokenIssuer) verifyingKeyFor(token *jwt.Token) (any, error) {
	// The parser has already enforced the allowlist; this guards against
	// that option ever being dropped, since the key below is only safe to
	// use with Ed25519.
	if token.Method != jwt.SigningMethodEdDSA {
		return nil, fmt.Errorf("algorithm %.16q is not %s", token.Method.Alg(), accessTokenAlg)
	}
	typ, _ := token.Header["typ"].(string)
	if !isAccessTokenType(typ) {
		return nil, fmt.Errorf("%w: %.32q", errAccessTokenType, typ)
	}
	// We understand no JWS extensions, and RFC 7515 requires refusing a
	// token that marks one as critical.
	if _, ok := token.Header["crit"]; ok {
		return nil, errAccessTokenCrit
	}
	kid, _ := token.Header["kid"].(string)
	if kid == "" {
		return nil, errAccessTokenNoKeyID
	}
	key, ok := t.keys.verifyingKey(kid)
	if !ok {
		return nil, fmt.Errorf("%w %.64q", errAccessTokenUnknownKey, kid)
	}
	return key, nil
}

// isAccessTokenType accepts the typ values RFC 9068 allows: "at+jwt", or the
// full media type, compared case-insensitively as media types are.
func isAccessTokenType(typ string) bool {
	typ = strings.ToLower(typ)
	return typ == accessTokenType || typ == "application/"+accessTokenType
}
