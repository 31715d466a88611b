package audit

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// A checkpoint is a signed statement "the chain had seq entries and its
// head hash was head at time". It is a short text, so a partner agency can
// keep and read it without Bevis:
//
//	bevis audit checkpoint v1
//	seq 1234
//	head 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
//	time 2026-11-28T15:04:05.123456Z
//
//	sig 1a2b3c4d5e6f7a8b <base64 Ed25519 signature>
//
// The signature is Ed25519 over the four lines before the blank line, each
// ended by "\n"; the key ID is the first 8 bytes, in hex, of the SHA-256 of
// the raw 32-byte public key.
const checkpointHeader = "bevis audit checkpoint v1"

// Errors of checkpoint verification.
var (
	ErrUnknownKey   = errors.New("audit: checkpoint signed by an unknown key")
	ErrBadSignature = errors.New("audit: checkpoint signature does not verify")
	ErrMalformed    = errors.New("audit: malformed checkpoint")
)

// Checkpoint is one signed checkpoint.
type Checkpoint struct {
	Seq   int64
	Head  string // hex SHA-256 of the entry at Seq
	Time  time.Time
	KeyID string
	Note  string // the signed text, as stored and exported
}

const (
	pemPrivateKey = "PRIVATE KEY"
	pemPublicKey  = "PUBLIC KEY"
)

// Signer signs checkpoints with an Ed25519 key.
type Signer struct {
	key ed25519.PrivateKey
	id  string
}

// GenerateKeyPEM makes a new checkpoint signing key as PKCS #8 PEM.
func GenerateKeyPEM() ([]byte, error) {
	_, private, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("audit: generate key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(private)
	if err != nil {
		return nil, fmt.Errorf("audit: encode key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: pemPrivateKey, Bytes: der}), nil
}

// ParseSigner reads a PKCS #8 PEM Ed25519 private key.
func ParseSigner(pemData []byte) (*Signer, error) {
	block, _ := pem.Decode(pemData)
	if block == nil || block.Type != pemPrivateKey {
		return nil, errors.New("audit: key file holds no PEM PRIVATE KEY")
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("audit: key file: %w", err)
	}
	private, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, errors.New("audit: key file: not an Ed25519 key")
	}
	public, _ := private.Public().(ed25519.PublicKey) // an ed25519.PrivateKey's public key is always one
	return &Signer{key: private, id: KeyID(public)}, nil
}

// KeyID is the ID a checkpoint names its key by.
func KeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return hex.EncodeToString(sum[:8])
}

// KeyID returns the ID of the signer's key.
func (s *Signer) KeyID() string { return s.id }

// PublicKey returns the verifying key.
func (s *Signer) PublicKey() ed25519.PublicKey {
	public, _ := s.key.Public().(ed25519.PublicKey)
	return public
}

// PublicKeyPEM returns the verifying key as PKIX PEM, to give to auditors
// and partner agencies.
func (s *Signer) PublicKeyPEM() []byte {
	der, err := x509.MarshalPKIXPublicKey(s.PublicKey())
	if err != nil {
		panic(fmt.Sprintf("audit: encode Ed25519 public key: %v", err)) // cannot fail for an Ed25519 key
	}
	return pem.EncodeToMemory(&pem.Block{Type: pemPublicKey, Bytes: der})
}

// Sign makes the checkpoint of head at seq.
func (s *Signer) Sign(seq int64, head string, at time.Time) Checkpoint {
	at = at.UTC().Truncate(time.Microsecond)
	body := checkpointBody(seq, head, at)
	sig := ed25519.Sign(s.key, []byte(body))
	note := body + "\nsig " + s.id + " " + base64.StdEncoding.EncodeToString(sig) + "\n"
	return Checkpoint{Seq: seq, Head: head, Time: at, KeyID: s.id, Note: note}
}

func checkpointBody(seq int64, head string, at time.Time) string {
	return fmt.Sprintf("%s\nseq %d\nhead %s\ntime %s\n", checkpointHeader, seq, head, at.Format(time.RFC3339Nano))
}

// Keys are the public keys a verifier trusts, by key ID.
type Keys map[string]ed25519.PublicKey

// ParsePublicKeys reads every PEM PUBLIC KEY block of pemData into keys.
func (keys Keys) ParsePublicKeys(pemData []byte) error {
	found := 0
	for {
		var block *pem.Block
		block, pemData = pem.Decode(pemData)
		if block == nil {
			break
		}
		if block.Type != pemPublicKey {
			continue
		}
		k, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			return fmt.Errorf("audit: public key: %w", err)
		}
		pub, ok := k.(ed25519.PublicKey)
		if !ok {
			return errors.New("audit: public key: not an Ed25519 key")
		}
		keys[KeyID(pub)] = pub
		found++
	}
	if found == 0 {
		return errors.New("audit: no PEM PUBLIC KEY found")
	}
	return nil
}

// ParseCheckpoint reads a checkpoint note and checks its signature with keys.
func ParseCheckpoint(note string, keys Keys) (Checkpoint, error) {
	body, sigLine, ok := strings.Cut(note, "\n\n")
	lines := strings.Split(body, "\n")
	if !ok || len(lines) != 4 || lines[0] != checkpointHeader {
		return Checkpoint{}, ErrMalformed
	}
	body += "\n"
	var c Checkpoint
	var err error
	seqText, ok1 := strings.CutPrefix(lines[1], "seq ")
	head, ok2 := strings.CutPrefix(lines[2], "head ")
	timeText, ok3 := strings.CutPrefix(lines[3], "time ")
	if !ok1 || !ok2 || !ok3 {
		return Checkpoint{}, ErrMalformed
	}
	if c.Seq, err = strconv.ParseInt(seqText, 10, 64); err != nil || c.Seq < 1 {
		return Checkpoint{}, ErrMalformed
	}
	if c.Time, err = time.Parse(time.RFC3339Nano, timeText); err != nil {
		return Checkpoint{}, ErrMalformed
	}
	if b, err := hex.DecodeString(head); err != nil || len(b) != sha256.Size {
		return Checkpoint{}, ErrMalformed
	}
	c.Head = head
	fields := strings.Fields(sigLine)
	if len(fields) != 3 || fields[0] != "sig" || strings.TrimSuffix(sigLine, "\n") != strings.Join(fields, " ") {
		return Checkpoint{}, ErrMalformed
	}
	c.KeyID, c.Note = fields[1], note
	sig, err := base64.StdEncoding.DecodeString(fields[2])
	if err != nil {
		return Checkpoint{}, ErrMalformed
	}
	pub, known := keys[c.KeyID]
	if !known {
		return c, fmt.Errorf("%w %s", ErrUnknownKey, c.KeyID)
	}
	if !ed25519.Verify(pub, []byte(body), sig) {
		return c, ErrBadSignature
	}
	return c, nil
}

// SplitCheckpoints reads a file of checkpoint notes one after another, as
// ExportCheckpoints writes and a partner agency keeps (a single note, as in
// the evidence store, is such a file too).
func SplitCheckpoints(data string) ([]string, error) {
	const linesPerNote = 6 // header, seq, head, time, blank, sig
	lines := strings.SplitAfter(data, "\n")
	if n := len(lines); n > 0 && lines[n-1] == "" {
		lines = lines[:n-1]
	}
	if len(lines)%linesPerNote != 0 {
		return nil, fmt.Errorf("%w: %d lines is not a whole number of checkpoints", ErrMalformed, len(lines))
	}
	var notes []string
	for i := 0; i < len(lines); i += linesPerNote {
		notes = append(notes, strings.Join(lines[i:i+linesPerNote], ""))
	}
	return notes, nil
}
