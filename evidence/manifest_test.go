package evidence

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/bevis-ir/bevis/access"
	"github.com/bevis-ir/bevis/internal/testenv"
)

func TestManifest_VerifiesOfflineAndNamesWhatWasChanged(t *testing.T) {
	e := newUploadEnv(t, newTestFSStore(t), testenv.SQLite(t))
	data := randomBytes(t, 70_000)
	it := e.item(t, Hashes{SHA256: sums(data).SHA256})
	up, _ := e.uploads.Create(t.Context(), e.a1, it, int64(len(data)), "x")
	if _, err := e.uploads.Write(t.Context(), up.ID, 0, bytes.NewReader(data), nil); err != nil {
		t.Fatal(err)
	}
	e.step(t, e.a1, it.ID, Step{Type: EventSealApplied, Details: Details{SealNumber: "S-1"}})
	e.register(t, NewItem{Location: "Room 1"})
	m, err := e.items.Manifest(t.Context(), e.caseID, "BEV-2026-0042", e.a1.UserID, []access.TLP{access.TLPAmber})
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(m)
	rep, err := VerifyManifest(bytes.NewReader(raw))
	if err != nil || len(rep.Problems) != 0 || rep.Items != 2 || rep.Events != 4 {
		t.Fatalf("untouched manifest: %+v %v", rep, err)
	}
	tamper := map[string]func(m *Manifest){
		"hash of the content": func(m *Manifest) { m.Items[0].Hashes.SHA256 = strings.Repeat("0", 64) },
		"a location":          func(m *Manifest) { m.Items[1].Custody[0].Location = "Car park" },
		"a seal number":       func(m *Manifest) { m.Items[0].Custody[2].Details = `{"seal_number":"S-2"}` },
		"a removed event":     func(m *Manifest) { m.Items[0].Custody = m.Items[0].Custody[:1] },
		"a time":              func(m *Manifest) { m.Items[0].Custody[1].OccurredAt = m.Items[0].Custody[1].OccurredAt.Add(-1) },
		"the MD5":             func(m *Manifest) { m.Items[0].Hashes.MD5 = strings.Repeat("0", 32) },
		"the size":            func(m *Manifest) { m.Items[0].Size++ },
		"the exhibit number":  func(m *Manifest) { m.Items[1].ExhibitNumber = "BEV-2026-0042-E009" },
		"the title":           func(m *Manifest) { m.Items[1].Title = "Another laptop" },
		"the declared SHA-1":  func(m *Manifest) { m.Items[1].Declared.SHA1 = strings.Repeat("1", 40) },
	}
	for name, change := range tamper {
		var copied Manifest
		_ = json.Unmarshal(raw, &copied)
		change(&copied)
		b, _ := json.Marshal(copied)
		rep, err := VerifyManifest(bytes.NewReader(b))
		if name == "a removed event" {
			// Cutting the tail of a chain leaves a chain that verifies; the
			// received content then has no record of arriving.
			if err != nil || len(rep.Problems) != 1 || !strings.Contains(rep.Problems[0].Error(), "E001") {
				t.Errorf("%s: %+v %v", name, rep, err)
			}
			continue
		}
		if err != nil || len(rep.Problems) != 1 {
			t.Errorf("%s: %+v %v", name, rep, err)
		}
	}
	if _, err := VerifyManifest(strings.NewReader(`{"format":"something else"}`)); err == nil {
		t.Error("a foreign document verified")
	}
}
