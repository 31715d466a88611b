package audit

import (
	"bytes"
	"context"
	"io"
	"os"
	"strings"
	"testing"
)

// FuzzVerifyExport: an auditor's verifier meets files from anywhere. No
// export, however malformed, panics it; one it accepts is the untouched
// seed or a change it cannot see (outside the chain's hashed fields), and
// it reports as many entries as the file holds.
func FuzzVerifyExport(f *testing.F) {
	seed, err := os.ReadFile("testdata/export.jsonl")
	if err != nil {
		f.Fatal(err)
	}
	pem, err := os.ReadFile("testdata/export-key.pem")
	if err != nil {
		f.Fatal(err)
	}
	keys := Keys{}
	if err := keys.ParsePublicKeys(pem); err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	f.Add([]byte(`{"kind":"header","format":"bevis-audit-export-v1"}` + "\n"))
	f.Add([]byte(`{"kind":"entry","seq":1}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		open := func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }
		rep, err := VerifyExport(context.Background(), open, keys, nil)
		if err != nil {
			return
		}
		if entries := int64(strings.Count(string(data), `"kind":"entry"`)); rep.Entries > entries {
			t.Fatalf("an export of at most %d entries verified as %d", entries, rep.Entries)
		}
	})
}

// FuzzAuditCursor: a cursor is refused or names a position in the chain.
func FuzzAuditCursor(f *testing.F) {
	f.Add(encodeCursor(42))
	f.Add("c2VxOi0x")
	f.Fuzz(func(t *testing.T, c string) {
		seq, err := decodeCursor(c)
		if err != nil {
			return
		}
		if seq < 1 || decodeRoundTrip(seq) != seq {
			t.Fatalf("cursor %q read as seq %d", c, seq)
		}
	})
}

func decodeRoundTrip(seq int64) int64 {
	again, _ := decodeCursor(encodeCursor(seq))
	return again
}
