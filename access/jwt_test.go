package access

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/golang-jwt/jwt/v5"
)

const (
	jwtTestIssuer   = "https://bevis.example"
	jwtTestAudience = "bevis-api"
	jwtTestSubject  = "0195f3b2-6c1e-7a6e-9a53-1d2f3c4b5a69"
	jwtTestSession  = "s-0195f3b2"
)

var jwtTestNow = time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)

// jwtTestFixture is an issuer over one generated key, plus what a test
// needs to forge tokens against it.
type jwtTestFixture struct {
	key    signingKeysTestKey
	keys   *SigningKeys
	issuer *TokenIssuer
}

func newJWTTestFixture(t *testing.T) jwtTestFixture {
	t.Helper()
	key := newSigningKeysTestKey(t)
	keys := signingKeysTestParse(t, key.privatePEM)
	return jwtTestFixture{key: key, keys: keys, issuer: jwtTestIssuerFor(t, keys)}
}

func jwtTestIssuerFor(t *testing.T, keys *SigningKeys) *TokenIssuer {
	t.Helper()
	issuer, err := NewTokenIssuer(keys, jwtTestIssuer, jwtTestAudience, 0)
	if err != nil {
		t.Fatal(err)
	}
	return issuer
}

func (f jwtTestFixture) issue(t *testing.T, now time.Time) string {
	t.Helper()
	token, _, err := f.issuer.Issue(jwtTestSubject, jwtTestSession, now)
	if err != nil {
		t.Fatal(err)
	}
	return token
}

// jwtTestHeader and jwtTestClaims are what Issue would produce at
// jwtTestNow; tests change one thing to see it refused.
func (f jwtTestFixture) jwtTestHeader() map[string]any {
	return map[string]any{"typ": "at+jwt", "kid": f.keys.SigningKeyID()}
}

func jwtTestClaims() jwt.MapClaims {
	return jwt.MapClaims{
		"iss": jwtTestIssuer,
		"aud": jwtTestAudience,
		"sub": jwtTestSubject,
		"sid": jwtTestSession,
		"jti": "Tm90IGEgcmFuZG9tIGp0aQ",
		"iat": jwtTestNow.Unix(),
		"nbf": jwtTestNow.Unix(),
		"exp": jwtTestNow.Add(10 * time.Minute).Unix(),
	}
}

// jwtTestSign signs claims under header (entries set to nil are removed)
// with any method and key, the way an attacker or a foreign issuer would.
func jwtTestSign(t *testing.T, method jwt.SigningMethod, key any, header map[string]any, claims jwt.MapClaims) string {
	t.Helper()
	token := jwt.NewWithClaims(method, claims)
	for name, value := range header {
		if value == nil {
			delete(token.Header, name)
		} else {
			token.Header[name] = value
		}
	}
	signed, err := token.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return signed
}

// sign signs with the fixture's own key after edit changes the header and
// claims, so only the edited part can be why the token is refused.
func (f jwtTestFixture) sign(t *testing.T, edit func(header map[string]any, claims jwt.MapClaims)) string {
	t.Helper()
	header, claims := f.jwtTestHeader(), jwtTestClaims()
	if edit != nil {
		edit(header, claims)
	}
	return jwtTestSign(t, jwt.SigningMethodEdDSA, f.key.private, header, claims)
}

func jwtTestSegment(t *testing.T, v any) string {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(raw)
}

func jwtTestDecodeSegment(t *testing.T, segment string) map[string]any {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(segment)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestIssue_SignsTypedEdDSATokenWithCurrentKeyID(t *testing.T) {
	f := newJWTTestFixture(t)
	token, claims, err := f.issuer.Issue(jwtTestSubject, jwtTestSession, jwtTestNow)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d segments, want 3", len(parts))
	}

	header := jwtTestDecodeSegment(t, parts[0])
	wantHeader := map[string]any{"alg": "EdDSA", "typ": "at+jwt", "kid": f.keys.SigningKeyID()}
	if len(header) != len(wantHeader) {
		t.Errorf("header = %v, want exactly %v", header, wantHeader)
	}
	for name, want := range wantHeader {
		if header[name] != want {
			t.Errorf("header %s = %v, want %v", name, header[name], want)
		}
	}

	payload := jwtTestDecodeSegment(t, parts[1])
	now := float64(jwtTestNow.Unix())
	wantPayload := map[string]any{
		"iss": jwtTestIssuer, "sub": jwtTestSubject, "sid": jwtTestSession,
		"iat": now, "nbf": now, "exp": now + 600,
	}
	for name, want := range wantPayload {
		if payload[name] != want {
			t.Errorf("claim %s = %v, want %v", name, payload[name], want)
		}
	}
	if aud, _ := payload["aud"].([]any); len(aud) != 1 || aud[0] != jwtTestAudience {
		t.Errorf("claim aud = %v, want the single audience %s", payload["aud"], jwtTestAudience)
	}
	jti, _ := payload["jti"].(string)
	if raw, err := base64.RawURLEncoding.DecodeString(jti); err != nil || len(raw) != 16 {
		t.Errorf("jti = %q, want 128 random bits in base64url", jti)
	}
	if len(payload) != len(wantPayload)+2 {
		t.Errorf("payload = %v, want only iss, aud, sub, sid, exp, iat, nbf, jti", payload)
	}

	if claims.ID != jti || claims.Subject != jwtTestSubject || claims.SessionID != jwtTestSession ||
		!claims.ExpiresAt.Equal(jwtTestNow.Add(DefaultAccessTokenTTL)) {
		t.Errorf("returned claims %+v do not match the token's", claims)
	}
}

func TestIssue_GivesEveryTokenItsOwnID(t *testing.T) {
	f := newJWTTestFixture(t)
	seen := map[string]bool{}
	for range 100 {
		_, claims, err := f.issuer.Issue(jwtTestSubject, "", jwtTestNow)
		if err != nil {
			t.Fatal(err)
		}
		if seen[claims.ID] {
			t.Fatalf("jti %s issued twice", claims.ID)
		}
		seen[claims.ID] = true
	}
}

func TestIssue_OmitsSessionIDWhenEmpty(t *testing.T) {
	f := newJWTTestFixture(t)
	token, _, err := f.issuer.Issue(jwtTestSubject, "", jwtTestNow)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := jwtTestDecodeSegment(t, strings.Split(token, ".")[1])["sid"]; ok {
		t.Error("token has a sid claim though no session was given")
	}
}

func TestIssue_RefusesEmptySubject(t *testing.T) {
	f := newJWTTestFixture(t)
	if token, _, err := f.issuer.Issue("", jwtTestSession, jwtTestNow); err == nil {
		t.Fatalf("Issue with no subject = %q, want an error", token)
	}
}

func TestNewTokenIssuer_RejectsIncompleteConfiguration(t *testing.T) {
	keys := newJWTTestFixture(t).keys
	tests := []struct {
		name             string
		keys             *SigningKeys
		issuer, audience string
		ttl              time.Duration
	}{
		{"no keys", nil, jwtTestIssuer, jwtTestAudience, 0},
		{"empty issuer, which would skip the iss check", keys, "", jwtTestAudience, 0},
		{"empty audience, which would skip the aud check", keys, jwtTestIssuer, "", 0},
		{"negative lifetime", keys, jwtTestIssuer, jwtTestAudience, -time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewTokenIssuer(tt.keys, tt.issuer, tt.audience, tt.ttl); !errors.Is(err, ErrTokenIssuerConfig) {
				t.Errorf("NewTokenIssuer = %v, want ErrTokenIssuerConfig", err)
			}
		})
	}
}

func TestNewTokenIssuer_UsesGivenLifetimeOrTenMinutes(t *testing.T) {
	keys := newJWTTestFixture(t).keys
	for _, tt := range []struct {
		ttl, want time.Duration
	}{{0, 10 * time.Minute}, {5 * time.Minute, 5 * time.Minute}} {
		issuer, err := NewTokenIssuer(keys, jwtTestIssuer, jwtTestAudience, tt.ttl)
		if err != nil {
			t.Fatal(err)
		}
		_, claims, err := issuer.Issue(jwtTestSubject, "", jwtTestNow)
		if err != nil {
			t.Fatal(err)
		}
		if got := claims.ExpiresAt.Sub(jwtTestNow); got != tt.want {
			t.Errorf("ttl %s: token lives %s, want %s", tt.ttl, got, tt.want)
		}
	}
}

func TestVerify_AcceptsValidTokens(t *testing.T) {
	f := newJWTTestFixture(t)
	expiry := jwtTestNow.Add(DefaultAccessTokenTTL)
	tests := []struct {
		name  string
		token string
		at    time.Time
	}{
		{"fresh token", f.issue(t, jwtTestNow), jwtTestNow},
		{"one second before expiry", f.issue(t, jwtTestNow), expiry.Add(-time.Second)},
		{"29 s after expiry, within the leeway", f.issue(t, jwtTestNow), expiry.Add(29 * time.Second)},
		{"issued 20 s ahead by a node with a fast clock", f.issue(t, jwtTestNow.Add(20*time.Second)), jwtTestNow},
		{"typ as full media type", f.sign(t, func(h map[string]any, _ jwt.MapClaims) { h["typ"] = "application/at+jwt" }), jwtTestNow},
		{"typ in upper case", f.sign(t, func(h map[string]any, _ jwt.MapClaims) { h["typ"] = "AT+JWT" }), jwtTestNow},
		{"audience as an array holding ours", f.sign(t, func(_ map[string]any, c jwt.MapClaims) { c["aud"] = []string{"other", jwtTestAudience} }), jwtTestNow},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			claims, err := f.issuer.Verify(tt.token, tt.at)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if claims.Subject != jwtTestSubject || claims.SessionID != jwtTestSession || claims.ID == "" {
				t.Errorf("claims = %+v, want subject %s, session %s and an ID", claims, jwtTestSubject, jwtTestSession)
			}
		})
	}
}

func TestVerify_Rejects(t *testing.T) {
	f := newJWTTestFixture(t)
	kid := f.keys.SigningKeyID()
	valid := f.issue(t, jwtTestNow)
	parts := strings.Split(valid, ".")

	otherEd25519 := newSigningKeysTestKey(t)
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}

	tamperedSignature, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		t.Fatal(err)
	}
	tamperedSignature[10] ^= 0x01
	// 64 signature bytes leave 4 unused bits in the last base64 character;
	// a lenient decoder ignores them, so this token would still verify.
	last := strings.IndexByte(jwtTestBase64URLAlphabet, parts[2][len(parts[2])-1])
	nonCanonicalSignature := parts[2][:len(parts[2])-1] + string(jwtTestBase64URLAlphabet[last^0x01])

	payload := jwtTestDecodeSegment(t, parts[1])
	payload["sub"] = "someone-else"
	flipped := []byte(parts[1])
	flipped[len(flipped)/2] = jwtTestFlipChar(flipped[len(flipped)/2])

	otherToken := f.sign(t, func(_ map[string]any, c jwt.MapClaims) { c["sub"] = "someone-else" })

	tests := []struct {
		name  string
		token string
		// cause is the refusal's reason under ErrInvalidToken, checked so a
		// case cannot pass by being refused for some other reason.
		cause error
	}{
		{"alg none, unsigned", jwtTestSegment(t, map[string]any{"alg": "none", "typ": "at+jwt", "kid": kid}) + "." + parts[1] + ".", jwt.ErrTokenSignatureInvalid},
		{"alg none with the real signature", jwtTestSegment(t, map[string]any{"alg": "none", "typ": "at+jwt", "kid": kid}) + "." + parts[1] + "." + parts[2], jwt.ErrTokenSignatureInvalid},
		{"alg missing", jwtTestSegment(t, map[string]any{"typ": "at+jwt", "kid": kid}) + "." + parts[1] + "." + parts[2], jwt.ErrTokenUnverifiable},
		{"HS256 keyed with the public key bytes", jwtTestSign(t, jwt.SigningMethodHS256, []byte(f.key.public), f.jwtTestHeader(), jwtTestClaims()), jwt.ErrTokenSignatureInvalid},
		{"HS256 keyed with the public key PEM", jwtTestSign(t, jwt.SigningMethodHS256, f.key.publicPEM, f.jwtTestHeader(), jwtTestClaims()), jwt.ErrTokenSignatureInvalid},
		{"RS256", jwtTestSign(t, jwt.SigningMethodRS256, rsaKey, f.jwtTestHeader(), jwtTestClaims()), jwt.ErrTokenSignatureInvalid},
		{"ES256", jwtTestSign(t, jwt.SigningMethodES256, ecKey, f.jwtTestHeader(), jwtTestClaims()), jwt.ErrTokenSignatureInvalid},
		{"unknown kid", jwtTestSign(t, jwt.SigningMethodEdDSA, otherEd25519.private, map[string]any{"typ": "at+jwt", "kid": jwkThumbprint(otherEd25519.public)}, jwtTestClaims()), errAccessTokenUnknownKey},
		{"our key under an unknown kid", f.sign(t, func(h map[string]any, _ jwt.MapClaims) { h["kid"] = "not-a-key-of-ours" }), errAccessTokenUnknownKey},
		{"missing kid", f.sign(t, func(h map[string]any, _ jwt.MapClaims) { h["kid"] = nil }), errAccessTokenNoKeyID},
		{"kid not a string", f.sign(t, func(h map[string]any, _ jwt.MapClaims) { h["kid"] = 7 }), errAccessTokenNoKeyID},
		{"same kid, different key", jwtTestSign(t, jwt.SigningMethodEdDSA, otherEd25519.private, f.jwtTestHeader(), jwtTestClaims()), jwt.ErrEd25519Verification},
		{"typ JWT", f.sign(t, func(h map[string]any, _ jwt.MapClaims) { h["typ"] = "JWT" }), errAccessTokenType},
		{"typ missing", f.sign(t, func(h map[string]any, _ jwt.MapClaims) { h["typ"] = nil }), errAccessTokenType},
		{"critical header extension", f.sign(t, func(h map[string]any, _ jwt.MapClaims) { h["crit"] = []string{"exp"} }), errAccessTokenCrit},
		{"expired 31 s ago, past the leeway", f.sign(t, func(_ map[string]any, c jwt.MapClaims) { c["exp"] = jwtTestNow.Add(-31 * time.Second).Unix() }), jwt.ErrTokenExpired},
		{"expired an hour ago", f.issue(t, jwtTestNow.Add(-time.Hour)), jwt.ErrTokenExpired},
		{"nbf in the future", f.sign(t, func(_ map[string]any, c jwt.MapClaims) { c["nbf"] = jwtTestNow.Add(5 * time.Minute).Unix() }), jwt.ErrTokenNotValidYet},
		{"iat in the future", f.sign(t, func(_ map[string]any, c jwt.MapClaims) { c["iat"] = jwtTestNow.Add(5 * time.Minute).Unix() }), jwt.ErrTokenUsedBeforeIssued},
		{"wrong audience", f.sign(t, func(_ map[string]any, c jwt.MapClaims) { c["aud"] = "another-service" }), jwt.ErrTokenInvalidAudience},
		{"missing audience", f.sign(t, func(_ map[string]any, c jwt.MapClaims) { delete(c, "aud") }), jwt.ErrTokenRequiredClaimMissing},
		{"wrong issuer", f.sign(t, func(_ map[string]any, c jwt.MapClaims) { c["iss"] = "https://evil.example" }), jwt.ErrTokenInvalidIssuer},
		{"missing issuer", f.sign(t, func(_ map[string]any, c jwt.MapClaims) { delete(c, "iss") }), jwt.ErrTokenRequiredClaimMissing},
		{"missing exp", f.sign(t, func(_ map[string]any, c jwt.MapClaims) { delete(c, "exp") }), jwt.ErrTokenRequiredClaimMissing},
		{"exp not a number", f.sign(t, func(_ map[string]any, c jwt.MapClaims) { c["exp"] = "tomorrow" }), jwt.ErrTokenMalformed},
		{"missing sub", f.sign(t, func(_ map[string]any, c jwt.MapClaims) { delete(c, "sub") }), jwt.ErrTokenRequiredClaimMissing},
		{"missing jti", f.sign(t, func(_ map[string]any, c jwt.MapClaims) { delete(c, "jti") }), jwt.ErrTokenRequiredClaimMissing},
		{"missing iat", f.sign(t, func(_ map[string]any, c jwt.MapClaims) { delete(c, "iat") }), jwt.ErrTokenRequiredClaimMissing},
		{"payload re-encoded with another subject", parts[0] + "." + jwtTestSegment(t, payload) + "." + parts[2], jwt.ErrTokenSignatureInvalid},
		{"payload with one byte flipped", parts[0] + "." + string(flipped) + "." + parts[2], nil},
		{"signature with one bit flipped", parts[0] + "." + parts[1] + "." + base64.RawURLEncoding.EncodeToString(tamperedSignature), jwt.ErrTokenSignatureInvalid},
		{"signature in non-canonical base64", parts[0] + "." + parts[1] + "." + nonCanonicalSignature, jwt.ErrTokenMalformed},
		{"signature of another token", parts[0] + "." + parts[1] + "." + strings.Split(otherToken, ".")[2], jwt.ErrTokenSignatureInvalid},
		{"signature removed", parts[0] + "." + parts[1] + ".", jwt.ErrTokenSignatureInvalid},
		{"over 8 KiB", f.sign(t, func(_ map[string]any, c jwt.MapClaims) { c["sid"] = strings.Repeat("s", 8<<10) }), ErrTokenTooLarge},
		{"empty string", "", jwt.ErrTokenMalformed},
		{"garbage", "garbage", jwt.ErrTokenMalformed},
		{"three garbage segments", "a.b.c", jwt.ErrTokenMalformed},
		{"dots only", "..", jwt.ErrTokenMalformed},
		{"four segments", valid + ".x", jwt.ErrTokenMalformed},
		{"Authorization header value instead of the token", "Bearer " + valid, jwt.ErrTokenMalformed},
		{"trailing whitespace", valid + " ", jwt.ErrTokenMalformed},
		{"header not JSON", base64.RawURLEncoding.EncodeToString([]byte("{alg")) + "." + parts[1] + "." + parts[2], jwt.ErrTokenMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			claims, err := f.issuer.Verify(tt.token, jwtTestNow)
			if !errors.Is(err, ErrInvalidToken) {
				t.Fatalf("Verify = %+v, %v; want ErrInvalidToken", claims, err)
			}
			if tt.cause != nil && !errors.Is(err, tt.cause) {
				t.Errorf("Verify refused for %q, want the reason %q", err, tt.cause)
			}
			if !reflect.DeepEqual(claims, AccessClaims{}) {
				t.Errorf("refused token still returned claims %+v", claims)
			}
			// The detail goes to logs, which must never hold a token.
			for _, segment := range strings.Split(tt.token, ".") {
				if len(segment) >= 16 && strings.Contains(err.Error(), segment) {
					t.Errorf("error reveals part of the token: %v", err)
				}
			}
		})
	}
}

const jwtTestBase64URLAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// jwtTestFlipChar changes a base64url character into another valid one, so the
// segment still decodes but to different bytes.
func jwtTestFlipChar(c byte) byte {
	i := strings.IndexByte(jwtTestBase64URLAlphabet, c)
	return jwtTestBase64URLAlphabet[(i+1)%len(jwtTestBase64URLAlphabet)]
}

func TestVerify_RefusesTokenJustOver8KiBBeforeParsing(t *testing.T) {
	f := newJWTTestFixture(t)
	limit := strings.Repeat("x", 8<<10)
	if _, err := f.issuer.Verify(limit, jwtTestNow); errors.Is(err, ErrTokenTooLarge) {
		t.Error("a token of exactly 8 KiB was refused as too large")
	}
	if _, err := f.issuer.Verify(limit+"x", jwtTestNow); !errors.Is(err, ErrTokenTooLarge) || !errors.Is(err, ErrInvalidToken) {
		t.Errorf("Verify of 8 KiB + 1 = %v, want ErrTokenTooLarge and ErrInvalidToken", err)
	}
}

func TestVerify_RotationKeepsTokensOfTheOldKeyValid(t *testing.T) {
	oldKey, newKey := newSigningKeysTestKey(t), newSigningKeysTestKey(t)
	before := jwtTestIssuerFor(t, signingKeysTestParse(t, oldKey.privatePEM))
	oldToken, _, err := before.Issue(jwtTestSubject, jwtTestSession, jwtTestNow)
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		file [][]byte
	}{
		{"old key kept as a private key", [][]byte{newKey.privatePEM, oldKey.privatePEM}},
		{"old key demoted to its public key", [][]byte{newKey.privatePEM, oldKey.publicPEM}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			after := jwtTestIssuerFor(t, signingKeysTestParse(t, tt.file...))
			if _, err := after.Verify(oldToken, jwtTestNow.Add(time.Minute)); err != nil {
				t.Errorf("token of the old key refused after rotation: %v", err)
			}

			newToken, _, err := after.Issue(jwtTestSubject, jwtTestSession, jwtTestNow)
			if err != nil {
				t.Fatal(err)
			}
			if kid := jwtTestDecodeSegment(t, strings.Split(newToken, ".")[0])["kid"]; kid != jwkThumbprint(newKey.public) {
				t.Errorf("new token has kid %v, want the new key's %s", kid, jwkThumbprint(newKey.public))
			}
			if _, err := after.Verify(newToken, jwtTestNow); err != nil {
				t.Errorf("new token refused: %v", err)
			}
		})
	}
}

func TestVerify_RefusesTokensOfARemovedKey(t *testing.T) {
	oldKey, newKey := newSigningKeysTestKey(t), newSigningKeysTestKey(t)
	before := jwtTestIssuerFor(t, signingKeysTestParse(t, oldKey.privatePEM))
	oldToken, _, err := before.Issue(jwtTestSubject, jwtTestSession, jwtTestNow)
	if err != nil {
		t.Fatal(err)
	}

	after := jwtTestIssuerFor(t, signingKeysTestParse(t, newKey.privatePEM))
	if _, err := after.Verify(oldToken, jwtTestNow); !errors.Is(err, ErrInvalidToken) || !errors.Is(err, errAccessTokenUnknownKey) {
		t.Errorf("Verify of a removed key's token = %v, want ErrInvalidToken for an unknown kid", err)
	}
}

func TestVerify_OtherIssuerOrAudienceRefusesOurTokens(t *testing.T) {
	f := newJWTTestFixture(t)
	token := f.issue(t, jwtTestNow)
	for _, tt := range []struct{ name, issuer, audience string }{
		{"another audience", jwtTestIssuer, "bevis-admin"},
		{"another issuer", "https://other.example", jwtTestAudience},
	} {
		t.Run(tt.name, func(t *testing.T) {
			other, err := NewTokenIssuer(f.keys, tt.issuer, tt.audience, 0)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := other.Verify(token, jwtTestNow); !errors.Is(err, ErrInvalidToken) {
				t.Errorf("Verify = %v, want ErrInvalidToken", err)
			}
		})
	}
}

// TestVerify_ARememberedTokenPassesTheTimeChecksAgain: a token verified
// once is not checked for its signature again, but its expiry and its
// not-before still are, at every use; and a token that differs from it by
// a character is not the token remembered.
func TestVerify_ARememberedTokenPassesTheTimeChecksAgain(t *testing.T) {
	f := newJWTTestFixture(t)
	expiry := jwtTestNow.Add(DefaultAccessTokenTTL)
	early := f.issue(t, jwtTestNow.Add(time.Minute)) // from a node whose clock runs a minute fast
	token := f.issue(t, jwtTestNow)
	for _, tok := range []string{token, early} {
		if _, err := f.issuer.Verify(tok, jwtTestNow.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if _, ok := f.issuer.verified.cur[tok]; !ok {
			t.Fatal("a verified token is not remembered")
		}
	}
	refused := []struct {
		name  string
		token string
		at    time.Time
		want  error
	}{
		{"expired, past the leeway", token, expiry.Add(31 * time.Second), jwt.ErrTokenExpired},
		{"not valid yet, past the leeway", early, jwtTestNow, jwt.ErrTokenNotValidYet},
		{"its signature changed", token[:len(token)-2] + string(jwtTestFlipChar(token[len(token)-2])) + token[len(token)-1:],
			jwtTestNow, jwt.ErrTokenSignatureInvalid},
	}
	for _, tt := range refused {
		claims, err := f.issuer.Verify(tt.token, tt.at)
		if !errors.Is(err, ErrInvalidToken) || !errors.Is(err, tt.want) || !reflect.DeepEqual(claims, AccessClaims{}) {
			t.Errorf("%s: Verify = %+v, %v; want %v", tt.name, claims, err, tt.want)
		}
	}
	// Within its window the remembered token is accepted again.
	if claims, err := f.issuer.Verify(token, expiry); err != nil || claims.Subject != jwtTestSubject {
		t.Errorf("the remembered token at its expiry: %+v, %v", claims, err)
	}
}

// TestVerify_RemembersItsOwnCopyOfAToken: the token a request hands over
// may live in a buffer the server reuses for the next request (Fiber's
// headers do). What is remembered must not change with that buffer: the
// key of one caller's claims would become another caller's token.
func TestVerify_RemembersItsOwnCopyOfAToken(t *testing.T) {
	f := newJWTTestFixture(t)
	token := f.issue(t, jwtTestNow)
	buf := []byte(token)
	if _, err := f.issuer.Verify(unsafe.String(&buf[0], len(buf)), jwtTestNow); err != nil {
		t.Fatal(err)
	}
	copy(buf, f.issue(t, jwtTestNow)) // the next request, in the same buffer
	if _, ok := f.issuer.verified.cur[token]; !ok {
		t.Error("the token verified is not remembered as it was: its key changed with the caller's buffer")
	}
	// Remembered from the older generation, it moves to the newer one.
	v := f.issuer.verified
	v.prev, v.cur = v.cur, nil
	copy(buf, token)
	if _, err := f.issuer.Verify(unsafe.String(&buf[0], len(buf)), jwtTestNow); err != nil {
		t.Fatal(err)
	}
	copy(buf, f.issue(t, jwtTestNow))
	if _, ok := v.cur[token]; !ok {
		t.Error("the token moved to the newer generation is not remembered as it was")
	}
}

// TestVerify_RemembersABoundedNumberOfTokens: the remembered tokens stay
// within two generations however many are verified, and a token forgotten
// is verified by its signature again.
func TestVerify_RemembersABoundedNumberOfTokens(t *testing.T) {
	f := newJWTTestFixture(t)
	v := f.issuer.verified
	v.kept = 16 // verifiedTokensKept's 8,193 tokens took 20 s under the race detector
	first := f.issue(t, jwtTestNow)
	if _, err := f.issuer.Verify(first, jwtTestNow); err != nil {
		t.Fatal(err)
	}
	for range 2*v.kept + 1 {
		if _, err := f.issuer.Verify(f.issue(t, jwtTestNow), jwtTestNow); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(v.cur) + len(v.prev); n > 2*v.kept {
		t.Errorf("%d tokens remembered, want at most %d", n, 2*v.kept)
	}
	if _, ok := v.cur[first]; ok {
		t.Error("the first token is still remembered")
	} else if _, ok := v.prev[first]; ok {
		t.Error("the first token is still remembered")
	}
	if _, err := f.issuer.Verify(first, jwtTestNow); err != nil {
		t.Errorf("a token verified first and forgotten since: %v", err)
	}
	forged := f.sign(t, func(_ map[string]any, c jwt.MapClaims) { c["sub"] = "someone-else" })
	forged = forged[:strings.LastIndexByte(forged, '.')] + first[strings.LastIndexByte(first, '.'):]
	if _, err := f.issuer.Verify(forged, jwtTestNow); !errors.Is(err, jwt.ErrTokenSignatureInvalid) {
		t.Errorf("other claims under a remembered token's signature: %v", err)
	}
}

func TestTokenIssuer_IsSafeForConcurrentUse(t *testing.T) {
	f := newJWTTestFixture(t)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			for range 50 {
				token, _, err := f.issuer.Issue(jwtTestSubject, jwtTestSession, jwtTestNow)
				if err == nil {
					_, err = f.issuer.Verify(token, jwtTestNow)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// The forged-token cases above build on the library's signing; this checks
// that the fixture's key really is the one Issue uses, so "same kid,
// different key" differs from a genuine token only in its key.
func TestJWTTestFixture_SignsLikeIssue(t *testing.T) {
	f := newJWTTestFixture(t)
	if _, err := f.issuer.Verify(f.sign(t, nil), jwtTestNow); err != nil {
		t.Fatalf("fixture-signed token refused: %v", err)
	}
	if !bytes.Equal(f.keys.signer().Public().(ed25519.PublicKey), f.key.public) {
		t.Fatal("fixture key is not the issuer's signing key")
	}
}

// BenchmarkVerify: a token's first use, whose signature is checked, beside
// its uses after that, which find it remembered (see verifiedTokens).
func BenchmarkVerify(b *testing.B) {
	key := newSigningKeysTestKey(b)
	issuer, err := NewTokenIssuer(signingKeysTestParse(b, key.privatePEM), jwtTestIssuer, jwtTestAudience, 0)
	if err != nil {
		b.Fatal(err)
	}
	token, _, err := issuer.Issue(jwtTestSubject, jwtTestSession, jwtTestNow)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("first_use", func(b *testing.B) {
		for b.Loop() {
			issuer.verified = &verifiedTokens{kept: verifiedTokensKept}
			if _, err := issuer.Verify(token, jwtTestNow); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("remembered", func(b *testing.B) {
		for b.Loop() {
			if _, err := issuer.Verify(token, jwtTestNow); err != nil {
				b.Fatal(err)
			}
		}
	})
}
