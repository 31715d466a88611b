package audit

import (
	"context"
	"errors"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/bevis-ir/bevis/internal/testenv"
)

func TestList_FiltersAndPagesNewestFirst(t *testing.T) {
	for _, d := range testenv.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			ctx := context.Background()
			base := time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)
			for i := range 25 {
				e := entry(i)
				e.At = base.Add(time.Duration(i) * time.Minute)
				e.CaseID = []string{"case-a", "case-b"}[i%2]
				e.ResourceType, e.ResourceID = "evidence_item", "item-1"
				e.Range = &ByteRange{Offset: int64(i), Length: 100}
				e.Detail = map[string]string{"n": "x"}
				if err := d.DB.Transaction(func(tx *gorm.DB) error { return Append(ctx, tx, e) }); err != nil {
					t.Fatal(err)
				}
			}
			sealAll(t, newSequencer(t, d.DB, newSigner(t), nil))

			got := listAll(t, d.DB, Filter{CaseID: "case-a", ResourceID: "item-1", From: base.Add(2 * time.Minute), To: base.Add(22 * time.Minute), Limit: 3}, 10)
			// case-a has the even minutes; 2..20 within [2, 22).
			if len(got) != 10 {
				t.Fatalf("got %d entries, want 10", len(got))
			}
			for i, r := range got {
				wantAt := base.Add(time.Duration(20-2*i) * time.Minute)
				if !r.At.Equal(wantAt) || r.CaseID != "case-a" || r.Seq == 0 || r.Range == nil || r.Range.Offset != int64(20-2*i) || r.Detail["n"] != "x" {
					t.Errorf("entry %d: %+v, want case-a at %s, sealed, with its range and detail", i, r, wantAt)
				}
			}
			if _, err := List(ctx, d.DB, Filter{Cursor: "not a cursor!"}); !errors.Is(err, ErrInvalidFilter) {
				t.Errorf("bad cursor: %v", err)
			}
			if _, err := List(ctx, d.DB, Filter{Limit: MaxListLimit + 1}); !errors.Is(err, ErrInvalidFilter) {
				t.Errorf("limit over the maximum: %v", err)
			}
		})
	}
}

// listAll reads every page of f's listing, failing when it takes more
// than maxPages pages.
func listAll(t *testing.T, db *gorm.DB, f Filter, maxPages int) []Recorded {
	t.Helper()
	var got []Recorded
	for pages := 0; ; pages++ {
		if pages > maxPages {
			t.Fatal("paging does not end")
		}
		p, err := List(t.Context(), db, f)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, p.Entries...)
		if p.Next == "" {
			return got
		}
		f.Cursor = p.Next
	}
}
