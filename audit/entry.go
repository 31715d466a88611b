// Package audit is Bevis's tamper-evident record of who did what: every
// read and change of case data, every failed sign-in and every denial.
//
// Writers only ever insert entries: a change with Append in the caller's own
// transaction, a read through a Writer, which commits the entries of many
// concurrent requests together (group commit). One Sequencer, elected
// through the database, later chains each committed entry to the one before
// it by SHA-256 and signs checkpoints of the chain's head, so writers never
// wait on each other for the chain. Verify recomputes the chain offline from
// the database or from an Export and names the first inconsistency.
package audit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"
)

// ErrInvalidEntry is an entry that cannot be recorded as given: a missing
// action, an unknown outcome, an oversized identifier, a detail that looks
// like a secret. It is a programming error of the caller, never user input.
var ErrInvalidEntry = errors.New("audit: invalid entry")

// Outcome says how the audited request ended.
type Outcome string

const (
	// Success: the action was done (the read answered, the change committed).
	Success Outcome = "success"
	// Denied: authorization refused the action.
	Denied Outcome = "denied"
	// Failed: the action was attempted and failed, like a sign-in with a wrong password.
	Failed Outcome = "failed"
)

// Actor is who acted. It has deliberately no field for a credential: the
// token ID names an API token, never its value.
type Actor struct {
	UserID    string
	AgencyID  string
	TokenID   string
	ClientIP  string
	UserAgent string // cut to MaxUserAgentLen
}

// ByteRange is the part of an evidence item's content that was read.
type ByteRange struct {
	Offset int64
	Length int64 // -1 to the end
}

// Entry is one audited action.
type Entry struct {
	ID           string    // set by the log; ignored on input
	At           time.Time // zero means now; stored in UTC to the microsecond
	Actor        Actor
	Action       string // like "case.read" or "evidence.download"
	ResourceType string // like "case" or "evidence_item"
	ResourceID   string
	CaseID       string
	Outcome      Outcome
	RequestID    string
	Range        *ByteRange        // evidence content only
	Detail       map[string]string // small, non-secret facts; see MaxDetailKeys
}

// Limits of an entry. Identifiers past their limit are refused (they come
// from the server); free text from clients (user agent, request ID) is cut.
const (
	MaxIDLen        = 128
	MaxActionLen    = 64
	MaxUserAgentLen = 512
	MaxClientIPLen  = 64
	MaxDetailKeys   = 16
	MaxDetailKeyLen = 64
	MaxDetailValLen = 4096 // bytes: a reason of 1,000 characters in any script fits
)

// secretWords are refused in detail keys: the log must never hold a
// credential, and a key so named is one waiting to happen.
var secretWords = []string{"password", "passwd", "secret", "token", "authorization", "cookie", "credential", "otp", "totp"}

// normalize validates e and returns the row to store, with a new ID and the
// time set.
func normalize(e Entry, now time.Time) (entryRow, error) {
	if e.Action == "" || len(e.Action) > MaxActionLen || !isName(e.Action) {
		return entryRow{}, fmt.Errorf("%w: action %q must be 1 to %d of [a-z0-9._-]", ErrInvalidEntry, e.Action, MaxActionLen)
	}
	if e.ResourceType != "" && (len(e.ResourceType) > MaxActionLen || !isName(e.ResourceType)) {
		return entryRow{}, fmt.Errorf("%w: resource type %q must be up to %d of [a-z0-9._-]", ErrInvalidEntry, e.ResourceType, MaxActionLen)
	}
	switch e.Outcome {
	case Success, Denied, Failed:
	default:
		return entryRow{}, fmt.Errorf("%w: unknown outcome %q", ErrInvalidEntry, e.Outcome)
	}
	for _, id := range [...]struct{ name, v string }{
		{"user ID", e.Actor.UserID}, {"agency ID", e.Actor.AgencyID}, {"token ID", e.Actor.TokenID},
		{"resource ID", e.ResourceID}, {"case ID", e.CaseID},
	} {
		if len(id.v) > MaxIDLen || !utf8.ValidString(id.v) || strings.IndexFunc(id.v, unicode.IsControl) >= 0 {
			return entryRow{}, fmt.Errorf("%w: %s must be up to %d printable bytes", ErrInvalidEntry, id.name, MaxIDLen)
		}
	}
	if e.Range != nil && (e.Range.Offset < 0 || e.Range.Length < -1) {
		return entryRow{}, fmt.Errorf("%w: byte range %d+%d", ErrInvalidEntry, e.Range.Offset, e.Range.Length)
	}
	detail, err := encodeDetail(e.Detail)
	if err != nil {
		return entryRow{}, err
	}
	at := e.At
	if at.IsZero() {
		at = now
	}
	r := entryRow{
		ID:           uuid.Must(uuid.NewV7()).String(),
		At:           at.UTC().Truncate(time.Microsecond),
		UserID:       e.Actor.UserID,
		AgencyID:     e.Actor.AgencyID,
		TokenID:      e.Actor.TokenID,
		ClientIP:     clean(e.Actor.ClientIP, MaxClientIPLen),
		UserAgent:    clean(e.Actor.UserAgent, MaxUserAgentLen),
		Action:       e.Action,
		ResourceType: e.ResourceType,
		ResourceID:   e.ResourceID,
		CaseID:       e.CaseID,
		Outcome:      string(e.Outcome),
		RequestID:    clean(e.RequestID, MaxIDLen),
		Detail:       detail,
	}
	if e.Range != nil {
		off, n := e.Range.Offset, e.Range.Length
		r.RangeOffset, r.RangeLength = &off, &n
	}
	return r, nil
}

func isName(s string) bool {
	for _, c := range s {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '.' && c != '_' && c != '-' {
			return false
		}
	}
	return true
}

// clean makes client-supplied text safe to keep: valid UTF-8, no control
// characters, at most max bytes, cut on a character boundary.
func clean(s string, max int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, s)
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}

// encodeDetail renders the detail as JSON with sorted keys (what
// encoding/json does for maps), the form that is stored and hashed.
func encodeDetail(d map[string]string) (string, error) {
	if len(d) == 0 {
		return "", nil
	}
	if len(d) > MaxDetailKeys {
		return "", fmt.Errorf("%w: more than %d detail keys", ErrInvalidEntry, MaxDetailKeys)
	}
	for k, v := range d {
		if k == "" || len(k) > MaxDetailKeyLen || !isName(k) {
			return "", fmt.Errorf("%w: detail key %q must be 1 to %d of [a-z0-9._-]", ErrInvalidEntry, k, MaxDetailKeyLen)
		}
		for _, w := range secretWords {
			if strings.Contains(k, w) {
				return "", fmt.Errorf("%w: detail key %q names a secret; secrets never enter the audit log", ErrInvalidEntry, k)
			}
		}
		if len(v) > MaxDetailValLen || !utf8.ValidString(v) {
			return "", fmt.Errorf("%w: detail %q must be up to %d bytes of UTF-8", ErrInvalidEntry, k, MaxDetailValLen)
		}
	}
	b, err := json.Marshal(d)
	if err != nil {
		return "", fmt.Errorf("audit: encode detail: %w", err)
	}
	return string(b), nil
}

type actorKey struct{}

// WithActor returns ctx carrying the actor of the request, so that domain
// stores can audit their changes without knowing of HTTP.
func WithActor(ctx context.Context, a Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// ActorFrom returns the actor WithActor put in ctx, and whether there was one.
func ActorFrom(ctx context.Context) (Actor, bool) {
	a, ok := ctx.Value(actorKey{}).(Actor)
	return a, ok
}

type requestIDKey struct{}

// WithRequestID returns ctx carrying the request ID, for entries made deep
// in a domain store.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// RequestIDFrom returns the request ID WithRequestID put in ctx, or "".
func RequestIDFrom(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// fromContext fills the actor and request ID of e from ctx where e has none.
func fromContext(ctx context.Context, e Entry) Entry {
	if e.Actor == (Actor{}) {
		e.Actor, _ = ActorFrom(ctx)
	}
	if e.RequestID == "" {
		e.RequestID = RequestIDFrom(ctx)
	}
	return e
}

// decodeDetail reads a stored detail back; it was written by encodeDetail,
// so a failure means the row was edited, which Verify reports.
func decodeDetail(s string) map[string]string {
	var d map[string]string
	if err := json.Unmarshal([]byte(s), &d); err != nil {
		return map[string]string{"undecodable_detail": s}
	}
	return d
}

type trailKey struct{}

// Trail notes whether a request's change was recorded by Append in the
// change's own transaction, so that the transport records only what the
// domain did not.
type Trail struct{ appended atomic.Bool }

// WithTrail returns ctx carrying a new Trail.
func WithTrail(ctx context.Context) (context.Context, *Trail) {
	t := &Trail{}
	return context.WithValue(ctx, trailKey{}, t), t
}

// Appended reports whether Append recorded anything under the trail.
func (t *Trail) Appended() bool { return t.appended.Load() }

func markAppended(ctx context.Context) {
	if t, ok := ctx.Value(trailKey{}).(*Trail); ok {
		t.appended.Store(true)
	}
}
