package evidence

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm/clause"
)

// ErrMasterKeyMismatch: a key of the master key file has the ID of a key
// Bevis used before but other bytes. Started with it, Bevis would fail to
// read every case's evidence, record intact evidence as changed, and wrap new
// data keys under bytes nobody keeps.
var ErrMasterKeyMismatch = errors.New("evidence: a master key in the file has a known ID but not the bytes used before")

// keyCheckText is what a key check value seals: it proves the key's bytes,
// and nothing else.
const keyCheckText = "bevis master key check v1"

type keyCheckRow struct {
	MasterKeyID string `gorm:"primaryKey"`
	CheckValue  []byte
	CreatedAt   time.Time
}

func (keyCheckRow) TableName() string { return "master_key_checks" }

func keyCheckAD(id string) []byte { return []byte(keyCheckText + "\x00" + id) }

func (mk masterKey) checkValue() ([]byte, error) {
	nonce := make([]byte, mk.aead.NonceSize(), mk.aead.NonceSize()+len(keyCheckText)+mk.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return mk.aead.Seal(nonce, nonce, []byte(keyCheckText), keyCheckAD(mk.id)), nil
}

func (mk masterKey) opensCheck(value []byte) bool {
	ns := mk.aead.NonceSize()
	if len(value) < ns {
		return false
	}
	plain, err := mk.aead.Open(nil, value[:ns], value[ns:], keyCheckAD(mk.id))
	return err == nil && string(plain) == keyCheckText
}

// CheckMasterKeys checks at start, before anything is written, that the
// master key file is the right one:
//   - every master key that wraps a data key is in the file (else
//     ErrUnknownMasterKey: those cases' evidence could not be read);
//   - every key of the file that Bevis used before has the same bytes: it
//     opens its key check value, or, for a key used before check values
//     were kept, unwraps one of its data keys (else ErrMasterKeyMismatch).
//
// Only when every key passes does it store the check values still missing
// (for keys of the file never seen before, and keys in use from before), so
// the next start, on any node, can check them. It returns the master keys
// in use that are not the current one, which RewrapAll would retire.
func (k *Keyring) CheckMasterKeys(ctx context.Context) (retiring []string, err error) {
	inUse, err := k.MasterKeysInUse(ctx)
	if err != nil {
		return nil, err
	}
	var missing []string
	for _, id := range inUse {
		if _, ok := k.master.find(id); !ok {
			missing = append(missing, id)
		} else if id != k.master.CurrentID() {
			retiring = append(retiring, id)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("%w: %s", ErrUnknownMasterKey, strings.Join(missing, ", "))
	}
	unchecked, err := k.checkKeyBytes(ctx, inUse)
	if err != nil {
		return nil, err
	}
	if err := k.storeKeyChecks(ctx, unchecked); err != nil {
		return nil, err
	}
	// Another node may have stored a check value for the same ID meanwhile,
	// with other bytes: check again against what the table holds now.
	if _, err := k.checkKeyBytes(ctx, nil); err != nil {
		return nil, err
	}
	return retiring, nil
}

// checkKeyBytes checks every key of the file against its check value, or,
// lacking one, against a data key it wraps (when it is in inUse). It returns
// the keys that have no check value yet.
func (k *Keyring) checkKeyBytes(ctx context.Context, inUse []string) (unchecked []masterKey, err error) {
	var rows []keyCheckRow
	if err := k.db.WithContext(ctx).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("evidence: master key checks: %w", err)
	}
	checks := map[string][]byte{}
	for _, r := range rows {
		checks[r.MasterKeyID] = r.CheckValue
	}
	var wrong []string
	for _, mk := range k.master.keys {
		value, ok := checks[mk.id]
		switch {
		case ok && !mk.opensCheck(value):
			wrong = append(wrong, mk.id)
		case ok:
		case slices.Contains(inUse, mk.id):
			opens, err := k.unwrapsOneDataKey(ctx, mk)
			if err != nil {
				return nil, err
			}
			if !opens {
				wrong = append(wrong, mk.id)
				continue
			}
			unchecked = append(unchecked, mk)
		default:
			unchecked = append(unchecked, mk)
		}
	}
	if len(wrong) > 0 {
		return nil, fmt.Errorf("%w: %s (restore the master key file from its backup; nothing was written)",
			ErrMasterKeyMismatch, strings.Join(wrong, ", "))
	}
	return unchecked, nil
}

// unwrapsOneDataKey tells whether mk opens one of the data keys it wraps.
// A few are tried, so one row damaged in the database is not taken for a
// wrong master key: the wrong bytes open none.
func (k *Keyring) unwrapsOneDataKey(ctx context.Context, mk masterKey) (bool, error) {
	var rows []dataKeyRow
	if err := k.db.WithContext(ctx).Where("master_key_id = ?", mk.id).Order("id").Limit(10).Find(&rows).Error; err != nil {
		return false, fmt.Errorf("evidence: data keys of master key %s: %w", mk.id, err)
	}
	for _, row := range rows {
		secret, err := mk.unwrap(row.WrappedKey, row.ID, row.CaseID)
		clear(secret[:])
		if err == nil {
			return true, nil
		}
	}
	return false, nil
}

// storeKeyChecks stores check values for keys that have none; one another
// node stored first is kept.
func (k *Keyring) storeKeyChecks(ctx context.Context, keys []masterKey) error {
	now := k.now().UTC().Truncate(time.Microsecond)
	for _, mk := range keys {
		value, err := mk.checkValue()
		if err != nil {
			return err
		}
		err = k.db.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).
			Create(&keyCheckRow{MasterKeyID: mk.id, CheckValue: value, CreatedAt: now}).Error
		if err != nil {
			return fmt.Errorf("evidence: store master key check of %s: %w", mk.id, err)
		}
	}
	return nil
}
