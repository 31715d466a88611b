package evidence

import (
	"errors"
	"strings"
	"testing"

	"github.com/bevis-ir/bevis/internal/testenv"
	"github.com/bevis-ir/bevis/internal/validate"
)

// The database refuses in-place changes of what identifies an item; one
// who switches the guard off and edits the row anyway is named by the
// verifier, with the fact that was changed.
func TestIdentity_DatabaseRefusesEditsAndVerifyNamesTheEditedFact(t *testing.T) {
	for _, d := range testenv.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			e := newUploadEnv(t, newTestFSStore(t), d)
			it := e.received(t, 1000)
			if err := e.items.VerifyItem(t.Context(), it.ID); err != nil {
				t.Fatalf("untouched: %v", err)
			}
			edits := []struct{ field, stmt string }{
				{"MD5", "UPDATE evidence_items SET md5 = '00000000000000000000000000000000' WHERE id = ?"},
				{"size", "UPDATE evidence_items SET size = size + 1 WHERE id = ?"},
				{"exhibit number", "UPDATE evidence_items SET exhibit_number = 'BEV-2026-0042-E099' WHERE id = ?"},
				{"declared SHA-1", "UPDATE evidence_items SET declared_sha1 = 'da39a3ee5e6b4b0d3255bfef95601890afd80709' WHERE id = ?"},
				{"kind", "UPDATE evidence_items SET kind = 'logs' WHERE id = ?"},
			}
			for _, ed := range edits {
				if err := d.DB.Exec(ed.stmt, it.ID).Error; err == nil {
					t.Errorf("the database let through an edit of the %s", ed.field)
				}
			}
			if err := e.items.VerifyItem(t.Context(), it.ID); err != nil {
				t.Fatalf("after refused edits: %v", err)
			}

			unguard := "DROP TRIGGER evidence_items_identity_fixed ON evidence_items"
			if d.Name == "sqlite" {
				unguard = "DROP TRIGGER evidence_items_identity_fixed"
			}
			if err := d.DB.Exec(unguard).Error; err != nil {
				t.Fatal(err)
			}
			edits = append(edits, struct{ field, stmt string }{"title", "UPDATE evidence_items SET title = 'Something else' WHERE id = ?"})
			for _, ed := range edits {
				t.Run(ed.field, func(t *testing.T) {
					it := e.received(t, 500)
					if err := d.DB.Exec(ed.stmt, it.ID).Error; err != nil {
						t.Fatal(err)
					}
					var wrong *IdentityError
					err := e.items.VerifyItem(t.Context(), it.ID)
					if !errors.As(err, &wrong) || wrong.Field != ed.field || wrong.Exhibit != it.ExhibitNumber {
						t.Fatalf("verify after editing the %s: %v", ed.field, err)
					}
					if !strings.Contains(err.Error(), it.ID) {
						t.Errorf("the error does not name the item: %v", err)
					}
				})
			}
		})
	}
}

// The title changes only by a correction on the custody record, which
// shows the old title and the new; the chain then holds the row to the new.
func TestIdentity_TitleChangesOnlyByACorrectionShowingOldAndNew(t *testing.T) {
	for _, d := range testenv.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			e := newLedgerEnv(t, d)
			it := e.register(t, NewItem{Title: "Laptop", Location: "Room 1"})
			ev := e.step(t, e.a1, it.ID, Step{Type: EventCorrection, Details: Details{Field: "title", New: "Laptop, ThinkPad T14"},
				Notes: "the model was misread at seizure"})
			evs, _ := e.items.Events(t.Context(), it.ID)
			if ev.Details.Old != "Laptop" || ev.Details.New != "Laptop, ThinkPad T14" || ev.Supersedes != evs[0].ID {
				t.Errorf("correction %+v", ev)
			}
			got, _ := e.items.Item(t.Context(), it.ID)
			if got.Title != "Laptop, ThinkPad T14" {
				t.Errorf("title %q", got.Title)
			}
			if err := e.items.VerifyItem(t.Context(), it.ID); err != nil {
				t.Fatalf("after the correction: %v", err)
			}
			for name, st := range map[string]Step{
				"the kind":          {Type: EventCorrection, Details: Details{Field: "kind", New: "logs"}, Notes: "x"},
				"an empty title":    {Type: EventCorrection, Details: Details{Field: "title", New: ""}, Notes: "x"},
				"the same title":    {Type: EventCorrection, Details: Details{Field: "title", New: "Laptop, ThinkPad T14"}, Notes: "x"},
				"an old value":      {Type: EventCorrection, Details: Details{Field: "title", New: "Y", Old: "forged"}, Notes: "x"},
				"a field elsewhere": {Type: EventLocationChanged, Location: "Room 2", Details: Details{Field: "title", New: "Y"}},
				"an identity":       {Type: EventLocationChanged, Location: "Room 2", Details: Details{Identity: &Identity{Title: "Y"}}},
				"a received digest": {Type: EventLocationChanged, Location: "Room 2", Details: Details{MD5: "00"}},
			} {
				var invalid *validate.Error
				if _, err := e.items.Record(t.Context(), e.a1, it.ID, st); !errors.As(err, &invalid) {
					t.Errorf("%s: %v", name, err)
				}
			}
			if n, _ := e.items.Events(t.Context(), it.ID); len(n) != 2 {
				t.Errorf("%d events after refused corrections", len(n))
			}
		})
	}
}
