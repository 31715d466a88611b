package api

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/gofiber/fiber/v2"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Idempotency-Key (draft-ietf-httpapi-idempotency-key-header) makes the
// creating routes safe to retry: the first successful answer is kept with
// the key for a day, per caller, and a retry with the same key and the same
// request gets it again instead of creating a second object.
const (
	headerIdempotencyKey = "Idempotency-Key"
	headerReplayed       = "Idempotent-Replayed"
	idempotencyTTL       = 24 * time.Hour
	// idempotencyLock is how long a request holds its key while it runs; a
	// key whose node died mid-request is free again after it.
	idempotencyLock = time.Minute
	// maxIdempotentAnswer bounds the answer kept: a larger one is sent but
	// not kept, and a retry runs again.
	maxIdempotentAnswer = 256 << 10
)

// validIdempotencyKey admits keys long enough to be unguessable (a UUID)
// and plain enough to log.
var validIdempotencyKey = regexp.MustCompile(`^[A-Za-z0-9._:-]{16,128}$`)

// replayedHeaders are the response headers an answer is replayed with.
var replayedHeaders = []string{fiber.HeaderContentType, fiber.HeaderLocation, fiber.HeaderETag, "Upload-Expires",
	"Upload-Offset", "Tus-Resumable"}

// fingerprintHeaders are the request headers that, with the method, path,
// query and body, make two requests the same one.
var fingerprintHeaders = []string{fiber.HeaderContentType, "Upload-Length", "Upload-Metadata", "Upload-Defer-Length"}

type idempotencyRow struct {
	Scope       string `gorm:"primaryKey"`
	KeyHash     string `gorm:"primaryKey"`
	Fingerprint string
	CreatedAt   time.Time
	ExpiresAt   time.Time
	LockedUntil *time.Time
	Status      *int
	Headers     string
	Body        []byte
}

func (idempotencyRow) TableName() string { return "idempotency_keys" }

// idempotencyKey is one caller's key, with what is derived from it: the
// hash it is stored under and the secret that seals its answer.
type idempotencyKey struct {
	scope, hash string
	secret      [32]byte
}

func newIdempotencyKey(c *fiber.Ctx, raw string) idempotencyKey {
	p := principal(c)
	k := idempotencyKey{scope: p.UserID + "/" + p.TokenID}
	sum := sha256.Sum256([]byte("bevis idempotency key\x00" + k.scope + "\x00" + raw))
	k.hash = hex.EncodeToString(sum[:])
	k.secret = sha256.Sum256([]byte("bevis idempotency secret\x00" + raw))
	return k
}

// fingerprint identifies the request under the key's secret, so that the
// stored value tells nothing of the body (which may hold a password).
func (k idempotencyKey) fingerprint(c *fiber.Ctx) string {
	mac := hmac.New(sha256.New, k.secret[:])
	for _, part := range []string{c.Method(), c.Path(), string(c.Request().URI().QueryString())} {
		mac.Write([]byte(part + "\x00"))
	}
	for _, h := range fingerprintHeaders {
		mac.Write([]byte(h + ":" + c.Get(h) + "\x00"))
	}
	mac.Write(c.Body())
	return hex.EncodeToString(mac.Sum(nil))
}

// idempotent is the middleware of the routes flagged idempotent: without
// an Idempotency-Key it does nothing; with one it claims the key, runs the
// route and keeps its answer when it succeeded (a failure changed nothing,
// so a retry runs again), or replays the answer kept. The same key with
// another request is 422; a retry while the first still runs is 409.
func (s *server) idempotent(c *fiber.Ctx) error {
	raw := c.Get(headerIdempotencyKey)
	if raw == "" {
		return c.Next()
	}
	if !validIdempotencyKey.MatchString(raw) {
		return newProblem(fiber.StatusBadRequest, "invalid_idempotency_key",
			"Idempotency-Key must be 16 to 128 letters, digits or ._:- (a UUID will do).")
	}
	k := newIdempotencyKey(c, raw)
	ctx := c.UserContext()
	row, claimed, err := s.claimIdempotencyKey(ctx, k, k.fingerprint(c))
	if err != nil {
		return err
	}
	if !claimed {
		return s.replay(c, k, row)
	}
	if err := c.Next(); err != nil {
		// Render the error here, so that what is kept is what was sent.
		if herr := c.App().ErrorHandler(c, err); herr != nil {
			return herr
		}
	}
	status := c.Response().StatusCode()
	body := c.Response().Body()
	if status < 200 || status > 299 || c.Response().IsBodyStream() || len(body) > maxIdempotentAnswer {
		s.releaseIdempotencyKey(k, c)
		return nil
	}
	if err := s.keepAnswer(ctx, k, c, status, body); err != nil {
		// The change is made and answered; a retry after the lock runs
		// again, as it would have without a key.
		s.Log.Error("idempotent answer not kept", "err", err, "request_id", requestID(c))
	}
	return nil
}

// claimIdempotencyKey inserts the key as running, or takes it over from a
// request whose lock ran out. It returns the row found when the key is
// not free (claimed false), after checking that it is for this request.
func (s *server) claimIdempotencyKey(ctx context.Context, k idempotencyKey, fingerprint string) (idempotencyRow, bool, error) {
	now := time.Now().UTC().Truncate(time.Microsecond)
	lock := now.Add(idempotencyLock)
	row := idempotencyRow{Scope: k.scope, KeyHash: k.hash, Fingerprint: fingerprint, CreatedAt: now,
		ExpiresAt: now.Add(idempotencyTTL), LockedUntil: &lock, Headers: "{}"}
	res := s.DB.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&row)
	if res.Error != nil {
		return row, false, fmt.Errorf("api: claim idempotency key: %w", res.Error)
	}
	if res.RowsAffected == 1 {
		return row, true, nil
	}
	var found idempotencyRow
	if err := s.DB.WithContext(ctx).Where("scope = ? AND key_hash = ?", k.scope, k.hash).Take(&found).Error; err != nil {
		return row, false, fmt.Errorf("api: read idempotency key: %w", err)
	}
	if found.ExpiresAt.Before(now) {
		// Past its day (and not yet discarded): the key is new again.
		res = s.DB.WithContext(ctx).Model(&idempotencyRow{}).
			Where("scope = ? AND key_hash = ? AND expires_at = ?", k.scope, k.hash, found.ExpiresAt).
			Updates(map[string]any{"fingerprint": fingerprint, "created_at": now, "expires_at": row.ExpiresAt,
				"locked_until": lock, "status": nil, "headers": "{}", "body": nil})
		if res.Error != nil {
			return row, false, fmt.Errorf("api: renew idempotency key: %w", res.Error)
		}
		if res.RowsAffected == 0 {
			return found, false, errKeyInUse()
		}
		return row, true, nil
	}
	switch {
	case found.Fingerprint != fingerprint:
		return found, false, newProblem(fiber.StatusUnprocessableEntity, "idempotency_key_reused",
			"This Idempotency-Key was used for a different request; use a new key for a new request.")
	case found.Status != nil:
		return found, false, nil
	case found.LockedUntil != nil && found.LockedUntil.After(now):
		return found, false, errKeyInUse()
	}
	// The request that held it died: take it over, unless another retry
	// took it first.
	res = s.DB.WithContext(ctx).Model(&idempotencyRow{}).
		Where("scope = ? AND key_hash = ? AND status IS NULL AND locked_until = ?", k.scope, k.hash, found.LockedUntil).
		Update("locked_until", lock)
	if res.Error != nil {
		return row, false, fmt.Errorf("api: take over idempotency key: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return found, false, errKeyInUse()
	}
	return row, true, nil
}

// errKeyInUse answers a retry that came while the first request runs.
func errKeyInUse() error {
	p := newProblem(fiber.StatusConflict, "idempotency_key_in_use",
		"A request with this Idempotency-Key is still running; retry when it has finished.")
	p.p.headers = map[string]string{fiber.HeaderRetryAfter: "1"}
	return p
}

// keepAnswer stores the answer with the key, its body sealed.
func (s *server) keepAnswer(ctx context.Context, k idempotencyKey, c *fiber.Ctx, status int, body []byte) error {
	headers := map[string]string{}
	for _, h := range replayedHeaders {
		if v := c.GetRespHeader(h); v != "" {
			headers[h] = v
		}
	}
	encoded, err := json.Marshal(headers)
	if err != nil {
		return err
	}
	sealed, err := k.seal(body)
	if err != nil {
		return err
	}
	// The request's context may be over by now; keeping the answer must
	// not be cut short with it.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	return s.DB.WithContext(ctx).Model(&idempotencyRow{}).Where("scope = ? AND key_hash = ?", k.scope, k.hash).
		Updates(map[string]any{"status": status, "headers": string(encoded), "body": sealed, "locked_until": nil}).Error
}

// releaseIdempotencyKey frees the key of a request that did not succeed.
func (s *server) releaseIdempotencyKey(k idempotencyKey, c *fiber.Ctx) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(c.UserContext()), 10*time.Second)
	defer cancel()
	err := s.DB.WithContext(ctx).Where("scope = ? AND key_hash = ? AND status IS NULL", k.scope, k.hash).
		Delete(&idempotencyRow{}).Error
	if err != nil {
		s.Log.Warn("idempotency key not released; it is free again within a minute", "err", err,
			"request_id", requestID(c))
	}
}

// replay sends the answer kept with the key.
func (s *server) replay(c *fiber.Ctx, k idempotencyKey, row idempotencyRow) error {
	body, err := k.open(row.Body)
	if err != nil {
		return fmt.Errorf("api: replay idempotent answer: %w", err)
	}
	var headers map[string]string
	if err := json.Unmarshal([]byte(row.Headers), &headers); err != nil {
		return fmt.Errorf("api: replay idempotent answer: %w", err)
	}
	for h, v := range headers {
		c.Set(h, v)
	}
	c.Set(headerReplayed, "true")
	return c.Status(*row.Status).Send(body)
}

// seal encrypts an answer under the key's secret (AES-256-GCM, the random
// nonce first), bound to the key's hash.
func (k idempotencyKey) seal(plain []byte) ([]byte, error) {
	aead, err := k.aead()
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plain)+aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return aead.Seal(nonce, nonce, plain, []byte(k.hash)), nil
}

func (k idempotencyKey) open(sealed []byte) ([]byte, error) {
	aead, err := k.aead()
	if err != nil {
		return nil, err
	}
	if len(sealed) < aead.NonceSize() {
		return nil, errors.New("sealed answer too short")
	}
	return aead.Open(nil, sealed[:aead.NonceSize()], sealed[aead.NonceSize():], []byte(k.hash))
}

func (k idempotencyKey) aead() (cipher.AEAD, error) {
	block, err := aes.NewCipher(k.secret[:])
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// DiscardExpiredIdempotencyKeys deletes the keys past their day, a batch
// at a time, and returns how many.
func DiscardExpiredIdempotencyKeys(ctx context.Context, gdb *gorm.DB) (int64, error) {
	res := gdb.WithContext(ctx).Where("expires_at < ?", time.Now().UTC()).Delete(&idempotencyRow{})
	if res.Error != nil {
		return 0, fmt.Errorf("api: discard expired idempotency keys: %w", res.Error)
	}
	return res.RowsAffected, nil
}
