package evidence

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/bevis-ir/bevis/internal/testenv"
)

// newCase inserts the rows a case needs (an agency, its creator, the case)
// and returns the case ID. Plain SQL: evidence does not import cases.
func newCase(t testing.TB, gdb *gorm.DB) string {
	t.Helper()
	now := time.Now().UTC().Truncate(time.Microsecond)
	agency, user, caseID := uuid.NewString(), uuid.NewString(), uuid.NewString()
	for _, stmt := range []struct {
		sql  string
		args []any
	}{
		{"INSERT INTO agencies (id, code, name, kind, created_at, updated_at) VALUES (?, ?, 'Test agency', 'cert', ?, ?)",
			[]any{agency, "T" + strings.ToUpper(agency[:8]), now, now}},
		{"INSERT INTO users (id, agency_id, email, name, status, system_role, created_at, updated_at) VALUES (?, ?, ?, 'Test user', 'active', 'member', ?, ?)",
			[]any{user, agency, user + "@example.org", now, now}},
		{"INSERT INTO cases (id, reference, title, tlp, lead_agency_id, created_by, created_at, updated_at, status_changed_at) VALUES (?, ?, 'Test case', 'AMBER', ?, ?, ?, ?, ?)",
			[]any{caseID, "BEV-T-" + caseID, agency, user, now, now, now}},
	} {
		if err := gdb.Exec(stmt.sql, stmt.args...).Error; err != nil {
			t.Fatalf("seed: %v", err)
		}
	}
	return caseID
}

func masterKeyLine(t *testing.T, id string) string {
	t.Helper()
	var k [32]byte
	if _, err := rand.Read(k[:]); err != nil {
		t.Fatal(err)
	}
	return id + ":" + base64.StdEncoding.EncodeToString(k[:]) + "\n"
}

func parseMaster(t *testing.T, lines ...string) *MasterKeys {
	t.Helper()
	m, err := ParseMasterKeys([]byte(strings.Join(lines, "")))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestKeyring_DataKeyIsMadeOnceAndReopens(t *testing.T) {
	for _, d := range testenv.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			ctx := t.Context()
			kr := NewKeyring(d.DB, parseMaster(t, masterKeyLine(t, "mk-1")))
			caseA, caseB := newCase(t, d.DB), newCase(t, d.DB)
			a1, err := kr.DataKey(ctx, caseA)
			if err != nil {
				t.Fatal(err)
			}
			a2, err := kr.DataKey(ctx, caseA)
			if err != nil {
				t.Fatal(err)
			}
			b, err := kr.DataKey(ctx, caseB)
			if err != nil {
				t.Fatal(err)
			}
			if a1.ID != a2.ID || a1.secret != a2.secret || a1.CaseID != caseA || a1.Version != 1 {
				t.Fatalf("second DataKey differs: %v vs %v", a1, a2)
			}
			if b.ID == a1.ID || b.secret == a1.secret {
				t.Fatal("two cases share a data key")
			}
			byID, err := kr.DataKeyByID(ctx, a1.ID)
			if err != nil || byID.secret != a1.secret || byID.CaseID != caseA {
				t.Fatalf("DataKeyByID = %v, %v", byID, err)
			}
			if _, err := kr.DataKeyByID(ctx, uuid.NewString()); !errors.Is(err, ErrDataKeyNotFound) {
				t.Fatalf("DataKeyByID(unknown) error = %v, want ErrDataKeyNotFound", err)
			}
			// The database holds the key only wrapped.
			var row dataKeyRow
			if err := d.DB.Where("id = ?", a1.ID).Take(&row).Error; err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(row.WrappedKey, a1.secret[:]) || row.MasterKeyID != "mk-1" {
				t.Fatalf("stored row: master %q, key in the clear: %v", row.MasterKeyID, bytes.Contains(row.WrappedKey, a1.secret[:]))
			}
			printed := fmt.Sprintf("%v %+v %#v %s", a1, a1, a1, a1)
			sc := a1.secret
			asNumbers := fmt.Sprintf("%d %d %d %d %d %d", sc[0], sc[1], sc[2], sc[3], sc[4], sc[5])
			if strings.Contains(printed, asNumbers) || strings.Contains(printed, fmt.Sprintf("%x", sc[:6])) {
				t.Fatalf("a printed DataKey shows its secret: %s", printed)
			}
		})
	}
}

func TestKeyring_DataKeyRefusesUnknownCase(t *testing.T) {
	for _, d := range testenv.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			kr := NewKeyring(d.DB, parseMaster(t, masterKeyLine(t, "mk-1")))
			if _, err := kr.DataKey(t.Context(), uuid.NewString()); !errors.Is(err, gorm.ErrForeignKeyViolated) {
				t.Fatalf("DataKey(unknown case) error = %v, want a foreign key violation", err)
			}
		})
	}
}

// Nodes making the first key of a case at the same moment all get the
// same key.
func TestKeyring_ConcurrentFirstUseAgrees(t *testing.T) {
	for _, d := range testenv.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			master := parseMaster(t, masterKeyLine(t, "mk-1"))
			caseID := newCase(t, d.DB)
			const nodes = 8
			keys := make([]DataKey, nodes)
			errs := make([]error, nodes)
			var wg sync.WaitGroup
			for i := range nodes {
				wg.Go(func() { keys[i], errs[i] = NewKeyring(d.DB, master).DataKey(t.Context(), caseID) })
			}
			wg.Wait()
			for i := range nodes {
				if errs[i] != nil {
					t.Fatalf("node %d: %v", i, errs[i])
				}
				if keys[i].ID != keys[0].ID || keys[i].secret != keys[0].secret {
					t.Fatalf("node %d got %v, node 0 %v", i, keys[i], keys[0])
				}
			}
			var n int64
			d.DB.Model(&dataKeyRow{}).Where("case_id = ?", caseID).Count(&n)
			if n != 1 {
				t.Fatalf("%d data key rows for one case", n)
			}
		})
	}
}

// Rotation: a new master key first in the file, RewrapAll, then the old
// key can go; objects sealed before stay readable throughout.
func TestKeyring_RotationRewrapsWithoutChangingDataKeys(t *testing.T) {
	for _, d := range testenv.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			ctx := t.Context()
			oldLine, newLine := masterKeyLine(t, "mk-old"), masterKeyLine(t, "mk-new")
			before := NewKeyring(d.DB, parseMaster(t, oldLine))
			data := testBytes(3000)
			var cases []string
			sealedByCase := map[string][]byte{}
			for range 3 {
				c := newCase(t, d.DB)
				dk, err := before.DataKey(ctx, c)
				if err != nil {
					t.Fatal(err)
				}
				cases = append(cases, c)
				sealedByCase[c] = seal(t, dk, testObject, data, 1024)
			}

			rotated := NewKeyring(d.DB, parseMaster(t, newLine, oldLine))
			// Before rewrapping, keys under the old master still open.
			if _, err := rotated.DataKey(ctx, cases[0]); err != nil {
				t.Fatal(err)
			}
			// A case first used after the new key went in gets the new one.
			fresh := newCase(t, d.DB)
			if _, err := rotated.DataKey(ctx, fresh); err != nil {
				t.Fatal(err)
			}
			if inUse, _ := rotated.MasterKeysInUse(ctx); fmt.Sprint(inUse) != "[mk-new mk-old]" {
				t.Fatalf("MasterKeysInUse before rewrap = %v", inUse)
			}
			if retiring, err := rotated.CheckMasterKeys(ctx); err != nil || fmt.Sprint(retiring) != "[mk-old]" {
				t.Fatalf("CheckMasterKeys before rewrap = %v, %v", retiring, err)
			}
			if _, err := NewKeyring(d.DB, parseMaster(t, newLine)).CheckMasterKeys(ctx); !errors.Is(err, ErrUnknownMasterKey) || !strings.Contains(err.Error(), "mk-old") {
				t.Fatalf("CheckMasterKeys without the old key = %v, want ErrUnknownMasterKey naming mk-old", err)
			}
			n, err := rotated.RewrapAll(ctx)
			if err != nil || n != len(cases) {
				t.Fatalf("RewrapAll = %d, %v; want %d", n, err, len(cases))
			}
			if n, err := rotated.RewrapAll(ctx); err != nil || n != 0 {
				t.Fatalf("second RewrapAll = %d, %v; want 0", n, err)
			}
			if inUse, _ := rotated.MasterKeysInUse(ctx); fmt.Sprint(inUse) != "[mk-new]" {
				t.Fatalf("MasterKeysInUse after rewrap = %v", inUse)
			}
			if retiring, err := rotated.CheckMasterKeys(ctx); err != nil || len(retiring) != 0 {
				t.Fatalf("CheckMasterKeys after rewrap = %v, %v", retiring, err)
			}

			// The old key is dropped from the file: everything still opens.
			after := NewKeyring(d.DB, parseMaster(t, newLine))
			for _, c := range cases {
				dk, err := after.DataKey(ctx, c)
				if err != nil {
					t.Fatal(err)
				}
				got, err := openAll(sealedByCase[c], dk, testObject)
				if err != nil || !bytes.Equal(got, data) {
					t.Fatalf("case %s after rotation: %v", c, err)
				}
			}
			// And the old key alone no longer opens them.
			if _, err := before.DataKey(ctx, cases[0]); !errors.Is(err, ErrUnknownMasterKey) {
				t.Fatalf("old master alone: error = %v, want ErrUnknownMasterKey", err)
			}
		})
	}
}

func TestKeyring_UnknownMasterKeyIsAnError(t *testing.T) {
	for _, d := range testenv.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			ctx := t.Context()
			c := newCase(t, d.DB)
			dk, err := NewKeyring(d.DB, parseMaster(t, masterKeyLine(t, "mk-gone"))).DataKey(ctx, c)
			if err != nil {
				t.Fatal(err)
			}
			other := NewKeyring(d.DB, parseMaster(t, masterKeyLine(t, "mk-other")))
			if _, err := other.DataKey(ctx, c); !errors.Is(err, ErrUnknownMasterKey) || !strings.Contains(err.Error(), "mk-gone") {
				t.Fatalf("DataKey error = %v, want ErrUnknownMasterKey naming mk-gone", err)
			}
			if _, err := other.DataKeyByID(ctx, dk.ID); !errors.Is(err, ErrUnknownMasterKey) {
				t.Fatalf("DataKeyByID error = %v, want ErrUnknownMasterKey", err)
			}
			if n, err := other.RewrapAll(ctx); !errors.Is(err, ErrUnknownMasterKey) || n != 0 {
				t.Fatalf("RewrapAll = %d, %v; want 0, ErrUnknownMasterKey", n, err)
			}
		})
	}
}

// A wrapped key is bound to its row: copied to another case's row, or
// under a master key of the same ID but other bytes, it does not unwrap.
func TestKeyring_WrappedKeyIsBoundToItsRow(t *testing.T) {
	for _, d := range testenv.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			ctx := t.Context()
			kr := NewKeyring(d.DB, parseMaster(t, masterKeyLine(t, "mk-1")))
			a, b := newCase(t, d.DB), newCase(t, d.DB)
			ka, _ := kr.DataKey(ctx, a)
			kb, err := kr.DataKey(ctx, b)
			if err != nil {
				t.Fatal(err)
			}
			var rowA dataKeyRow
			d.DB.Where("id = ?", ka.ID).Take(&rowA)
			if err := d.DB.Model(&dataKeyRow{}).Where("id = ?", kb.ID).Update("wrapped_key", rowA.WrappedKey).Error; err != nil {
				t.Fatal(err)
			}
			if _, err := kr.DataKey(ctx, b); !errors.Is(err, ErrDataKeyCorrupt) {
				t.Fatalf("moved wrapped key: error = %v, want ErrDataKeyCorrupt", err)
			}
			impostor := NewKeyring(d.DB, parseMaster(t, masterKeyLine(t, "mk-1")))
			if _, err := impostor.DataKey(ctx, a); !errors.Is(err, ErrDataKeyCorrupt) {
				t.Fatalf("other bytes under the same master ID: error = %v, want ErrDataKeyCorrupt", err)
			}
		})
	}
}

func TestParseMasterKeys(t *testing.T) {
	k1, k2 := masterKeyLine(t, "mk-1"), masterKeyLine(t, "mk-2")
	m, err := ParseMasterKeys([]byte("# rotated 2026-11-28\n\n" + k2 + "  " + k1))
	if err != nil {
		t.Fatal(err)
	}
	if m.CurrentID() != "mk-2" || len(m.keys) != 2 {
		t.Fatalf("current %q of %d keys", m.CurrentID(), len(m.keys))
	}
	line, err := NewMasterKeyLine(time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if gen, err := ParseMasterKeys([]byte(line)); err != nil || !strings.HasPrefix(gen.CurrentID(), "mk-20261128-") {
		t.Fatalf("generated line %q: %v", line, err)
	}
	for name, bad := range map[string]string{
		"empty":          "",
		"comments only":  "# nothing\n",
		"no colon":       "mk-1" + base64.StdEncoding.EncodeToString(make([]byte, 32)) + "\n",
		"short key":      "mk-1:" + base64.StdEncoding.EncodeToString(make([]byte, 16)) + "\n",
		"not base64":     "mk-1:%%%\n",
		"bad ID":         "mk 1:" + base64.StdEncoding.EncodeToString(make([]byte, 32)) + "\n",
		"duplicate ID":   k1 + k1,
		"empty ID":       ":" + base64.StdEncoding.EncodeToString(make([]byte, 32)) + "\n",
		"ID with colons": "a:b:" + base64.StdEncoding.EncodeToString(make([]byte, 32)) + "\n",
	} {
		if _, err := ParseMasterKeys([]byte(bad)); !errors.Is(err, ErrMasterKeyFile) {
			t.Errorf("%s: error = %v, want ErrMasterKeyFile", name, err)
		}
	}
}

func TestReadMasterKeyFile_RefusesFilesOthersCanRead(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "master-keys")
	if err := os.WriteFile(path, []byte(masterKeyLine(t, "mk-1")), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadMasterKeyFile(path); err != nil {
		t.Fatalf("0600: %v", err)
	}
	for _, mode := range []os.FileMode{0o604, 0o644, 0o666, 0o602} {
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		if _, err := ReadMasterKeyFile(path); !errors.Is(err, ErrMasterKeyFile) {
			t.Errorf("mode %04o: error = %v, want ErrMasterKeyFile", mode, err)
		}
	}
	if _, err := ReadMasterKeyFile(filepath.Join(dir, "absent")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("absent file: error = %v", err)
	}
}

// The losing side of the race, made to happen: a node that found no key,
// then lost the insert to another node, takes the other node's key.
func TestKeyring_LoserOfTheFirstInsertTakesTheWinnersKey(t *testing.T) {
	for _, d := range testenv.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			master := parseMaster(t, masterKeyLine(t, "mk-1"))
			caseID := newCase(t, d.DB)
			winner, err := NewKeyring(d.DB, master).DataKey(t.Context(), caseID)
			if err != nil {
				t.Fatal(err)
			}
			loser := NewKeyring(d.DB, master)
			row, err := loser.createOrTake(t.Context(), caseID)
			if err != nil {
				t.Fatal(err)
			}
			got, err := loser.open(row)
			if err != nil || got.ID != winner.ID || got.secret != winner.secret {
				t.Fatalf("loser got %v (%v), winner has %v", got, err, winner)
			}
		})
	}
}
