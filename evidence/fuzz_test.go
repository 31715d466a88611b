package evidence

import (
	"bytes"
	"encoding/json"
	"os"
	"testing"
)

// FuzzVerifyManifest: a prosecutor's or defence expert's verifier meets
// manifests from anywhere. None, however malformed, panics it, and what it
// reports counts the items and custody events the document holds.
func FuzzVerifyManifest(f *testing.F) {
	seed, err := os.ReadFile("testdata/manifest.json")
	if err != nil {
		f.Fatal(err)
	}
	if rep, err := VerifyManifest(bytes.NewReader(seed)); err != nil || len(rep.Problems) != 0 {
		f.Fatalf("the seed manifest does not verify: %+v %v", rep, err)
	}
	f.Add(seed)
	f.Add([]byte(`{"format":"` + ManifestFormat + `","items":[{"custody":[{}]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		rep, err := VerifyManifest(bytes.NewReader(data))
		if err != nil {
			return
		}
		var m Manifest
		if json.Unmarshal(data, &m) != nil {
			return // trailing data after the document, which the verifier's decoder leaves unread
		}
		events := 0
		for _, it := range m.Items {
			events += len(it.Custody)
		}
		if rep.Items != len(m.Items) || rep.Events != events {
			t.Fatalf("reported %d items and %d events of %d and %d", rep.Items, rep.Events, len(m.Items), events)
		}
	})
}
