package db_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/bevis-ir/bevis/internal/db"
	"github.com/bevis-ir/bevis/internal/testenv"
)

// TestLogger_LeavesParametersOutOfTheLog: a failed statement sent through
// an opened database is logged by its text, without the values it was
// given (case data, hashes), on both dialects.
func TestLogger_LeavesParametersOutOfTheLog(t *testing.T) {
	for _, d := range testenv.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			var out bytes.Buffer
			gdb, err := db.Open(context.Background(), d.URL, time.Second, slog.New(slog.NewTextHandler(&out, nil)))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = db.Close(gdb) })
			const secret = "a title only the members of the case may read"
			err = gdb.Exec("INSERT INTO no_such_table (title) VALUES (?)", secret).Error
			if err == nil {
				t.Fatal("an insert into no table succeeded")
			}
			if !strings.Contains(out.String(), "no_such_table") {
				t.Fatalf("the failed statement is not in the log: %q", out.String())
			}
			if strings.Contains(out.String(), secret) {
				t.Errorf("the log holds the statement's value: %q", out.String())
			}
		})
	}
}
