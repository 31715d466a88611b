package access

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// signingKeysTestKey is one generated key in both PEM forms Bevis reads.
type signingKeysTestKey struct {
	privatePEM []byte
	publicPEM  []byte
	private    ed25519.PrivateKey
	public     ed25519.PublicKey
}

func newSigningKeysTestKey(t testing.TB) signingKeysTestKey {
	t.Helper()
	privatePEM, err := GenerateSigningKeyPEM()
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(privatePEM)
	parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	private := parsed.(ed25519.PrivateKey)
	public := private.Public().(ed25519.PublicKey)
	return signingKeysTestKey{
		privatePEM: privatePEM,
		publicPEM:  signingKeysTestPublicPEM(t, public),
		private:    private,
		public:     public,
	}
}

func signingKeysTestPublicPEM(t testing.TB, public any) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(public)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

func signingKeysTestPrivatePEM(t *testing.T, private any) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(private)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

func signingKeysTestParse(t testing.TB, blocks ...[]byte) *SigningKeys {
	t.Helper()
	keys, err := ParseSigningKeys(bytes.Join(blocks, nil))
	if err != nil {
		t.Fatalf("ParseSigningKeys: %v", err)
	}
	return keys
}

// signingKeysTestJWKS decodes a JWKS into plain maps, so the test sees
// exactly the members that were published.
func signingKeysTestJWKS(t *testing.T, keys *SigningKeys) []map[string]any {
	t.Helper()
	raw, err := keys.JWKS()
	if err != nil {
		t.Fatal(err)
	}
	var set struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal(raw, &set); err != nil {
		t.Fatalf("JWKS is not JSON: %v", err)
	}
	return set.Keys
}

func TestParseSigningKeys_FirstPrivateKeySignsAndEveryKeyVerifies(t *testing.T) {
	current, previous, retired := newSigningKeysTestKey(t), newSigningKeysTestKey(t), newSigningKeysTestKey(t)
	keys := signingKeysTestParse(t, current.privatePEM, previous.privatePEM, retired.publicPEM)

	if got, want := keys.SigningKeyID(), jwkThumbprint(current.public); got != want {
		t.Errorf("signing kid = %s, want the first private key's %s", got, want)
	}
	if !keys.signer().Equal(current.private) {
		t.Error("signer is not the first private key")
	}
	for name, k := range map[string]signingKeysTestKey{"current": current, "previous": previous, "retired": retired} {
		got, ok := keys.verifyingKey(jwkThumbprint(k.public))
		if !ok || !got.Equal(k.public) {
			t.Errorf("%s key does not verify", name)
		}
	}
}

func TestParseSigningKeys_SignerHeadsJWKSWhateverTheFileOrder(t *testing.T) {
	current, retired := newSigningKeysTestKey(t), newSigningKeysTestKey(t)
	keys := signingKeysTestParse(t, retired.publicPEM, current.privatePEM)

	jwks := signingKeysTestJWKS(t, keys)
	if len(jwks) != 2 {
		t.Fatalf("JWKS has %d keys, want 2", len(jwks))
	}
	if jwks[0]["kid"] != jwkThumbprint(current.public) || jwks[1]["kid"] != jwkThumbprint(retired.public) {
		t.Errorf("JWKS order = %v, %v; want signer first, then the retired key", jwks[0]["kid"], jwks[1]["kid"])
	}
}

func TestParseSigningKeys_ListsAKeyBeingDemotedOnce(t *testing.T) {
	// Mid-demotion the same key is in the file as private and public key.
	current, demoted := newSigningKeysTestKey(t), newSigningKeysTestKey(t)
	keys := signingKeysTestParse(t, current.privatePEM, demoted.privatePEM, demoted.publicPEM)

	if n := len(signingKeysTestJWKS(t, keys)); n != 2 {
		t.Errorf("JWKS has %d keys, want 2", n)
	}
}

func TestParseSigningKeys_AcceptsCommentsBetweenBlocks(t *testing.T) {
	current, retired := newSigningKeysTestKey(t), newSigningKeysTestKey(t)
	keys := signingKeysTestParse(t,
		[]byte("current key, added 2026-03-14\n"), current.privatePEM,
		[]byte("\nretired 2026-03-14, remove after 2026-03-15\n"), retired.publicPEM)

	if keys.SigningKeyID() != jwkThumbprint(current.public) {
		t.Error("comment text changed which key signs")
	}
}

func TestParseSigningKeys_Rejects(t *testing.T) {
	good := newSigningKeysTestKey(t)
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecDER, err := x509.MarshalECPrivateKey(ecKey)
	if err != nil {
		t.Fatal(err)
	}
	goodDER, _ := pem.Decode(good.privatePEM)
	corrupted := bytes.Clone(goodDER.Bytes)
	corrupted[3] ^= 0xff
	unterminated := bytes.Replace(newSigningKeysTestKey(t).privatePEM, []byte("-----END PRIVATE KEY-----"), nil, 1)

	tests := []struct {
		name    string
		pemData []byte
	}{
		{"empty input", nil},
		{"text without PEM", []byte("not a key\n")},
		{"only a public key, so nothing can sign", good.publicPEM},
		{"RSA private key in PKCS#8", signingKeysTestPrivatePEM(t, rsaKey)},
		{"ECDSA private key in PKCS#8", signingKeysTestPrivatePEM(t, ecKey)},
		{"RSA public key next to a good private key", append(bytes.Clone(good.privatePEM), signingKeysTestPublicPEM(t, &rsaKey.PublicKey)...)},
		{"ECDSA public key next to a good private key", append(bytes.Clone(good.privatePEM), signingKeysTestPublicPEM(t, &ecKey.PublicKey)...)},
		{"PKCS#1 RSA PRIVATE KEY block", pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rsaKey)})},
		{"SEC 1 EC PRIVATE KEY block", pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: ecDER})},
		{"certificate block next to a good private key", append(bytes.Clone(good.privatePEM), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{0x30, 0x00}})...)},
		{"corrupted PKCS#8 bytes", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: corrupted})},
		{"corrupted public key bytes", append(bytes.Clone(good.privatePEM), pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: corrupted})...)},
		{"second block missing its END line", append(bytes.Clone(good.privatePEM), unterminated...)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keys, err := ParseSigningKeys(tt.pemData)
			if !errors.Is(err, ErrInvalidSigningKeys) {
				t.Fatalf("ParseSigningKeys = %v, %v; want ErrInvalidSigningKeys", keys, err)
			}
			signingKeysTestAssertNoKeyMaterial(t, err.Error(), tt.pemData)
		})
	}
}

// signingKeysTestAssertNoKeyMaterial fails if msg holds any line of the PEM
// bodies or a hex run of their bytes.
func signingKeysTestAssertNoKeyMaterial(t *testing.T, msg string, pemData []byte) {
	t.Helper()
	for rest := pemData; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		encoded := base64.StdEncoding.EncodeToString(block.Bytes)
		for i := 0; i+16 <= len(encoded); i += 16 {
			if strings.Contains(msg, encoded[i:i+16]) {
				t.Fatalf("error reveals base64 key material: %s", msg)
			}
		}
		hexed := hex.EncodeToString(block.Bytes)
		for i := 0; i+16 <= len(hexed); i += 16 {
			if strings.Contains(msg, hexed[i:i+16]) {
				t.Fatalf("error reveals hex key material: %s", msg)
			}
		}
	}
}

func TestGenerateSigningKeyPEM_ProducesDistinctUsableKeys(t *testing.T) {
	first, second := newSigningKeysTestKey(t), newSigningKeysTestKey(t)
	if first.private.Equal(second.private) {
		t.Fatal("two generated keys are equal")
	}
	if !bytes.HasPrefix(first.privatePEM, []byte("-----BEGIN PRIVATE KEY-----\n")) {
		t.Errorf("not a PKCS#8 PRIVATE KEY block: %.27s", first.privatePEM)
	}
	keys := signingKeysTestParse(t, first.privatePEM)
	if keys.SigningKeyID() != jwkThumbprint(first.public) {
		t.Error("a generated key does not parse back as the signing key")
	}
}

// RFC 8037 appendix A.1 and A.3: an Ed25519 key and its RFC 7638 thumbprint.
const (
	rfc8037PrivateD   = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"
	rfc8037PublicX    = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
	rfc8037Thumbprint = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
)

func TestJWKThumbprint_MatchesRFC8037Vector(t *testing.T) {
	x, err := base64.RawURLEncoding.DecodeString(rfc8037PublicX)
	if err != nil {
		t.Fatal(err)
	}
	if got := jwkThumbprint(ed25519.PublicKey(x)); got != rfc8037Thumbprint {
		t.Errorf("thumbprint = %s, want %s", got, rfc8037Thumbprint)
	}
}

func TestParseSigningKeys_KeyIDIsRFC7638ThumbprintOfTheFileKey(t *testing.T) {
	seed, err := base64.RawURLEncoding.DecodeString(rfc8037PrivateD)
	if err != nil {
		t.Fatal(err)
	}
	private := ed25519.NewKeyFromSeed(seed)
	keys := signingKeysTestParse(t, signingKeysTestPrivatePEM(t, private))

	if got := keys.SigningKeyID(); got != rfc8037Thumbprint {
		t.Errorf("kid = %s, want %s", got, rfc8037Thumbprint)
	}
	jwks := signingKeysTestJWKS(t, keys)
	if len(jwks) != 1 || jwks[0]["x"] != rfc8037PublicX || jwks[0]["kid"] != rfc8037Thumbprint {
		t.Errorf("JWKS = %v, want x %s and kid %s", jwks, rfc8037PublicX, rfc8037Thumbprint)
	}
}

func TestJWKS_PublishesEveryVerifyingKeyAndNoPrivatePart(t *testing.T) {
	current, previous, retired := newSigningKeysTestKey(t), newSigningKeysTestKey(t), newSigningKeysTestKey(t)
	keys := signingKeysTestParse(t, current.privatePEM, previous.privatePEM, retired.publicPEM)

	raw, err := keys.JWKS()
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []signingKeysTestKey{current, previous} {
		seed := k.private.Seed()
		for _, leaked := range []string{base64.RawURLEncoding.EncodeToString(seed), base64.StdEncoding.EncodeToString(seed), hex.EncodeToString(seed)} {
			if bytes.Contains(raw, []byte(leaked)) {
				t.Fatal("JWKS contains a private key")
			}
		}
	}

	jwks := signingKeysTestJWKS(t, keys)
	want := []ed25519.PublicKey{current.public, previous.public, retired.public}
	if len(jwks) != len(want) {
		t.Fatalf("JWKS has %d keys, want %d", len(jwks), len(want))
	}
	for i, jwk := range jwks {
		members := make([]string, 0, len(jwk))
		for name := range jwk {
			members = append(members, name)
		}
		if got := strings.Join(slices.Sorted(slices.Values(members)), ","); got != "alg,crv,kid,kty,use,x" {
			t.Errorf("key %d has members %s, want exactly alg,crv,kid,kty,use,x (no d)", i, got)
		}
		if jwk["kty"] != "OKP" || jwk["crv"] != "Ed25519" || jwk["alg"] != "EdDSA" || jwk["use"] != "sig" {
			t.Errorf("key %d = %v, want an OKP Ed25519 EdDSA signature key", i, jwk)
		}
		if jwk["x"] != base64.RawURLEncoding.EncodeToString(want[i]) {
			t.Errorf("key %d x = %v, want the %d-th verifying key", i, jwk["x"], i)
		}
		// Recompute the thumbprint independently: encoding/json sorts map
		// keys and adds no whitespace, which is RFC 7638's canonical form.
		canonical, err := json.Marshal(map[string]any{"crv": jwk["crv"], "kty": jwk["kty"], "x": jwk["x"]})
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(canonical)
		if jwk["kid"] != base64.RawURLEncoding.EncodeToString(sum[:]) {
			t.Errorf("key %d kid = %v, not the RFC 7638 thumbprint of %s", i, jwk["kid"], canonical)
		}
	}
}

func TestSigningKeys_PrintingNeverRevealsThePrivateKey(t *testing.T) {
	k := newSigningKeysTestKey(t)
	keys := signingKeysTestParse(t, k.privatePEM)
	issuer, err := NewTokenIssuer(keys, "https://bevis.example", "bevis-api", 0)
	if err != nil {
		t.Fatal(err)
	}
	seed := k.private.Seed()
	// fmt spells out a byte slice in decimal, "[12 34 ...]".
	decimal := make([]string, 6)
	for i, b := range seed[:6] {
		decimal[i] = strconv.Itoa(int(b))
	}
	leaks := []string{
		strings.Join(decimal, " "),
		hex.EncodeToString(seed),
		base64.StdEncoding.EncodeToString(seed),
		base64.RawURLEncoding.EncodeToString(seed),
	}
	type holder struct {
		keys   *SigningKeys
		issuer *TokenIssuer
	}
	// %s and %d are wrong verbs for these types, and fmt's fallback for a
	// wrong verb expands values further than %v does.
	for _, format := range []string{"%v", "%+v", "%#v", "%s", "%d", "%x"} {
		for _, value := range []any{keys, *keys, issuer, *issuer, holder{keys, issuer}, &holder{keys, issuer}} {
			out := fmt.Sprintf(format, value)
			for _, leak := range leaks {
				if strings.Contains(out, leak) {
					t.Errorf("fmt %s of %T reveals the private key: %s", format, value, out)
				}
			}
		}
	}
}
