package main

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// readme is the repository's README, which documents every command and
// folder; these tests hold it to the code.
func readme(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// usageCommands are the commands `bevis --help` lists, with "a b | c"
// standing for "a b" and "a c".
func usageCommands() []string {
	var out []string
	for line := range strings.Lines(usage) {
		m := regexp.MustCompile(`^  ([a-z][a-z-]*(?: [a-z][a-z-]*)?(?: \| [a-z-]+)*)(?: [A-Z]+)?(?:\s{2,}|\s*$)`).FindStringSubmatch(line)
		if m == nil {
			continue
		}
		alternatives := strings.Split(m[1], " | ")
		first := strings.Fields(alternatives[0])
		out = append(out, strings.Join(first, " "))
		for _, alt := range alternatives[1:] {
			out = append(out, first[0]+" "+alt)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func TestREADME_CommandTableListsWhatBevisHelpLists(t *testing.T) {
	var documented []string
	for _, m := range regexp.MustCompile("(?m)^\\| `bevis ([a-z-]+(?: [a-z][a-z-]*)?)").FindAllStringSubmatch(readme(t), -1) {
		documented = append(documented, m[1])
	}
	slices.Sort(documented)
	documented = slices.Compact(documented)
	listed := usageCommands()
	if len(listed) < 15 {
		t.Fatalf("read only %d commands from the usage text: %v", len(listed), listed)
	}
	if !slices.Equal(documented, listed) {
		t.Errorf("the README's command table and `bevis --help` differ:\nREADME: %v\nhelp:   %v", documented, listed)
	}
	for _, c := range listed {
		if err := run(t.Context(), append(strings.Fields(c), "--help"), noEnv, &strings.Builder{}, &strings.Builder{}); err != nil {
			t.Errorf("bevis %s --help: %v", c, err)
		}
	}
}

func TestREADME_LayoutTableNamesEveryFolder(t *testing.T) {
	text := readme(t)
	section := text[strings.Index(text, "\n## Layout"):]
	var documented []string
	for _, m := range regexp.MustCompile("(?m)^\\| `([a-z/]+?)/?` \\|").FindAllStringSubmatch(section, -1) {
		documented = append(documented, m[1])
	}
	slices.Sort(documented)
	entries, err := os.ReadDir("../..")
	if err != nil {
		t.Fatal(err)
	}
	var folders []string
	for _, e := range entries {
		name := e.Name()
		if !e.IsDir() || strings.HasPrefix(name, ".") || slices.Contains([]string{"bin", "data", "demo-data"}, name) {
			continue
		}
		if name == "cmd" {
			name = "cmd/bevis"
		}
		folders = append(folders, name)
	}
	slices.Sort(folders)
	if !slices.Equal(documented, folders) {
		t.Errorf("the README's layout table and the repository's folders differ:\nREADME: %v\nfolders: %v", documented, folders)
	}
}
