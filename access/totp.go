package access

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base32"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"
	"github.com/pquerna/otp/totp"
)

// TOTP settings every authenticator app supports (RFC 6238 defaults as
// Google Authenticator reads them): SHA-1, six digits, 30-second steps, and
// the 160-bit secret RFC 4226 recommends.
const (
	totpPeriodSeconds = 30
	totpDigits        = otp.DigitsSix
	totpSecretSize    = 20
	// One step either side absorbs clock drift and the time it takes to type
	// the code, without widening the window for a guessed code much.
	totpSkewSteps = 1
	// RFC 4226 §4 requires at least 128 bits of shared secret.
	totpMinSecretSize = 16
	// Longer input than any sane spacing of six digits is refused unread.
	totpMaxCodeInput = 32
)

var (
	// ErrTOTPInvalid is a code that is malformed or matches no step in the
	// window.
	ErrTOTPInvalid = errors.New("access: invalid one-time code")

	// ErrTOTPReused is a correct code for a step at or before the last one
	// used: a replay, refused as RFC 6238 §5.2 asks. It is also an
	// ErrTOTPInvalid, so a caller that checks only that refuses it too.
	ErrTOTPReused = fmt.Errorf("%w: already used", ErrTOTPInvalid)

	// ErrTOTPSecretInvalid means the stored secret is unusable: a fault of
	// the stored data, not of the user's code.
	ErrTOTPSecretInvalid = errors.New("access: invalid stored TOTP secret")

	// ErrTOTPLabelInvalid means an issuer or account name cannot go into a
	// provisioning URI: empty, or containing the ':' that separates them.
	ErrTOTPLabelInvalid = errors.New("access: TOTP issuer and account name must be non-empty and contain no ':'")
)

var totpCodeOptions = hotp.ValidateOpts{Digits: totpDigits, Algorithm: otp.AlgorithmSHA1}

// NewTOTPKey makes a fresh secret for one account and the otpauth:// URI that
// an authenticator app reads from a QR code. The secret is unpadded base32;
// store it as ValidateTOTP expects it back.
func NewTOTPKey(issuer, accountName string) (secret, provisioningURI string, err error) {
	return newTOTPKey(rand.Reader, issuer, accountName)
}

func newTOTPKey(random io.Reader, issuer, accountName string) (secret, provisioningURI string, err error) {
	if issuer == "" || accountName == "" || strings.Contains(issuer, ":") || strings.Contains(accountName, ":") {
		return "", "", ErrTOTPLabelInvalid
	}
	key, err := totp.Generate(totp.GenerateOpts{
		Issuer:      issuer,
		AccountName: accountName,
		Period:      totpPeriodSeconds,
		SecretSize:  totpSecretSize,
		Digits:      totpDigits,
		Algorithm:   otp.AlgorithmSHA1,
		Rand:        random,
	})
	if err != nil {
		return "", "", fmt.Errorf("access: new TOTP key: %w", err)
	}
	return key.Secret(), key.URL(), nil
}

// ValidateTOTP checks a code typed by the user at time now. It accepts the
// current step and one either side, and returns the step that matched; the
// caller stores it and passes it back as lastUsedStep next time (0 before
// the first use), so that no step is ever accepted twice.
//
// Each candidate step is generated and compared in constant time rather
// than through totp.ValidateCustom, which does not say which step matched.
func ValidateTOTP(secret, code string, now time.Time, lastUsedStep int64) (step int64, err error) {
	if err := checkTOTPSecret(secret); err != nil {
		return 0, err
	}
	code, ok := normalizeTOTPCode(code)
	if !ok {
		return 0, ErrTOTPInvalid
	}

	current := now.Unix() / totpPeriodSeconds
	matched := int64(-1)
	for s := current - totpSkewSteps; s <= current+totpSkewSteps; s++ {
		if s < 0 {
			continue
		}
		want, err := hotp.GenerateCodeCustom(secret, uint64(s), totpCodeOptions)
		if err != nil {
			return 0, fmt.Errorf("%w: %w", ErrTOTPSecretInvalid, err)
		}
		// No early exit, and the latest match wins: should one code match
		// two steps, storing the later one keeps both from being replayed.
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			matched = s
		}
	}
	switch {
	case matched < 0:
		return 0, ErrTOTPInvalid
	case matched <= lastUsedStep:
		return 0, ErrTOTPReused
	}
	return matched, nil
}

// checkTOTPSecret decodes the secret as pquerna/otp will (any case, padding
// optional) and refuses one too short to be a real shared secret: an empty
// secret would otherwise give valid-looking codes anyone can compute.
func checkTOTPSecret(secret string) error {
	s := strings.ToUpper(strings.TrimRight(strings.TrimSpace(secret), "="))
	raw, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(s)
	if err != nil {
		return fmt.Errorf("%w: not base32", ErrTOTPSecretInvalid)
	}
	if len(raw) < totpMinSecretSize {
		return fmt.Errorf("%w: shorter than %d bytes", ErrTOTPSecretInvalid, totpMinSecretSize)
	}
	return nil
}

// normalizeTOTPCode drops the spaces people type or paste ("123 456") and
// accepts exactly six ASCII digits; other Unicode digits are refused, as no
// authenticator shows them.
func normalizeTOTPCode(code string) (string, bool) {
	if len(code) > totpMaxCodeInput {
		return "", false
	}
	code = strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return r
	}, code)
	if len(code) != totpDigits.Length() {
		return "", false
	}
	for i := range len(code) {
		if code[i] < '0' || code[i] > '9' {
			return "", false
		}
	}
	return code, true
}
