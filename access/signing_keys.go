package access

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
)

// ErrInvalidSigningKeys means the token signing key file cannot be used.
// The wrapped detail names the PEM block and what is wrong with it, never
// any key material.
var ErrInvalidSigningKeys = errors.New("access: invalid token signing keys")

const (
	pemTypePrivateKey = "PRIVATE KEY"
	pemTypePublicKey  = "PUBLIC KEY"
)

// SigningKeys is the set of Ed25519 keys behind access tokens: one key signs
// new tokens, and every key in the set verifies them. Keeping retired keys
// for verification is what makes rotation free of forced logouts: tokens
// issued just before a rotation stay valid until they expire.
//
// A SigningKeys is immutable once parsed and safe for concurrent use.
type SigningKeys struct {
	// signer hands out the private key rather than holding it in a field:
	// fmt prints a func as an address whatever the verb, but spells out
	// the bytes of any field it reaches, exported or not. So printing a
	// SigningKeys, or anything that holds one, cannot reveal the key.
	signer    func() ed25519.PrivateKey
	signerKID string
	// verifiers is in file order with the signer first, so the JWKS lists
	// the current key first; byKID answers the per-request lookup.
	verifiers []signingKeyPublic
	byKID     map[string]ed25519.PublicKey
}

type signingKeyPublic struct {
	kid string
	key ed25519.PublicKey
}

// ParseSigningKeys reads a PEM file of Ed25519 keys. Each "PRIVATE KEY"
// block (PKCS#8) verifies tokens, and the first one also signs new tokens;
// each "PUBLIC KEY" block (PKIX) is a retired key that only verifies.
// Rotation is therefore: prepend a new private key and keep the old one
// (so a rollback can still sign with it); demote the old one to its public
// key once no node needs it to sign; remove it once every token it signed
// has expired, the token lifetime plus leeway after the last node switched.
//
// Any other block type, any key that is not Ed25519 and a set without a
// private key are refused, because a silently ignored key would surface
// later as tokens refused on one node and not another.
func ParseSigningKeys(pemData []byte) (*SigningKeys, error) {
	keys := &SigningKeys{byKID: map[string]ed25519.PublicKey{}}
	rest := pemData
	for n := 1; ; n++ {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		public, private, err := parseSigningKeyBlock(block)
		if err != nil {
			return nil, fmt.Errorf("%w: PEM block %d: %w", ErrInvalidSigningKeys, n, err)
		}
		kid := jwkThumbprint(public)
		if private != nil && keys.signer == nil {
			keys.signer, keys.signerKID = func() ed25519.PrivateKey { return private }, kid
		}
		// The same key may appear twice while it is being demoted (private
		// and public block side by side); it verifies all the same.
		if _, seen := keys.byKID[kid]; !seen {
			keys.byKID[kid] = public
			keys.verifiers = append(keys.verifiers, signingKeyPublic{kid: kid, key: public})
		}
	}
	// pem.Decode skips text it does not recognise, so a block with a damaged
	// END line would vanish without a word; refuse rather than run with a
	// key missing.
	if bytes.Contains(rest, []byte("-----BEGIN")) {
		return nil, fmt.Errorf("%w: a PEM block is damaged or not terminated", ErrInvalidSigningKeys)
	}
	if keys.signer == nil {
		return nil, fmt.Errorf("%w: no %s block, so nothing can sign tokens", ErrInvalidSigningKeys, pemTypePrivateKey)
	}
	// The signer must head the JWKS: move it to the front if a retired
	// public key came earlier in the file.
	for i, v := range keys.verifiers {
		if v.kid == keys.signerKID {
			copy(keys.verifiers[1:i+1], keys.verifiers[:i])
			keys.verifiers[0] = v
			break
		}
	}
	return keys, nil
}

// parseSigningKeyBlock returns the public half of the block's key and, for
// a private key block, the private key too. The parser's own error text is
// dropped on purpose: it describes the bytes it choked on, and those bytes
// are key material.
func parseSigningKeyBlock(block *pem.Block) (ed25519.PublicKey, ed25519.PrivateKey, error) {
	switch block.Type {
	case pemTypePrivateKey:
		parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, nil, fmt.Errorf("%s is not a valid PKCS#8 key", block.Type)
		}
		private, ok := parsed.(ed25519.PrivateKey)
		if !ok {
			return nil, nil, fmt.Errorf("%s holds a %T, only Ed25519 keys are accepted", block.Type, parsed)
		}
		public, ok := private.Public().(ed25519.PublicKey)
		if !ok {
			return nil, nil, fmt.Errorf("%s has no Ed25519 public half", block.Type)
		}
		return public, private, nil
	case pemTypePublicKey:
		parsed, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			return nil, nil, fmt.Errorf("%s is not a valid PKIX key", block.Type)
		}
		public, ok := parsed.(ed25519.PublicKey)
		if !ok {
			return nil, nil, fmt.Errorf("%s holds a %T, only Ed25519 keys are accepted", block.Type, parsed)
		}
		return public, nil, nil
	default:
		return nil, nil, fmt.Errorf("type %q is not supported, want %q or %q", block.Type, pemTypePrivateKey, pemTypePublicKey)
	}
}

// GenerateSigningKeyPEM returns a new Ed25519 key as a PKCS#8 "PRIVATE KEY"
// PEM block, the format ParseSigningKeys reads. The caller writes it with
// mode 0600: it is the one secret that lets anyone mint access tokens.
func GenerateSigningKeyPEM() ([]byte, error) {
	_, private, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("access: generate signing key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(private)
	if err != nil {
		return nil, fmt.Errorf("access: encode signing key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: pemTypePrivateKey, Bytes: der}), nil
}

// SigningKeyID returns the kid that new tokens carry. It is not secret, and
// worth logging at start-up: nodes that disagree on it were given different
// key files.
func (k *SigningKeys) SigningKeyID() string { return k.signerKID }

// KeyIDs returns the kid of every key that verifies tokens, signer first:
// the fingerprints that tell whether two nodes hold the same key file.
func (k *SigningKeys) KeyIDs() []string {
	ids := make([]string, len(k.verifiers))
	for i, v := range k.verifiers {
		ids[i] = v.kid
	}
	return ids
}

func (k *SigningKeys) verifyingKey(kid string) (ed25519.PublicKey, bool) {
	key, ok := k.byKID[kid]
	return key, ok
}

// signingJWK is one RFC 7517 public key as published in the JWKS. It has no
// field for the private part, so no code path can leak one into it.
type signingJWK struct {
	KeyType string `json:"kty"`
	Curve   string `json:"crv"`
	X       string `json:"x"`
	KeyID   string `json:"kid"`
	Alg     string `json:"alg"`
	Use     string `json:"use"`
}

// JWKS returns the JSON Web Key Set (RFC 7517) of every key that verifies
// tokens, signer first, for /.well-known/jwks.json. It holds public keys
// only.
func (k *SigningKeys) JWKS() ([]byte, error) {
	set := struct {
		Keys []signingJWK `json:"keys"`
	}{Keys: make([]signingJWK, 0, len(k.verifiers))}
	for _, v := range k.verifiers {
		set.Keys = append(set.Keys, signingJWK{
			KeyType: "OKP",
			Curve:   "Ed25519",
			X:       base64.RawURLEncoding.EncodeToString(v.key),
			KeyID:   v.kid,
			Alg:     "EdDSA",
			Use:     "sig",
		})
	}
	out, err := json.Marshal(set)
	if err != nil {
		return nil, fmt.Errorf("access: encode JWKS: %w", err)
	}
	return out, nil
}

// jwkThumbprint is the RFC 7638 thumbprint of an Ed25519 public key: the
// SHA-256 of its required JWK members in lexicographic order, without
// whitespace. Being derived from the key alone, it gives every node the
// same kid for the same file with no coordination.
func jwkThumbprint(public ed25519.PublicKey) string {
	// base64url output needs no JSON escaping, so plain concatenation is
	// the canonical form.
	canonical := `{"crv":"Ed25519","kty":"OKP","x":"` + base64.RawURLEncoding.EncodeToString(public) + `"}`
	sum := sha256.Sum256([]byte(canonical))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}
