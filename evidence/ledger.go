package evidence

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/bevis-ir/bevis/access"
	"github.com/bevis-ir/bevis/internal/validate"
)

type eventRow struct {
	ID                   string `gorm:"primaryKey"`
	ItemID               string
	Seq                  int
	Type                 string
	ActorUserID          *string
	ActorAgencyID        *string
	CounterpartyUserID   *string
	CounterpartyAgencyID *string
	CounterpartyExternal string
	IdentityCheck        string
	Purpose              string
	Location             string
	Details              string
	Notes                string
	Supersedes           *string
	OccurredAt           time.Time
	RecordedAt           time.Time
	PrevHash             string
	Hash                 string
}

func (eventRow) TableName() string { return "custody_events" }

func eventRowOf(e Event) *eventRow {
	return &eventRow{ID: e.ID, ItemID: e.ItemID, Seq: e.Seq, Type: string(e.Type), ActorUserID: ptr(e.ActorUserID),
		ActorAgencyID: ptr(e.ActorAgencyID), CounterpartyUserID: ptr(e.CounterpartyUserID),
		CounterpartyAgencyID: ptr(e.CounterpartyAgencyID), CounterpartyExternal: e.CounterpartyExternal,
		IdentityCheck: e.IdentityCheck, Purpose: e.Purpose, Location: e.Location, Details: e.detailsJSON, Notes: e.Notes,
		Supersedes: ptr(e.Supersedes), OccurredAt: e.OccurredAt, RecordedAt: e.RecordedAt, PrevHash: e.PrevHash, Hash: e.Hash}
}

// event reads a stored row back. Details that do not parse are kept as
// text for the hash and shown empty: the chain check reports the change.
func (r eventRow) event() Event {
	e := Event{ID: r.ID, ItemID: r.ItemID, Seq: r.Seq, Type: EventType(r.Type), ActorUserID: str(r.ActorUserID),
		ActorAgencyID: str(r.ActorAgencyID), CounterpartyUserID: str(r.CounterpartyUserID),
		CounterpartyAgencyID: str(r.CounterpartyAgencyID), CounterpartyExternal: r.CounterpartyExternal,
		IdentityCheck: r.IdentityCheck, Purpose: r.Purpose, Location: r.Location, Notes: r.Notes,
		Supersedes: str(r.Supersedes), OccurredAt: r.OccurredAt.UTC(), RecordedAt: r.RecordedAt.UTC(),
		PrevHash: r.PrevHash, Hash: r.Hash, detailsJSON: r.Details}
	_ = json.Unmarshal([]byte(r.Details), &e.Details)
	return e
}

// Events returns an item's custody events in order.
func (s *Items) Events(ctx context.Context, itemID string) ([]Event, error) {
	return events(s.db.WithContext(ctx), itemID)
}

func events(db *gorm.DB, itemID string) ([]Event, error) {
	var rows []eventRow
	if err := db.Where("item_id = ?", itemID).Order("seq").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("evidence: custody events: %w", err)
	}
	out := make([]Event, len(rows))
	for i, r := range rows {
		out[i] = r.event()
	}
	return out, nil
}

// Step is a custody step a person records.
type Step struct {
	Type                 EventType
	CounterpartyUserID   string
	CounterpartyAgencyID string
	CounterpartyExternal string
	IdentityCheck        string
	Purpose              string
	Location             string
	Details              Details
	Notes                string
	Supersedes           string
	OccurredAt           *time.Time
}

func (st Step) validate(now time.Time) error {
	var v validate.Errors
	v.Check(slices.Contains(PersonSteps, st.Type), "type", "is not a custody step a person records")
	for field, s := range map[string]string{"counterparty_external": st.CounterpartyExternal,
		"identity_check": st.IdentityCheck, "purpose": st.Purpose, "location": st.Location,
		"details.seal_number": st.Details.SealNumber, "details.legal_basis": st.Details.LegalBasis,
		"details.authority_reference": st.Details.AuthorityReference} {
		v.Line(field, s, 0, 300)
	}
	v.Text("notes", st.Notes, 20000)
	v.Text("details.reason", st.Details.Reason, 2000)
	v.Check(st.Details.Result == "" && st.Details.SHA256 == "" && len(st.Details.Findings) == 0, "details",
		"verification results are recorded by Bevis")
	d := st.Details
	v.Check(d.Identity == nil && d.SHA1 == "" && d.MD5 == "" && d.Size == nil && d.Derivation == nil && d.Old == "" &&
		d.ObjectKey == "" && d.ObjectVersion == "", "details", "identity, content and derivation are recorded by Bevis")
	v.Check(st.Type == EventCorrection || d.Field == "" && d.New == "", "details.field", "only a correction changes a field")
	v.Check(st.Type == EventReleased || !d.Copy && d.DueBack == "", "details.copy", "only a release sends a copy or sets a return date")
	v.Check(st.Type == EventReleased || st.Type == EventReturned || d.Organisation == "" && d.Reference == "",
		"details.organisation", "only a release or a return names an outside organisation")
	v.Check(st.Type == EventReturned || d.SealIntact == nil, "details.seal_intact", "only a return reports the seal as it came back")
	for field, s := range map[string]string{"details.organisation": d.Organisation, "details.reference": d.Reference} {
		v.Line(field, s, 0, 300)
	}
	if d.DueBack != "" {
		_, err := time.Parse(time.DateOnly, d.DueBack)
		v.Check(err == nil, "details.due_back", "must be a date, YYYY-MM-DD")
	}
	v.Check(st.OccurredAt == nil || !st.OccurredAt.After(now.Add(maxClockSkew)), "occurred_at", "must not be in the future")
	need := func(ok bool, field, msg string) { v.Check(ok, field, msg) }
	switch st.Type {
	case EventTransferOffered:
		need(st.CounterpartyAgencyID != "", "counterparty_agency_id", "name the agency the item is offered to")
	case EventCheckedOut:
		need(st.Purpose != "", "purpose", "say what the item is checked out for")
	case EventLocationChanged:
		need(st.Location != "", "location", "say where the item is now")
	case EventSealApplied, EventResealed:
		need(st.Details.SealNumber != "", "details.seal_number", "give the seal's number")
	case EventSealBroken:
		need(st.Details.SealNumber != "", "details.seal_number", "give the broken seal's number")
		need(st.Details.Reason != "", "details.reason", "say why the seal was broken")
	case EventLegalHoldSet, EventLegalHoldReleased:
		need(st.Details.LegalBasis != "" || st.Details.AuthorityReference != "", "details.legal_basis",
			"give the legal basis or the authority's reference")
	case EventReleased, EventReturned:
		need(st.CounterpartyUserID != "" || st.CounterpartyExternal != "", "counterparty_external",
			"name who received the item")
		need(st.CounterpartyExternal == "" || st.IdentityCheck != "", "identity_check",
			"say how the outside recipient's identity was checked")
		need(st.Type != EventReleased || st.CounterpartyExternal == "" || d.Organisation != "", "details.organisation",
			"name the outside organisation the item goes to")
	case EventDisposalProposed:
		need(st.Details.AuthorityReference != "", "details.authority_reference", "give the authority's reference for the disposal")
	case EventDisposalWithdrawn:
		need(st.Details.Reason != "", "details.reason", "say why the disposal is withdrawn")
	case EventCorrection:
		need(st.Supersedes != "" || d.Field != "", "supersedes", "name the event this corrects")
		need(st.Notes != "", "notes", "say what is corrected")
		switch d.Field {
		case "":
		case "title":
			v.Line("details.new", d.New, 1, 300)
		case "description":
			v.Text("details.new", d.New, 20000)
		default:
			v.Check(false, "details.field", "only the title or the description is corrected")
		}
	}
	return v.Err()
}

// ErrSelfConfirmation refuses the confirmation of a disposal by the person
// who proposed it: a disposal takes two people.
var ErrSelfConfirmation = fmt.Errorf("evidence: a disposal is confirmed by someone other than who proposed it: %w", access.ErrForbidden)

// conflict is a custody step the item's current state does not allow.
func conflict(format string, args ...any) error {
	return &access.ConflictError{Reason: fmt.Sprintf(format, args...)}
}

// check applies the rules of custody to one step by p given the item's
// events so far: who may do what, in which state.
func (s *Items) check(p access.Principal, it Item, past []Event, st Step, now time.Time) error {
	cur := Derive(past)
	custodian := p.AgencyID == cur.CustodianAgencyID
	if cur.Final != "" && st.Type != EventCorrection {
		return conflict("the item was %s: nothing more can happen to it", strings.ReplaceAll(string(cur.Final), "_", " "))
	}
	if cur.Out != nil && whileOut(st) != nil {
		return whileOut(st)
	}
	requireCustodian := func() error {
		if !custodian {
			return conflict("only the custodian agency can do this")
		}
		return nil
	}
	switch st.Type {
	case EventTransferOffered:
		switch {
		case cur.PendingTo != "":
			return conflict("a transfer is already offered; it must be accepted or declined first")
		case cur.CheckedOutBy != "":
			return conflict("the item is checked out; check it in first")
		case st.CounterpartyAgencyID == cur.CustodianAgencyID:
			return conflict("the item is already with that agency")
		}
		return requireCustodian()
	case EventTransferAccepted, EventTransferDeclined:
		switch {
		case cur.PendingTo == "":
			return conflict("no transfer is offered")
		case st.Type == EventTransferDeclined && custodian:
			return nil // the offering agency withdraws its offer
		case p.AgencyID != cur.PendingTo:
			return conflict("only the agency the transfer is offered to can accept or decline it")
		case cur.PendingToUser != "" && p.UserID != cur.PendingToUser:
			return conflict("the transfer is offered to another person of the agency")
		}
	case EventCheckedOut:
		switch {
		case cur.CheckedOutBy != "":
			return conflict("the item is already checked out")
		case cur.PendingTo != "":
			return conflict("a transfer is offered; it must be accepted or declined first")
		}
		return requireCustodian()
	case EventCheckedIn:
		switch {
		case cur.CheckedOutBy == "":
			return conflict("the item is not checked out")
		case p.UserID != cur.CheckedOutBy && !custodian:
			return conflict("only who checked it out, or the custodian agency, can check it in")
		}
	case EventLocationChanged:
		return requireCustodian()
	case EventSealApplied:
		if cur.Sealed || cur.SealBroken {
			return conflict("the item is sealed already, or its broken seal must be resealed")
		}
		return requireCustodian()
	case EventSealBroken:
		if !cur.Sealed {
			return conflict("the item is not sealed")
		}
		return requireCustodian()
	case EventResealed:
		if !cur.SealBroken {
			return conflict("only a broken seal is resealed")
		}
		return requireCustodian()
	case EventLegalHoldSet:
		if cur.LegalHold {
			return conflict("the item is already under legal hold")
		}
	case EventLegalHoldReleased:
		if !cur.LegalHold {
			return conflict("the item is not under legal hold")
		}
	case EventDisposalWithdrawn:
		if cur.DisposalProposedBy == "" {
			return conflict("no disposal is proposed")
		}
	case EventDisposed:
		switch {
		case cur.DisposalProposedBy == "":
			return conflict("a disposal is first proposed, then confirmed by another person")
		case p.UserID == cur.DisposalProposedBy:
			return ErrSelfConfirmation
		case st.Details.AuthorityReference != "" && st.Details.AuthorityReference != cur.DisposalReference:
			return conflict("the disposal was proposed under the authority's reference %q, not another", cur.DisposalReference)
		}
		return s.checkEnd(cur, it, st, now)
	case EventReturned:
		if cur.Out == nil {
			return conflict("the item is not out with an outside party")
		}
		if cur.Sealed && st.Details.SealIntact == nil {
			return validate.Field("details.seal_intact", "the item went out sealed: say whether seal "+cur.SealNumber+" came back intact")
		}
		return requireCustodian()
	case EventReleased:
		if st.Details.Copy && it.Kind == KindPhysical {
			return validate.Field("details.copy", "a physical item has no digital copy")
		}
		if err := s.checkEnd(cur, it, st, now); err != nil {
			return err
		}
		return requireCustodian()
	case EventDisposalProposed:
		if st.Type == EventDisposalProposed && cur.DisposalProposedBy != "" {
			return conflict("a disposal is already proposed; it must be confirmed or withdrawn first")
		}
		if err := s.checkEnd(cur, it, st, now); err != nil {
			return err
		}
		return requireCustodian()
	case EventCorrection:
		if st.Supersedes == "" && st.Details.Field != "" {
			return nil // it supersedes the registration
		}
		i := slices.IndexFunc(past, func(e Event) bool { return e.ID == st.Supersedes })
		if i < 0 {
			return validate.Field("supersedes", "is not an event of this item")
		}
		if past[i].Type == EventCorrection {
			return validate.Field("supersedes", "correct the original event, not a correction")
		}
	}
	return nil
}

// whileOut refuses what cannot happen to an item while an outside party
// has it: it is not here to hand over, seal, examine or dispose of. A
// digital copy may still be sent out, and the record corrected.
func whileOut(st Step) error {
	switch st.Type {
	case EventReturned, EventCorrection, EventLegalHoldSet, EventLegalHoldReleased, EventDisposalWithdrawn:
		return nil
	case EventReleased:
		if st.Details.Copy {
			return nil
		}
	}
	return conflict("the item is out with an outside party; it must be returned first")
}

// checkEnd applies the rules of the steps that end the item's custody
// here: it is in, not on offer, and (for a disposal) not held and past its
// retention.
func (s *Items) checkEnd(cur State, it Item, st Step, now time.Time) error {
	disposal := st.Type == EventDisposalProposed || st.Type == EventDisposed
	switch {
	case cur.CheckedOutBy != "":
		return conflict("the item is checked out; check it in first")
	case cur.PendingTo != "":
		return conflict("a transfer is offered; it must be accepted or declined first")
	case disposal && cur.LegalHold:
		return conflict("the item is under legal hold and cannot be disposed of")
	case disposal && now.Before(s.retention.After(it.CreatedAt)):
		return conflict("the item is within its retention period until %s", s.retention.After(it.CreatedAt).Format(time.DateOnly))
	}
	return nil
}

// Record appends a custody step by p to an item's ledger, if the item's
// state allows it, chained to the event before it.
func (s *Items) Record(ctx context.Context, p access.Principal, itemID string, st Step) (Event, error) {
	now := s.now()
	if err := st.validate(now); err != nil {
		return Event{}, err
	}
	occurred := now
	if st.OccurredAt != nil {
		occurred = st.OccurredAt.UTC().Truncate(time.Microsecond)
	}
	var out Event
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var row itemRow
		if err := tx.Where("id = ?", itemID).Take(&row).Error; err != nil {
			if errors.Is(err, gorm.ErrRecordNotFound) {
				return ErrItemNotFound
			}
			return err
		}
		past, err := events(tx, itemID)
		if err != nil {
			return err
		}
		if err := s.check(p, row.item(), past, st, now); err != nil {
			return err
		}
		if err := recordStep(ctx, tx, st, itemID, row.CaseID); err != nil {
			return err
		}
		switch {
		case st.Type == EventDisposed:
			// The confirmation carries the reference it was proposed under.
			st.Details.AuthorityReference = Derive(past).DisposalReference
		case st.Type == EventReturned:
			if cur := Derive(past); cur.Sealed {
				st.Details.SealNumber = cur.SealNumber
			} else {
				st.Details.SealIntact = nil
			}
		case st.Type == EventCorrection && st.Details.Field != "":
			if err := correctField(tx, &row, past, &st); err != nil {
				return err
			}
		}
		out = Event{Type: st.Type, ActorUserID: p.UserID,
			ActorAgencyID: p.AgencyID, CounterpartyUserID: st.CounterpartyUserID,
			CounterpartyAgencyID: st.CounterpartyAgencyID, CounterpartyExternal: st.CounterpartyExternal,
			IdentityCheck: st.IdentityCheck, Purpose: st.Purpose, Location: st.Location, Details: st.Details,
			Notes: st.Notes, Supersedes: st.Supersedes, OccurredAt: occurred, RecordedAt: now}
		return appendEvent(tx, itemID, past, &out)
	})
	switch {
	case err == nil:
		return out, nil
	case errors.Is(err, gorm.ErrDuplicatedKey):
		// Another step took this place in the chain at the same moment.
		return Event{}, conflict("another custody step was recorded at the same time; reload and try again")
	case errors.Is(err, gorm.ErrForeignKeyViolated):
		return Event{}, validate.Field("counterparty_user_id", "names no such user or agency")
	case errors.Is(err, ErrItemNotFound), isValidation(err), errors.Is(err, access.ErrConflict), errors.Is(err, ErrSelfConfirmation):
		return Event{}, err
	}
	return Event{}, fmt.Errorf("evidence: record custody: %w", err)
}

// correctField changes an item's title or description as st says, with
// the old value on the record beside the new: the correction supersedes
// the registration, whose identity it amends.
func correctField(tx *gorm.DB, row *itemRow, past []Event, st *Step) error {
	old := row.Title
	if st.Details.Field == "description" {
		old = row.Description
	}
	if old == st.Details.New {
		return validate.Field("details.new", "is what the "+st.Details.Field+" is already")
	}
	if st.Supersedes != "" && st.Supersedes != past[0].ID {
		return validate.Field("supersedes", "a correction of the "+st.Details.Field+" supersedes the registration")
	}
	st.Supersedes, st.Details.Old = past[0].ID, old
	return tx.Model(&itemRow{}).Where("id = ?", row.ID).Update(st.Details.Field, st.Details.New).Error
}

// appendEvent chains e after past (the item's events so far) and stores it.
func appendEvent(tx *gorm.DB, itemID string, past []Event, e *Event) error {
	e.ID, e.ItemID, e.Seq = newItemID(), itemID, len(past)+1
	prev := genesisHash
	if len(past) > 0 {
		prev = past[len(past)-1].Hash
	}
	e.seal(prev)
	if err := tx.Create(eventRowOf(*e)).Error; err != nil {
		return err
	}
	return keepCustodyState(tx, *e)
}

// keepCustodyState writes what e changes of the custody state kept on its
// item's row (migration 00080): whether a handover awaits an answer, and
// whether the last verification failed. The leadership read models count
// these over every item a reader can see, so they are kept as each step
// is appended, in its transaction, rather than replayed from every ledger
// on every read; they say what Derive says of the same events
// (TestCustodyState_KeptEqualsTheLedger), and nothing else writes them.
func keepCustodyState(tx *gorm.DB, e Event) error {
	var column string
	var value bool
	switch e.Type {
	case EventTransferOffered:
		column, value = "awaiting_handover", true
	case EventTransferAccepted, EventTransferDeclined:
		column, value = "awaiting_handover", false
	case EventVerified:
		column, value = "verification_failed", e.Details.Result != "ok"
	default:
		return nil
	}
	return tx.Table("evidence_items").Where("id = ?", e.ItemID).Update(column, value).Error
}

// recordOwn appends one of Bevis's own steps (received, verified, a
// rejected upload), which follow no person's rules.
func recordOwn(tx *gorm.DB, itemID string, e *Event) error {
	past, err := events(tx, itemID)
	if err != nil {
		return err
	}
	return appendEvent(tx, itemID, past, e)
}

func ptr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// States derives the custody state of each item, from the events of them
// all read in one query.
func (s *Items) States(ctx context.Context, itemIDs []string) (map[string]State, error) {
	out := make(map[string]State, len(itemIDs))
	if len(itemIDs) == 0 {
		return out, nil
	}
	var rows []eventRow
	if err := s.db.WithContext(ctx).Where("item_id IN ?", itemIDs).Order("item_id, seq").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("evidence: custody states: %w", err)
	}
	byItem := map[string][]Event{}
	for _, r := range rows {
		byItem[r.ItemID] = append(byItem[r.ItemID], r.event())
	}
	for _, id := range itemIDs {
		out[id] = Derive(byItem[id])
	}
	return out, nil
}
