package access

import (
	"bytes"
	"errors"
	"io"
	"regexp"
	"strings"
	"testing"
	"testing/iotest"
)

var recoveryCodeShape = regexp.MustCompile(`^[2-9a-hjkmnp-z]{5}-[2-9a-hjkmnp-z]{5}$`)

func mustRecoveryCodes(t *testing.T, n int) (plain, hashes []string) {
	t.Helper()
	plain, hashes, err := NewRecoveryCodes(n)
	if err != nil {
		t.Fatal(err)
	}
	if len(plain) != n || len(hashes) != n {
		t.Fatalf("got %d codes and %d hashes, want %d of each", len(plain), len(hashes), n)
	}
	return plain, hashes
}

func TestNewRecoveryCodes_AreReadableUniqueAndMatchTheirOwnIndex(t *testing.T) {
	plain, hashes := mustRecoveryCodes(t, 10)
	seenCode, seenHash := map[string]bool{}, map[string]bool{}
	for i, code := range plain {
		if !recoveryCodeShape.MatchString(code) {
			t.Errorf("code %q is not xxxxx-xxxxx from the unambiguous alphabet", code)
		}
		if strings.ContainsAny(code, "01oOlIi") {
			t.Errorf("code %q has an ambiguous character", code)
		}
		if seenCode[code] || seenHash[hashes[i]] {
			t.Errorf("code %q or its hash repeats", code)
		}
		seenCode[code], seenHash[hashes[i]] = true, true
		if strings.Contains(hashes[i], strings.ReplaceAll(code, "-", "")) {
			t.Errorf("stored hash %q contains the code", hashes[i])
		}
		if got, ok := MatchRecoveryCode(hashes, code); !ok || got != i {
			t.Errorf("MatchRecoveryCode(%q) = %d, %v; want %d, true", code, got, ok, i)
		}
	}
}

func TestNewRecoveryCodes_RefusesCountOutOfRange(t *testing.T) {
	for _, n := range []int{-1, 0, recoveryCodeMaxCount + 1} {
		if plain, hashes, err := NewRecoveryCodes(n); err == nil || plain != nil || hashes != nil {
			t.Fatalf("NewRecoveryCodes(%d) = %v, %v, %v; want an error and nothing else", n, plain, hashes, err)
		}
	}
}

func TestNewRecoveryCodes_FailsWhenRandomnessFails(t *testing.T) {
	boom := errors.New("no entropy")
	tests := []struct {
		name   string
		random []byte // available before the failure
	}{
		{"before the first code", nil},
		{"before the first salt", bytes.Repeat([]byte{7}, 12)},
		{"before the second code", bytes.Repeat([]byte{7}, 12+recoveryCodeSaltSize)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			random := io.MultiReader(bytes.NewReader(tt.random), iotest.ErrReader(boom))
			plain, hashes, err := newRecoveryCodes(random, 2)
			if !errors.Is(err, boom) || plain != nil || hashes != nil {
				t.Fatalf("newRecoveryCodes = %v, %v, %v; want nothing and wrapped %v", plain, hashes, err, boom)
			}
		})
	}
}

func TestNewRecoveryCodes_DropsBytesThatWouldBiasTheAlphabet(t *testing.T) {
	// 248..255 would make the first 8 symbols likelier if taken modulo 31;
	// they must be skipped, so the code starts at byte 0 = '2'.
	random := append([]byte{248, 249, 250, 251, 252, 253, 254, 255}, []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 30, 31, 62}...)
	random = append(random, make([]byte, 64)...)
	plain, _, err := newRecoveryCodes(bytes.NewReader(random), 1)
	if err != nil {
		t.Fatal(err)
	}
	if want := "23456-789ab"; plain[0] != want {
		t.Fatalf("code = %q, want %q", plain[0], want)
	}

	// 247 is the last byte kept: 247 % 31 = 30, the last symbol.
	random = append(bytes.Repeat([]byte{247}, recoveryCodeLength), make([]byte, 64)...)
	if plain, _, err = newRecoveryCodes(bytes.NewReader(random), 1); err != nil || plain[0] != "zzzzz-zzzzz" {
		t.Fatalf("code = %v, %v; want zzzzz-zzzzz", plain, err)
	}
}

func TestMatchRecoveryCode_IgnoresCaseDashesAndSpaces(t *testing.T) {
	plain, hashes := mustRecoveryCodes(t, 3)
	code := plain[1]
	bare := strings.ReplaceAll(code, "-", "")
	for _, typed := range []string{
		code,
		strings.ToUpper(code),
		bare,
		strings.ToUpper(bare),
		" " + code + "\n",
		bare[:3] + " " + bare[3:6] + " " + bare[6:],
		bare[:5] + " - " + bare[5:],
		"-" + bare + "-",
	} {
		if got, ok := MatchRecoveryCode(hashes, typed); !ok || got != 1 {
			t.Errorf("MatchRecoveryCode(%q) = %d, %v; want 1, true", typed, got, ok)
		}
	}
}

func TestMatchRecoveryCode_RefusesWhatIsNotAStoredCode(t *testing.T) {
	plain, hashes := mustRecoveryCodes(t, 3)
	otherPlain, _ := mustRecoveryCodes(t, 1)
	bare := strings.ReplaceAll(plain[0], "-", "")
	tests := []struct {
		name   string
		hashes []string
		code   string
	}{
		{"another set's code", hashes, otherPlain[0]},
		{"empty", hashes, ""},
		{"one character short", hashes, bare[:9]},
		{"one character long", hashes, bare + "a"},
		{"ambiguous character", hashes, "0" + bare[1:]},
		{"other punctuation", hashes, bare[:5] + "_" + bare[5:]},
		{"very long", hashes, strings.Repeat(" ", 100) + bare},
		{"no stored codes", nil, plain[0]},
		{"only burned entries", []string{"", "", ""}, plain[0]},
		{"stored as bare SHA-256", []string{"3a7bd3e2360a3d29eea436fcfb7e44c735d117c42d1c1835420b6b9942dd4f1b"}, plain[0]},
		{"stored with another scheme", []string{strings.Replace(hashes[0], "sha256$", "md5$", 1)}, plain[0]},
		{"stored salt not hex", []string{"sha256$" + strings.Repeat("zz", 16) + hashes[0][len("sha256$")+32:]}, plain[0]},
		{"stored digest truncated", []string{hashes[0][:len(hashes[0])-2]}, plain[0]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, ok := MatchRecoveryCode(tt.hashes, tt.code); ok || got != -1 {
				t.Fatalf("MatchRecoveryCode = %d, %v; want -1, false", got, ok)
			}
		})
	}
}

func TestMatchRecoveryCode_BurnedCodeNoLongerMatches(t *testing.T) {
	plain, hashes := mustRecoveryCodes(t, 3)
	i, ok := MatchRecoveryCode(hashes, plain[2])
	if !ok || i != 2 {
		t.Fatalf("MatchRecoveryCode = %d, %v; want 2, true", i, ok)
	}
	hashes[i] = ""
	if i, ok := MatchRecoveryCode(hashes, plain[2]); ok {
		t.Fatalf("burned code still matches at %d", i)
	}
	if i, ok := MatchRecoveryCode(hashes, plain[0]); !ok || i != 0 {
		t.Fatalf("other codes stop matching after a burn: %d, %v", i, ok)
	}
}

func TestMatchRecoveryCode_ReportsFirstOfDuplicateEntries(t *testing.T) {
	plain, hashes := mustRecoveryCodes(t, 2)
	stored := []string{hashes[1], hashes[0], hashes[0]}
	if i, ok := MatchRecoveryCode(stored, plain[0]); !ok || i != 1 {
		t.Fatalf("MatchRecoveryCode = %d, %v; want 1, true", i, ok)
	}
}
