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
	Final             EventType // released, returned or disposed: nothing more may happen

	// The disposal proposed and waiting for a second person's confirmation:
	// who proposed it, and under which authority's reference.
	DisposalProposedBy string
	DisposalReference  string
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
		case EventReleased, EventReturned, EventDisposed:
			s.Final = e.Type
			s.DisposalProposedBy, s.DisposalReference = "", ""
		}
	}
	return s
}
