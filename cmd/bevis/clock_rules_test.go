package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/bevis-ir/bevis/internal/config"
)

func TestLoadClockRules_AddsTheFileToTheDefaultsOrRefusesToStart(t *testing.T) {
	rules, err := loadClockRules(config.Config{})
	if err != nil || !slices.Equal(rules.Jurisdictions(), []string{"gdpr", "nis2"}) {
		t.Fatalf("defaults: %v %v", rules.Jurisdictions(), err)
	}
	dir := t.TempDir()
	good := filepath.Join(dir, "rules.json")
	if err := os.WriteFile(good, []byte(`{"rules":[{"id":"no.nsm.varsel","jurisdiction":"no","title":"Varsle NSM","anchor":"aware_at","after":"24h"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	rules, err = loadClockRules(config.Config{ClockRulesFile: good})
	if err != nil || !slices.Equal(rules.Jurisdictions(), []string{"gdpr", "nis2", "no"}) {
		t.Fatalf("with a file: %v %v", rules.Jurisdictions(), err)
	}
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"rules":[{"id":"gdpr.art33"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{bad, filepath.Join(dir, "missing.json")} {
		if _, err := loadClockRules(config.Config{ClockRulesFile: path}); err == nil || !strings.Contains(err.Error(), "BEVIS_CLOCK_RULES_FILE") {
			t.Errorf("%s: %v", path, err)
		}
	}
}
