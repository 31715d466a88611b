package evidence

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"gorm.io/gorm"
)

// Facts are what the database, or a manifest, states identifies an item:
// the facts its custody chain must agree with.
type Facts struct {
	ItemID        string
	CaseID        string
	ExhibitNumber string
	Title         string
	Kind          string
	Declared      Hashes
	ParentExhibit string // the parent's exhibit number; empty for an item with no parent
	Received      bool
	Computed      Hashes
	Size          int64
}

// IdentityError is a fact about an item that is not what its custody
// chain records: the row was changed behind Bevis's back.
type IdentityError struct {
	ItemID   string
	Exhibit  string // as the chain records it
	Field    string
	Stated   string // what the database (or manifest) says
	Recorded string // what the chain says
}

func (e *IdentityError) Error() string {
	return fmt.Sprintf("evidence: item %s (%s): its %s is %q, but its custody chain records %q", e.ItemID, e.Exhibit,
		e.Field, e.Stated, e.Recorded)
}

// CheckIdentity holds facts to what evs (a chain that verifies) record:
// the registration's identity, as the title's corrections amend it, and
// the hashes and size the receipt recorded. Items registered before their
// identity went under the chain are held to their receipt only.
func CheckIdentity(f Facts, evs []Event) error {
	exhibit := f.ExhibitNumber
	var id *Identity
	if len(evs) > 0 {
		id = evs[0].Details.Identity
	}
	if id != nil {
		exhibit = id.ExhibitNumber
	}
	fail := func(field, stated, recorded string) error {
		return &IdentityError{ItemID: f.ItemID, Exhibit: exhibit, Field: field, Stated: stated, Recorded: recorded}
	}
	if id != nil {
		title := id.Title
		for _, e := range evs {
			if e.Type == EventCorrection && e.Details.Field == "title" {
				title = e.Details.New
			}
		}
		for _, c := range []struct{ field, stated, recorded string }{
			{"case", f.CaseID, id.CaseID}, {"exhibit number", f.ExhibitNumber, id.ExhibitNumber},
			{"title", f.Title, title}, {"kind", f.Kind, id.Kind},
			{"declared SHA-256", f.Declared.SHA256, id.DeclaredSHA256}, {"declared SHA-1", f.Declared.SHA1, id.DeclaredSHA1},
			{"declared MD5", f.Declared.MD5, id.DeclaredMD5}, {"parent", f.ParentExhibit, id.ParentExhibit},
		} {
			if c.stated != c.recorded {
				return fail(c.field, c.stated, c.recorded)
			}
		}
	}
	var received *Event
	for i := range evs {
		if evs[i].Type == EventReceived {
			received = &evs[i]
		}
	}
	switch {
	case received == nil && f.Received:
		return fail("content", "received", "no content received")
	case received == nil:
		return nil
	case !f.Received:
		return fail("content", "none", "received")
	}
	d := received.Details
	checks := []struct{ field, stated, recorded string }{{"SHA-256", f.Computed.SHA256, d.SHA256}}
	if d.Size != nil { // recorded since the receipt names every digest
		checks = append(checks, struct{ field, stated, recorded string }{"SHA-1", f.Computed.SHA1, d.SHA1},
			struct{ field, stated, recorded string }{"MD5", f.Computed.MD5, d.MD5},
			struct{ field, stated, recorded string }{"size", strconv.FormatInt(f.Size, 10), strconv.FormatInt(*d.Size, 10)})
	}
	for _, c := range checks {
		if c.stated != c.recorded {
			return fail(c.field, c.stated, c.recorded)
		}
	}
	return nil
}

// facts are what the database states identifies row.
func (s *Items) facts(db *gorm.DB, row itemRow) (Facts, error) {
	it := row.item()
	f := Facts{ItemID: it.ID, CaseID: it.CaseID, ExhibitNumber: it.ExhibitNumber, Title: it.Title, Kind: string(it.Kind),
		Declared: it.Declared, Received: it.ContentStatus == "received", Computed: it.Computed, Size: it.Size}
	if row.ParentID != nil {
		var parent itemRow
		err := db.Select("exhibit_number").Where("id = ?", *row.ParentID).Take(&parent).Error
		if err != nil && !errors.Is(err, gorm.ErrRecordNotFound) {
			return Facts{}, fmt.Errorf("evidence: parent of %s: %w", it.ID, err)
		}
		f.ParentExhibit = parent.ExhibitNumber
	}
	return f, nil
}

// VerifyItem checks an item's record in the database: its custody chain
// recomputes, and its row states what the chain records of it. The error
// is a *ChainError or an *IdentityError when the record was changed.
func (s *Items) VerifyItem(ctx context.Context, itemID string) error {
	db := s.db.WithContext(ctx)
	var row itemRow
	if err := db.Where("id = ?", itemID).Take(&row).Error; err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return ErrItemNotFound
		}
		return fmt.Errorf("evidence: verify: %w", err)
	}
	evs, err := events(db, itemID)
	if err != nil {
		return err
	}
	if err := VerifyChain(itemID, evs); err != nil {
		return err
	}
	f, err := s.facts(db, row)
	if err != nil {
		return err
	}
	return CheckIdentity(f, evs)
}
