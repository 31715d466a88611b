package access

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/bevis-ir/bevis/internal/validate"
)

// SetupLinkTTL is how long a first-run set-up link works.
const SetupLinkTTL = time.Hour

// ErrSetupLinkInvalid refuses a set-up with a token that is unknown,
// expired, already used, presented at another address than the link's, or
// when Bevis has an admin already. The API answers it as not found, so a
// guess learns nothing.
var ErrSetupLinkInvalid = errors.New("access: no such set-up link")

// Setup hands out and redeems first-run set-up links: while no admin
// exists, `bevis serve` makes one and prints it; whoever opens it creates
// the first agency and admin, and every link dies with that.
type Setup struct {
	changes
	db  *gorm.DB
	now func() time.Time
}

// NewSetup returns the set-up service on db.
func NewSetup(db *gorm.DB) *Setup { return &Setup{db: db, now: dbNow} }

type setupLinkRow struct {
	TokenHash string `gorm:"primaryKey"`
	Host      string
	ExpiresAt time.Time
	UsedAt    *time.Time
	CreatedAt time.Time
}

func (setupLinkRow) TableName() string { return "setup_links" }

// Needed reports whether Bevis has no admin yet, so set-up is still to do.
func (s *Setup) Needed(ctx context.Context) (bool, error) {
	return noAdmin(s.db.WithContext(ctx))
}

func noAdmin(tx *gorm.DB) (bool, error) {
	var admins int64
	if err := tx.Model(&userRow{}).Where("system_role = ?", RoleAdmin).Count(&admins).Error; err != nil {
		return false, fmt.Errorf("access: count admins: %w", err)
	}
	return admins == 0, nil
}

// NewLink makes a set-up link that works for SetupLinkTTL at host (the
// host[:port] of the printed URL) and returns its token, or "" when Bevis
// has an admin and needs no set-up. The token is shown once; only its hash
// is kept.
func (s *Setup) NewLink(ctx context.Context, host string) (token string, expires time.Time, err error) {
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		needed, err := noAdmin(tx)
		if err != nil || !needed {
			return err
		}
		now := s.now()
		token, expires = rand.Text(), now.Add(SetupLinkTTL)
		// Not on the audit log: a link is issued at every start until set-up
		// is done; what it is used for (or refused) is recorded.
		row := setupLinkRow{TokenHash: hashSetupToken(token), Host: host, ExpiresAt: expires, CreatedAt: now}
		if err := tx.Create(&row).Error; err != nil {
			return fmt.Errorf("access: store set-up link: %w", err)
		}
		return nil
	})
	if err != nil {
		return "", time.Time{}, err
	}
	return token, expires, nil
}

// Complete redeems a set-up link presented at host: it creates the first
// agency and its admin with the password they chose, and spends every
// set-up link, all in one transaction. A token that is wrong, expired,
// spent or presented elsewhere is ErrSetupLinkInvalid and changes nothing.
func (s *Setup) Complete(ctx context.Context, token, host string, in Bootstrap) (User, error) {
	if in.Password == "" {
		return User{}, validate.Field("password", "choose a password")
	}
	var u User
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		now := s.now()
		// Spending this link first locks its row, so of two set-ups racing
		// with the same token one finds it spent; spending every other
		// link next does the same for set-ups with different tokens.
		res := tx.Model(&setupLinkRow{}).
			Where("token_hash = ? AND host = ? AND used_at IS NULL AND expires_at > ?", hashSetupToken(token), host, now).
			Update("used_at", now)
		if res.Error != nil {
			return fmt.Errorf("access: spend set-up link: %w", res.Error)
		}
		if res.RowsAffected != 1 {
			return ErrSetupLinkInvalid
		}
		if err := tx.Model(&setupLinkRow{}).Where("used_at IS NULL").Update("used_at", now).Error; err != nil {
			return fmt.Errorf("access: spend set-up links: %w", err)
		}
		var err error
		u, err = bootstrapIn(ctx, tx, in, s.record)
		if errors.Is(err, ErrAlreadyBootstrapped) {
			return ErrSetupLinkInvalid
		}
		if err != nil {
			return err
		}
		return s.recordIn(ctx, tx, "setup.complete", "users", u.ID, "")
	})
	if err != nil {
		return User{}, err
	}
	return u, nil
}

func hashSetupToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}
