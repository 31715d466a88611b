package evidence

import (
	"context"
	"testing"

	"github.com/bevis-ir/bevis/access"
	bevisdb "github.com/bevis-ir/bevis/internal/db"
	"github.com/bevis-ir/bevis/internal/testenv"
)

// keptState is the custody state kept on an item's row (migration 00080).
type keptState struct {
	AwaitingHandover, VerificationFailed bool
}

// ledgerState is what the item's ledger says of the same two facts.
func ledgerState(events []Event) keptState {
	s := Derive(events)
	return keptState{AwaitingHandover: s.PendingTo != "", VerificationFailed: s.Integrity != "" && s.Integrity != "ok"}
}

// checkKeptState fails the test for every item of the case whose kept
// state is not what its ledger says, and returns the kept states by item.
func (e *uploadEnv) checkKeptState(t *testing.T, when string) map[string]keptState {
	t.Helper()
	var rows []struct {
		ID                                   string
		AwaitingHandover, VerificationFailed bool
	}
	if err := e.db.DB.Raw(`SELECT id, awaiting_handover, verification_failed FROM evidence_items WHERE case_id = ?`,
		e.caseID).Scan(&rows).Error; err != nil {
		t.Fatal(err)
	}
	kept := map[string]keptState{}
	for _, r := range rows {
		evs, err := e.items.Events(context.Background(), r.ID)
		if err != nil {
			t.Fatal(err)
		}
		got := keptState{AwaitingHandover: r.AwaitingHandover, VerificationFailed: r.VerificationFailed}
		if want := ledgerState(evs); got != want {
			t.Errorf("%s: item %s keeps %+v, its ledger says %+v", when, r.ID, got, want)
		}
		kept[r.ID] = got
	}
	return kept
}

// custodyStateWorld records, on one case, every step that changes the kept
// state (offers accepted, declined by the recipient, withdrawn by the
// custodian, corrected; verifications that pass, fail, and pass again once
// the content is back) and steps that do not, checking the kept state
// against the ledger after each. It leaves items in each state.
func custodyStateWorld(t *testing.T, e *uploadEnv) (pending, accepted, failed, repaired string) {
	t.Helper()
	ctx := context.Background()
	step := func(p access.Principal, itemID string, st Step) {
		t.Helper()
		e.step(t, p, itemID, st)
		e.checkKeptState(t, string(st.Type)+" of "+itemID)
	}
	physical := e.register(t, NewItem{Location: "Room 1"})
	step(e.a1, physical.ID, Step{Type: EventTransferOffered, CounterpartyAgencyID: e.b1.AgencyID, Purpose: "imaging"})
	step(e.b1, physical.ID, Step{Type: EventTransferAccepted, Location: "Lab B"})
	step(e.b1, physical.ID, Step{Type: EventTransferOffered, CounterpartyAgencyID: e.a1.AgencyID, Purpose: "return"})
	step(e.a1, physical.ID, Step{Type: EventTransferDeclined, Notes: "not yet"})
	e.step(t, e.b1, physical.ID, Step{Type: EventTransferOffered, CounterpartyAgencyID: e.a1.AgencyID, Purpose: "return"})
	e.checkKeptState(t, "the third offer")
	// The custodian withdraws its offer by declining it.
	step(e.b1, physical.ID, Step{Type: EventTransferDeclined, Notes: "withdrawn"})

	other := e.register(t, NewItem{Location: "Room 2"})
	offer := e.step(t, e.a1, other.ID, Step{Type: EventTransferOffered, CounterpartyAgencyID: e.b1.AgencyID, Purpose: "imaging"})
	// A correction supersedes the offer's record; the offer still stands.
	step(e.a1, other.ID, Step{Type: EventCorrection, Supersedes: offer.ID, Notes: "the purpose was triage"})
	step(e.a1, other.ID, Step{Type: EventLocationChanged, Location: "Room 3"})

	bad := e.received(t, 10_000)
	good := e.received(t, 10_000)
	verify := func(it Item, want string) {
		t.Helper()
		v, err := e.content.Verify(ctx, e.a1, it)
		if err != nil || v.Result != want {
			t.Fatalf("verify: %+v %v, want %s", v, err, want)
		}
		e.checkKeptState(t, "verification of "+it.ID+" ("+want+")")
	}
	root := e.store.(*FSStore).root
	flip := func(it Item) {
		t.Helper()
		if err := flipFSByte(root, it.ObjectKey, 5_000); err != nil {
			t.Fatal(err)
		}
	}
	verify(bad, "ok")
	flip(bad)
	verify(bad, "mismatch")
	step(e.a1, bad.ID, Step{Type: EventLocationChanged, Location: "Vault"})
	verify(good, "ok")
	flip(good)
	verify(good, "mismatch")
	flip(good) // the byte flipped back: the content is as received again
	verify(good, "ok")
	return other.ID, physical.ID, bad.ID, good.ID
}

func TestCustodyState_KeptEqualsTheLedger(t *testing.T) {
	for _, d := range testenv.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			e := newUploadEnv(t, newTestFSStore(t), d)
			pending, accepted, failed, repaired := custodyStateWorld(t, e)
			kept := e.checkKeptState(t, "at the end")
			want := map[string]keptState{pending: {AwaitingHandover: true}, accepted: {}, failed: {VerificationFailed: true}, repaired: {}}
			for id, w := range want {
				if kept[id] != w {
					t.Errorf("item %s keeps %+v, want %+v", id, kept[id], w)
				}
			}
		})
	}
}

// The migration fills the kept state from the ledgers that exist: taken
// down and up again over items in every state (with the kept values made
// wrong before, so nothing survives from them), it keeps what the ledgers say.
func TestCustodyState_MigrationFillsItFromTheLedgers(t *testing.T) {
	for _, d := range testenv.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			e := newUploadEnv(t, newTestFSStore(t), d)
			pending, _, failed, _ := custodyStateWorld(t, e)
			if err := d.DB.Exec(`UPDATE evidence_items SET awaiting_handover = NOT awaiting_handover,
				verification_failed = NOT verification_failed`).Error; err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			log := testenv.Logger(t)
			if _, err := bevisdb.MigrateDownTo(ctx, d.DB, log, 79); err != nil {
				t.Fatal(err)
			}
			if _, err := bevisdb.Migrate(ctx, d.DB, log); err != nil {
				t.Fatal(err)
			}
			kept := e.checkKeptState(t, "after the migration")
			if !kept[pending].AwaitingHandover || !kept[failed].VerificationFailed || len(kept) != 4 {
				t.Errorf("after the migration: %+v", kept)
			}
		})
	}
}
