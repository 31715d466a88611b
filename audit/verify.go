package audit

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"time"

	"gorm.io/gorm"
)

// Kinds of inconsistency Verify names.
const (
	Modified            = "modified"      // an entry, or its chain fields, changed after sealing
	Deleted             = "deleted"       // an entry or chain position is missing
	Reordered           = "reordered"     // entries are in a different order than sealed
	Truncated           = "truncated"     // the chain ends before a signed checkpoint
	UnknownKey          = "unknown key"   // a checkpoint is signed by a key not given to Verify
	BadSignature        = "bad signature" // a checkpoint's signature does not verify
	MalformedCheckpoint = "malformed checkpoint"
)

// Inconsistency is the first thing Verify found wrong with the log.
type Inconsistency struct {
	Seq    int64  // the chain position where it shows
	Kind   string // one of the kinds above
	Detail string
}

func (e *Inconsistency) Error() string {
	return fmt.Sprintf("audit log inconsistent at seq %d: %s: %s", e.Seq, e.Kind, e.Detail)
}

// Report summarises a log found consistent.
type Report struct {
	Entries        int64  // sealed entries, seq 1..Entries
	Head           string // hash at seq Entries
	Checkpoints    int    // checkpoints verified (stored and extra)
	LastCheckpoint *Checkpoint
	Unsealed       int64 // entries in the database not yet sealed (database only)
}

// chainSource is a log to verify: it can be read more than once.
type chainSource interface {
	scan(ctx context.Context, fn func(sealed) error) error
	checkpointNotes(ctx context.Context) ([]string, error)
}

// VerifyDB checks the log in db: it recomputes every hash, checks that seq
// runs from 1 without gaps and each entry follows the one sealed before it,
// and checks every checkpoint, stored or in extra (notes a partner kept), is
// signed by one of keys and matches the chain. It returns an *Inconsistency
// for the first problem found.
func VerifyDB(ctx context.Context, db *gorm.DB, keys Keys, extra []string) (Report, error) {
	rep, err := verify(ctx, dbSource{db}, keys, extra)
	if err != nil {
		return rep, err
	}
	var unsealed int64
	err = db.WithContext(ctx).Raw("SELECT COUNT(*) FROM audit_entries e WHERE NOT EXISTS (SELECT 1 FROM audit_chain c WHERE c.entry_id = e.id)").
		Scan(&unsealed).Error
	if err != nil {
		return rep, fmt.Errorf("audit: count unsealed entries: %w", err)
	}
	rep.Unsealed = unsealed
	return rep, nil
}

// VerifyExport checks an Export as VerifyDB checks a database; open is
// called once per pass over the file.
func VerifyExport(ctx context.Context, open func() (io.ReadCloser, error), keys Keys, extra []string) (Report, error) {
	return verify(ctx, exportSource{open}, keys, extra)
}

type dbSource struct{ db *gorm.DB }

func (s dbSource) scan(ctx context.Context, fn func(sealed) error) error {
	return readChain(ctx, s.db, fn)
}
func (s dbSource) checkpointNotes(ctx context.Context) ([]string, error) {
	return readCheckpointNotes(ctx, s.db)
}

type exportSource struct{ open func() (io.ReadCloser, error) }

func (s exportSource) scan(ctx context.Context, fn func(sealed) error) error {
	return s.read(ctx, fn, nil)
}

func (s exportSource) checkpointNotes(ctx context.Context) ([]string, error) {
	var notes []string
	err := s.read(ctx, nil, func(n string) error { notes = append(notes, n); return nil })
	return notes, err
}

func (s exportSource) read(ctx context.Context, onEntry func(sealed) error, onCheckpoint func(string) error) error {
	f, err := s.open()
	if err != nil {
		return err
	}
	defer f.Close()
	if onEntry != nil {
		inner := onEntry
		onEntry = func(x sealed) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			return inner(x)
		}
	}
	return readExport(f, onEntry, onCheckpoint)
}

func verify(ctx context.Context, src chainSource, keys Keys, extra []string) (Report, error) {
	var rep Report
	notes, err := src.checkpointNotes(ctx)
	if err != nil {
		return rep, err
	}
	bySeq := map[int64][]Checkpoint{}
	var cps []Checkpoint
	for _, n := range append(notes, extra...) {
		cp, err := ParseCheckpoint(n, keys)
		switch {
		case errors.Is(err, ErrUnknownKey):
			return rep, &Inconsistency{cp.Seq, UnknownKey, fmt.Sprintf("the checkpoint of %s is signed by key %s, which is not among the keys given", cp.Time.Format(time.RFC3339), cp.KeyID)}
		case errors.Is(err, ErrBadSignature):
			return rep, &Inconsistency{cp.Seq, BadSignature, fmt.Sprintf("the checkpoint of %s does not verify with key %s: it was altered", cp.Time.Format(time.RFC3339), cp.KeyID)}
		case err != nil:
			return rep, &Inconsistency{0, MalformedCheckpoint, fmt.Sprintf("a checkpoint cannot be read: %v", err)}
		}
		bySeq[cp.Seq] = append(bySeq[cp.Seq], cp)
		cps = append(cps, cp)
	}

	expect, prev := int64(1), genesisHash
	var broken *sealed // the first entry that does not follow its predecessor
	err = src.scan(ctx, func(s sealed) error {
		switch {
		case s.Seq > expect:
			return &Inconsistency{expect, Deleted, fmt.Sprintf("seq %d to %d are missing from the chain", expect, s.Seq-1)}
		case s.Seq < expect:
			return &Inconsistency{s.Seq, Reordered, fmt.Sprintf("seq %d appears again after seq %d", s.Seq, expect-1)}
		case s.Entry == nil:
			return &Inconsistency{s.Seq, Deleted, "the entry sealed at this position is missing"}
		}
		if chainHash(s.PrevHash, *s.Entry) != s.Hash {
			return &Inconsistency{s.Seq, Modified, fmt.Sprintf("entry %s does not match the hash it was sealed with", s.Entry.ID)}
		}
		if s.Search != nil && !s.Search.matches(*s.Entry) {
			return &Inconsistency{s.Seq, Modified, fmt.Sprintf("the search columns kept with seq %d no longer match entry %s: it would be hidden from or misfiled in searches", s.Seq, s.Entry.ID)}
		}
		if s.PrevHash != prev {
			b := s
			broken = &b
			return errStop
		}
		for _, cp := range bySeq[s.Seq] {
			if cp.Head != s.Hash {
				return &Inconsistency{s.Seq, Modified, fmt.Sprintf("the chain's head here differs from the checkpoint signed %s by key %s: entries up to here were changed and re-chained", cp.Time.Format(time.RFC3339), cp.KeyID)}
			}
		}
		expect, prev = s.Seq+1, s.Hash
		return nil
	})
	if broken != nil && errors.Is(err, errStop) {
		return rep, classifyBreak(ctx, src, *broken)
	}
	if err != nil {
		return rep, err
	}
	rep.Entries, rep.Head = expect-1, prev
	sort.Slice(cps, func(i, j int) bool { return cps[i].Seq < cps[j].Seq })
	for _, cp := range cps {
		if cp.Seq > rep.Entries {
			return rep, &Inconsistency{rep.Entries + 1, Truncated, fmt.Sprintf("the chain ends at seq %d but a checkpoint signed %s by key %s covers seq %d: its tail was removed", rep.Entries, cp.Time.Format(time.RFC3339), cp.KeyID, cp.Seq)}
		}
	}
	rep.Checkpoints = len(cps)
	if len(cps) > 0 {
		last := cps[len(cps)-1]
		rep.LastCheckpoint = &last
	}
	return rep, nil
}

var errStop = errors.New("stop")

// classifyBreak tells why entry b, intact in itself, does not follow the
// entry before it: if the entry it was sealed after is further on, entries
// were reordered; if it is nowhere, it was deleted and the rest renumbered.
func classifyBreak(ctx context.Context, src chainSource, b sealed) error {
	var foundAt int64
	err := src.scan(ctx, func(s sealed) error {
		if s.Hash == b.PrevHash {
			foundAt = s.Seq
			return errStop
		}
		return nil
	})
	if err != nil && !errors.Is(err, errStop) {
		return err
	}
	if foundAt > 0 {
		return &Inconsistency{b.Seq, Reordered, fmt.Sprintf("entry %s was sealed after the entry now at seq %d", b.Entry.ID, foundAt)}
	}
	return &Inconsistency{b.Seq, Deleted, fmt.Sprintf("the entry sealed before entry %s is missing and later entries were renumbered", b.Entry.ID)}
}
