package evidence

import (
	"errors"
	"strings"
	"testing"

	"github.com/bevis-ir/bevis/internal/testenv"
)

// A master key file with a known key ID but other bytes is refused, and
// nothing is written: not a check value, not a data key.
func TestCheckMasterKeys_RefusesAKnownIDWithOtherBytes(t *testing.T) {
	for _, d := range testenv.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			ctx := t.Context()
			good := masterKeyLine(t, "mk-1")
			kr := NewKeyring(d.DB, parseMaster(t, good))
			if _, err := kr.CheckMasterKeys(ctx); err != nil {
				t.Fatalf("first start: %v", err)
			}
			if _, err := kr.DataKey(ctx, newCase(t, d.DB)); err != nil {
				t.Fatal(err)
			}
			if _, err := kr.CheckMasterKeys(ctx); err != nil {
				t.Fatalf("restart with the same file: %v", err)
			}
			count := func() (checks, keys int64) {
				d.DB.Model(&keyCheckRow{}).Count(&checks)
				d.DB.Model(&dataKeyRow{}).Count(&keys)
				return checks, keys
			}
			checks, keys := count()

			wrong := NewKeyring(d.DB, parseMaster(t, masterKeyLine(t, "mk-1")))
			if _, err := wrong.CheckMasterKeys(ctx); !errors.Is(err, ErrMasterKeyMismatch) || !strings.Contains(err.Error(), "mk-1") {
				t.Fatalf("same ID, other bytes: %v, want ErrMasterKeyMismatch naming mk-1", err)
			}
			// A new key put first, the wrong one kept after it: still refused.
			rotated := NewKeyring(d.DB, parseMaster(t, masterKeyLine(t, "mk-2"), masterKeyLine(t, "mk-1")))
			if _, err := rotated.CheckMasterKeys(ctx); !errors.Is(err, ErrMasterKeyMismatch) {
				t.Fatalf("new key first, wrong old one after: %v, want ErrMasterKeyMismatch", err)
			}
			if c, k := count(); c != checks || k != keys {
				t.Errorf("refused starts wrote: %d→%d check values, %d→%d data keys", checks, c, keys, k)
			}
		})
	}
}

// A database from before check values were kept: the key in use is checked
// by unwrapping one of its data keys, and its check value is stored once it
// passed.
func TestCheckMasterKeys_ChecksKeysInUseWithoutACheckValueByTheirDataKeys(t *testing.T) {
	for _, d := range testenv.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			ctx := t.Context()
			good := masterKeyLine(t, "mk-old")
			if _, err := NewKeyring(d.DB, parseMaster(t, good)).DataKey(ctx, newCase(t, d.DB)); err != nil {
				t.Fatal(err)
			}
			wrong := NewKeyring(d.DB, parseMaster(t, masterKeyLine(t, "mk-old")))
			if _, err := wrong.CheckMasterKeys(ctx); !errors.Is(err, ErrMasterKeyMismatch) {
				t.Fatalf("wrong bytes, no check value yet: %v, want ErrMasterKeyMismatch", err)
			}
			var n int64
			if d.DB.Model(&keyCheckRow{}).Count(&n); n != 0 {
				t.Fatalf("%d check values stored by a refused start", n)
			}
			if _, err := NewKeyring(d.DB, parseMaster(t, good)).CheckMasterKeys(ctx); err != nil {
				t.Fatalf("the right file: %v", err)
			}
			if d.DB.Model(&keyCheckRow{}).Where("master_key_id = ?", "mk-old").Count(&n); n != 1 {
				t.Fatalf("%d check values of mk-old after a good start, want 1", n)
			}
		})
	}
}
