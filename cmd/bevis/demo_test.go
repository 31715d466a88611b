package main

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The demo is also a smoke test of the whole: it drives a real server
// through the API, and what it leaves must pass both offline verifiers.
func TestDemo_BuildsAnInvestigationThatBothVerifiersPass(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "demo")
	var out, errOut strings.Builder
	if err := run(context.Background(), []string{"demo", "--data-dir", dir}, noEnv, &out, &errOut); err != nil {
		t.Fatalf("demo: %v\n%s\n%s", err, out.String(), errOut.String())
	}
	summary := out.String()
	for _, want := range []string{"BEV-", "3009 timeline events", "5 evidence items", "12 smaller cases", "situation report no. 1 issued", "bevis serve --data-dir " + dir} {
		if !strings.Contains(summary, want) {
			t.Errorf("the summary lacks %q:\n%s", want, summary)
		}
	}
	// Every person is listed once with a password of their own.
	people := regexp.MustCompile(`(?m)^\S+@\S+\.example\s+([A-Z0-9]{20})\s`).FindAllStringSubmatch(summary, -1)
	passwords := map[string]bool{}
	for _, p := range people {
		passwords[p[1]] = true
	}
	if len(people) < 12 || len(passwords) != len(people) {
		t.Errorf("%d people with %d distinct passwords listed:\n%s", len(people), len(passwords), summary)
	}

	dataDir := []string{"--data-dir", dir}
	var key strings.Builder
	if err := run(context.Background(), append([]string{"audit", "public-key"}, dataDir...), noEnv, &key, io.Discard); err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(t.TempDir(), "audit.pub")
	if err := os.WriteFile(keyFile, []byte(key.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	var verified strings.Builder
	if err := run(context.Background(), append([]string{"audit", "verify", "--key", keyFile}, dataDir...), noEnv, &verified, io.Discard); err != nil {
		t.Fatalf("audit verify on the demo: %v\n%s", err, verified.String())
	}
	if !strings.Contains(verified.String(), "audit log consistent") || strings.Contains(verified.String(), "not sealed") {
		t.Errorf("audit verify: %s", verified.String())
	}

	// The custody verifier (which records its reads) after the audit one,
	// which must find everything the demo did sealed.
	if err := run(context.Background(), append([]string{"evidence", "verify"}, dataDir...), noEnv, &out, io.Discard); err != nil {
		t.Fatalf("evidence verify on the demo: %v\n%s", err, out.String())
	}

	// A second demo into the same folder is refused, and changes nothing.
	before := treeDigest(t, dir)
	err := run(context.Background(), []string{"demo", "--data-dir", dir}, noEnv, io.Discard, io.Discard)
	if err == nil || exitCode(err) != 2 || !strings.Contains(err.Error(), "not empty") {
		t.Errorf("a demo into a used folder: %v", err)
	}
	if treeDigest(t, dir) != before {
		t.Error("the refused demo changed the folder")
	}
}

func noEnv(string) string { return "" }

// treeDigest lists every file under dir with its size and modification
// time, to tell whether anything there changed.
func treeDigest(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "%s %d %s\n", path, info.Size(), info.ModTime())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}
