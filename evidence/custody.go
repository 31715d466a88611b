package evidence

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"
)

// EventType is one kind of step in an item's chain of custody.
type EventType string

// The custody steps. Registered and received are recorded by Bevis itself;
// the others are recorded by people, each within the rules of Next.
const (
	EventRegistered        EventType = "registered"
	EventReceived          EventType = "received"         // the content is stored, hashed and locked
	EventContentRejected   EventType = "content_rejected" // an upload did not match its declared hash
	EventTransferOffered   EventType = "transfer_offered"
	EventTransferAccepted  EventType = "transfer_accepted"
	EventTransferDeclined  EventType = "transfer_declined"
	EventCheckedOut        EventType = "checked_out"
	EventCheckedIn         EventType = "checked_in"
	EventLocationChanged   EventType = "location_changed"
	EventSealApplied       EventType = "seal_applied"
	EventSealBroken        EventType = "seal_broken"
	EventResealed          EventType = "resealed"
	EventVerified          EventType = "verified"
	EventLegalHoldSet      EventType = "legal_hold_set"
	EventLegalHoldReleased EventType = "legal_hold_released"
	EventReleased          EventType = "released"
	EventReturned          EventType = "returned"
	// A disposal takes two people: one proposes it (with the authority's
	// reference), another confirms it with the disposed step; a proposal
	// may be withdrawn instead.
	EventDisposalProposed  EventType = "disposal_proposed"
	EventDisposalWithdrawn EventType = "disposal_withdrawn"
	EventDisposed          EventType = "disposed"
	EventCorrection        EventType = "correction"
	// Bevis's own: a child item was registered as extracted from this one.
	EventDerived EventType = "derived"
	// Bevis's own: a disposed item's stored content was deleted once its
	// retention allowed it; the record stays.
	EventContentDeleted EventType = "content_deleted"
)

// PersonSteps are the steps people record through the API; the others are
// Bevis's own.
var PersonSteps = []EventType{
	EventTransferOffered, EventTransferAccepted, EventTransferDeclined, EventCheckedOut, EventCheckedIn,
	EventLocationChanged, EventSealApplied, EventSealBroken, EventResealed, EventLegalHoldSet,
	EventLegalHoldReleased, EventReleased, EventReturned, EventDisposalProposed, EventDisposalWithdrawn,
	EventDisposed, EventCorrection,
}

// LeadSteps end what a case keeps, so only a lead of the case records them
// (the caller asks access for evidence.govern): releasing a legal hold, and
// each step of a disposal.
var LeadSteps = []EventType{EventLegalHoldReleased, EventDisposalProposed, EventDisposalWithdrawn, EventDisposed}

// Details are the facts particular to some steps. They are stored and
// hashed as the exact JSON text written, so nothing can be slipped in.
type Details struct {
	SealNumber         string `json:"seal_number,omitempty"`
	Reason             string `json:"reason,omitempty"`
	LegalBasis         string `json:"legal_basis,omitempty"`
	AuthorityReference string `json:"authority_reference,omitempty"`
	Result             string `json:"result,omitempty"` // verified: ok, mismatch or missing
	SHA256             string `json:"sha256,omitempty"` // verified: what the re-read bytes hashed to
	// Findings (verified) are what else was wrong in the store: versions
	// and delete markers Bevis did not write, a legal hold lifted.
	Findings []string `json:"findings,omitempty"`

	// Identity (registered) is every fact that identifies the item, so that
	// none of them can change in the database without the chain showing it.
	Identity *Identity `json:"identity,omitempty"`
	// The other digests and the size of the content (received), beside
	// SHA256 above.
	SHA1 string `json:"sha1,omitempty"`
	MD5  string `json:"md5,omitempty"`
	Size *int64 `json:"size,omitempty"`
	// A correction of the item's title or description (correction): which
	// field, what it was and what it is now.
	Field string `json:"field,omitempty"`
	Old   string `json:"old,omitempty"`
	New   string `json:"new,omitempty"`
	// Derivation (registered, on a child; derived, on its parent): what was
	// extracted from which item, with which tool.
	Derivation *Derivation `json:"derivation,omitempty"`
	// An external party's organisation and its reference (released,
	// returned), whether a digital copy rather than the item went out, and
	// when it is due back (YYYY-MM-DD).
	Organisation string `json:"organisation,omitempty"`
	Reference    string `json:"reference,omitempty"`
	Copy         bool   `json:"copy,omitempty"`
	DueBack      string `json:"due_back,omitempty"`
	// On return: whether the seal came back intact (nil when the item went
	// out unsealed).
	SealIntact *bool `json:"seal_intact,omitempty"`
	// Disposal of the stored content once retention allowed it (content_deleted).
	ObjectKey     string `json:"object_key,omitempty"`
	ObjectVersion string `json:"object_version,omitempty"`
}

// Identity is what identifies an item, as its registration records it.
type Identity struct {
	CaseID         string `json:"case_id"`
	ExhibitNumber  string `json:"exhibit_number"`
	Title          string `json:"title"`
	Kind           string `json:"kind"`
	DeclaredSHA256 string `json:"declared_sha256"`
	DeclaredSHA1   string `json:"declared_sha1"`
	DeclaredMD5    string `json:"declared_md5"`
	// The parent's exhibit number (never its ID, which the readers of the
	// child may not be allowed to learn), for an item derived from another.
	ParentExhibit string `json:"parent_exhibit,omitempty"`
}

// Derivation is an item extracted from another.
type Derivation struct {
	ParentExhibit string `json:"parent_exhibit,omitempty"` // on the child
	ChildExhibit  string `json:"child_exhibit,omitempty"`  // on the parent
	What          string `json:"what"`
	Tool          string `json:"tool,omitempty"`
	ToolVersion   string `json:"tool_version,omitempty"`
}

// Event is one step in an item's chain of custody. Events are never
// changed: a correction is a new event that supersedes an older one, which
// stays visible.
type Event struct {
	ID                   string
	ItemID               string
	Seq                  int
	Type                 EventType
	ActorUserID          string // empty for Bevis's own steps
	ActorAgencyID        string
	CounterpartyUserID   string
	CounterpartyAgencyID string
	CounterpartyExternal string // an outside person or organisation
	IdentityCheck        string // how the outside counterparty's identity was checked
	Purpose              string
	Location             string
	Details              Details
	Notes                string
	Supersedes           string
	OccurredAt           time.Time
	RecordedAt           time.Time
	PrevHash             string
	Hash                 string

	detailsJSON string // as stored and hashed
}

// genesisHash is the previous hash of an item's first event.
const genesisHash = "0000000000000000000000000000000000000000000000000000000000000000"

// canonicalEvent is version 1 of the form an event is hashed in: every
// field, in this order, times in UTC to the microsecond, details as the
// stored text. Changing it needs a new version, never an edit.
type canonicalEvent struct {
	Version              int    `json:"v"`
	ID                   string `json:"id"`
	ItemID               string `json:"item_id"`
	Seq                  int    `json:"seq"`
	Type                 string `json:"type"`
	ActorUserID          string `json:"actor_user_id"`
	ActorAgencyID        string `json:"actor_agency_id"`
	CounterpartyUserID   string `json:"counterparty_user_id"`
	CounterpartyAgencyID string `json:"counterparty_agency_id"`
	CounterpartyExternal string `json:"counterparty_external"`
	IdentityCheck        string `json:"identity_check"`
	Purpose              string `json:"purpose"`
	Location             string `json:"location"`
	Details              string `json:"details"`
	Notes                string `json:"notes"`
	Supersedes           string `json:"supersedes"`
	OccurredAt           string `json:"occurred_at"`
	RecordedAt           string `json:"recorded_at"`
	PrevHash             string `json:"prev_hash"`
}

func canonicalTime(t time.Time) string {
	return t.UTC().Truncate(time.Microsecond).Format("2006-01-02T15:04:05.000000Z")
}

// computeHash is SHA-256 over the canonical form of e, which includes the
// previous event's hash.
func (e Event) computeHash() string {
	b, err := json.Marshal(canonicalEvent{Version: 1, ID: e.ID, ItemID: e.ItemID, Seq: e.Seq, Type: string(e.Type),
		ActorUserID: e.ActorUserID, ActorAgencyID: e.ActorAgencyID, CounterpartyUserID: e.CounterpartyUserID,
		CounterpartyAgencyID: e.CounterpartyAgencyID, CounterpartyExternal: e.CounterpartyExternal,
		IdentityCheck: e.IdentityCheck, Purpose: e.Purpose, Location: e.Location, Details: e.detailsJSON,
		Notes: e.Notes, Supersedes: e.Supersedes, OccurredAt: canonicalTime(e.OccurredAt),
		RecordedAt: canonicalTime(e.RecordedAt), PrevHash: e.PrevHash})
	if err != nil {
		panic(err) // strings and ints only: cannot fail
	}
	sum := sha256.Sum256(append([]byte("bevis-custody-v1\n"), b...))
	return hex.EncodeToString(sum[:])
}

// seal fixes the event's details text and hash after prev.
func (e *Event) seal(prevHash string) {
	b, err := json.Marshal(e.Details)
	if err != nil {
		panic(err)
	}
	e.detailsJSON = string(b)
	e.PrevHash = prevHash
	e.Hash = e.computeHash()
}

// ChainError names the first event of an item's ledger that does not
// verify, and why.
type ChainError struct {
	ItemID string
	Seq    int
	Reason string
}

func (e *ChainError) Error() string {
	return fmt.Sprintf("evidence: custody chain of item %s broken at event %d: %s", e.ItemID, e.Seq, e.Reason)
}

// VerifyChain recomputes an item's chain from its events, in seq order,
// and reports the first event that was changed, removed or reordered.
func VerifyChain(itemID string, events []Event) error {
	prev := genesisHash
	for i, e := range events {
		want := i + 1
		switch {
		case e.Seq != want:
			return &ChainError{ItemID: itemID, Seq: want, Reason: fmt.Sprintf("event %d is missing or out of order (found %d)", want, e.Seq)}
		case e.ItemID != itemID:
			return &ChainError{ItemID: itemID, Seq: want, Reason: "the event belongs to another item"}
		case e.PrevHash != prev:
			return &ChainError{ItemID: itemID, Seq: want, Reason: "its previous hash does not match the event before it"}
		case e.computeHash() != e.Hash:
			return &ChainError{ItemID: itemID, Seq: want, Reason: "its content does not match its hash (modified)"}
		}
		prev = e.Hash
	}
	if len(events) == 0 || events[0].Type != EventRegistered {
		return &ChainError{ItemID: itemID, Seq: 1, Reason: "the chain does not start with the registration"}
	}
	return nil
}

// State is an item's custody now, derived from its events and never
// stored: who holds it, where, and what may happen next.
type State struct {
	CustodianAgencyID string
	CustodianUserID   string
	Location          string
	CheckedOutBy      string // the user examining it, while checked out
	PendingTo         string // the agency a transfer is offered to
	PendingToUser     string
	Sealed            bool
	SealNumber        string
	SealBroken        bool // broken and not yet resealed
	LegalHold         bool
	Received          bool
	Integrity         string // "", "ok", "mismatch" or "missing": the last verification's result
	LastVerifiedAt    *time.Time
	Final             EventType // disposed: nothing more may happen

	// Out is the external party the item is with, released and not yet
	// returned; nil while it is here. A digital copy sent out leaves it nil.
	Out *External
	// ReturnProblem says what was wrong when the item last came back (its
	// seal broken, its content not as recorded); empty when nothing was.
	ReturnProblem  string
	ContentDeleted bool // the stored content of a disposed item was deleted

	// The disposal proposed and waiting for a second person's confirmation:
	// who proposed it, and under which authority's reference.
	DisposalProposedBy string
	DisposalReference  string
}

// External is who holds an item released outside the agencies of the
// case, and since when.
type External struct {
	Name         string
	UserID       string
	Organisation string
	Reference    string
	DueBack      string // YYYY-MM-DD, or empty when no return date was set
	Since        time.Time
}

// Overdue says whether an item out is past its return date on the given day.
func (x *External) Overdue(now time.Time) bool {
	if x == nil || x.DueBack == "" {
		return false
	}
	due, err := time.Parse(time.DateOnly, x.DueBack)
	return err == nil && now.UTC().After(due.Add(24*time.Hour))
}

// Derive replays the events of one item, in seq order, into its state. A
// correction's location replaces that of the event it supersedes.
func Derive(events []Event) State {
	corrected := map[string]string{}
	for _, e := range events {
		if e.Type == EventCorrection && e.Supersedes != "" && e.Location != "" {
			corrected[e.Supersedes] = e.Location
		}
	}
	location := func(e Event) string {
		if l, ok := corrected[e.ID]; ok {
			return l
		}
		return e.Location
	}
	var s State
	for _, e := range events {
		switch e.Type {
		case EventRegistered:
			s.CustodianAgencyID, s.CustodianUserID, s.Location = e.ActorAgencyID, e.ActorUserID, location(e)
		case EventReceived:
			s.Received = true
		case EventTransferOffered:
			s.PendingTo, s.PendingToUser = e.CounterpartyAgencyID, e.CounterpartyUserID
		case EventTransferAccepted:
			s.CustodianAgencyID, s.CustodianUserID = e.ActorAgencyID, e.ActorUserID
			s.PendingTo, s.PendingToUser = "", ""
			if l := location(e); l != "" {
				s.Location = l
			}
		case EventTransferDeclined:
			s.PendingTo, s.PendingToUser = "", ""
		case EventCheckedOut:
			s.CheckedOutBy = e.ActorUserID
		case EventCheckedIn:
			s.CheckedOutBy = ""
			if l := location(e); l != "" {
				s.Location = l
			}
		case EventLocationChanged:
			s.Location = location(e)
		case EventSealApplied, EventResealed:
			s.Sealed, s.SealBroken, s.SealNumber = true, false, e.Details.SealNumber
		case EventSealBroken:
			s.Sealed, s.SealBroken = false, true
		case EventVerified:
			s.Integrity = e.Details.Result
			at := e.OccurredAt
			s.LastVerifiedAt = &at
		case EventLegalHoldSet:
			s.LegalHold = true
		case EventLegalHoldReleased:
			s.LegalHold = false
		case EventDisposalProposed:
			s.DisposalProposedBy, s.DisposalReference = e.ActorUserID, e.Details.AuthorityReference
		case EventDisposalWithdrawn:
			s.DisposalProposedBy, s.DisposalReference = "", ""
		case EventReleased:
			if !e.Details.Copy {
				s.Out = &External{Name: e.CounterpartyExternal, UserID: e.CounterpartyUserID,
					Organisation: e.Details.Organisation, Reference: e.Details.Reference, DueBack: e.Details.DueBack,
					Since: e.OccurredAt}
			}
		case EventReturned:
			s.Out, s.ReturnProblem = nil, ""
			if e.Details.SealIntact != nil && !*e.Details.SealIntact {
				s.Sealed, s.SealBroken = false, true
				s.ReturnProblem = "the seal " + e.Details.SealNumber + " came back broken"
			}
			if l := location(e); l != "" {
				s.Location = l
			}
		case EventDisposed:
			s.Final = e.Type
			s.DisposalProposedBy, s.DisposalReference = "", ""
		case EventContentDeleted:
			s.ContentDeleted = true
		}
	}
	return s
}
