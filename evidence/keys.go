package evidence

// Keys of evidence encryption, in two levels. Each case has a data key
// (random, 32 bytes) that seals its objects (see seal.go). Data keys are
// stored in the database only wrapped (AES-256-GCM) by a master key, which
// lives in a file outside the database (BEVIS_MASTER_KEY_FILE): a copy of the
// database and the bucket together still reveal nothing without that file.
//
// Rotating the master key re-wraps the data keys and leaves them unchanged,
// so no object needs re-sealing: put a new key first in the file (older ones
// stay after it, to unwrap), restart the nodes, run RewrapAll, and once
// MasterKeysInUse no longer names the old key, drop it from the file.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Errors of the keyring.
var (
	// ErrUnknownMasterKey: a data key is wrapped by a master key that is not
	// in the master key file (removed before every data key was re-wrapped).
	ErrUnknownMasterKey = errors.New("evidence: data key wrapped by a master key not in the master key file")
	// ErrDataKeyNotFound: no data key with that ID.
	ErrDataKeyNotFound = errors.New("evidence: data key not found")
	// ErrDataKeyCorrupt: a wrapped data key failed authentication: changed in
	// the database, moved to another row, or the master key file is wrong.
	ErrDataKeyCorrupt = errors.New("evidence: wrapped data key failed authentication")
	// ErrMasterKeyFile: the master key file is unsafe or malformed.
	ErrMasterKeyFile = errors.New("evidence: bad master key file")
)

// DataKey is one case's key for sealing evidence. Its secret is kept out of
// every printed form.
type DataKey struct {
	ID      string // a UUID, written in the header of every object it seals
	CaseID  string
	Version int
	secret  [32]byte
}

// String names the key without its secret, so it can be logged.
func (k DataKey) String() string {
	return fmt.Sprintf("data key %s (case %s, version %d)", k.ID, k.CaseID, k.Version)
}

// GoString keeps the secret out of %#v too.
func (k DataKey) GoString() string { return k.String() }

// MasterKeys are the keys that wrap data keys: the first wraps, all unwrap.
type MasterKeys struct {
	keys []masterKey
}

type masterKey struct {
	id   string
	aead cipher.AEAD
}

var masterKeyID = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// ParseMasterKeys reads a master key file: one key a line as ID:BASE64,
// where BASE64 is 32 random bytes in standard base64 and ID names the key
// (letters, digits, '.', '_', '-'; at most 64). Blank lines and lines
// starting with '#' are ignored. The first key is current.
func ParseMasterKeys(data []byte) (*MasterKeys, error) {
	m := &MasterKeys{}
	seen := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		id, b64, ok := strings.Cut(text, ":")
		if !ok || !masterKeyID.MatchString(id) {
			return nil, fmt.Errorf("%w: line %d is not ID:BASE64 with an ID of [A-Za-z0-9._-]", ErrMasterKeyFile, line)
		}
		if seen[id] {
			return nil, fmt.Errorf("%w: line %d repeats key ID %q", ErrMasterKeyFile, line, id)
		}
		secret, err := base64.StdEncoding.DecodeString(b64)
		if err != nil || len(secret) != 32 {
			return nil, fmt.Errorf("%w: line %d: key %q is not 32 bytes of base64", ErrMasterKeyFile, line, id)
		}
		block, err := aes.NewCipher(secret)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrMasterKeyFile, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrMasterKeyFile, err)
		}
		seen[id] = true
		m.keys = append(m.keys, masterKey{id: id, aead: aead})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMasterKeyFile, err)
	}
	if len(m.keys) == 0 {
		return nil, fmt.Errorf("%w: no key", ErrMasterKeyFile)
	}
	return m, nil
}

// ReadMasterKeyFile reads and parses a master key file, refusing one that
// users other than its owner and group may read or write.
func ReadMasterKeyFile(path string) (*MasterKeys, error) {
	f, err := os.Open(path) //nolint:gosec // the path is the operator's configuration
	if err != nil {
		return nil, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if perm := info.Mode().Perm(); perm&0o007 != 0 {
		return nil, fmt.Errorf("%w: %s is accessible to every user (mode %04o); chmod 600 it", ErrMasterKeyFile, path, perm)
	}
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(f); err != nil {
		return nil, err
	}
	return ParseMasterKeys(buf.Bytes())
}

// NewMasterKeyLine returns a line for a master key file holding a new
// random key, with an ID naming the day it was made.
func NewMasterKeyLine(now time.Time) (string, error) {
	var secret [32]byte
	var tag [4]byte
	if _, err := rand.Read(secret[:]); err != nil {
		return "", err
	}
	if _, err := rand.Read(tag[:]); err != nil {
		return "", err
	}
	id := "mk-" + now.UTC().Format("20060102") + "-" + hex.EncodeToString(tag[:])
	return id + ":" + base64.StdEncoding.EncodeToString(secret[:]) + "\n", nil
}

// CurrentID is the ID of the key that wraps new data keys.
func (m *MasterKeys) CurrentID() string { return m.keys[0].id }

func (m *MasterKeys) find(id string) (masterKey, bool) {
	for _, k := range m.keys {
		if k.id == id {
			return k, true
		}
	}
	return masterKey{}, false
}

// wrapAD binds a wrapped key to its row: moved to another row or another
// case, it no longer unwraps.
func wrapAD(id, caseID string) []byte {
	return []byte("bevis data key v1\x00" + id + "\x00" + caseID)
}

func (mk masterKey) wrap(secret [32]byte, id, caseID string) ([]byte, error) {
	nonce := make([]byte, mk.aead.NonceSize(), mk.aead.NonceSize()+len(secret)+mk.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return mk.aead.Seal(nonce, nonce, secret[:], wrapAD(id, caseID)), nil
}

func (mk masterKey) unwrap(wrapped []byte, id, caseID string) ([32]byte, error) {
	var secret [32]byte
	ns := mk.aead.NonceSize()
	if len(wrapped) != ns+len(secret)+mk.aead.Overhead() {
		return secret, fmt.Errorf("%w: data key %s has %d bytes", ErrDataKeyCorrupt, id, len(wrapped))
	}
	plain, err := mk.aead.Open(nil, wrapped[:ns], wrapped[ns:], wrapAD(id, caseID))
	if err != nil {
		return secret, fmt.Errorf("%w: data key %s under master key %s", ErrDataKeyCorrupt, id, mk.id)
	}
	copy(secret[:], plain)
	clear(plain)
	return secret, nil
}

type dataKeyRow struct {
	ID          string `gorm:"primaryKey"`
	CaseID      string
	Version     int
	WrappedKey  []byte
	MasterKeyID string
	CreatedAt   time.Time
	RewrappedAt *time.Time
}

func (dataKeyRow) TableName() string { return "case_data_keys" }

// Keyring gives out the case data keys, making each on first use.
type Keyring struct {
	db     *gorm.DB
	master *MasterKeys
	now    func() time.Time
}

// NewKeyring returns the keyring of the data keys in db, wrapped by master.
func NewKeyring(db *gorm.DB, master *MasterKeys) *Keyring {
	return &Keyring{db: db, master: master, now: time.Now}
}

// DataKey returns the current data key of a case, making it on first use.
func (k *Keyring) DataKey(ctx context.Context, caseID string) (DataKey, error) {
	row, err := k.current(ctx, caseID)
	if errors.Is(err, gorm.ErrRecordNotFound) {
		row, err = k.createOrTake(ctx, caseID)
	}
	if err != nil {
		return DataKey{}, fmt.Errorf("evidence: data key of case %s: %w", caseID, err)
	}
	return k.open(row)
}

func (k *Keyring) current(ctx context.Context, caseID string) (dataKeyRow, error) {
	var row dataKeyRow
	err := k.db.WithContext(ctx).Where("case_id = ?", caseID).Order("version DESC").Take(&row).Error
	return row, err
}

// createOrTake makes the first data key of a case. Nodes racing to make it
// all end up with the one that won the insert: the database allows one row
// per case and version. The insert gives way to that row and the read
// takes it in the same transaction: under SQLite's group commit the row
// that won may be a writer's earlier in the same group, not yet committed,
// which a read outside the group did not see ("record not found", about one
// race in ten).
func (k *Keyring) createOrTake(ctx context.Context, caseID string) (dataKeyRow, error) {
	var secret [32]byte
	if _, err := rand.Read(secret[:]); err != nil {
		return dataKeyRow{}, err
	}
	defer clear(secret[:])
	id := uuid.Must(uuid.NewV7()).String()
	current := k.master.keys[0]
	wrapped, err := current.wrap(secret, id, caseID)
	if err != nil {
		return dataKeyRow{}, err
	}
	row := dataKeyRow{ID: id, CaseID: caseID, Version: 1, WrappedKey: wrapped, MasterKeyID: current.id,
		CreatedAt: k.now().UTC().Truncate(time.Microsecond)}
	var kept dataKeyRow
	err = k.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&row).Error; err != nil {
			return err
		}
		return tx.Where("case_id = ?", caseID).Order("version DESC").Take(&kept).Error
	})
	return kept, err
}

// DataKeyByID returns the data key an object's header names.
func (k *Keyring) DataKeyByID(ctx context.Context, id string) (DataKey, error) {
	var row dataKeyRow
	err := k.db.WithContext(ctx).Where("id = ?", id).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return DataKey{}, fmt.Errorf("%w: %s", ErrDataKeyNotFound, id)
	}
	if err != nil {
		return DataKey{}, fmt.Errorf("evidence: data key %s: %w", id, err)
	}
	return k.open(row)
}

func (k *Keyring) open(row dataKeyRow) (DataKey, error) {
	mk, ok := k.master.find(row.MasterKeyID)
	if !ok {
		return DataKey{}, fmt.Errorf("%w: data key %s needs master key %q", ErrUnknownMasterKey, row.ID, row.MasterKeyID)
	}
	secret, err := mk.unwrap(row.WrappedKey, row.ID, row.CaseID)
	if err != nil {
		return DataKey{}, err
	}
	return DataKey{ID: row.ID, CaseID: row.CaseID, Version: row.Version, secret: secret}, nil
}

// RewrapAll re-wraps every data key not yet wrapped by the current master
// key under it, and returns how many it re-wrapped. The data keys do not
// change, so every sealed object stays readable. It can run while Bevis
// serves and be run again after a failure: a row is only changed if it is
// still wrapped by the key it was read under.
func (k *Keyring) RewrapAll(ctx context.Context) (int, error) {
	current := k.master.keys[0]
	done, after := 0, ""
	for {
		var rows []dataKeyRow
		q := k.db.WithContext(ctx).Where("master_key_id <> ?", current.id)
		if after != "" {
			q = q.Where("id > ?", after)
		}
		if err := q.Order("id").Limit(100).Find(&rows).Error; err != nil {
			return done, fmt.Errorf("evidence: rewrap data keys: %w", err)
		}
		if len(rows) == 0 {
			return done, nil
		}
		for _, row := range rows {
			dk, err := k.open(row)
			if err != nil {
				return done, err
			}
			wrapped, err := current.wrap(dk.secret, row.ID, row.CaseID)
			if err != nil {
				return done, err
			}
			now := k.now().UTC().Truncate(time.Microsecond)
			res := k.db.WithContext(ctx).Model(&dataKeyRow{}).
				Where("id = ? AND master_key_id = ?", row.ID, row.MasterKeyID).
				Updates(map[string]any{"wrapped_key": wrapped, "master_key_id": current.id, "rewrapped_at": now})
			if res.Error != nil {
				return done, fmt.Errorf("evidence: rewrap data key %s: %w", row.ID, res.Error)
			}
			done += int(res.RowsAffected) //nolint:gosec // 0 or 1
		}
		after = rows[len(rows)-1].ID
	}
}

// MasterKeysInUse lists the IDs of the master keys that wrap at least one
// data key: a master key no longer listed may be removed from the file.
func (k *Keyring) MasterKeysInUse(ctx context.Context) ([]string, error) {
	var ids []string
	err := k.db.WithContext(ctx).Model(&dataKeyRow{}).Distinct("master_key_id").Order("master_key_id").Pluck("master_key_id", &ids).Error
	if err != nil {
		return nil, fmt.Errorf("evidence: master keys in use: %w", err)
	}
	return ids, nil
}
