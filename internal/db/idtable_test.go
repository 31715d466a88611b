package db_test

import (
	"slices"
	"testing"

	"github.com/bevis-ir/bevis/internal/db"
	"github.com/bevis-ir/bevis/internal/testenv"
)

// TestIDTable reads back the IDs it was given, whatever they hold, and
// none from an empty or nil list.
func TestIDTable(t *testing.T) {
	for _, d := range testenv.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			for _, ids := range [][]string{nil, {}, {"b", "a"}, {`it's "quoted"`, "ünïcode", "a,b", "a"}} {
				var got []string
				if err := d.DB.Raw("SELECT id FROM ? t ORDER BY id", db.IDTable(d.DB, ids)).Scan(&got).Error; err != nil {
					t.Fatal(err)
				}
				want := slices.Sorted(slices.Values(ids))
				if !slices.Equal(got, want) {
					t.Errorf("%q: read back %q", ids, got)
				}
			}
		})
	}
}
