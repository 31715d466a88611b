package db_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/bevis-ir/bevis/internal/db"
	"github.com/bevis-ir/bevis/internal/testenv"
)

// PostgreSQL's JIT compilation is off on Bevis's connections (a short page
// of a long list is estimated at the list's cost and compiled for longer
// than it runs), unless the database URL sets it.
func TestPostgres_JITIsOffUnlessTheURLSetsIt(t *testing.T) {
	url := testenv.PostgresURL(t)
	sep := "?"
	if strings.Contains(url, "?") {
		sep = "&"
	}
	for given, want := range map[string]string{url: "off", url + sep + "jit=on": "on"} {
		gdb, err := db.Open(context.Background(), given, 5*time.Second, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		var jit string
		err = gdb.Raw("SHOW jit").Scan(&jit).Error
		_ = db.Close(gdb)
		if err != nil || jit != want {
			t.Errorf("jit is %q (%v), want %q", jit, err, want)
		}
	}
}
