package api

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/bevis-ir/bevis/access"
	"github.com/bevis-ir/bevis/evidence"
	"github.com/bevis-ir/bevis/internal/validate"
)

type sourceJSON struct {
	Device string `json:"device"`
	Serial string `json:"serial"`
	Owner  string `json:"owner"`
}

type acquisitionJSON struct {
	Tool        string     `json:"tool"`
	ToolVersion string     `json:"tool_version"`
	By          string     `json:"by"`
	At          *time.Time `json:"at"`
	Where       string     `json:"where"`
}

type hashesJSON struct {
	SHA256 string `json:"sha256,omitempty"`
	SHA1   string `json:"sha1,omitempty"`
	MD5    string `json:"md5,omitempty"`
}

type custodyStateJSON struct {
	CustodianAgencyID string  `json:"custodian_agency_id"`
	CustodianUserID   string  `json:"custodian_user_id"`
	Location          string  `json:"location"`
	CheckedOutBy      string  `json:"checked_out_by,omitempty"`
	TransferOfferedTo string  `json:"transfer_offered_to,omitempty"`
	Sealed            bool    `json:"sealed"`
	SealNumber        string  `json:"seal_number,omitempty"`
	SealBroken        bool    `json:"seal_broken"`
	LegalHold         bool    `json:"legal_hold"`
	Integrity         string  `json:"integrity,omitempty"`
	LastVerifiedAt    *string `json:"last_verified_at"`
	Final             string  `json:"final,omitempty"`
	// The outside party the item is with, and what was wrong when it last
	// came back.
	Out            *externalJSON `json:"out,omitempty"`
	ReturnProblem  string        `json:"return_problem,omitempty"`
	ContentDeleted bool          `json:"content_deleted,omitempty"`

	// A disposal proposed by a lead, awaiting another lead's confirmation.
	DisposalProposedBy string `json:"disposal_proposed_by,omitempty"`
	DisposalReference  string `json:"disposal_reference,omitempty"`
	namesJSON
}

func (s *custodyStateJSON) references() ([]string, []string) {
	people := []string{s.CustodianUserID, s.CheckedOutBy, s.DisposalProposedBy}
	if s.Out != nil {
		people = append(people, s.Out.UserID)
	}
	return people, []string{s.CustodianAgencyID, s.TransferOfferedTo}
}

type externalJSON struct {
	Name         string `json:"name,omitempty"`
	UserID       string `json:"user_id,omitempty"`
	Organisation string `json:"organisation,omitempty"`
	Reference    string `json:"reference,omitempty"`
	DueBack      string `json:"due_back,omitempty"`
	Since        string `json:"since"`
	Overdue      bool   `json:"overdue"`
}

type itemJSON struct {
	ID             string            `json:"id"`
	CaseID         string            `json:"case_id"`
	ExhibitNumber  string            `json:"exhibit_number"`
	Title          string            `json:"title"`
	Description    string            `json:"description"`
	Kind           string            `json:"kind"`
	Source         sourceJSON        `json:"source"`
	Acquisition    acquisitionJSON   `json:"acquisition"`
	DeclaredHashes hashesJSON        `json:"declared_hashes"`
	TLP            string            `json:"tlp"`
	ParentID       string            `json:"parent_id,omitempty"`
	CreatedBy      string            `json:"created_by"`
	CreatedAt      string            `json:"created_at"`
	ContentStatus  string            `json:"content_status"`
	Size           *int64            `json:"size"`
	Hashes         *hashesJSON       `json:"hashes"`
	ReceivedAt     *string           `json:"received_at"`
	Custody        *custodyStateJSON `json:"custody,omitempty"`
	namesJSON
}

func (it *itemJSON) references() ([]string, []string) { return []string{it.CreatedBy}, nil }

func toItemJSON(it evidence.Item) itemJSON {
	out := itemJSON{ID: it.ID, CaseID: it.CaseID, ExhibitNumber: it.ExhibitNumber, Title: it.Title,
		Description: it.Description, Kind: string(it.Kind),
		Source: sourceJSON(it.Source),
		Acquisition: acquisitionJSON{Tool: it.Acquisition.Tool, ToolVersion: it.Acquisition.ToolVersion,
			By: it.Acquisition.By, At: it.Acquisition.At, Where: it.Acquisition.Where},
		DeclaredHashes: hashesJSON(it.Declared), TLP: string(it.TLP), ParentID: it.ParentID, CreatedBy: it.CreatedBy,
		CreatedAt: timestamp(it.CreatedAt), ContentStatus: it.ContentStatus, ReceivedAt: optionalTimestamp(it.ReceivedAt)}
	if it.ContentStatus == "received" {
		size, h := it.Size, hashesJSON(it.Computed)
		out.Size, out.Hashes = &size, &h
	}
	return out
}

func toCustodyStateJSON(s evidence.State) *custodyStateJSON {
	out := &custodyStateJSON{CustodianAgencyID: s.CustodianAgencyID, CustodianUserID: s.CustodianUserID,
		Location: s.Location, CheckedOutBy: s.CheckedOutBy, TransferOfferedTo: s.PendingTo, Sealed: s.Sealed,
		SealNumber: s.SealNumber, SealBroken: s.SealBroken, LegalHold: s.LegalHold, Integrity: s.Integrity,
		DisposalProposedBy: s.DisposalProposedBy, DisposalReference: s.DisposalReference,
		LastVerifiedAt: optionalTimestamp(s.LastVerifiedAt), Final: string(s.Final),
		ReturnProblem: s.ReturnProblem, ContentDeleted: s.ContentDeleted}
	if x := s.Out; x != nil {
		out.Out = &externalJSON{Name: x.Name, UserID: x.UserID, Organisation: x.Organisation, Reference: x.Reference,
			DueBack: x.DueBack, Since: timestamp(x.Since), Overdue: x.Overdue(time.Now())}
	}
	return out
}

type custodyEventJSON struct {
	ID                   string           `json:"id"`
	Seq                  int              `json:"seq"`
	Type                 string           `json:"type"`
	ActorUserID          string           `json:"actor_user_id,omitempty"`
	ActorAgencyID        string           `json:"actor_agency_id,omitempty"`
	CounterpartyUserID   string           `json:"counterparty_user_id,omitempty"`
	CounterpartyAgencyID string           `json:"counterparty_agency_id,omitempty"`
	CounterpartyExternal string           `json:"counterparty_external,omitempty"`
	IdentityCheck        string           `json:"identity_check,omitempty"`
	Purpose              string           `json:"purpose,omitempty"`
	Location             string           `json:"location,omitempty"`
	Details              evidence.Details `json:"details"`
	Notes                string           `json:"notes,omitempty"`
	Supersedes           string           `json:"supersedes,omitempty"`
	SupersededBy         []string         `json:"superseded_by,omitempty"`
	OccurredAt           string           `json:"occurred_at"`
	RecordedAt           string           `json:"recorded_at"`
	PrevHash             string           `json:"prev_hash"`
	Hash                 string           `json:"hash"`
	namesJSON
}

func (e *custodyEventJSON) references() ([]string, []string) {
	return []string{e.ActorUserID, e.CounterpartyUserID}, []string{e.ActorAgencyID, e.CounterpartyAgencyID}
}

func toCustodyEventJSON(e evidence.Event) custodyEventJSON {
	return custodyEventJSON{ID: e.ID, Seq: e.Seq, Type: string(e.Type), ActorUserID: e.ActorUserID,
		ActorAgencyID: e.ActorAgencyID, CounterpartyUserID: e.CounterpartyUserID,
		CounterpartyAgencyID: e.CounterpartyAgencyID, CounterpartyExternal: e.CounterpartyExternal,
		IdentityCheck: e.IdentityCheck, Purpose: e.Purpose, Location: e.Location, Details: e.Details, Notes: e.Notes,
		Supersedes: e.Supersedes, OccurredAt: timestamp(e.OccurredAt), RecordedAt: timestamp(e.RecordedAt),
		PrevHash: e.PrevHash, Hash: e.Hash}
}

type registerItemRequest struct {
	Title          string          `json:"title"`
	Description    string          `json:"description"`
	Kind           string          `json:"kind"`
	Source         sourceJSON      `json:"source"`
	Acquisition    acquisitionJSON `json:"acquisition"`
	DeclaredHashes hashesJSON      `json:"declared_hashes"`
	TLP            string          `json:"tlp"`
	ParentID       string          `json:"parent_id"`
	Extracted      string          `json:"extracted"`
	Location       string          `json:"location"`
	OccurredAt     *time.Time      `json:"occurred_at"`
	Notes          string          `json:"notes"`
}

func (s *server) registerItem(c *fiber.Ctx) error {
	caseID, err := s.caseWork(c)
	if err != nil {
		return err
	}
	var in registerItemRequest
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	ctx, p := c.UserContext(), principal(c)
	markings, err := s.Authz.ItemMarkings(ctx, p, caseID)
	if err != nil {
		return err
	}
	tlp := access.TLP(in.TLP)
	if tlp != "" && tlp.Valid() && !slices.Contains(markings, tlp) {
		return validate.Field("tlp", "is a marking you could not see the item under")
	}
	if in.ParentID != "" {
		// A parent the caller may not see is answered as one that does not exist.
		parent, err := s.Items.Item(ctx, in.ParentID)
		if errors.Is(err, evidence.ErrItemNotFound) ||
			err == nil && (parent.CaseID != caseID || !slices.Contains(markings, parent.TLP)) {
			return validate.Field("parent_id", "is not an item of this case")
		}
		if err != nil {
			return err
		}
	}
	k, err := s.Cases.Get(ctx, caseID)
	if err != nil {
		return err
	}
	it, err := s.Items.Register(ctx, p, caseID, k.Reference, evidence.NewItem{Title: in.Title,
		Description: in.Description, Kind: evidence.Kind(in.Kind), Source: evidence.Source(in.Source),
		Acquisition: evidence.Acquisition{Tool: in.Acquisition.Tool, ToolVersion: in.Acquisition.ToolVersion,
			By: in.Acquisition.By, At: in.Acquisition.At, Where: in.Acquisition.Where},
		Declared: evidence.Hashes(in.DeclaredHashes), TLP: tlp, ParentID: in.ParentID, Extracted: in.Extracted, Location: in.Location,
		OccurredAt: in.OccurredAt, Notes: in.Notes})
	if err != nil {
		return err
	}
	c.Location("/api/v1/evidence/" + it.ID)
	return s.sendItem(c, fiber.StatusCreated, it)
}

func (s *server) listItems(c *fiber.Ctx) error {
	caseID, err := s.caseAction(c, access.ActionCaseRead)
	if err != nil {
		return err
	}
	limit, after, err := page(c)
	if err != nil {
		return err
	}
	afterSeq := 0
	if after != "" {
		if afterSeq, err = strconv.Atoi(after); err != nil || afterSeq < 1 {
			return validate.Field("cursor", "is not a cursor this API gave out")
		}
	}
	markings, err := s.Authz.ItemMarkings(c.UserContext(), principal(c), caseID)
	if err != nil {
		return err
	}
	ctx := c.UserContext()
	list, err := s.Items.CaseItems(ctx, caseID, markings, afterSeq, limit)
	if err != nil {
		return err
	}
	ids := make([]string, len(list))
	for i, it := range list {
		ids[i] = it.ID
	}
	states, err := s.Items.States(ctx, ids)
	if err != nil {
		return err
	}
	out := pageJSON[itemJSON]{Items: make([]itemJSON, len(list))}
	var named []referrer
	listed := make([]*itemJSON, len(list))
	for i, it := range list {
		out.Items[i] = toItemJSON(it)
		out.Items[i].Custody = toCustodyStateJSON(states[it.ID])
		named = append(named, &out.Items[i], out.Items[i].Custody)
		listed[i] = &out.Items[i]
	}
	if err := s.hideUnseenParents(ctx, caseID, markings, listed...); err != nil {
		return err
	}
	if err := s.nameAll(ctx, named...); err != nil {
		return err
	}
	if len(list) > 0 {
		out.NextCursor = nextCursor(len(list), limit, strconv.Itoa(list[len(list)-1].ExhibitSeq))
	}
	return c.JSON(out)
}

// item loads the evidence item of the route for a caller who may see it,
// by its case's rules and its own marking, and do action on it. An item the
// caller may not see is not found, whatever they ask to do to it.
func (s *server) item(c *fiber.Ctx, action access.Action) (evidence.Item, error) {
	it, err := s.Items.Item(c.UserContext(), c.Params("id"))
	if err != nil {
		return evidence.Item{}, err
	}
	auditCase(c, it.CaseID)
	_, err = s.authorizeSeen(c, action, it.CaseID, func(markings []access.TLP) error {
		if !slices.Contains(markings, it.TLP) {
			return evidence.ErrItemNotFound
		}
		return nil
	})
	return it, err
}

// authorizeSeen asks whether the caller may do action on a case, and
// returns the markings they may see there; but it answers a refusal (403)
// only after see has found the object acted on among what the caller may
// see. To someone who cannot see an object it is not found (404), whatever
// they ask to do to it, as if it did not exist.
func (s *server) authorizeSeen(c *fiber.Ctx, action access.Action, caseID string, see func(markings []access.TLP) error) ([]access.TLP, error) {
	// Both questions are answered from one reading of the caller's standing.
	ctx, p := access.RememberCaseFacts(c.UserContext()), principal(c)
	denied := s.Authz.Authorize(ctx, p, action, access.Resource{CaseID: caseID})
	if denied != nil && !errors.Is(denied, access.ErrForbidden) {
		return nil, denied
	}
	markings, err := s.Authz.ItemMarkings(ctx, p, caseID)
	if err != nil {
		return nil, err
	}
	if err := see(markings); err != nil {
		return nil, err
	}
	return markings, denied
}

// itemWork loads the item of the route for content to be added to it: the
// caller may write it, and its case is not closed.
func (s *server) itemWork(c *fiber.Ctx) (evidence.Item, error) {
	it, err := s.item(c, access.ActionCaseWrite)
	if err != nil {
		return evidence.Item{}, err
	}
	return it, s.Cases.EnsureOpen(c.UserContext(), it.CaseID)
}

// sendItem answers with an item and its custody now.
func (s *server) sendItem(c *fiber.Ctx, status int, it evidence.Item) error {
	evs, err := s.Items.Events(c.UserContext(), it.ID)
	if err != nil {
		return err
	}
	out := toItemJSON(it)
	out.Custody = toCustodyStateJSON(evidence.Derive(evs))
	markings, err := s.Authz.ItemMarkings(c.UserContext(), principal(c), it.CaseID)
	if err != nil {
		return err
	}
	if err := s.hideUnseenParents(c.UserContext(), it.CaseID, markings, &out); err != nil {
		return err
	}
	if err := s.nameAll(c.UserContext(), &out, out.Custody); err != nil {
		return err
	}
	return c.Status(status).JSON(out)
}

func (s *server) getItem(c *fiber.Ctx) error {
	it, err := s.item(c, access.ActionCaseRead)
	if err != nil {
		return err
	}
	return s.sendItem(c, fiber.StatusOK, it)
}

type custodyJSON struct {
	State  *custodyStateJSON  `json:"state"`
	Events []custodyEventJSON `json:"events"`
}

func (s *server) getCustody(c *fiber.Ctx) error {
	it, err := s.item(c, access.ActionCaseRead)
	if err != nil {
		return err
	}
	evs, err := s.Items.Events(c.UserContext(), it.ID)
	if err != nil {
		return err
	}
	out, err := s.custodyOf(c.UserContext(), evs)
	if err != nil {
		return err
	}
	return c.JSON(out)
}

// custodyOf is an item's custody state and events, corrections linked to
// what they correct, everyone in them named.
func (s *server) custodyOf(ctx context.Context, evs []evidence.Event) (custodyJSON, error) {
	out := custodyJSON{State: toCustodyStateJSON(evidence.Derive(evs)), Events: make([]custodyEventJSON, len(evs))}
	index := map[string]int{}
	named := []referrer{out.State}
	for i, e := range evs {
		out.Events[i] = toCustodyEventJSON(e)
		index[e.ID] = i
		named = append(named, &out.Events[i])
	}
	for _, e := range evs {
		if i, ok := index[e.Supersedes]; ok && e.Supersedes != "" {
			out.Events[i].SupersededBy = append(out.Events[i].SupersededBy, e.ID)
		}
	}
	return out, s.nameAll(ctx, named...)
}

type custodyStepRequest struct {
	Type                 string           `json:"type"`
	CounterpartyUserID   string           `json:"counterparty_user_id"`
	CounterpartyAgencyID string           `json:"counterparty_agency_id"`
	CounterpartyExternal string           `json:"counterparty_external"`
	IdentityCheck        string           `json:"identity_check"`
	Purpose              string           `json:"purpose"`
	Location             string           `json:"location"`
	Details              evidence.Details `json:"details"`
	Notes                string           `json:"notes"`
	Supersedes           string           `json:"supersedes"`
	OccurredAt           *time.Time       `json:"occurred_at"`
}

func (s *server) recordCustody(c *fiber.Ctx) error {
	it, err := s.item(c, access.ActionCaseWrite)
	if err != nil {
		return err
	}
	var in custodyStepRequest
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	ctx, step := c.UserContext(), evidence.EventType(in.Type)
	if slices.Contains(evidence.LeadSteps, step) {
		if err := s.authorize(c, access.ActionEvidenceGovern, access.Resource{CaseID: it.CaseID}); err != nil {
			return err
		}
	}
	// The store holds the object before the record says so, and lets go
	// only after the record says so: whatever fails in between, the object
	// is held at least as long as the record says (verification repairs
	// a hold left over).
	if step == evidence.EventLegalHoldSet {
		if err := s.Content.SetHold(ctx, it, true); err != nil {
			return err
		}
	}
	ev, err := s.Items.Record(ctx, principal(c), it.ID, evidence.Step{Type: step,
		CounterpartyUserID: in.CounterpartyUserID, CounterpartyAgencyID: in.CounterpartyAgencyID,
		CounterpartyExternal: in.CounterpartyExternal, IdentityCheck: in.IdentityCheck, Purpose: in.Purpose,
		Location: in.Location, Details: in.Details, Notes: in.Notes, Supersedes: in.Supersedes, OccurredAt: in.OccurredAt})
	if err != nil {
		return err
	}
	if step == evidence.EventDisposed {
		// The content goes now if the store's retention allows, else the
		// scheduled verification deletes it when it does.
		if _, err := s.Content.DeleteDisposed(ctx, it); err != nil {
			s.Log.Error("disposed item's content not deleted; the scheduled sweep will retry", "item", it.ID, "err", err,
				"request_id", requestID(c))
		}
	}
	if step == evidence.EventReturned {
		s.checkReturn(c, it, ev)
	}
	if step == evidence.EventLegalHoldReleased {
		if err := s.Content.SetHold(ctx, it, false); err != nil {
			s.Log.Error("legal hold released on the record but not in the store; verification will retry",
				"item", it.ID, "err", err, "request_id", requestID(c))
		}
	}
	out := toCustodyEventJSON(ev)
	if err := s.nameAll(ctx, &out); err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(out)
}

// checkReturn follows an item's return from an outside party: a seal that
// came back broken raises an integrity alert (the record says so
// already), and stored content is re-hashed, the result on the record.
// Neither fails the return, which is recorded.
func (s *server) checkReturn(c *fiber.Ctx, it evidence.Item, ev evidence.Event) {
	ctx, p := c.UserContext(), principal(c)
	if intact := ev.Details.SealIntact; intact != nil && !*intact {
		s.Content.Flag(ctx, it, p, "seal "+ev.Details.SealNumber+" came back broken from "+ev.CounterpartyExternal)
	}
	if it.ContentStatus == "received" {
		if _, err := s.Content.Verify(ctx, p, it); err != nil {
			s.Log.Error("content not re-hashed on return; scheduled verification will", "item", it.ID, "err", err,
				"request_id", requestID(c))
		}
	}
}
