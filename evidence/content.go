package evidence

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"time"

	"gorm.io/gorm"

	"github.com/bevis-ir/bevis/access"
)

// ErrNoContent is an item whose content has not been received.
var ErrNoContent = errors.New("evidence: the item has no content")

// Content reads and re-verifies received evidence content.
type Content struct {
	db        *gorm.DB
	store     BlobStore
	keys      *Keyring
	now       func() time.Time
	incidents IncidentReporter
}

// NewContent returns the content reader.
func NewContent(db *gorm.DB, store BlobStore, keys *Keyring) *Content {
	return &Content{db: db, store: store, keys: keys, now: func() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }}
}

// Open reads length bytes (-1: to the end) of an item's content from
// offset: exactly the version recorded, unsealed, every chunk
// authenticated on the way. The first chunks are read and authenticated
// before it returns, so content that is missing, or changed where the read
// starts, is an error here rather than after a download has begun. A data
// key that cannot be had is ErrCannotCheckKey.
func (c *Content) Open(ctx context.Context, it Item, offset, length int64) (io.ReadCloser, error) {
	if it.ContentStatus != "received" {
		return nil, ErrNoContent
	}
	r, err := openSealedObject(ctx, c.store, itemKeys{keys: c.keys, want: it.KeyID}, it.ObjectKey, it.ObjectVersion, it.Size, offset, length)
	if err != nil {
		return nil, err
	}
	if err := r.prime(); err != nil {
		_ = r.Close()
		return nil, err
	}
	return r, nil
}

// SetHold places or lifts the legal hold on an item's stored content, so
// that the store itself refuses to delete it while the custody record says
// it is held. Items without content have nothing to hold.
func (c *Content) SetHold(ctx context.Context, it Item, on bool) error {
	if it.ContentStatus != "received" {
		return nil
	}
	return c.store.SetLegalHold(ctx, it.ObjectKey, it.ObjectVersion, on)
}

// Verification is the outcome of re-reading an item's content.
type Verification struct {
	Result   string   // ok, mismatch or missing
	SHA256   string   // what the stored bytes hash to now, when they could be read
	Findings []string // what else is wrong in the store: foreign versions, delete markers, a lifted hold
	Event    Event
}

// Verify re-reads an item's whole content, recomputes its SHA-256, lists
// the versions at its key and checks its legal hold, and records the
// result as a verified custody event: ok, mismatch (the object was
// changed, or does not open), or missing, with findings for versions and
// delete markers Bevis did not write and a legal hold lifted behind its
// back (which it restores). by is the person who asked, or the zero
// Principal for Bevis's own scheduled checks. Anything but a clean result
// is reported as an incident. A storage outage is an error, not a result;
// so is a data key that cannot be had (ErrCannotCheckKey), which says
// nothing about the evidence.
func (c *Content) Verify(ctx context.Context, by access.Principal, it Item) (Verification, error) {
	if it.ContentStatus != "received" {
		return Verification{}, ErrNoContent
	}
	if err := c.Available(ctx, it); err != nil {
		return Verification{}, err // deleted, or to be: not an incident
	}
	versions, err := c.store.Versions(ctx, it.ObjectKey)
	if err != nil && !errors.Is(err, ErrObjectNotFound) {
		return Verification{}, err
	}
	v := Verification{Result: "ok", Findings: storeFindings(versions, it.ObjectVersion)}
	r, err := c.Open(ctx, it, 0, -1)
	if err == nil {
		h := sha256.New()
		_, err = io.Copy(h, r)
		_ = r.Close()
		v.SHA256 = hex.EncodeToString(h.Sum(nil))
	}
	switch result := integrityResult(err); {
	case errors.Is(err, ErrCannotCheckKey):
		return Verification{}, fmt.Errorf("%s: %w", it.ExhibitNumber, err)
	case result == "": // a storage outage, or the caller gave up
		return Verification{}, err
	case result != "ok":
		v.Result, v.SHA256 = result, ""
	case v.SHA256 != it.Computed.SHA256:
		v.Result = "mismatch"
	}
	if v.Result != "missing" {
		finding, err := c.reconcileHold(ctx, it)
		if err != nil {
			return Verification{}, err
		}
		if finding != "" {
			v.Findings = append(v.Findings, finding)
		}
	}
	in := Incident{Item: it, Result: v.Result, Findings: v.Findings, FoundBy: "verification", By: by, At: c.now()}
	if err != nil && v.Result == "mismatch" {
		in.Notes = "the stored object does not open: " + err.Error()
	}
	v.Event = in.event()
	v.Event.Details.SHA256 = v.SHA256
	err = c.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := recordChange(ctx, tx, "evidence.verify", it.ID, it.CaseID); err != nil {
			return err
		}
		return recordOwn(tx, it.ID, &v.Event)
	})
	if err != nil {
		return Verification{}, fmt.Errorf("evidence: record verification: %w", err)
	}
	if v.Result != "ok" || len(v.Findings) > 0 {
		c.report(ctx, in)
	}
	return v, nil
}

// reconcileHold makes the stored object's legal hold what the custody
// record says. A hold the record has but the store lacks was lifted behind
// Bevis's back (Bevis lifts one only after recording its release): it is
// restored, and returned as a finding. A hold the store has but the record
// does not is one a storage outage left behind when it was released, and
// is lifted quietly.
func (c *Content) reconcileHold(ctx context.Context, it Item) (finding string, err error) {
	evs, err := events(c.db.WithContext(ctx), it.ID)
	if err != nil {
		return "", err
	}
	held := Derive(evs).LegalHold
	info, err := c.store.Stat(ctx, it.ObjectKey, it.ObjectVersion)
	switch {
	case errors.Is(err, ErrObjectNotFound):
		return "", nil // a missing object is the verification's finding
	case err != nil:
		return "", err
	case info.LegalHold == held:
		return "", nil
	case !held:
		return "", c.SetHold(ctx, it, false)
	}
	if err := c.SetHold(ctx, it, true); err != nil {
		if errors.Is(err, ErrStoreUnavailable) {
			return "", err
		}
		return "legal hold lifted in the store behind Bevis's back; restoring it failed: " + err.Error(), nil
	}
	return "legal hold lifted in the store behind Bevis's back; restored", nil
}
