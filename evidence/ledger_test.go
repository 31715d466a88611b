package evidence

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/bevis-ir/bevis/access"
	"github.com/bevis-ir/bevis/internal/period"
	"github.com/bevis-ir/bevis/internal/testenv"
	"github.com/bevis-ir/bevis/internal/validate"
)

// ledgerEnv is a case with people of two agencies, on one database.
type ledgerEnv struct {
	db     testenv.Database
	items  *Items
	caseID string
	a1, a2 access.Principal // agency A, which opened the case
	b1, b2 access.Principal // agency B
	clock  time.Time
}

func newLedgerEnv(t *testing.T, d testenv.Database) *ledgerEnv {
	t.Helper()
	ctx := context.Background()
	dir := access.NewDirectory(d.DB)
	e := &ledgerEnv{db: d, items: NewItems(d.DB, period.Period{Years: 1}), clock: time.Now().UTC().Truncate(time.Microsecond)}
	e.items.SetClock(func() time.Time { return e.clock })
	person := func(agencyID, name string) access.Principal {
		u, err := dir.CreateUser(ctx, access.NewUser{AgencyID: agencyID, Email: name + "@bevis.test", Name: name})
		if err != nil {
			t.Fatal(err)
		}
		return access.Principal{UserID: u.ID, AgencyID: agencyID, SystemRole: access.RoleMember}
	}
	for _, code := range []string{"A", "B"} {
		a, err := dir.CreateAgency(ctx, access.NewAgency{Code: "AG-" + code, Name: "Agency " + code, Kind: "police"})
		if err != nil {
			t.Fatal(err)
		}
		if code == "A" {
			e.a1, e.a2 = person(a.ID, "a1"), person(a.ID, "a2")
		} else {
			e.b1, e.b2 = person(a.ID, "b1"), person(a.ID, "b2")
		}
	}
	e.caseID = insertCase(t, d, e.a1, "BEV-2026-0042")
	return e
}

// insertCase writes the row of a case directly: evidence does not depend
// on the cases package.
func insertCase(t *testing.T, d testenv.Database, lead access.Principal, reference string) string {
	t.Helper()
	id := newItemID()
	now := time.Now().UTC()
	err := d.DB.Exec(`INSERT INTO cases (id, reference, title, tlp, lead_agency_id, created_by, created_at, updated_at,
		status_changed_at) VALUES (?, ?, 'Breach', 'AMBER', ?, ?, ?, ?, ?)`, id, reference, lead.AgencyID, lead.UserID,
		now, now, now).Error
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func (e *ledgerEnv) register(t *testing.T, in NewItem) Item {
	t.Helper()
	if in.Title == "" {
		in.Title = "Seized laptop"
	}
	if in.Kind == "" {
		in.Kind = KindPhysical
	}
	it, err := e.items.Register(context.Background(), e.a1, e.caseID, "BEV-2026-0042", in)
	if err != nil {
		t.Fatal(err)
	}
	return it
}

func (e *ledgerEnv) step(t *testing.T, p access.Principal, itemID string, st Step) Event {
	t.Helper()
	ev, err := e.items.Record(context.Background(), p, itemID, st)
	if err != nil {
		t.Fatalf("%s: %v", st.Type, err)
	}
	return ev
}

func TestCustody_HandoverCheckOutCheckInAndSealMakeAChainThatVerifies(t *testing.T) {
	for _, d := range testenv.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			e := newLedgerEnv(t, d)
			it := e.register(t, NewItem{Location: "Evidence room 1, shelf 3", Source: Source{Device: "ThinkPad T14", Serial: "PF-2XK9"}})
			if it.ExhibitNumber != "BEV-2026-0042-E001" {
				t.Errorf("exhibit number %q", it.ExhibitNumber)
			}
			e.step(t, e.a2, it.ID, Step{Type: EventTransferOffered, CounterpartyAgencyID: e.b1.AgencyID, Purpose: "forensic imaging"})
			e.step(t, e.b1, it.ID, Step{Type: EventTransferAccepted, Location: "Lab B, safe 2"})
			e.step(t, e.b2, it.ID, Step{Type: EventCheckedOut, Purpose: "disk imaging"})
			e.step(t, e.b2, it.ID, Step{Type: EventCheckedIn, Location: "Lab B, safe 2"})
			e.step(t, e.b1, it.ID, Step{Type: EventSealApplied, Details: Details{SealNumber: "S-1001"}})
			e.step(t, e.b1, it.ID, Step{Type: EventSealBroken, Details: Details{SealNumber: "S-1001", Reason: "court-ordered re-examination"}})
			e.step(t, e.b1, it.ID, Step{Type: EventResealed, Details: Details{SealNumber: "S-1002"}})

			evs, err := e.items.Events(t.Context(), it.ID)
			if err != nil {
				t.Fatal(err)
			}
			if len(evs) != 8 {
				t.Fatalf("%d events", len(evs))
			}
			if err := e.items.VerifyItem(t.Context(), it.ID); err != nil {
				t.Fatalf("chain: %v", err)
			}
			s := Derive(evs)
			want := State{CustodianAgencyID: e.b1.AgencyID, CustodianUserID: e.b1.UserID, Location: "Lab B, safe 2",
				Sealed: true, SealNumber: "S-1002"}
			if s != want {
				t.Errorf("state\n got %+v\nwant %+v", s, want)
			}
		})
	}
}

func TestCustody_RefusesIllegalStepsAndRecordsNothing(t *testing.T) {
	for _, d := range testenv.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			e := newLedgerEnv(t, d)
			it := e.register(t, NewItem{Location: "Room 1"})
			tests := []struct {
				name string
				who  access.Principal
				step Step
				want error
			}{
				{"accept without an offer", e.b1, Step{Type: EventTransferAccepted}, access.ErrConflict},
				{"check in what is not out", e.a1, Step{Type: EventCheckedIn}, access.ErrConflict},
				{"offer by a non-custodian", e.b1, Step{Type: EventTransferOffered, CounterpartyAgencyID: e.b1.AgencyID}, access.ErrConflict},
				{"offer to the custodian", e.a1, Step{Type: EventTransferOffered, CounterpartyAgencyID: e.a1.AgencyID}, access.ErrConflict},
				{"check out by a non-custodian", e.b1, Step{Type: EventCheckedOut, Purpose: "look"}, access.ErrConflict},
				{"break a seal never applied", e.a1, Step{Type: EventSealBroken, Details: Details{SealNumber: "S", Reason: "r"}}, access.ErrConflict},
				{"release a hold never set", e.a1, Step{Type: EventLegalHoldReleased, Details: Details{LegalBasis: "x"}}, access.ErrConflict},
				{"propose a disposal within retention", e.a1, Step{Type: EventDisposalProposed, Details: Details{AuthorityReference: "PPS-1"}}, access.ErrConflict},
				{"propose a disposal without a reference", e.a1, Step{Type: EventDisposalProposed}, nil},
				{"dispose of what nobody proposed", e.a1, Step{Type: EventDisposed}, access.ErrConflict},
				{"withdraw what nobody proposed", e.a1, Step{Type: EventDisposalWithdrawn, Details: Details{Reason: "r"}}, access.ErrConflict},
				{"check out without a purpose", e.a1, Step{Type: EventCheckedOut}, nil},
				{"a step only Bevis records", e.a1, Step{Type: EventReceived}, nil},
				{"a verification result from a person", e.a1, Step{Type: EventLocationChanged, Location: "x", Details: Details{Result: "ok"}}, nil},
				{"correct an unknown event", e.a1, Step{Type: EventCorrection, Supersedes: "nope", Notes: "n"}, nil},
				{"a time in the future", e.a1, Step{Type: EventLocationChanged, Location: "x", OccurredAt: ptrTime(time.Now().Add(time.Hour))}, nil},
			}
			for _, tt := range tests {
				_, err := e.items.Record(t.Context(), tt.who, it.ID, tt.step)
				var invalid *validate.Error
				switch {
				case tt.want == nil && !errors.As(err, &invalid):
					t.Errorf("%s: %v, want invalid input", tt.name, err)
				case tt.want != nil && !errors.Is(err, tt.want):
					t.Errorf("%s: %v, want %v", tt.name, err, tt.want)
				}
			}
			// Under hold, disposal is refused even after retention.
			e.step(t, e.a1, it.ID, Step{Type: EventLegalHoldSet, Details: Details{LegalBasis: "Criminal Procedure Act §203"}})
			e.clock = e.clock.Add(400 * 24 * time.Hour)
			propose := Step{Type: EventDisposalProposed, Details: Details{AuthorityReference: "PPS-2026-77"}}
			if _, err := e.items.Record(t.Context(), e.a1, it.ID, propose); !errors.Is(err, access.ErrConflict) {
				t.Errorf("propose a disposal under hold: %v", err)
			}
			e.step(t, e.a1, it.ID, Step{Type: EventLegalHoldReleased, Details: Details{AuthorityReference: "PPS-2026-77"}})
			e.step(t, e.a1, it.ID, propose)
			// Two people: the proposer does not confirm, and a hold set meanwhile stops the disposal.
			if _, err := e.items.Record(t.Context(), e.a1, it.ID, Step{Type: EventDisposed}); !errors.Is(err, ErrSelfConfirmation) {
				t.Errorf("the proposer confirms: %v, want ErrSelfConfirmation", err)
			}
			e.step(t, e.a2, it.ID, Step{Type: EventLegalHoldSet, Details: Details{LegalBasis: "New court order"}})
			if _, err := e.items.Record(t.Context(), e.a2, it.ID, Step{Type: EventDisposed}); !errors.Is(err, access.ErrConflict) {
				t.Errorf("confirm a disposal under hold: %v", err)
			}
			e.step(t, e.a1, it.ID, Step{Type: EventLegalHoldReleased, Details: Details{AuthorityReference: "PPS-2026-78"}})
			disposed := e.step(t, e.a2, it.ID, Step{Type: EventDisposed})
			if disposed.Details.AuthorityReference != "PPS-2026-77" {
				t.Errorf("the confirmation carries reference %q, want the proposal's", disposed.Details.AuthorityReference)
			}
			if _, err := e.items.Record(t.Context(), e.a1, it.ID, Step{Type: EventLocationChanged, Location: "x"}); !errors.Is(err, access.ErrConflict) {
				t.Errorf("a step after disposal: %v", err)
			}
			evs, _ := e.items.Events(t.Context(), it.ID)
			if len(evs) != 7 { // registered, hold set, hold released, proposed, hold set, hold released, disposed
				t.Errorf("%d events after the refusals, want 7", len(evs))
			}
			if err := e.items.VerifyItem(t.Context(), it.ID); err != nil {
				t.Error(err)
			}
		})
	}
}

func ptrTime(t time.Time) *time.Time { return &t }

func TestCustody_TransferGoesOnlyToTheAgencyItWasOfferedTo(t *testing.T) {
	for _, d := range testenv.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			e := newLedgerEnv(t, d)
			it := e.register(t, NewItem{})
			e.step(t, e.a1, it.ID, Step{Type: EventTransferOffered, CounterpartyAgencyID: e.b1.AgencyID, CounterpartyUserID: e.b1.UserID})
			for _, who := range []access.Principal{e.a2, e.b2} {
				if _, err := e.items.Record(t.Context(), who, it.ID, Step{Type: EventTransferAccepted}); !errors.Is(err, access.ErrConflict) {
					t.Errorf("accepted by %s: %v", who.UserID, err)
				}
			}
			if _, err := e.items.Record(t.Context(), e.a1, it.ID, Step{Type: EventCheckedOut, Purpose: "x"}); !errors.Is(err, access.ErrConflict) {
				t.Errorf("checked out during an offer: %v", err)
			}
			e.step(t, e.b1, it.ID, Step{Type: EventTransferDeclined, Notes: "no capacity"})
			evs, _ := e.items.Events(t.Context(), it.ID)
			if s := Derive(evs); s.CustodianAgencyID != e.a1.AgencyID || s.PendingTo != "" {
				t.Errorf("after decline: %+v", s)
			}
		})
	}
}

func TestCustody_CorrectionSupersedesAndKeepsTheOriginal(t *testing.T) {
	for _, d := range testenv.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			e := newLedgerEnv(t, d)
			it := e.register(t, NewItem{})
			wrong := e.step(t, e.a1, it.ID, Step{Type: EventLocationChanged, Location: "Room 9"})
			e.step(t, e.a1, it.ID, Step{Type: EventCorrection, Supersedes: wrong.ID, Location: "Room 6", Notes: "typo: room 6"})
			evs, _ := e.items.Events(t.Context(), it.ID)
			if len(evs) != 3 || evs[1].Location != "Room 9" {
				t.Fatalf("the original is not kept: %+v", evs)
			}
			if s := Derive(evs); s.Location != "Room 6" {
				t.Errorf("derived location %q", s.Location)
			}
		})
	}
}

func TestRegister_NumbersExhibitsPerCaseWithoutGapsUnderConcurrency(t *testing.T) {
	for _, d := range testenv.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			e := newLedgerEnv(t, d)
			const n = 12
			var wg sync.WaitGroup
			numbers := make(chan string, n)
			for range n {
				wg.Go(func() {
					it, err := e.items.Register(context.Background(), e.a1, e.caseID, "BEV-2026-0042", NewItem{Title: "x", Kind: "logs"})
					if err != nil {
						t.Error(err)
						return
					}
					numbers <- it.ExhibitNumber
				})
			}
			wg.Wait()
			close(numbers)
			seen := map[string]bool{}
			for num := range numbers {
				seen[num] = true
			}
			for i := 1; i <= n; i++ {
				if !seen[fmt.Sprintf("BEV-2026-0042-E%03d", i)] {
					t.Errorf("exhibit %d missing: %v", i, seen)
				}
			}
			other := insertCase(t, d, e.a1, "BEV-2026-0043")
			it, err := e.items.Register(t.Context(), e.a1, other, "BEV-2026-0043", NewItem{Title: "x", Kind: "logs"})
			if err != nil || it.ExhibitNumber != "BEV-2026-0043-E001" {
				t.Errorf("another case's first exhibit: %q %v", it.ExhibitNumber, err)
			}
		})
	}
}

func TestRegister_RefusesInvalidInput(t *testing.T) {
	e := newLedgerEnv(t, testenv.SQLite(t))
	parent := e.register(t, NewItem{})
	other := insertCase(t, e.db, e.a1, "BEV-2026-0050")
	foreign, err := e.items.Register(t.Context(), e.a1, other, "BEV-2026-0050", NewItem{Title: "x", Kind: "logs"})
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string]NewItem{
		"no title":            {Kind: "logs"},
		"unknown kind":        {Title: "x", Kind: "hologram"},
		"short sha256":        {Title: "x", Kind: "logs", Declared: Hashes{SHA256: "abc"}},
		"non-hex md5":         {Title: "x", Kind: "logs", Declared: Hashes{MD5: "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz"}},
		"hash of a physical":  {Title: "x", Kind: KindPhysical, Declared: Hashes{SHA1: "da39a3ee5e6b4b0d3255bfef95601890afd80709"}},
		"parent of elsewhere": {Title: "x", Kind: "logs", ParentID: foreign.ID},
		"bad TLP":             {Title: "x", Kind: "logs", TLP: "PURPLE"},
		"title on two lines":  {Title: "x\ny", Kind: "logs"},
	}
	for name, in := range tests {
		var invalid *validate.Error
		if _, err := e.items.Register(t.Context(), e.a1, e.caseID, "BEV-2026-0042", in); !errors.As(err, &invalid) {
			t.Errorf("%s: %v", name, err)
		}
	}
	child, err := e.items.Register(t.Context(), e.a1, e.caseID, "BEV-2026-0042",
		NewItem{Title: "Disk image", Kind: "disk_image", ParentID: parent.ID, Declared: Hashes{SHA256: "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855"}})
	if err != nil || child.ExhibitNumber != "BEV-2026-0042-E001.1" || child.Declared.SHA256[:4] != "e3b0" {
		t.Errorf("child: %+v %v", child, err)
	}
}

func TestCustody_DatabaseRefusesChangesAndVerifyFindsTamperingBehindItsBack(t *testing.T) {
	for _, d := range testenv.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			e := newLedgerEnv(t, d)
			it := e.register(t, NewItem{Location: "Room 1"})
			e.step(t, e.a1, it.ID, Step{Type: EventLocationChanged, Location: "Room 2"})
			e.step(t, e.a1, it.ID, Step{Type: EventCheckedOut, Purpose: "imaging"})
			for _, stmt := range []string{
				"UPDATE custody_events SET location = 'Car park' WHERE seq = 2",
				"DELETE FROM custody_events WHERE seq = 3",
				"DELETE FROM evidence_items",
			} {
				if err := d.DB.Exec(stmt).Error; err == nil {
					t.Errorf("the database let through: %s", stmt)
				}
			}
			if err := e.items.VerifyItem(t.Context(), it.ID); err != nil {
				t.Fatalf("untouched chain: %v", err)
			}

			// As a database superuser could: switch the guard off and edit.
			unguard := []string{"ALTER TABLE custody_events DISABLE TRIGGER ALL"}
			if d.Name == "sqlite" {
				unguard = []string{"DROP TRIGGER custody_events_no_update", "DROP TRIGGER custody_events_no_delete"}
			}
			for _, stmt := range unguard {
				if err := d.DB.Exec(stmt).Error; err != nil {
					t.Fatal(err)
				}
			}
			tamper := []struct {
				name, stmt string
				seq        int
			}{
				{"edited location", "UPDATE custody_events SET location = 'Car park' WHERE item_id = ? AND seq = 2", 2},
				{"edited details", `UPDATE custody_events SET details = '{"reason":"x"}' WHERE item_id = ? AND seq = 2`, 2},
				{"re-dated", "UPDATE custody_events SET occurred_at = occurred_at - INTERVAL '1 day' WHERE item_id = ? AND seq = 3", 3},
				{"deleted", "DELETE FROM custody_events WHERE item_id = ? AND seq = 2", 2},
			}
			if d.Name == "sqlite" {
				tamper[2].stmt = "UPDATE custody_events SET occurred_at = '2020-01-01 00:00:00' WHERE item_id = ? AND seq = 3"
			}
			for _, tt := range tamper {
				t.Run(tt.name, func(t *testing.T) {
					it := e.register(t, NewItem{Location: "Room 1"})
					e.step(t, e.a1, it.ID, Step{Type: EventLocationChanged, Location: "Room 2"})
					e.step(t, e.a1, it.ID, Step{Type: EventCheckedOut, Purpose: "imaging"})
					if err := d.DB.Exec(tt.stmt, it.ID).Error; err != nil {
						t.Fatal(err)
					}
					var broken *ChainError
					if err := e.items.VerifyItem(t.Context(), it.ID); !errors.As(err, &broken) || broken.Seq != tt.seq {
						t.Errorf("verify after tampering: %v, want a break at event %d", err, tt.seq)
					}
				})
			}
		})
	}
}
