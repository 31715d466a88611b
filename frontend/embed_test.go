package frontend

import (
	"errors"
	"io/fs"
	"strings"
	"testing"
)

func TestDist_HoldsPlaceholderOrBuiltApp(t *testing.T) {
	d := Dist()

	_, errKeep := fs.Stat(d, ".gitkeep")
	_, errIndex := fs.Stat(d, "index.html")
	if errKeep != nil && errIndex != nil {
		t.Fatalf("Dist() has neither .gitkeep (%v) nor index.html (%v)", errKeep, errIndex)
	}

	// Paths are relative to dist/, not to the package folder.
	if _, err := fs.Stat(d, "dist"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf(`fs.Stat(Dist(), "dist") = %v, want fs.ErrNotExist`, err)
	}
}

// The server's Content-Security-Policy allows scripts and styles only from
// files: a built index.html must carry no inline script, style element or
// style attribute.
func TestDist_IndexHasNothingInlineTheCSPWouldBlock(t *testing.T) {
	b, err := fs.ReadFile(Dist(), "index.html")
	if errors.Is(err, fs.ErrNotExist) {
		t.Skip("frontend not built (run `make ui`): dist holds only .gitkeep")
	}
	if err != nil {
		t.Fatal(err)
	}
	index := strings.ToLower(string(b))

	rest, scripts := index, 0
	for {
		_, after, found := strings.Cut(rest, "<script")
		if !found {
			break
		}
		tag, _, _ := strings.Cut(after, ">")
		if !strings.Contains(tag, " src=") {
			t.Errorf("inline <script%s> in index.html", tag)
		}
		scripts++
		rest = after
	}
	if scripts == 0 {
		t.Error("index.html loads no script")
	}
	for _, bad := range []string{"<style", " style="} {
		if strings.Contains(index, bad) {
			t.Errorf("index.html contains %q", bad)
		}
	}
}
