package audit

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestCheckpoint_SignParseAndSplit(t *testing.T) {
	s := newSigner(t)
	head := chainHash(genesisHash, entryRow{ID: "x", Action: "case.read"})
	a := s.Sign(1, head, time.Date(2026, 11, 28, 12, 0, 0, 123456789, time.UTC))
	b := s.Sign(2, head, time.Date(2026, 11, 28, 12, 1, 0, 0, time.UTC))
	keys := Keys{}
	if err := keys.ParsePublicKeys(s.PublicKeyPEM()); err != nil {
		t.Fatal(err)
	}
	got, err := ParseCheckpoint(a.Note, keys)
	if err != nil || got.Seq != 1 || got.Head != head || !got.Time.Equal(a.Time) || got.KeyID != s.KeyID() {
		t.Fatalf("parsed %+v, %v; want %+v", got, err, a)
	}
	notes, err := SplitCheckpoints(a.Note + b.Note)
	if err != nil || len(notes) != 2 || notes[1] != b.Note {
		t.Fatalf("split: %q, %v", notes, err)
	}
	for name, note := range map[string]string{
		"truncated":      a.Note[:len(a.Note)-10],
		"extra line":     a.Note + "more\n",
		"other header":   strings.Replace(a.Note, "checkpoint v1", "checkpoint v2", 1),
		"non-hex head":   strings.Replace(a.Note, "head "+head[:2], "head zz", 1),
		"negative seq":   strings.Replace(a.Note, "seq 1", "seq -1", 1),
		"bad base64 sig": a.Note[:len(a.Note)-4] + "!!!\n",
	} {
		if _, err := ParseCheckpoint(note, keys); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v, want ErrMalformed", name, err)
		}
	}
	if _, err := ParseCheckpoint(strings.Replace(a.Note, "seq 1", "seq 9", 1), keys); !errors.Is(err, ErrBadSignature) {
		t.Errorf("altered seq: %v, want ErrBadSignature", err)
	}
	if _, err := SplitCheckpoints(a.Note + "stray\n"); !errors.Is(err, ErrMalformed) {
		t.Errorf("split of a stray line: %v", err)
	}
}

func TestChainHash_FieldBoundariesAndEveryFieldCount(t *testing.T) {
	base := entryRow{ID: "id", At: time.UnixMicro(1), UserID: "ab", AgencyID: "c", Action: "case.read", Outcome: "success"}
	shifted := base
	shifted.UserID, shifted.AgencyID = "a", "bc"
	if chainHash(genesisHash, base) == chainHash(genesisHash, shifted) {
		t.Error("moving a field boundary does not change the hash")
	}
	off, n := int64(0), int64(10)
	edits := map[string]func(*entryRow){
		"id": func(r *entryRow) { r.ID = "other" }, "time": func(r *entryRow) { r.At = time.UnixMicro(2) },
		"token": func(r *entryRow) { r.TokenID = "t" }, "ip": func(r *entryRow) { r.ClientIP = "ip" },
		"agent": func(r *entryRow) { r.UserAgent = "ua" }, "action": func(r *entryRow) { r.Action = "case.list" },
		"type": func(r *entryRow) { r.ResourceType = "case" }, "resource": func(r *entryRow) { r.ResourceID = "r" },
		"case": func(r *entryRow) { r.CaseID = "c" }, "outcome": func(r *entryRow) { r.Outcome = "denied" },
		"request": func(r *entryRow) { r.RequestID = "q" }, "range": func(r *entryRow) { r.RangeOffset, r.RangeLength = &off, &n },
		"detail": func(r *entryRow) { r.Detail = `{"a":"b"}` },
	}
	h := chainHash(genesisHash, base)
	for name, edit := range edits {
		r := base
		edit(&r)
		if chainHash(genesisHash, r) == h {
			t.Errorf("changing %s does not change the hash", name)
		}
	}
	if chainHash(h, base) == h {
		t.Error("the previous hash does not count")
	}
}
