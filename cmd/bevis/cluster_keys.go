package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/bevis-ir/bevis/audit"
	"github.com/bevis-ir/bevis/internal/config"
	"github.com/bevis-ir/bevis/internal/db"
)

// clusterKeyFile is one key file whose keys every node must share: the
// public-key fingerprints it holds, and how to name it to an operator.
type clusterKeyFile struct {
	purpose      string // the cluster_keys purpose: token or audit
	env, path    string
	fingerprints []string // the signing key's first
}

// auditKeyIDs are the fingerprints of the audit key file: the signing
// key's ID, then those of any PUBLIC KEY blocks after it (an older key
// kept beside a new one while it is rotated).
func auditKeyIDs(signer *audit.Signer, pemData []byte) []string {
	ids := []string{signer.KeyID()}
	older := audit.Keys{}
	if older.ParsePublicKeys(pemData) == nil {
		for id := range older {
			if id != signer.KeyID() {
				ids = append(ids, id)
			}
		}
	}
	slices.Sort(ids[1:])
	return ids
}

// auditVerifyKeys are the public keys that verify this node's checkpoints:
// the signing key's, and the older ones kept in its file.
func auditVerifyKeys(signer *audit.Signer, pemData []byte) audit.Keys {
	keys := audit.Keys{}
	if keys.ParsePublicKeys(pemData) != nil {
		keys = audit.Keys{}
	}
	keys[signer.KeyID()] = signer.PublicKey()
	return keys
}

// clusterKeysLock serialises the check of nodes starting together on
// PostgreSQL ("bevikeys"); SQLite serialises write transactions itself.
const clusterKeysLock int64 = 0x626576696b657973

// checkClusterKeys refuses to start a node whose token or audit key file
// holds none of the keys recorded for the cluster, naming the file. The
// first node to start records its keys; a node whose file holds a recorded
// key and others besides (a rotation under way: a new key put first, the
// old one kept after it) is accepted, and its other keys are recorded too.
// Only once every file is accepted does accepted run (serve writes the key
// files it made then), inside the same transaction, so two nodes starting
// at once on an empty database cannot both record keys of their own, and a
// refused node writes nothing.
func checkClusterKeys(ctx context.Context, gdb *gorm.DB, files []clusterKeyFile, accepted func() error) error {
	return gdb.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if db.Dialect(tx) == db.Postgres {
			if err := tx.Exec("SELECT pg_advisory_xact_lock(?)", clusterKeysLock).Error; err != nil {
				return fmt.Errorf("cluster keys: %w", err)
			}
		}
		var add []clusterKeyRow
		now := time.Now().UTC()
		for _, f := range files {
			var recorded []string
			if err := tx.Model(&clusterKeyRow{}).Where("purpose = ?", f.purpose).Order("fingerprint").
				Pluck("fingerprint", &recorded).Error; err != nil {
				return fmt.Errorf("cluster keys: %w", err)
			}
			shared := slices.ContainsFunc(f.fingerprints, func(fp string) bool { return slices.Contains(recorded, fp) })
			if len(recorded) > 0 && !shared {
				return &config.InvalidError{Err: fmt.Errorf(
					"%s %s holds none of the cluster's keys (this node's %s, the cluster's %s): give this node the same file as the others",
					f.env, f.path, f.fingerprints[0], strings.Join(recorded, ", "))}
			}
			for _, fp := range f.fingerprints {
				if !slices.Contains(recorded, fp) {
					add = append(add, clusterKeyRow{Purpose: f.purpose, Fingerprint: fp, RecordedAt: now})
				}
			}
		}
		if len(add) > 0 {
			if err := tx.Create(&add).Error; err != nil {
				return fmt.Errorf("cluster keys: %w", err)
			}
		}
		return accepted()
	})
}

type clusterKeyRow struct {
	Purpose     string `gorm:"primaryKey"`
	Fingerprint string `gorm:"primaryKey"`
	RecordedAt  time.Time
}

func (clusterKeyRow) TableName() string { return "cluster_keys" }
