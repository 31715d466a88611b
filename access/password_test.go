package access

import (
	"errors"
	"strings"
	"testing"
	"testing/iotest"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
)

// Made with the reference implementation (Debian package argon2):
//
//	echo -n password | argon2 somesaltsomesalt -id -t 2 -k 19456 -p 1 -l 32 -e
//	echo -n "correct horse battery staple" | argon2 bevis-test-salt -id -t 2 -m 12 -p 1 -l 32 -e
const (
	referenceHashCurrent = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$K13EBUiG7JV+9ZxztmHFTdb7J0WQsnj2V8bZaqyPptE"
	referenceHashWeak    = "$argon2id$v=19$m=4096,t=2,p=1$YmV2aXMtdGVzdC1zYWx0$JhekKGNEosj0eZxwowLg+6DI1o+tHgcduvUFKckfy5o"
)

func TestHashPassword_MatchesReferenceImplementation(t *testing.T) {
	got, err := hashPassword(strings.NewReader("somesaltsomesalt"), "password")
	if err != nil {
		t.Fatal(err)
	}
	if got != referenceHashCurrent {
		t.Fatalf("hash = %s, want %s", got, referenceHashCurrent)
	}
}

func TestHashPassword_UsesFreshSaltEachTime(t *testing.T) {
	a, err := HashPassword("correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	b, err := HashPassword("correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	if a == b {
		t.Fatal("two hashes of one password are equal: salt is not random")
	}
	if !strings.HasPrefix(a, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("hash %s does not carry the current parameters", a)
	}
	for _, h := range []string{a, b} {
		if ok, err := VerifyPassword(h, "correct horse battery staple"); err != nil || !ok {
			t.Fatalf("VerifyPassword(own hash) = %v, %v", ok, err)
		}
	}
}

func TestHashPassword_FailsWhenRandomnessFails(t *testing.T) {
	boom := errors.New("no entropy")
	got, err := hashPassword(iotest.ErrReader(boom), "correct horse battery staple")
	if !errors.Is(err, boom) || got != "" {
		t.Fatalf("hashPassword = %q, %v; want empty and wrapped %v", got, err, boom)
	}
}

func TestVerifyPassword_ChecksPasswordAgainstStoredHash(t *testing.T) {
	tests := []struct {
		name     string
		encoded  string
		password string
		want     bool
	}{
		{"reference hash, right password", referenceHashCurrent, "password", true},
		{"reference hash, wrong password", referenceHashCurrent, "Password", false},
		{"reference hash, empty password", referenceHashCurrent, "", false},
		{"older weaker parameters still verify", referenceHashWeak, "correct horse battery staple", true},
		{"older weaker parameters, wrong password", referenceHashWeak, "correct horse battery stapler", false},
		{"password longer than any valid one", referenceHashCurrent, strings.Repeat("a", passwordMaxBytes+1), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := VerifyPassword(tt.encoded, tt.password)
			if err != nil {
				t.Fatalf("VerifyPassword: %v", err)
			}
			if got != tt.want {
				t.Fatalf("VerifyPassword = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestVerifyPassword_RejectsUnusableStoredHash(t *testing.T) {
	const salt, key = "c29tZXNhbHRzb21lc2FsdA", "K13EBUiG7JV+9ZxztmHFTdb7J0WQsnj2V8bZaqyPptE"
	tests := []struct {
		name    string
		encoded string
	}{
		{"empty", ""},
		{"not PHC", "password"},
		{"bcrypt", "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"},
		{"argon2i", "$argon2i$v=19$m=19456,t=2,p=1$" + salt + "$" + key},
		{"argon2d", "$argon2d$v=19$m=19456,t=2,p=1$" + salt + "$" + key},
		{"version 1.0", "$argon2id$v=16$m=19456,t=2,p=1$" + salt + "$" + key},
		{"version missing", "$argon2id$m=19456,t=2,p=1$" + salt + "$" + key},
		{"too few fields", "$argon2id$v=19$m=19456,t=2,p=1$" + salt},
		{"too many fields", "$argon2id$v=19$m=19456,t=2,p=1$" + salt + "$" + key + "$x"},
		{"text before first $", "x$argon2id$v=19$m=19456,t=2,p=1$" + salt + "$" + key},
		{"parameters out of order", "$argon2id$v=19$t=2,m=19456,p=1$" + salt + "$" + key},
		{"parameter missing", "$argon2id$v=19$m=19456,t=2$" + salt + "$" + key},
		{"extra parameter", "$argon2id$v=19$m=19456,t=2,p=1,keyid=x$" + salt + "$" + key},
		{"memory not a number", "$argon2id$v=19$m=lots,t=2,p=1$" + salt + "$" + key},
		{"memory with sign", "$argon2id$v=19$m=+19456,t=2,p=1$" + salt + "$" + key},
		{"memory over 1 GiB", "$argon2id$v=19$m=1048577,t=1,p=1$" + salt + "$" + key},
		{"memory overflowing uint32", "$argon2id$v=19$m=4294967296,t=1,p=1$" + salt + "$" + key},
		{"memory below 8 KiB per lane", "$argon2id$v=19$m=15,t=2,p=2$" + salt + "$" + key},
		{"time zero", "$argon2id$v=19$m=19456,t=0,p=1$" + salt + "$" + key},
		{"time over 100", "$argon2id$v=19$m=19456,t=101,p=1$" + salt + "$" + key},
		{"memory times time over the work bound", "$argon2id$v=19$m=1048576,t=5,p=1$" + salt + "$" + key},
		{"parallelism zero", "$argon2id$v=19$m=19456,t=2,p=0$" + salt + "$" + key},
		{"parallelism over 255", "$argon2id$v=19$m=19456,t=2,p=256$" + salt + "$" + key},
		{"salt padded", "$argon2id$v=19$m=19456,t=2,p=1$" + salt + "==$" + key},
		{"salt not base64", "$argon2id$v=19$m=19456,t=2,p=1$!!!!$" + key},
		{"salt too short", "$argon2id$v=19$m=19456,t=2,p=1$YWJj$" + key},
		{"key empty", "$argon2id$v=19$m=19456,t=2,p=1$" + salt + "$"},
		{"key too short", "$argon2id$v=19$m=19456,t=2,p=1$" + salt + "$YWJjZGVmZ2g"},
		{"key not canonical base64", "$argon2id$v=19$m=19456,t=2,p=1$" + salt + "$K13EBUiG7JV+9ZxztmHFTdb7J0WQsnj2V8bZaqyPptF"},
		{"absurdly long", "$argon2id$v=19$m=19456,t=2,p=1$" + strings.Repeat("A", 300) + "$" + key},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, err := VerifyPassword(tt.encoded, "password")
			if !errors.Is(err, ErrPasswordHashInvalid) {
				t.Fatalf("VerifyPassword error = %v, want ErrPasswordHashInvalid", err)
			}
			if ok {
				t.Fatal("VerifyPassword accepted an unusable hash")
			}
			if strings.Contains(err.Error(), salt) || strings.Contains(err.Error(), key) {
				t.Fatalf("error %q repeats the stored hash", err)
			}
		})
	}
}

func TestNeedsRehash_WhenWeakerThanCurrent(t *testing.T) {
	const salt16, key32 = "c29tZXNhbHRzb21lc2FsdA", "K13EBUiG7JV+9ZxztmHFTdb7J0WQsnj2V8bZaqyPptE"
	tests := []struct {
		name    string
		encoded string
		want    bool
	}{
		{"current parameters", referenceHashCurrent, false},
		{"freshly made", mustHashPassword(t, "correct horse battery staple"), false},
		{"less memory", referenceHashWeak, true},
		{"fewer passes", "$argon2id$v=19$m=19456,t=1,p=1$" + salt16 + "$" + key32, true},
		{"shorter salt", "$argon2id$v=19$m=19456,t=2,p=1$YmV2aXMtc2FsdA$" + key32, true},
		{"shorter key", "$argon2id$v=19$m=19456,t=2,p=1$" + salt16 + "$YWJjZGVmZ2hpamtsbW5vcA", true},
		{"more memory and passes", "$argon2id$v=19$m=65536,t=3,p=4$" + salt16 + "$" + key32, false},
		{"unusable", "$argon2i$v=19$m=19456,t=2,p=1$" + salt16 + "$" + key32, true},
		{"empty", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := NeedsRehash(tt.encoded); got != tt.want {
				t.Fatalf("NeedsRehash = %v, want %v", got, tt.want)
			}
		})
	}
}

// kdfCall records one argon2id derivation's cost parameters.
type kdfCall struct {
	time, memory uint32
	threads      uint8
	keyLen       uint32
}

// countingKDF runs the real argon2id and records each call, so the test
// sees the work a path really does, not a stand-in.
func countingKDF(calls *[]kdfCall) passwordKDF {
	return func(password, salt []byte, time, memory uint32, threads uint8, keyLen uint32) []byte {
		*calls = append(*calls, kdfCall{time, memory, threads, keyLen})
		return argon2.IDKey(password, salt, time, memory, threads, keyLen)
	}
}

func TestVerifyPasswordOrDummy_CostsOneCurrentDerivationOnEveryPath(t *testing.T) {
	current := kdfCall{passwordTime, passwordMemoryKiB, passwordThreads, passwordKeyBytes}
	stored := mustHashPassword(t, "correct horse battery staple")
	tests := []struct {
		name     string
		encoded  string
		password string
		wantOK   bool
		wantErr  error
	}{
		{"unknown user", "", "correct horse battery staple", false, nil},
		{"wrong password", stored, "wrong horse battery staple", false, nil},
		{"right password", stored, "correct horse battery staple", true, nil},
		{"unusable stored hash", "$argon2i$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$K13EBUiG7JV+9ZxztmHFTdb7J0WQsnj2V8bZaqyPptE", "x", false, ErrPasswordHashInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls []kdfCall
			ok, err := verifyPasswordOrDummy(countingKDF(&calls), tt.encoded, tt.password)
			if ok != tt.wantOK || !errors.Is(err, tt.wantErr) {
				t.Fatalf("verifyPasswordOrDummy = %v, %v; want %v, %v", ok, err, tt.wantOK, tt.wantErr)
			}
			if len(calls) != 1 || calls[0] != current {
				t.Fatalf("derivations = %+v, want exactly one with %+v", calls, current)
			}
		})
	}
}

func TestVerifyPasswordOrDummy_NeverAcceptsUnknownUser(t *testing.T) {
	// The dummy key is all zeros; make sure no trivial password is special.
	for _, password := range []string{"", "password", "bevis-dummy-salt", dummyPasswordHash()} {
		if ok, err := VerifyPasswordOrDummy("", password); ok || err != nil {
			t.Fatalf("VerifyPasswordOrDummy(\"\", %q) = %v, %v", password, ok, err)
		}
	}
}

func TestDummyPasswordHash_HasCurrentParameters(t *testing.T) {
	p, salt, key, err := decodePasswordHash(dummyPasswordHash())
	if err != nil {
		t.Fatal(err)
	}
	if p != currentPasswordParams || len(salt) != passwordSaltBytes || len(key) != int(passwordKeyBytes) {
		t.Fatalf("dummy hash has %+v, salt %d, key %d; want the current parameters", p, len(salt), len(key))
	}
	if NeedsRehash(dummyPasswordHash()) {
		t.Fatal("dummy hash is weaker than current parameters")
	}
}

func TestValidateNewPassword_AppliesLengthAndBlocklist(t *testing.T) {
	tests := []struct {
		name     string
		password string
		want     error
	}{
		{"empty", "", ErrPasswordTooShort},
		{"11 characters", "abcdefghijk", ErrPasswordTooShort},
		{"12 characters", "tbq-vxk-plmr", nil},
		{"12 code points in more than 12 bytes", "blåbærsyltet", nil},
		{"11 code points in 12+ bytes", "blåbærsylte", ErrPasswordTooShort},
		{"passphrase with spaces", "correct horse battery staple", nil},
		{"256 characters", strings.Repeat("x7Q!", 64), nil},
		{"257 characters", strings.Repeat("x7Q!", 64) + "z", ErrPasswordTooLong},
		{"256 multibyte characters", strings.Repeat("ø", 256), nil},
		{"common", "123456789012", ErrPasswordCommon},
		{"common, any case", "PassWordPassWord", ErrPasswordCommon},
		{"common keyboard walk", "qwertyuiopasdf", ErrPasswordCommon},
		{"common season and year", "Summer2026!!", ErrPasswordCommon},
		{"common Norwegian season and year", "Sommer2025!!", ErrPasswordCommon},
		{"common leetspeak", "P@ssw0rd1234", ErrPasswordCommon},
		{"common welcome", "Welcome12345", ErrPasswordCommon},
		{"common changeme", "changeme1234", ErrPasswordCommon},
		{"common with surrounding text is fine", "my changeme1234 is long", nil},
		{"only spaces", strings.Repeat(" ", 12), ErrPasswordBlank},
		{"only whitespace", " \t\n\u00a0\u2003" + strings.Repeat(" ", 8), ErrPasswordBlank},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := ValidateNewPassword(tt.password); !errors.Is(err, tt.want) {
				t.Fatalf("ValidateNewPassword(%q) = %v, want %v", tt.password, err, tt.want)
			}
		})
	}
}

func TestValidateNewPasswordOf_RefusesTheOwnersAddressAndAgencyName(t *testing.T) {
	owner := PasswordOwner{Email: "kari.nordmann.ncsc@ncsc.example", AgencyName: "National Cyber Coordination Centre"}
	tests := []struct {
		name, password string
		want           error
	}{
		{"the address", "kari.nordmann.ncsc@ncsc.example", ErrPasswordIsEmail},
		{"the address, shouted and padded", "  KARI.NORDMANN.NCSC@NCSC.EXAMPLE ", ErrPasswordIsEmail},
		{"its local part", "Kari.Nordmann.NCSC", ErrPasswordIsEmail},
		{"the agency's name", "National Cyber Coordination Centre", ErrPasswordIsAgency},
		{"the agency's name without spaces", "nationalcybercoordinationcentre", ErrPasswordIsAgency},
		{"the general rules first", "short", ErrPasswordTooShort},
		{"more than the name", "National Cyber Coordination Centre 2026 rota", nil},
		{"another passphrase", "correct horse battery staple", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := ValidateNewPasswordOf(tt.password, owner); !errors.Is(err, tt.want) {
				t.Fatalf("ValidateNewPasswordOf(%q) = %v, want %v", tt.password, err, tt.want)
			}
		})
	}
}

func TestValidateNewPassword_MessagesStateTheLimits(t *testing.T) {
	for err, limit := range map[error]string{ErrPasswordTooShort: "12", ErrPasswordTooLong: "256"} {
		if !strings.Contains(err.Error(), limit) {
			t.Fatalf("%q does not mention the limit %s", err, limit)
		}
	}
}

func TestValidateNewPassword_LongestValidPasswordStillVerifies(t *testing.T) {
	password := strings.Repeat("\U0001F510", passwordMaxRunes) // 4 bytes each
	if err := ValidateNewPassword(password); err != nil {
		t.Fatal(err)
	}
	h := mustHashPassword(t, password)
	if ok, err := VerifyPassword(h, password); err != nil || !ok {
		t.Fatalf("VerifyPassword(longest valid password) = %v, %v", ok, err)
	}
}

func TestCommonPasswords_ListIsCanonical(t *testing.T) {
	lines := strings.Split(strings.TrimSuffix(commonPasswordsText, "\n"), "\n")
	if len(lines) < 300 {
		t.Fatalf("list has %d entries, want a few hundred at least", len(lines))
	}
	for i, line := range lines {
		switch {
		case line != strings.TrimSpace(line) || line == "":
			t.Fatalf("line %d %q has surrounding space or is empty", i+1, line)
		case line != strings.ToLower(line):
			t.Fatalf("line %d %q is not lowercase", i+1, line)
		case utf8.RuneCountInString(line) < passwordMinRunes:
			t.Fatalf("line %d %q is shorter than %d and so can never match", i+1, line, passwordMinRunes)
		case i > 0 && line <= lines[i-1]:
			t.Fatalf("line %d %q is not sorted after %q or is a duplicate", i+1, line, lines[i-1])
		}
	}
	if len(commonPasswords) != len(lines) {
		t.Fatalf("map has %d entries, file %d", len(commonPasswords), len(lines))
	}
}

func mustHashPassword(t *testing.T, password string) string {
	t.Helper()
	h, err := HashPassword(password)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// Run with -bench VerifyPasswordOrDummy: the two results should be close,
// which is the point of the dummy path.
func BenchmarkVerifyPasswordOrDummy(b *testing.B) {
	stored, err := HashPassword("correct horse battery staple")
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct{ name, encoded string }{
		{"UnknownUser", ""},
		{"WrongPassword", stored},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				_, _ = VerifyPasswordOrDummy(bc.encoded, "wrong horse battery staple")
			}
		})
	}
}
