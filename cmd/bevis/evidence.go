package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/bevis-ir/bevis/access"
	"github.com/bevis-ir/bevis/alerts"
	"github.com/bevis-ir/bevis/evidence"
	"github.com/bevis-ir/bevis/internal/db"
)

const evidenceUsage = "usage: bevis evidence verify [--case REFERENCE] [options] | bevis evidence verify-manifest FILE"

// errEvidenceProblems is the failure of a verification that found problems;
// each was printed.
var errEvidenceProblems = errors.New("evidence verification found problems")

// evidenceCmd runs `bevis evidence verify` and `verify-manifest`.
func evidenceCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return &usageError{evidenceUsage}
	}
	switch args[0] {
	case "verify-manifest":
		if helpAsked(args[1:]) {
			_, err := fmt.Fprintln(stdout, evidenceUsage+"\nverify-manifest checks a case's evidence manifest (JSON, from GET /api/v1/cases/{id}/evidence/manifest) offline.")
			return err
		}
		if len(args) != 2 {
			return &usageError{evidenceUsage}
		}
		return verifyManifest(args[1], stdout)
	case "verify":
		return verifyEvidence(ctx, args[1:], getenv, stdout, stderr)
	}
	return &usageError{evidenceUsage}
}

// verifyManifest checks a case's evidence manifest offline.
func verifyManifest(path string, stdout io.Writer) error {
	f, err := os.Open(path) //nolint:gosec // the file the operator named on the command line
	if err != nil {
		return err
	}
	defer f.Close()
	rep, err := evidence.VerifyManifest(f)
	if err != nil {
		return err
	}
	for _, p := range rep.Problems {
		fmt.Fprintln(stdout, "PROBLEM", p)
	}
	fmt.Fprintf(stdout, "%d item(s), %d custody event(s), %d problem(s)\n", rep.Items, rep.Events, len(rep.Problems))
	if len(rep.Problems) > 0 {
		return errEvidenceProblems
	}
	return nil
}

// verifyEvidence re-checks every item (or one case's): its custody chain
// is recomputed from the database, and its stored content re-read and
// re-hashed, the result going on its custody record as a scheduled check
// would.
func verifyEvidence(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var caseRef string
	cfg, ok, err := loadConfig("evidence verify", args, getenv, stdout, func(fs *flag.FlagSet) {
		fs.StringVar(&caseRef, "case", "", "check only the case with this reference, like BEV-2026-0042")
	})
	if !ok {
		return err
	}
	log := newLogger(cfg, stderr)
	master, err := loadMasterKeys(cfg, log)
	if err != nil {
		return err
	}
	gdb, err := openMigrated(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer db.Close(gdb)
	keyring := evidence.NewKeyring(gdb, master)
	if err := checkMasterKeys(ctx, keyring, log); err != nil {
		return err
	}
	store, err := openEvidenceStore(ctx, cfg, log)
	if err != nil {
		return err
	}
	caseID := ""
	if caseRef != "" {
		if err := gdb.WithContext(ctx).Raw("SELECT id FROM cases WHERE reference = ?", caseRef).Scan(&caseID).Error; err != nil {
			return err
		}
		if caseID == "" {
			return &usageError{fmt.Sprintf("no case with reference %q", caseRef)}
		}
	}
	items := evidence.NewItems(gdb, cfg.EvidenceRetention)
	content := evidence.NewContent(gdb, store, keyring)
	engine := alerts.New(gdb, alertOptions(cfg, log))
	defer engine.Stop()
	content.ReportIncidentsTo(engine)
	ids, err := items.IDs(ctx, caseID)
	if err != nil {
		return err
	}
	problems := 0
	for _, id := range ids {
		it, err := items.Item(ctx, id)
		if err != nil {
			return err
		}
		if err := items.VerifyItem(ctx, id); err != nil {
			problems++
			fmt.Fprintf(stdout, "PROBLEM %s (%s): %v\n", it.ExhibitNumber, id, err)
			continue
		}
		if it.ContentStatus != "received" {
			fmt.Fprintf(stdout, "ok %s: chain ok, no content\n", it.ExhibitNumber)
			continue
		}
		v, err := content.Verify(ctx, access.Principal{}, it)
		if errors.Is(err, evidence.ErrCannotCheckKey) {
			// The verifier's problem, not the evidence's: nothing was recorded.
			problems++
			fmt.Fprintf(stdout, "PROBLEM %s (%s): cannot check: key: %v\n", it.ExhibitNumber, id, err)
			continue
		}
		if err != nil {
			return fmt.Errorf("%s: %w", it.ExhibitNumber, err)
		}
		if v.Result == "ok" && len(v.Findings) == 0 {
			fmt.Fprintf(stdout, "ok %s: chain ok, content ok\n", it.ExhibitNumber)
			continue
		}
		problems++
		if v.Result != "ok" {
			fmt.Fprintf(stdout, "PROBLEM %s (%s): content %s\n", it.ExhibitNumber, id, v.Result)
		}
		for _, f := range v.Findings {
			fmt.Fprintf(stdout, "PROBLEM %s (%s): written outside Bevis: %s\n", it.ExhibitNumber, id, f)
		}
	}
	fmt.Fprintf(stdout, "%d item(s) checked, %d problem(s)\n", len(ids), problems)
	if problems > 0 {
		return errEvidenceProblems
	}
	return nil
}
