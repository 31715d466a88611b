package access

import (
	"encoding/base32"
	"errors"
	"net/url"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// The RFC 6238 appendix B SHA-1 secret, "12345678901234567890", in base32.
const rfc6238Secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"

// totpCodeAt is what an authenticator app shows at t, from pquerna's
// generator, independent of the step arithmetic under test.
func totpCodeAt(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	code, err := totp.GenerateCodeCustom(secret, at, totp.ValidateOpts{
		Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1,
	})
	if err != nil {
		t.Fatal(err)
	}
	return code
}

func TestValidateTOTP_AcceptsRFC6238Vectors(t *testing.T) {
	// Appendix B lists eight-digit codes; the six-digit code is the same
	// truncated value modulo 10^6, so its last six digits.
	tests := []struct {
		unix  int64
		rfc8  string
		code6 string
	}{
		{59, "94287082", "287082"},
		{1111111109, "07081804", "081804"},
		{1111111111, "14050471", "050471"},
		{1234567890, "89005924", "005924"},
		{2000000000, "69279037", "279037"},
		{20000000000, "65353130", "353130"},
	}
	for _, tt := range tests {
		t.Run(tt.rfc8, func(t *testing.T) {
			if !strings.HasSuffix(tt.rfc8, tt.code6) {
				t.Fatalf("bad vector: %s does not end in %s", tt.rfc8, tt.code6)
			}
			step, err := ValidateTOTP(rfc6238Secret, tt.code6, time.Unix(tt.unix, 0), 0)
			if err != nil {
				t.Fatalf("ValidateTOTP: %v", err)
			}
			if want := tt.unix / 30; step != want {
				t.Fatalf("step = %d, want %d", step, want)
			}
		})
	}
}

func TestValidateTOTP_AcceptsOneStepOfSkewAndReportsTheStep(t *testing.T) {
	now := time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC)
	current := now.Unix() / 30
	tests := []struct {
		name      string
		offset    int64 // steps from now at which the app made the code
		wantStep  int64
		wantError error
	}{
		{"current step", 0, current, nil},
		{"previous step", -1, current - 1, nil},
		{"next step", 1, current + 1, nil},
		{"two steps old", -2, 0, ErrTOTPInvalid},
		{"two steps ahead", 2, 0, ErrTOTPInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code := totpCodeAt(t, rfc6238Secret, now.Add(time.Duration(tt.offset)*30*time.Second))
			step, err := ValidateTOTP(rfc6238Secret, code, now, 0)
			if !errors.Is(err, tt.wantError) || step != tt.wantStep {
				t.Fatalf("ValidateTOTP = %d, %v; want %d, %v", step, err, tt.wantStep, tt.wantError)
			}
		})
	}
}

func TestValidateTOTP_RefusesReplayOfUsedStep(t *testing.T) {
	now := time.Unix(1111111111, 0)
	current := now.Unix() / 30
	tests := []struct {
		name         string
		codeOffset   int64
		lastUsedStep int64
		wantStep     int64
		wantError    error
	}{
		{"never used", 0, 0, current, nil},
		{"last use was earlier", 0, current - 1, current, nil},
		{"same code again", 0, current, 0, ErrTOTPReused},
		{"older code after a newer one", -1, current, 0, ErrTOTPReused},
		{"current code after the next step's code", 0, current + 1, 0, ErrTOTPReused},
		{"next step's code after the current one", 1, current, current + 1, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code := totpCodeAt(t, rfc6238Secret, now.Add(time.Duration(tt.codeOffset)*30*time.Second))
			step, err := ValidateTOTP(rfc6238Secret, code, now, tt.lastUsedStep)
			if !errors.Is(err, tt.wantError) || step != tt.wantStep {
				t.Fatalf("ValidateTOTP = %d, %v; want %d, %v", step, err, tt.wantStep, tt.wantError)
			}
		})
	}
}

func TestValidateTOTP_ReuseIsAlsoInvalid(t *testing.T) {
	if !errors.Is(ErrTOTPReused, ErrTOTPInvalid) {
		t.Fatal("ErrTOTPReused is not an ErrTOTPInvalid; a caller checking only that would accept a replay")
	}
}

func TestValidateTOTP_NormalizesSpacesAndRefusesMalformedCodes(t *testing.T) {
	at := time.Unix(59, 0) // RFC vector: 287082
	tests := []struct {
		name string
		code string
		ok   bool
	}{
		{"plain", "287082", true},
		{"grouped", "287 082", true},
		{"surrounding whitespace", " 287082\n", true},
		{"tab and no-break space", "287\t0\u00a082", true},
		{"empty", "", false},
		{"only spaces", "      ", false},
		{"five digits", "28708", false},
		{"seven digits", "2870820", false},
		{"eight-digit RFC code", "94287082", false},
		{"letter", "28708a", false},
		{"dash", "287-082", false},
		{"sign", "+28708", false},
		{"Arabic-Indic digits", "٢٨٧٠٨٢", false},
		{"fullwidth digits", "２８７０８２", false},
		{"wrong code", "287083", false},
		{"very long", strings.Repeat(" ", 100) + "287082", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ValidateTOTP(rfc6238Secret, tt.code, at, 0)
			if tt.ok && err != nil {
				t.Fatalf("ValidateTOTP(%q) = %v, want accepted", tt.code, err)
			}
			if !tt.ok && !errors.Is(err, ErrTOTPInvalid) {
				t.Fatalf("ValidateTOTP(%q) = %v, want ErrTOTPInvalid", tt.code, err)
			}
		})
	}
}

func TestValidateTOTP_AcceptsSecretInAnyCaseAndPadding(t *testing.T) {
	at := time.Unix(59, 0)
	for _, secret := range []string{rfc6238Secret, strings.ToLower(rfc6238Secret), base32.StdEncoding.EncodeToString([]byte("1234567890123456789"))} {
		code := totpCodeAt(t, secret, at)
		if _, err := ValidateTOTP(secret, code, at, 0); err != nil {
			t.Fatalf("ValidateTOTP with secret %q: %v", secret, err)
		}
	}
}

func TestValidateTOTP_RefusesUnusableSecret(t *testing.T) {
	tests := []struct{ name, secret string }{
		{"empty", ""},
		{"not base32", "this is not base32!"},
		{"shorter than 128 bits", base32.StdEncoding.EncodeToString([]byte("short secret"))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ValidateTOTP(tt.secret, "287082", time.Unix(59, 0), 0)
			if !errors.Is(err, ErrTOTPSecretInvalid) {
				t.Fatalf("ValidateTOTP error = %v, want ErrTOTPSecretInvalid", err)
			}
			if errors.Is(err, ErrTOTPInvalid) {
				t.Fatal("a bad stored secret is reported as the user's wrong code")
			}
		})
	}
}

func TestValidateTOTP_RefusesTimesBeforeTheEpoch(t *testing.T) {
	if _, err := ValidateTOTP(rfc6238Secret, "287082", time.Unix(-3600, 0), -1<<62); !errors.Is(err, ErrTOTPInvalid) {
		t.Fatalf("ValidateTOTP before 1970 = %v, want ErrTOTPInvalid", err)
	}
}

func TestNewTOTPKey_ProvisionsWhatAuthenticatorAppsRead(t *testing.T) {
	secret, uri, err := NewTOTPKey("Bevis", "kari.nordmann@example.no")
	if err != nil {
		t.Fatal(err)
	}
	raw, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(secret)
	if err != nil || len(raw) != 20 {
		t.Fatalf("secret %q decodes to %d bytes (%v), want 20", secret, len(raw), err)
	}

	u, err := url.Parse(uri)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	checks := map[string][2]string{
		"scheme":    {u.Scheme, "otpauth"},
		"type":      {u.Host, "totp"},
		"label":     {u.Path, "/Bevis:kari.nordmann@example.no"},
		"secret":    {q.Get("secret"), secret},
		"issuer":    {q.Get("issuer"), "Bevis"},
		"algorithm": {q.Get("algorithm"), "SHA1"},
		"digits":    {q.Get("digits"), "6"},
		"period":    {q.Get("period"), "30"},
	}
	for name, c := range checks {
		if c[0] != c[1] {
			t.Errorf("%s = %q, want %q", name, c[0], c[1])
		}
	}

	now := time.Now()
	if _, err := ValidateTOTP(secret, totpCodeAt(t, secret, now), now, 0); err != nil {
		t.Fatalf("code for the new secret is refused: %v", err)
	}
	if other, _, err := NewTOTPKey("Bevis", "kari.nordmann@example.no"); err != nil || other == secret {
		t.Fatalf("second key = %q, %v; want a different secret", other, err)
	}
}

func TestNewTOTPKey_UsesGivenRandomness(t *testing.T) {
	secret, _, err := newTOTPKey(strings.NewReader("12345678901234567890"), "Bevis", "kari")
	if err != nil {
		t.Fatal(err)
	}
	if secret != rfc6238Secret {
		t.Fatalf("secret = %q, want %q", secret, rfc6238Secret)
	}

	boom := errors.New("no entropy")
	if _, _, err := newTOTPKey(iotest.ErrReader(boom), "Bevis", "kari"); !errors.Is(err, boom) {
		t.Fatalf("newTOTPKey with failing randomness = %v, want wrapped %v", err, boom)
	}
}

func TestNewTOTPKey_RefusesLabelsThatBreakTheURI(t *testing.T) {
	tests := []struct{ name, issuer, account string }{
		{"empty issuer", "", "kari"},
		{"empty account", "Bevis", ""},
		{"colon in issuer", "Bevis:prod", "kari"},
		{"colon in account", "Bevis", "kari:admin"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, err := NewTOTPKey(tt.issuer, tt.account); !errors.Is(err, ErrTOTPLabelInvalid) {
				t.Fatalf("NewTOTPKey = %v, want ErrTOTPLabelInvalid", err)
			}
		})
	}
}
