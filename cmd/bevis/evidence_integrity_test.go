package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/minio/minio-go/v7"

	"github.com/bevis-ir/bevis/access"
	"github.com/bevis-ir/bevis/evidence"
	"github.com/bevis-ir/bevis/internal/config"
	"github.com/bevis-ir/bevis/internal/db"
	"github.com/bevis-ir/bevis/internal/period"
	"github.com/bevis-ir/bevis/internal/testenv"
)

// `bevis evidence verify` on S3 tells apart what is wrong: a version
// written at an item's key outside Bevis, content missing, and a data key
// that cannot be unwrapped (the verifier's problem, not on the record).
func TestEvidenceVerify_TellsForeignWritesAndKeyProblemsApartFromContent(t *testing.T) {
	ctx := context.Background()
	srv := testenv.S3(t)
	vars := map[string]string{"BEVIS_DATA_DIR": t.TempDir(), "BEVIS_S3_ENDPOINT": srv.Endpoint, "BEVIS_S3_BUCKET": srv.Bucket,
		"BEVIS_S3_ACCESS_KEY": srv.AccessKey, "BEVIS_S3_SECRET_KEY": srv.SecretKey, "BEVIS_S3_REGION": srv.Region,
		"BEVIS_S3_TLS": "false", "BEVIS_EVIDENCE_RETENTION": "1h"}
	env := func(k string) string { return vars[k] }
	if err := run(ctx, []string{"keys", "rewrap"}, env, io.Discard, io.Discard); err != nil { // the key file, the database, check values
		t.Fatal(err)
	}
	caseA := seedCase(t, env)
	gdb, err := db.Open(ctx, "sqlite:"+filepath.Join(vars["BEVIS_DATA_DIR"], "bevis.db"), time.Second, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(gdb)
	var row struct{ UserID, AgencyID string }
	if err := gdb.Raw("SELECT id AS user_id, agency_id FROM users").Scan(&row).Error; err != nil {
		t.Fatal(err)
	}
	p := access.Principal{UserID: row.UserID, AgencyID: row.AgencyID}
	caseB := uuid.NewString()
	now := time.Now().UTC()
	if err := gdb.Exec("INSERT INTO cases (id, title, tlp, lead_agency_id, created_by, created_at, updated_at) VALUES (?, 'Other', 'AMBER', ?, ?, ?, ?)",
		caseB, p.AgencyID, p.UserID, now, now).Error; err != nil {
		t.Fatal(err)
	}
	cfg, _, err := loadConfig("test", nil, env, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	master, err := evidence.ReadMasterKeyFile(filepath.Join(vars["BEVIS_DATA_DIR"], config.DefaultMasterKeysName))
	if err != nil {
		t.Fatal(err)
	}
	store, err := openEvidenceStore(ctx, cfg, testenv.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	items := evidence.NewItems(gdb, period.Of(time.Hour))
	uploads := evidence.NewUploads(gdb, store, evidence.NewKeyring(gdb, master),
		evidence.UploadLimits{MaxSize: 1 << 20, CaseQuota: 1 << 30, Expiry: time.Hour},
		evidence.RetentionPolicy{Mode: evidence.Governance, Period: period.Of(time.Hour)})
	receive := func(caseID, ref, title string) evidence.Item {
		it, err := items.Register(ctx, p, caseID, ref, evidence.NewItem{Title: title, Kind: "logs"})
		if err != nil {
			t.Fatal(err)
		}
		up, err := uploads.Create(ctx, p, it, 9, "")
		if err != nil {
			t.Fatal(err)
		}
		res, err := uploads.Write(ctx, up.ID, 0, strings.NewReader("log lines"), nil)
		if err != nil || res.Item == nil {
			t.Fatalf("upload: %v", err)
		}
		return *res.Item
	}
	intact, foreign, missing := receive(caseA, "A", "Intact"), receive(caseA, "A", "Foreign"), receive(caseA, "A", "Missing")
	unkeyed := receive(caseB, "B", "Unkeyed")

	root := srv.Client(t)
	if _, err := root.PutObject(ctx, srv.Bucket, foreign.ObjectKey, bytes.NewReader([]byte("planted")), 7, minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := root.RemoveObject(ctx, srv.Bucket, missing.ObjectKey, minio.RemoveObjectOptions{VersionID: missing.ObjectVersion, GovernanceBypass: true}); err != nil {
		t.Fatal(err)
	}
	if err := gdb.Exec("UPDATE case_data_keys SET wrapped_key = ? WHERE case_id = ?", bytes.Repeat([]byte{7}, 60), caseB).Error; err != nil {
		t.Fatal(err)
	}
	events := func(it evidence.Item) int {
		evs, err := items.Events(ctx, it.ID)
		if err != nil {
			t.Fatal(err)
		}
		return len(evs)
	}
	unkeyedBefore := events(unkeyed)

	var out bytes.Buffer
	err = run(ctx, []string{"evidence", "verify"}, env, &out, io.Discard)
	got := out.String()
	for _, want := range []string{
		"ok " + intact.ExhibitNumber + ": chain ok, content ok",
		"PROBLEM " + foreign.ExhibitNumber + " (" + foreign.ID + "): written outside Bevis: foreign version",
		"PROBLEM " + missing.ExhibitNumber + " (" + missing.ID + "): content missing",
		"PROBLEM " + unkeyed.ExhibitNumber + " (" + unkeyed.ID + "): cannot check: key",
		"4 item(s) checked, 3 problem(s)",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if exitCode(err) != 1 || strings.Contains(got, foreign.ExhibitNumber+" ("+foreign.ID+"): content") {
		t.Errorf("exit %v; output:\n%s", err, got)
	}
	if n := events(unkeyed); n != unkeyedBefore {
		t.Errorf("a key problem went on the custody record: %d events, had %d", n, unkeyedBefore)
	}
}
