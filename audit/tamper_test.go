package audit

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strconv"
	"testing"

	"gorm.io/gorm"

	"github.com/bevis-ir/bevis/internal/testenv"
)

// asSuperuser runs stmts with the append-only triggers out of the way, as
// a database superuser could: on PostgreSQL with session_replication_role
// = replica (which also skips foreign keys), on SQLite by dropping the
// triggers and turning foreign keys off.
func asSuperuser(t *testing.T, db *gorm.DB, stmts ...string) {
	t.Helper()
	err := db.Connection(func(conn *gorm.DB) error {
		conn = conn.Session(&gorm.Session{})
		var setup, teardown []string
		if db.Dialector.Name() == "postgres" {
			setup = []string{"SET session_replication_role = replica"}
			teardown = []string{"RESET session_replication_role"}
		} else {
			setup = []string{"PRAGMA foreign_keys = OFF"}
			for _, table := range []string{"audit_entries", "audit_chain", "audit_checkpoints"} {
				setup = append(setup, "DROP TRIGGER IF EXISTS "+table+"_no_update", "DROP TRIGGER IF EXISTS "+table+"_no_delete")
			}
			teardown = []string{"PRAGMA foreign_keys = ON"}
		}
		for _, q := range append(append(setup, stmts...), teardown...) {
			if err := conn.Exec(q).Error; err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// sealedLog writes 10 entries, seals them and signs a checkpoint at seq 10.
func sealedLog(t *testing.T, db *gorm.DB) (*Signer, []Checkpoint) {
	t.Helper()
	signer := newSigner(t)
	appendCommitted(t, db, 10)
	sealAll(t, newSequencer(t, db, signer, nil))
	var rows []checkpointRow
	if err := db.Order("seq").Find(&rows).Error; err != nil {
		t.Fatal(err)
	}
	cps := make([]Checkpoint, len(rows))
	for i, r := range rows {
		cp, err := ParseCheckpoint(r.Note, keysOf(signer))
		if err != nil {
			t.Fatal(err)
		}
		cps[i] = cp
	}
	if len(cps) != 1 || cps[0].Seq != 10 {
		t.Fatalf("checkpoints %+v, want one at seq 10", cps)
	}
	return signer, cps
}

func entryIDAt(t *testing.T, db *gorm.DB, seq int64) string {
	t.Helper()
	var c chainRow
	if err := db.Where("seq = ?", seq).First(&c).Error; err != nil {
		t.Fatal(err)
	}
	return c.EntryID
}

// verifyBoth verifies the database and an export of it, and checks that
// both give the same answer.
func verifyBoth(t *testing.T, db *gorm.DB, keys Keys, extra []string) (Report, error) {
	t.Helper()
	ctx := context.Background()
	repDB, errDB := VerifyDB(ctx, db, keys, extra)
	var buf bytes.Buffer
	if err := Export(ctx, db, &buf); err != nil {
		t.Fatal(err)
	}
	repFile, errFile := VerifyExport(ctx, func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(buf.Bytes())), nil }, keys, extra)
	if (errDB == nil) != (errFile == nil) || (errDB != nil && errDB.Error() != errFile.Error()) {
		t.Errorf("database and export disagree: %v / %v", errDB, errFile)
	}
	if errDB == nil && (repDB.Entries != repFile.Entries || repDB.Head != repFile.Head) {
		t.Errorf("database and export reports differ: %+v / %+v", repDB, repFile)
	}
	return repDB, errDB
}

func TestVerify_IntactLogIsConsistent(t *testing.T) {
	for _, d := range testenv.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			signer, _ := sealedLog(t, d.DB)
			// An entry not yet sealed is no inconsistency.
			appendCommitted(t, d.DB, 1)
			rep, err := verifyBoth(t, d.DB, keysOf(signer), nil)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Entries != 10 || rep.Checkpoints != 1 || rep.LastCheckpoint.Seq != 10 || rep.Unsealed != 1 {
				t.Errorf("report %+v, want 10 entries, 1 checkpoint at 10, 1 unsealed", rep)
			}
		})
	}
}

func TestVerify_DetectsTampering(t *testing.T) {
	tests := []struct {
		name     string
		tamper   func(t *testing.T, db *gorm.DB, cps []Checkpoint) []string // returns extra checkpoints
		otherKey bool
		dbOnly   bool
		wantSeq  int64
		wantKind string
	}{
		{
			name: "entry edited",
			tamper: func(t *testing.T, db *gorm.DB, _ []Checkpoint) []string {
				asSuperuser(t, db, "UPDATE audit_entries SET action = 'case.read.nothing' WHERE id = '"+entryIDAt(t, db, 4)+"'")
				return nil
			},
			wantSeq: 4, wantKind: Modified,
		},
		{
			name: "entry edited and the chain after it recomputed",
			tamper: func(t *testing.T, db *gorm.DB, _ []Checkpoint) []string {
				asSuperuser(t, db, "UPDATE audit_entries SET action = 'case.list' WHERE id = '"+entryIDAt(t, db, 4)+"'")
				asSuperuser(t, db, "UPDATE audit_chain SET action = 'case.list' WHERE seq = 4") // its search copy too
				rechain(t, db)
				return nil
			},
			wantSeq: 10, wantKind: Modified,
		},
		{
			name: "search copy edited to hide an entry from a case's record",
			tamper: func(t *testing.T, db *gorm.DB, _ []Checkpoint) []string {
				asSuperuser(t, db, "UPDATE audit_chain SET case_id = 'elsewhere' WHERE seq = 3")
				return nil
			},
			dbOnly:  true, // an export carries entries, not the database's search copies
			wantSeq: 3, wantKind: Modified,
		},
		{
			name: "action copy edited to hide an entry from an action filter",
			tamper: func(t *testing.T, db *gorm.DB, _ []Checkpoint) []string {
				asSuperuser(t, db, "UPDATE audit_chain SET action = 'cases.get' WHERE seq = 5")
				return nil
			},
			dbOnly:  true,
			wantSeq: 5, wantKind: Modified,
		},
		{
			name: "entry and its chain position deleted",
			tamper: func(t *testing.T, db *gorm.DB, _ []Checkpoint) []string {
				id := entryIDAt(t, db, 4)
				asSuperuser(t, db, "DELETE FROM audit_chain WHERE seq = 4", "DELETE FROM audit_entries WHERE id = '"+id+"'")
				return nil
			},
			wantSeq: 4, wantKind: Deleted,
		},
		{
			name: "entry deleted, chain position kept",
			tamper: func(t *testing.T, db *gorm.DB, _ []Checkpoint) []string {
				asSuperuser(t, db, "DELETE FROM audit_entries WHERE id = '"+entryIDAt(t, db, 4)+"'")
				return nil
			},
			wantSeq: 4, wantKind: Deleted,
		},
		{
			name: "entry deleted and later ones renumbered",
			tamper: func(t *testing.T, db *gorm.DB, _ []Checkpoint) []string {
				id := entryIDAt(t, db, 4)
				stmts := []string{"DELETE FROM audit_chain WHERE seq = 4", "DELETE FROM audit_entries WHERE id = '" + id + "'"}
				for seq := 5; seq <= 10; seq++ {
					stmts = append(stmts, "UPDATE audit_chain SET seq = seq - 1 WHERE seq = "+itoa(seq))
				}
				asSuperuser(t, db, stmts...)
				return nil
			},
			wantSeq: 4, wantKind: Deleted,
		},
		{
			name: "two entries swapped",
			tamper: func(t *testing.T, db *gorm.DB, _ []Checkpoint) []string {
				asSuperuser(t, db,
					"UPDATE audit_chain SET seq = 1000 WHERE seq = 4",
					"UPDATE audit_chain SET seq = 4 WHERE seq = 5",
					"UPDATE audit_chain SET seq = 5 WHERE seq = 1000")
				return nil
			},
			wantSeq: 4, wantKind: Reordered,
		},
		{
			name: "tail truncated",
			tamper: func(t *testing.T, db *gorm.DB, _ []Checkpoint) []string {
				ids := []string{entryIDAt(t, db, 8), entryIDAt(t, db, 9), entryIDAt(t, db, 10)}
				asSuperuser(t, db, "DELETE FROM audit_chain WHERE seq >= 8",
					"DELETE FROM audit_entries WHERE id IN ('"+ids[0]+"', '"+ids[1]+"', '"+ids[2]+"')")
				return nil
			},
			wantSeq: 8, wantKind: Truncated,
		},
		{
			name: "tail and checkpoints truncated, partner kept a copy",
			tamper: func(t *testing.T, db *gorm.DB, cps []Checkpoint) []string {
				asSuperuser(t, db, "DELETE FROM audit_chain WHERE seq >= 8", "DELETE FROM audit_checkpoints")
				return []string{cps[0].Note}
			},
			wantSeq: 8, wantKind: Truncated,
		},
		{
			name: "checkpoint edited",
			tamper: func(t *testing.T, db *gorm.DB, _ []Checkpoint) []string {
				asSuperuser(t, db, "UPDATE audit_checkpoints SET note = REPLACE(note, 'seq 10', 'seq 11')")
				return nil
			},
			wantSeq: 11, wantKind: BadSignature,
		},
		{
			name:     "checkpoint signed by an unknown key",
			tamper:   func(*testing.T, *gorm.DB, []Checkpoint) []string { return nil },
			otherKey: true,
			wantSeq:  10, wantKind: UnknownKey,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel() // each case tampers with databases of its own; most of the time is making them
			for _, d := range testenv.Databases(t) {
				t.Run(d.Name, func(t *testing.T) {
					signer, cps := sealedLog(t, d.DB)
					extra := tt.tamper(t, d.DB, cps)
					keys := keysOf(signer)
					if tt.otherKey {
						keys = keysOf(newSigner(t))
					}
					var err error
					if tt.dbOnly {
						_, err = VerifyDB(context.Background(), d.DB, keys, extra)
					} else {
						_, err = verifyBoth(t, d.DB, keys, extra)
					}
					var inc *Inconsistency
					if !errors.As(err, &inc) {
						t.Fatalf("verify: %v, want an inconsistency", err)
					}
					if inc.Seq != tt.wantSeq || inc.Kind != tt.wantKind {
						t.Errorf("verify named %q at seq %d (%v), want %q at seq %d", inc.Kind, inc.Seq, err, tt.wantKind, tt.wantSeq)
					}
				})
			}
		})
	}
}

// rechain recomputes every chain hash from the entries as they now are, as
// someone covering an edit would.
func rechain(t *testing.T, db *gorm.DB) {
	t.Helper()
	var stmts []string
	prev := genesisHash
	err := readChain(context.Background(), db, func(s sealed) error {
		h := chainHash(prev, *s.Entry)
		stmts = append(stmts, "UPDATE audit_chain SET prev_hash = '"+prev+"', hash = '"+h+"' WHERE seq = "+itoa(int(s.Seq)))
		prev = h
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	asSuperuser(t, db, stmts...)
}

func itoa(i int) string { return strconv.Itoa(i) }

func TestTriggers_RefuseUpdateAndDelete(t *testing.T) {
	for _, d := range testenv.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			sealedLog(t, d.DB)
			for _, q := range []string{
				"UPDATE audit_entries SET action = 'x'",
				"DELETE FROM audit_entries",
				"UPDATE audit_chain SET hash = 'x'",
				"DELETE FROM audit_chain",
				"UPDATE audit_checkpoints SET note = 'x'",
				"DELETE FROM audit_checkpoints",
			} {
				if err := d.DB.Exec(q).Error; err == nil {
					t.Errorf("%s was allowed", q)
				}
			}
			if d.Name == "postgres" {
				for _, table := range []string{"audit_entries", "audit_chain", "audit_checkpoints"} {
					if err := d.DB.Exec("TRUNCATE " + table + " CASCADE").Error; err == nil {
						t.Errorf("TRUNCATE %s was allowed", table)
					}
				}
			}
			if n := count(t, d.DB, "audit_chain"); n != 10 {
				t.Errorf("chain has %d rows after refused changes, want 10", n)
			}
		})
	}
}
