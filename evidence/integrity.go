package evidence

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/bevis-ir/bevis/access"
)

// ErrCannotCheckKey: an item's content could not be checked because its
// data key could not be had (its master key is missing from the file, its
// wrapped key fails authentication, or its row is gone). It is the
// verifier's problem, never a finding about the evidence: nothing goes on
// the custody record.
var ErrCannotCheckKey = errors.New("evidence: cannot check: key")

// Incident is an integrity problem with an item's stored content, as
// recorded on its custody record: what was found, how and by whom.
type Incident struct {
	Item     Item
	Result   string   // mismatch, missing, or ok when only Findings are wrong
	Findings []string // versions and delete markers Bevis did not write, a lifted legal hold
	FoundBy  string   // "verification" or "download"
	By       access.Principal
	Notes    string
	At       time.Time
}

// Summary is one line naming the item and what was found, for alerts.
func (in Incident) Summary() string {
	var parts []string
	if in.Result != "ok" {
		parts = append(parts, "content "+in.Result)
	}
	parts = append(parts, in.Findings...)
	by := in.FoundBy
	if in.By.UserID != "" {
		by += " by user " + in.By.UserID
	}
	s := fmt.Sprintf("%s: %s (found by %s)", in.Item.ExhibitNumber, strings.Join(parts, "; "), by)
	if in.Notes != "" {
		s += ": " + in.Notes
	}
	return s
}

// IncidentReporter is told of every integrity incident once it is on the
// custody record, to alert the case's leads and the admins (an
// *alerts.Engine is one). subject is what the incident is about (an item's
// ID, or a store key), caseID its case ("" for none), agencyID the agency
// of the person who came upon it, and note says what was found.
type IncidentReporter interface {
	RaiseIntegrity(ctx context.Context, caseID, subject, agencyID, note string)
}

// report tells the reporter, if any, of in.
func (c *Content) report(ctx context.Context, in Incident) {
	if c.incidents != nil {
		c.incidents.RaiseIntegrity(ctx, in.Item.CaseID, in.Item.ID, in.By.AgencyID, in.Summary())
	}
}

// Flag reports a problem with an item that its custody record already
// shows (a seal that came back broken), found by p.
func (c *Content) Flag(ctx context.Context, it Item, p access.Principal, note string) {
	if c.incidents != nil {
		c.incidents.RaiseIntegrity(ctx, it.CaseID, it.ID, p.AgencyID, it.ExhibitNumber+": "+note)
	}
}

// ReportIncidentsTo sends every incident Content records to r.
func (c *Content) ReportIncidentsTo(r IncidentReporter) { c.incidents = r }

// integrityResult classifies an error reading a stored object: missing,
// mismatch (it does not open as what was recorded: changed, cut short,
// replaced), or "" when it is no finding about the evidence (a storage
// outage, a cancelled request, a key problem), to be returned as an error.
func integrityResult(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, ErrObjectNotFound):
		return "missing"
	case errors.Is(err, ErrStoreUnavailable), errors.Is(err, ErrCannotCheckKey),
		errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return ""
	case errors.Is(err, ErrSealTampered), errors.Is(err, ErrSealTruncated), errors.Is(err, ErrSealFormat),
		errors.Is(err, ErrSealKey), errors.Is(err, ErrInvalidRange):
		return "mismatch"
	}
	return ""
}

// IntegrityError is a read of an item's content that found it missing or
// not as recorded. The incident is on the custody record when it is
// returned; the API answers it with 409.
type IntegrityError struct {
	Result string // missing or mismatch
	Err    error
}

func (e *IntegrityError) Error() string {
	return fmt.Sprintf("evidence: stored content %s: %v", e.Result, e.Err)
}

func (e *IntegrityError) Unwrap() error { return e.Err }

// ReadFailed records what a read of an item's content (a download by p of
// the given range) came upon when it failed with err: when err shows the
// content missing or not as recorded, a verified custody event with the
// finding goes on the record (unless its last event already says so) and
// the incident is reported, and an *IntegrityError is returned; any other
// error is returned as it is.
func (c *Content) ReadFailed(ctx context.Context, p access.Principal, it Item, offset, length int64, err error) error {
	result := integrityResult(err)
	if result == "" || result == "ok" {
		return err
	}
	in := Incident{Item: it, Result: result, FoundBy: "download", By: p, At: c.now(),
		Notes: fmt.Sprintf("found while sending bytes %d-%d: %v", offset, offset+length-1, err)}
	recorded := false
	txErr := c.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		past, err := events(tx, it.ID)
		if err != nil {
			return err
		}
		if n := len(past); n > 0 && past[n-1].Type == EventVerified && past[n-1].Details.Result == result {
			return nil // the record says so already
		}
		if err := recordChange(ctx, tx, "evidence.integrity", it.ID, it.CaseID); err != nil {
			return err
		}
		e := in.event()
		recorded = true
		return appendEvent(tx, it.ID, past, &e)
	})
	if txErr != nil {
		return errors.Join(&IntegrityError{Result: result, Err: err}, fmt.Errorf("evidence: record integrity incident: %w", txErr))
	}
	if recorded {
		c.report(ctx, in)
	}
	return &IntegrityError{Result: result, Err: err}
}

// event is the verified custody event recording in.
func (in Incident) event() Event {
	return Event{Type: EventVerified, ActorUserID: in.By.UserID, ActorAgencyID: in.By.AgencyID,
		Details: Details{Result: in.Result, Findings: in.Findings}, Notes: in.Notes, OccurredAt: in.At, RecordedAt: in.At}
}

// itemKeys hands out the data key an item's object names, refusing one
// other than the item was sealed with: a header naming another key was
// changed, or the object replaced.
type itemKeys struct {
	keys dataKeys
	want string
}

func (k itemKeys) DataKeyByID(ctx context.Context, id string) (DataKey, error) {
	if k.want != "" && id != k.want {
		return DataKey{}, fmt.Errorf("%w: the stored object names data key %s, the item was sealed with %s", ErrSealKey, id, k.want)
	}
	dk, err := k.keys.DataKeyByID(ctx, id)
	if errors.Is(err, ErrDataKeyNotFound) || errors.Is(err, ErrDataKeyCorrupt) || errors.Is(err, ErrUnknownMasterKey) {
		return DataKey{}, fmt.Errorf("%w: %w", ErrCannotCheckKey, err)
	}
	return dk, err
}

// storeFindings lists what is at an item's key besides the version Bevis
// wrote: other versions and delete markers.
func storeFindings(versions []ObjectInfo, recorded string) []string {
	var out []string
	for _, v := range versions {
		switch {
		case v.DeleteMarker:
			out = append(out, fmt.Sprintf("delete marker %s made %s", v.VersionID, v.ModTime.UTC().Format(time.RFC3339)))
		case v.VersionID != recorded:
			out = append(out, fmt.Sprintf("foreign version %s of %d bytes written %s", v.VersionID, v.Size, v.ModTime.UTC().Format(time.RFC3339)))
		}
	}
	return out
}
