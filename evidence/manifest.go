package evidence

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/bevis-ir/bevis/access"
)

// ManifestFormat names the version of the manifest format.
const ManifestFormat = "bevis-evidence-manifest-v1"

// Manifest is a case's evidence as a prosecutor or a partner agency keeps
// it: every item with its hashes and its whole chain of custody, in a form
// that `bevis evidence verify-manifest` checks offline, recomputing every
// event's hash.
type Manifest struct {
	Format      string         `json:"format"`
	CaseID      string         `json:"case_id"`
	CaseRef     string         `json:"case_reference"`
	GeneratedAt time.Time      `json:"generated_at"`
	GeneratedBy string         `json:"generated_by"`
	Items       []ManifestItem `json:"items"`
}

// ManifestItem is one exhibit in a manifest.
type ManifestItem struct {
	ID            string          `json:"id"`
	ExhibitNumber string          `json:"exhibit_number"`
	Title         string          `json:"title"`
	Kind          string          `json:"kind"`
	TLP           string          `json:"tlp"`
	ParentID      string          `json:"parent_id,omitempty"` // when the parent is in the manifest too
	ParentExhibit string          `json:"parent_exhibit_number,omitempty"`
	Declared      ManifestHashes  `json:"declared_hashes"`
	Received      bool            `json:"received"`
	Size          int64           `json:"size,omitempty"`
	Hashes        ManifestHashes  `json:"hashes"`
	Custody       []ManifestEvent `json:"custody"`
}

// ManifestHashes are hex digests; empty when unknown.
type ManifestHashes struct {
	SHA256 string `json:"sha256,omitempty"`
	SHA1   string `json:"sha1,omitempty"`
	MD5    string `json:"md5,omitempty"`
}

// ManifestEvent carries every field an event's hash covers, details as
// the exact text that was hashed.
type ManifestEvent struct {
	ID                   string    `json:"id"`
	Seq                  int       `json:"seq"`
	Type                 string    `json:"type"`
	ActorUserID          string    `json:"actor_user_id"`
	ActorAgencyID        string    `json:"actor_agency_id"`
	CounterpartyUserID   string    `json:"counterparty_user_id"`
	CounterpartyAgencyID string    `json:"counterparty_agency_id"`
	CounterpartyExternal string    `json:"counterparty_external"`
	IdentityCheck        string    `json:"identity_check"`
	Purpose              string    `json:"purpose"`
	Location             string    `json:"location"`
	Details              string    `json:"details"`
	Notes                string    `json:"notes"`
	Supersedes           string    `json:"supersedes"`
	OccurredAt           time.Time `json:"occurred_at"`
	RecordedAt           time.Time `json:"recorded_at"`
	PrevHash             string    `json:"prev_hash"`
	Hash                 string    `json:"hash"`
}

func manifestEvent(e Event) ManifestEvent {
	return ManifestEvent{ID: e.ID, Seq: e.Seq, Type: string(e.Type), ActorUserID: e.ActorUserID,
		ActorAgencyID: e.ActorAgencyID, CounterpartyUserID: e.CounterpartyUserID,
		CounterpartyAgencyID: e.CounterpartyAgencyID, CounterpartyExternal: e.CounterpartyExternal,
		IdentityCheck: e.IdentityCheck, Purpose: e.Purpose, Location: e.Location, Details: e.detailsJSON,
		Notes: e.Notes, Supersedes: e.Supersedes, OccurredAt: e.OccurredAt, RecordedAt: e.RecordedAt,
		PrevHash: e.PrevHash, Hash: e.Hash}
}

func (m ManifestEvent) event(itemID string) Event {
	e := Event{ID: m.ID, ItemID: itemID, Seq: m.Seq, Type: EventType(m.Type), ActorUserID: m.ActorUserID,
		ActorAgencyID: m.ActorAgencyID, CounterpartyUserID: m.CounterpartyUserID,
		CounterpartyAgencyID: m.CounterpartyAgencyID, CounterpartyExternal: m.CounterpartyExternal,
		IdentityCheck: m.IdentityCheck, Purpose: m.Purpose, Location: m.Location, Notes: m.Notes,
		Supersedes: m.Supersedes, OccurredAt: m.OccurredAt, RecordedAt: m.RecordedAt, PrevHash: m.PrevHash,
		Hash: m.Hash, detailsJSON: m.Details}
	_ = json.Unmarshal([]byte(m.Details), &e.Details)
	return e
}

// Manifest builds the manifest of the items of a case whose markings are
// in allowed (the caller's clearance), in exhibit order, in two queries.
func (s *Items) Manifest(ctx context.Context, caseID, caseRef, by string, allowed []access.TLP) (Manifest, error) {
	db := s.db.WithContext(ctx)
	var rows []itemRow
	if err := db.Where("case_id = ? AND tlp IN ?", caseID, allowed).Order("exhibit_seq").Find(&rows).Error; err != nil {
		return Manifest{}, fmt.Errorf("evidence: manifest: %w", err)
	}
	ids := make([]string, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	var evs []eventRow
	if len(ids) > 0 {
		if err := db.Where("item_id IN ?", ids).Order("item_id, seq").Find(&evs).Error; err != nil {
			return Manifest{}, fmt.Errorf("evidence: manifest: %w", err)
		}
	}
	byItem := map[string][]ManifestEvent{}
	for _, r := range evs {
		byItem[r.ItemID] = append(byItem[r.ItemID], manifestEvent(r.event()))
	}
	m := Manifest{Format: ManifestFormat, CaseID: caseID, CaseRef: caseRef, GeneratedAt: s.now(), GeneratedBy: by,
		Items: make([]ManifestItem, len(rows))}
	inManifest := make(map[string]bool, len(rows))
	for _, r := range rows {
		inManifest[r.ID] = true
	}
	for i, r := range rows {
		it := r.item()
		f, err := s.facts(db, r)
		if err != nil {
			return Manifest{}, err
		}
		m.Items[i] = ManifestItem{ID: it.ID, ExhibitNumber: it.ExhibitNumber, Title: it.Title, Kind: string(it.Kind),
			TLP: string(it.TLP), ParentExhibit: f.ParentExhibit, Declared: ManifestHashes(it.Declared),
			Received: it.ContentStatus == "received", Hashes: ManifestHashes(it.Computed), Custody: byItem[it.ID]}
		if inManifest[it.ParentID] {
			// A parent the reader may not see is not named by its ID.
			m.Items[i].ParentID = it.ParentID
		}
		if m.Items[i].Received {
			m.Items[i].Size = it.Size
		}
	}
	return m, nil
}

// ManifestReport is what verifying a manifest found.
type ManifestReport struct {
	Items    int
	Events   int
	Problems []error // each names an exhibit and what is wrong with it
}

// VerifyManifest checks a manifest offline: every item's custody chain is
// recomputed, and the hashes it states must agree with its chain (the
// hash recorded when the content was received) and with what was
// declared at registration.
func VerifyManifest(r io.Reader) (ManifestReport, error) {
	var m Manifest
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return ManifestReport{}, fmt.Errorf("evidence: not a manifest: %w", err)
	}
	if m.Format != ManifestFormat {
		return ManifestReport{}, fmt.Errorf("evidence: manifest format %q, want %q", m.Format, ManifestFormat)
	}
	var rep ManifestReport
	for _, it := range m.Items {
		rep.Items++
		rep.Events += len(it.Custody)
		problem := func(format string, args ...any) {
			rep.Problems = append(rep.Problems, fmt.Errorf("%s: "+format, append([]any{it.ExhibitNumber}, args...)...))
		}
		evs := make([]Event, len(it.Custody))
		for i, e := range it.Custody {
			evs[i] = e.event(it.ID)
		}
		if err := VerifyChain(it.ID, evs); err != nil {
			var broken *ChainError
			if errors.As(err, &broken) {
				problem("custody chain broken at event %d: %s", broken.Seq, broken.Reason)
			} else {
				problem("%v", err)
			}
			continue
		}
		f := Facts{ItemID: it.ID, CaseID: m.CaseID, ExhibitNumber: it.ExhibitNumber, Title: it.Title, Kind: it.Kind,
			Declared: Hashes(it.Declared), ParentExhibit: it.ParentExhibit, Received: it.Received,
			Computed: Hashes(it.Hashes), Size: it.Size}
		if err := CheckIdentity(f, evs); err != nil {
			var wrong *IdentityError
			if errors.As(err, &wrong) {
				problem("its %s is %q, but its custody chain records %q", wrong.Field, wrong.Stated, wrong.Recorded)
			} else {
				problem("%v", err)
			}
			continue
		}
		if it.Received && it.Declared.SHA256 != "" && it.Declared.SHA256 != it.Hashes.SHA256 {
			problem("SHA-256 %s differs from the declared %s", it.Hashes.SHA256, it.Declared.SHA256)
		}
	}
	return rep, nil
}
