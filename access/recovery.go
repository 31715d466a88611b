package access

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
	"unicode"
)

// Recovery codes are read off paper and typed by hand, so the alphabet has
// no 0/o, 1/l or i, and a single case: 31 symbols, ~4.95 bits each. Ten of
// them give ~49.5 bits per code.
const (
	recoveryCodeAlphabet = "23456789abcdefghjkmnpqrstuvwxyz"
	recoveryCodeLength   = 10
	recoveryCodeGroup    = 5 // shown as xxxxx-xxxxx
	recoveryCodeMaxCount = 100
	recoveryCodeMaxInput = 64 // more than any spacing of one code; refused unread
	recoveryCodeSaltSize = 16
	recoveryCodeScheme   = "sha256"
)

// recoveryCodeAcceptBelow is the largest multiple of the alphabet size that
// fits in a byte; bytes at or above it are dropped so that every symbol is
// equally likely.
const recoveryCodeAcceptBelow = 256 - 256%len(recoveryCodeAlphabet)

// NewRecoveryCodes makes n one-time MFA recovery codes. plain is shown to
// the user once, as xxxxx-xxxxx; hashes is what to store, index for index.
//
// A stored hash is "sha256$<salt hex>$<digest hex>", the digest being
// SHA-256(salt ‖ normalized code). A fast hash is enough because the codes
// are random, not chosen by people: a slow hash earns its cost by making
// likely human guesses expensive, and here there are none to try first, so
// someone holding the stored hashes must search about 2^48 codes for each
// entry, and even then holds only a second factor, useless without the
// account's password. The per-code salt is what matters: without it one
// guess would be tried against every stored code of every user at once, and
// with tens of thousands of codes stored some would fall within seconds.
func NewRecoveryCodes(n int) (plain, hashes []string, err error) {
	return newRecoveryCodes(rand.Reader, n)
}

func newRecoveryCodes(random io.Reader, n int) (plain, hashes []string, err error) {
	if n < 1 || n > recoveryCodeMaxCount {
		return nil, nil, fmt.Errorf("access: recovery code count %d not in 1..%d", n, recoveryCodeMaxCount)
	}
	plain = make([]string, 0, n)
	hashes = make([]string, 0, n)
	for range n {
		code, err := randomRecoveryCode(random)
		if err != nil {
			return nil, nil, err
		}
		salt := make([]byte, recoveryCodeSaltSize)
		if _, err := io.ReadFull(random, salt); err != nil {
			return nil, nil, fmt.Errorf("access: recovery code salt: %w", err)
		}
		plain = append(plain, code[:recoveryCodeGroup]+"-"+code[recoveryCodeGroup:])
		digest := recoveryCodeDigest(salt, code)
		hashes = append(hashes, recoveryCodeScheme+"$"+hex.EncodeToString(salt)+"$"+hex.EncodeToString(digest[:]))
	}
	return plain, hashes, nil
}

func randomRecoveryCode(random io.Reader) (string, error) {
	code := make([]byte, 0, recoveryCodeLength)
	buf := make([]byte, recoveryCodeLength+recoveryCodeLength/4)
	for len(code) < recoveryCodeLength {
		if _, err := io.ReadFull(random, buf); err != nil {
			return "", fmt.Errorf("access: recovery code: %w", err)
		}
		for _, b := range buf {
			if int(b) < recoveryCodeAcceptBelow && len(code) < recoveryCodeLength {
				code = append(code, recoveryCodeAlphabet[int(b)%len(recoveryCodeAlphabet)])
			}
		}
	}
	return string(code), nil
}

func recoveryCodeDigest(salt []byte, normalized string) [sha256.Size]byte {
	return sha256.Sum256(append(append(make([]byte, 0, len(salt)+len(normalized)), salt...), normalized...))
}

// MatchRecoveryCode reports which stored hash, if any, the typed code
// matches, so that the caller can burn that entry (for example by replacing
// it with ""; entries that do not parse never match). Case, dashes and
// spaces are ignored. Every entry is hashed and compared in constant time,
// with no early exit, so the time taken says nothing about where a match is.
func MatchRecoveryCode(hashes []string, code string) (index int, ok bool) {
	normalized, valid := normalizeRecoveryCode(code)
	if !valid {
		return -1, false
	}
	matched := 0
	for i, stored := range hashes {
		salt, want, parsed := parseRecoveryCodeHash(stored)
		got := recoveryCodeDigest(salt, normalized)
		eq := subtle.ConstantTimeCompare(got[:], want) & parsed
		index = subtle.ConstantTimeSelect(eq&^matched, i, index)
		matched |= eq
	}
	if matched == 0 {
		return -1, false
	}
	return index, true
}

// parseRecoveryCodeHash returns a zero salt and digest with parsed 0 for an
// entry it cannot read, so that MatchRecoveryCode does the same work for it.
func parseRecoveryCodeHash(stored string) (salt, digest []byte, parsed int) {
	salt, digest = make([]byte, recoveryCodeSaltSize), make([]byte, sha256.Size)
	scheme, rest, ok1 := strings.Cut(stored, "$")
	saltHex, digestHex, ok2 := strings.Cut(rest, "$")
	if !ok1 || !ok2 || scheme != recoveryCodeScheme ||
		hex.DecodedLen(len(saltHex)) != recoveryCodeSaltSize || hex.DecodedLen(len(digestHex)) != sha256.Size {
		return salt, digest, 0
	}
	if _, err := hex.Decode(salt, []byte(saltHex)); err != nil {
		return salt, digest, 0
	}
	if _, err := hex.Decode(digest, []byte(digestHex)); err != nil {
		return salt, digest, 0
	}
	return salt, digest, 1
}

// normalizeRecoveryCode lowercases and drops dashes and spaces, then
// requires exactly a code's length of alphabet symbols.
func normalizeRecoveryCode(code string) (string, bool) {
	if len(code) > recoveryCodeMaxInput {
		return "", false
	}
	code = strings.Map(func(r rune) rune {
		if r == '-' || unicode.IsSpace(r) {
			return -1
		}
		return unicode.ToLower(r)
	}, code)
	if len(code) != recoveryCodeLength {
		return "", false
	}
	for i := range len(code) {
		if strings.IndexByte(recoveryCodeAlphabet, code[i]) < 0 {
			return "", false
		}
	}
	return code, true
}
