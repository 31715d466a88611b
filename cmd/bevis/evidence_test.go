package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bevis-ir/bevis/access"
	"github.com/bevis-ir/bevis/cases"
	"github.com/bevis-ir/bevis/evidence"
	"github.com/bevis-ir/bevis/internal/db"
	"github.com/bevis-ir/bevis/internal/period"
	"github.com/bevis-ir/bevis/internal/testenv"
)

// evidenceWorld is a data folder with one case, one received item and one
// physical item, made through the domain packages as serve would.
func evidenceWorld(t *testing.T) (env func(string) string, gdb *evidence.Items, caseRef string, manifest evidence.Manifest) {
	t.Helper()
	dir := t.TempDir()
	env = func(k string) string {
		if k == "BEVIS_DATA_DIR" {
			return dir
		}
		return ""
	}
	ctx := context.Background()
	cfg, _, err := loadConfig("test", nil, env, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	log := testenv.Logger(t)
	master, err := loadMasterKeys(cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := db.Open(ctx, cfg.DatabaseURL, 0, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close(conn) })
	if _, err := db.Migrate(ctx, conn, log); err != nil {
		t.Fatal(err)
	}
	dirStore := access.NewDirectory(conn)
	a, err := dirStore.CreateAgency(ctx, access.NewAgency{Code: "KRIPOS", Name: "Kripos", Kind: "police"})
	if err != nil {
		t.Fatal(err)
	}
	u, err := dirStore.CreateUser(ctx, access.NewUser{AgencyID: a.ID, Email: "analyst@bevis.test", Name: "Analyst"})
	if err != nil {
		t.Fatal(err)
	}
	p := access.Principal{UserID: u.ID, AgencyID: a.ID, SystemRole: access.RoleMember}
	k, err := cases.NewStore(conn).Create(ctx, p, cases.NewCase{Title: "Breach", TLP: access.TLPAmber})
	if err != nil {
		t.Fatal(err)
	}
	items := evidence.NewItems(conn, period.Of(time.Hour))
	it, err := items.Register(ctx, p, k.ID, k.Reference, evidence.NewItem{Title: "Logs", Kind: "logs"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := items.Register(ctx, p, k.ID, k.Reference, evidence.NewItem{Title: "Laptop", Kind: evidence.KindPhysical}); err != nil {
		t.Fatal(err)
	}
	store, err := evidence.NewFSStore(cfg.EvidenceDir)
	if err != nil {
		t.Fatal(err)
	}
	uploads := evidence.NewUploads(conn, store, evidence.NewKeyring(conn, master),
		evidence.UploadLimits{MaxSize: 1 << 20, CaseQuota: 1 << 30, Expiry: time.Hour},
		evidence.RetentionPolicy{Mode: evidence.Governance, Period: period.Of(time.Hour)})
	up, err := uploads.Create(ctx, p, it, 11, "fw.log")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := uploads.Write(ctx, up.ID, 0, strings.NewReader("deny 445/tcp"[:11]), nil); err != nil {
		t.Fatal(err)
	}
	manifest, err = items.Manifest(ctx, k.ID, k.Reference, u.ID, []access.TLP{access.TLPAmber})
	if err != nil {
		t.Fatal(err)
	}
	return env, items, k.Reference, manifest
}

func TestEvidenceVerify_ChecksChainsAndContentAndNamesWhatIsBroken(t *testing.T) {
	env, _, ref, _ := evidenceWorld(t)
	ctx := context.Background()
	var out bytes.Buffer
	if err := run(ctx, []string{"evidence", "verify", "--case", ref}, env, &out, io.Discard); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "ok "+ref+"-E001: chain ok, content ok") || !strings.Contains(out.String(), "2 item(s) checked, 0 problem(s)") {
		t.Errorf("output:\n%s", out.String())
	}
	// Someone with the database's own rights edits the ledger.
	cfg, _, _ := loadConfig("test", nil, env, io.Discard)
	conn, err := db.Open(ctx, cfg.DatabaseURL, 0, testenv.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, stmt := range []string{"DROP TRIGGER custody_events_no_update",
		"UPDATE custody_events SET location = 'somewhere else' WHERE seq = 1"} {
		if err := conn.Exec(stmt).Error; err != nil {
			t.Fatal(err)
		}
	}
	_ = db.Close(conn)
	out.Reset()
	err = run(ctx, []string{"evidence", "verify"}, env, &out, io.Discard)
	if exitCode(err) != 1 || strings.Count(out.String(), "PROBLEM") != 2 || !strings.Contains(out.String(), "broken at event 1") {
		t.Errorf("after tampering: %v\n%s", err, out.String())
	}
	if err := run(ctx, []string{"evidence", "verify", "--case", "BEV-1999-0001"}, env, io.Discard, io.Discard); exitCode(err) != 2 {
		t.Errorf("an unknown case: %v", err)
	}
}

func TestEvidenceVerifyManifest_ChecksAnExportedManifest(t *testing.T) {
	_, _, _, m := evidenceWorld(t)
	path := filepath.Join(t.TempDir(), "manifest.json")
	raw, _ := json.Marshal(m)
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"evidence", "verify-manifest", path}, nil, &out, io.Discard); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "2 item(s), 3 custody event(s), 0 problem(s)") {
		t.Errorf("output: %s", out.String())
	}
	m.Items[0].Custody[1].Notes = "edited"
	raw, _ = json.Marshal(m)
	_ = os.WriteFile(path, raw, 0o600)
	out.Reset()
	err := run(context.Background(), []string{"evidence", "verify-manifest", path}, nil, &out, io.Discard)
	if exitCode(err) != 1 || !strings.Contains(out.String(), "E001: custody chain broken at event 2") {
		t.Errorf("edited manifest: %v\n%s", err, out.String())
	}
}

// An item whose MD5, size or exhibit number was edited in the database,
// past its guard, is named by the check, with the fact edited.
func TestEvidenceVerify_NamesAnItemWhoseIdentifyingFactsWereEdited(t *testing.T) {
	for _, tt := range []struct{ field, stmt string }{
		{"MD5", "UPDATE evidence_items SET md5 = 'ffffffffffffffffffffffffffffffff' WHERE content_status = 'received'"},
		{"size", "UPDATE evidence_items SET size = size + 1 WHERE content_status = 'received'"},
		{"exhibit number", "UPDATE evidence_items SET exhibit_number = exhibit_number || '9' WHERE content_status = 'received'"},
	} {
		t.Run(tt.field, func(t *testing.T) {
			env, _, ref, _ := evidenceWorld(t)
			ctx := context.Background()
			cfg, _, _ := loadConfig("test", nil, env, io.Discard)
			conn, err := db.Open(ctx, cfg.DatabaseURL, 0, testenv.Logger(t))
			if err != nil {
				t.Fatal(err)
			}
			if err := conn.Exec(tt.stmt).Error; err == nil {
				t.Errorf("the database let through an edit of the %s", tt.field)
			}
			for _, stmt := range []string{"DROP TRIGGER evidence_items_identity_fixed", tt.stmt} {
				if err := conn.Exec(stmt).Error; err != nil {
					t.Fatal(err)
				}
			}
			_ = db.Close(conn)
			var out bytes.Buffer
			err = run(ctx, []string{"evidence", "verify"}, env, &out, io.Discard)
			if exitCode(err) != 1 || !strings.Contains(out.String(), "PROBLEM") ||
				!strings.Contains(out.String(), "("+ref+"-E001): its "+tt.field+" is") {
				t.Errorf("after editing the %s: %v\n%s", tt.field, err, out.String())
			}
		})
	}
}
