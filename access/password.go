package access

import (
	"crypto/rand"
	"crypto/subtle"
	_ "embed"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
)

// Current argon2id parameters: the first of OWASP's equivalent
// recommendations (Password Storage Cheat Sheet), some 50 ms on one core.
// Raising them is safe at any time: NeedsRehash reports older hashes, and the
// login path rehashes them while it has the plain password.
const (
	passwordMemoryKiB uint32 = 19 * 1024
	passwordTime      uint32 = 2
	passwordThreads   uint8  = 1
	passwordSaltBytes        = 16
	passwordKeyBytes  uint32 = 32
)

// Bounds on parameters read back from a stored hash. A hash planted in the
// database (or restored from a hostile backup) must not make one login
// allocate gigabytes or spin for minutes.
const (
	passwordMaxMemoryKiB  = 1 << 20 // 1 GiB
	passwordMaxTime       = 100
	passwordMaxWorkKiB    = 4 << 20 // m·t: libsodium's "sensitive" 1 GiB × 4 passes, seconds per login
	passwordMinSaltBytes  = 8
	passwordMaxSaltBytes  = 64
	passwordMinKeyBytes   = 16
	passwordMaxKeyBytes   = 64
	passwordMaxHashLength = 256
)

// Rules for new passwords, after NIST SP 800-63B and OWASP: length and a
// blocklist, no composition rules. The upper bound keeps hashing work
// bounded; 256 code points of UTF-8 is at most 1024 bytes, so no password
// that passed ValidateNewPassword is ever refused by VerifyPassword.
const (
	passwordMinRunes = 12
	passwordMaxRunes = 256
	passwordMaxBytes = passwordMaxRunes * utf8.UTFMax
)

// The messages are meant to be shown to the person choosing the password.
var (
	ErrPasswordBlank    = errors.New("password is only spaces: choose one with other characters")
	ErrPasswordTooShort = errors.New("password is too short: use at least " + strconv.Itoa(passwordMinRunes) + " characters")
	ErrPasswordTooLong  = errors.New("password is too long: use at most " + strconv.Itoa(passwordMaxRunes) + " characters")
	ErrPasswordCommon   = errors.New("password is on a list of commonly used passwords: choose another")
	ErrPasswordIsEmail  = errors.New("password is your email address, or its part before the @: choose another")
	ErrPasswordIsAgency = errors.New("password is the name of your agency: choose another")
)

// ErrPasswordHashInvalid means a stored hash could not be used: malformed,
// another algorithm or version, or parameters out of bounds. It points at the
// stored data, not at the user's input; the wrapped detail never contains
// the hash or the password.
var ErrPasswordHashInvalid = errors.New("access: invalid stored password hash")

// common_passwords.txt holds passwords of 12 or more characters from
// well-known leaked-password lists, and the patterns they show: keyboard
// walks, a season or month with a year ("Summer2026!!", "Sommer2025!!"),
// "password" in leetspeak with digits. Shorter ones are refused by length
// anyway. One a line, lowercase, sorted, no duplicates: the test checks.
//
//go:embed common_passwords.txt
var commonPasswordsText string

// commonPasswords is read-only after init, so concurrent lookups are safe.
var commonPasswords = loadCommonPasswords(commonPasswordsText)

func loadCommonPasswords(text string) map[string]struct{} {
	set := make(map[string]struct{}, strings.Count(text, "\n")+1)
	for line := range strings.Lines(text) {
		if p := strings.TrimSpace(line); p != "" {
			set[p] = struct{}{}
		}
	}
	return set
}

// ValidateNewPassword refuses a password nobody may choose. Length is
// counted in Unicode code points, since that is what a person counts.
func ValidateNewPassword(password string) error {
	n := utf8.RuneCountInString(password)
	switch {
	case n < passwordMinRunes:
		return ErrPasswordTooShort
	case n > passwordMaxRunes:
		return ErrPasswordTooLong
	case strings.TrimSpace(password) == "":
		return ErrPasswordBlank
	}
	if _, common := commonPasswords[strings.ToLower(password)]; common {
		return ErrPasswordCommon
	}
	return nil
}

// PasswordOwner is whose new password is checked: the first guesses of
// anyone who knows them are their address and their agency's name.
type PasswordOwner struct {
	Email      string
	AgencyName string
}

// ValidateNewPasswordOf refuses a password owner may not choose: what
// ValidateNewPassword refuses, and their email address, its local part or
// their agency's name, compared without regard to case or spaces.
func ValidateNewPasswordOf(password string, owner PasswordOwner) error {
	if err := ValidateNewPassword(password); err != nil {
		return err
	}
	local, _, _ := strings.Cut(owner.Email, "@")
	switch typed := guessable(password); {
	case typed == guessable(owner.Email) || typed == guessable(local):
		return ErrPasswordIsEmail
	case typed == guessable(owner.AgencyName):
		return ErrPasswordIsAgency
	}
	return nil
}

// guessable folds s to what a guesser would try: lower case, no spaces.
func guessable(s string) string { return strings.ToLower(strings.Join(strings.Fields(s), "")) }

// passwordParams is what a PHC string records besides salt and key.
type passwordParams struct {
	memoryKiB uint32
	time      uint32
	threads   uint8
}

// productionPasswordParams are what HashPassword uses outside tests.
var productionPasswordParams = passwordParams{
	memoryKiB: passwordMemoryKiB,
	time:      passwordTime,
	threads:   passwordThreads,
}

// currentPasswordParams are what HashPassword uses now and what NeedsRehash
// compares with: productionPasswordParams, except in a test binary that
// asked for cheap hashing.
var currentPasswordParams = productionPasswordParams

// cheapPasswordParams are argon2id's smallest parameters: 8 KiB, one pass.
var cheapPasswordParams = passwordParams{memoryKiB: 8, time: 1, threads: 1}

// UseCheapPasswordHashingInTests makes HashPassword use argon2id's smallest
// parameters, so that fixtures creating and signing in dozens of people do
// not spend minutes (under the race detector) in key derivation. It refuses
// to run outside a test binary, so no production path can weaken hashing;
// the production parameters keep their own tests in this package. Call it
// from TestMain, before any goroutine hashes.
func UseCheapPasswordHashingInTests() {
	if !testing.Testing() {
		panic("access: UseCheapPasswordHashingInTests called outside a test binary")
	}
	currentPasswordParams = cheapPasswordParams
}

// passwordKDF has the signature of argon2.IDKey so that the timing-parity
// test can observe which derivations each login path performs.
type passwordKDF func(password, salt []byte, time, memory uint32, threads uint8, keyLen uint32) []byte

// deriveKey is the key derivation of every password hashed or checked:
// argon2id, which tests may observe through this seam.
var deriveKey passwordKDF = argon2.IDKey

// HashPassword returns the argon2id hash of password as a PHC string,
// $argon2id$v=19$m=19456,t=2,p=1$<salt>$<key>, which other argon2
// implementations can read too.
func HashPassword(password string) (string, error) {
	return hashPassword(rand.Reader, password)
}

func hashPassword(random io.Reader, password string) (string, error) {
	salt := make([]byte, passwordSaltBytes)
	if _, err := io.ReadFull(random, salt); err != nil {
		return "", fmt.Errorf("access: password salt: %w", err)
	}
	p := currentPasswordParams
	key, err := passwords.derive(deriveKey, []byte(password), salt, p.time, p.memoryKiB, p.threads, passwordKeyBytes)
	if err != nil {
		return "", err
	}
	return encodePasswordHash(p, salt, key), nil
}

func encodePasswordHash(p passwordParams, salt, key []byte) string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.memoryKiB, p.time, p.threads,
		base64.RawStdEncoding.EncodeToString(salt),
		base64.RawStdEncoding.EncodeToString(key))
}

// VerifyPassword reports whether password matches the stored hash. A
// mismatch is (false, nil); an unusable hash is ErrPasswordHashInvalid, a
// refusal of the gate ErrPasswordBusy.
func VerifyPassword(encoded, password string) (bool, error) {
	return verifyPassword(deriveKey, encoded, password)
}

func verifyPassword(kdf passwordKDF, encoded, password string) (bool, error) {
	p, salt, want, err := decodePasswordHash(encoded)
	if err != nil {
		return false, err
	}
	if len(password) > passwordMaxBytes {
		// No valid password is this long (see passwordMaxBytes), so refusing
		// without hashing reveals nothing and bounds the work of a request.
		return false, nil
	}
	keyLen := uint32(len(want)) //nolint:gosec // decodePasswordHash bounds it to passwordMaxKeyBytes
	got, err := passwords.derive(kdf, []byte(password), salt, p.time, p.memoryKiB, p.threads, keyLen)
	if err != nil {
		return false, err
	}
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// dummyPasswordHash has the current parameters and a key no password is
// known to produce. It is built from the parameters, not computed, so it
// costs nothing and always follows a change of parameters.
func dummyPasswordHash() string {
	return encodePasswordHash(currentPasswordParams, []byte("bevis-dummy-salt"), make([]byte, passwordKeyBytes))
}

// VerifyPasswordOrDummy is VerifyPassword for the login path. When the
// account does not exist (encoded == "") it still performs one argon2id
// derivation, against a dummy hash, and reports false, so that an unknown
// user name and a wrong password take the same time and cannot be told
// apart. An unusable stored hash also costs one derivation, and its error is
// returned for the log. ErrPasswordBusy means nothing was checked.
func VerifyPasswordOrDummy(encoded, password string) (bool, error) {
	return verifyPasswordOrDummy(deriveKey, encoded, password)
}

func verifyPasswordOrDummy(kdf passwordKDF, encoded, password string) (bool, error) {
	if encoded == "" {
		_, err := verifyPassword(kdf, dummyPasswordHash(), password)
		return false, err // nil, or ErrPasswordBusy
	}
	ok, err := verifyPassword(kdf, encoded, password)
	if err != nil && !errors.Is(err, ErrPasswordBusy) {
		if _, derr := verifyPassword(kdf, dummyPasswordHash(), password); derr != nil {
			return false, derr
		}
	}
	return ok && err == nil, err
}

// NeedsRehash reports whether a stored hash is weaker than what HashPassword
// makes now, so the login path should replace it. An unusable hash needs
// replacing too.
func NeedsRehash(encoded string) bool {
	p, salt, key, err := decodePasswordHash(encoded)
	if err != nil {
		return true
	}
	return p.memoryKiB < currentPasswordParams.memoryKiB ||
		p.time < currentPasswordParams.time ||
		len(salt) < passwordSaltBytes ||
		len(key) < int(passwordKeyBytes)
}

// decodePasswordHash parses $argon2id$v=19$m=M,t=T,p=P$salt$key strictly:
// the parameters in that order, unpadded canonical base64, and every value
// within bounds.
func decodePasswordHash(encoded string) (p passwordParams, salt, key []byte, err error) {
	if len(encoded) > passwordMaxHashLength {
		return p, nil, nil, fmt.Errorf("%w: longer than %d bytes", ErrPasswordHashInvalid, passwordMaxHashLength)
	}
	fields := strings.Split(encoded, "$")
	if len(fields) != 6 || fields[0] != "" {
		return p, nil, nil, fmt.Errorf("%w: not a PHC string of 5 fields", ErrPasswordHashInvalid)
	}
	if fields[1] != "argon2id" {
		return p, nil, nil, fmt.Errorf("%w: algorithm is not argon2id", ErrPasswordHashInvalid)
	}
	if fields[2] != "v="+strconv.Itoa(argon2.Version) {
		return p, nil, nil, fmt.Errorf("%w: version is not %d", ErrPasswordHashInvalid, argon2.Version)
	}

	values := strings.Split(fields[3], ",")
	if len(values) != 3 {
		return p, nil, nil, fmt.Errorf("%w: parameters are not m,t,p", ErrPasswordHashInvalid)
	}
	memory, err := passwordHashParam(values[0], "m", passwordMaxMemoryKiB)
	if err != nil {
		return p, nil, nil, err
	}
	iterations, err := passwordHashParam(values[1], "t", passwordMaxTime)
	if err != nil {
		return p, nil, nil, err
	}
	threads, err := passwordHashParam(values[2], "p", math.MaxUint8)
	if err != nil {
		return p, nil, nil, err
	}
	// Argon2 needs 8 KiB of memory per lane; x/crypto would silently raise a
	// smaller value, so such a hash was not made by a conforming encoder.
	if memory < 8*threads {
		return p, nil, nil, fmt.Errorf("%w: m below 8 KiB per lane", ErrPasswordHashInvalid)
	}
	if uint64(memory)*uint64(iterations) > passwordMaxWorkKiB {
		return p, nil, nil, fmt.Errorf("%w: m·t above %d", ErrPasswordHashInvalid, passwordMaxWorkKiB)
	}
	p = passwordParams{memoryKiB: memory, time: iterations, threads: uint8(threads)} //nolint:gosec // passwordHashParam bounds it to MaxUint8

	salt, err = base64.RawStdEncoding.Strict().DecodeString(fields[4])
	if err != nil || len(salt) < passwordMinSaltBytes || len(salt) > passwordMaxSaltBytes {
		return p, nil, nil, fmt.Errorf("%w: salt is not %d to %d bytes of base64",
			ErrPasswordHashInvalid, passwordMinSaltBytes, passwordMaxSaltBytes)
	}
	key, err = base64.RawStdEncoding.Strict().DecodeString(fields[5])
	if err != nil || len(key) < passwordMinKeyBytes || len(key) > passwordMaxKeyBytes {
		return p, nil, nil, fmt.Errorf("%w: key is not %d to %d bytes of base64",
			ErrPasswordHashInvalid, passwordMinKeyBytes, passwordMaxKeyBytes)
	}
	return p, salt, key, nil
}

// passwordHashParam reads "name=value" with value in 1..upper. ParseUint in
// base 10 takes neither a sign nor underscores, so only digits pass.
func passwordHashParam(field, name string, upper uint32) (uint32, error) {
	digits, found := strings.CutPrefix(field, name+"=")
	if !found {
		return 0, fmt.Errorf("%w: parameter %q missing", ErrPasswordHashInvalid, name)
	}
	v, err := strconv.ParseUint(digits, 10, 32)
	if err != nil || v < 1 || v > uint64(upper) {
		return 0, fmt.Errorf("%w: parameter %q not a number in 1..%d", ErrPasswordHashInvalid, name, upper)
	}
	return uint32(v), nil
}
