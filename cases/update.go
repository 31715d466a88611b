package cases

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"gorm.io/gorm"

	"github.com/bevis-ir/bevis/access"
	"github.com/bevis-ir/bevis/audit"
)

// Optional is a field of an update: Set says whether the caller gave it.
type Optional[T any] struct {
	Set   bool
	Value T
}

// Update changes some fields of a case. Who may change which fields is
// access's to say (TLP and classification need case.govern).
type Update struct {
	Title                 Optional[string]
	Summary               Optional[string]
	Severity              Optional[Severity]
	TLP                   Optional[access.TLP]
	ClassificationLabel   Optional[string]
	Tags                  Optional[[]string]
	AffectedOrganisations Optional[[]string]
	AffectedSystems       Optional[[]string]
	PersonalDataBreach    Optional[bool]
	DiscoveredAt          Optional[*time.Time]
	AwareAt               Optional[*time.Time]
	PartyAwareness        Optional[[]PartyAwareness]
	Jurisdictions         Optional[[]string]
	ObserversMayDownload  Optional[bool]
}

// Governs reports whether u changes who may see the case or do what on it
// (its TLP, classification, or whether observers may download evidence),
// which only the lead decides.
func (u Update) Governs() bool {
	return u.TLP.Set || u.ClassificationLabel.Set || u.ObserversMayDownload.Set
}

// editsContent reports whether u changes the case's content, not only who
// may do what on it: a closed case takes no edits of its content. Every
// field but ObserversMayDownload is content.
func (u Update) editsContent() bool {
	return u.Title.Set || u.Summary.Set || u.Severity.Set || u.TLP.Set || u.ClassificationLabel.Set || u.Tags.Set ||
		u.AffectedOrganisations.Set || u.AffectedSystems.Set || u.PersonalDataBreach.Set || u.DiscoveredAt.Set ||
		u.AwareAt.Set || u.PartyAwareness.Set || u.Jurisdictions.Set
}

func apply[T any](dst *T, o Optional[T]) {
	if o.Set {
		*dst = o.Value
	}
}

func (u Update) applyTo(k *Case) {
	apply(&k.Title, u.Title)
	apply(&k.Summary, u.Summary)
	apply(&k.Severity, u.Severity)
	apply(&k.TLP, u.TLP)
	apply(&k.ClassificationLabel, u.ClassificationLabel)
	apply(&k.Tags, u.Tags)
	apply(&k.AffectedOrganisations, u.AffectedOrganisations)
	apply(&k.AffectedSystems, u.AffectedSystems)
	apply(&k.PersonalDataBreach, u.PersonalDataBreach)
	apply(&k.DiscoveredAt, u.DiscoveredAt)
	apply(&k.AwareAt, u.AwareAt)
	apply(&k.PartyAwareness, u.PartyAwareness)
	apply(&k.Jurisdictions, u.Jurisdictions)
	apply(&k.ObserversMayDownload, u.ObserversMayDownload)
}

// Update applies u to the case if its version is still version, and
// re-derives its clocks from the new facts. A stale version is ErrStale;
// invalid input changes nothing.
func (s *Store) Update(ctx context.Context, by access.Principal, id string, version int64, u Update) (Case, error) {
	now := s.clock()
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		row, err := claimVersion(tx, id, version, now)
		if err != nil {
			return err
		}
		if Status(row.Status) == StatusClosed && u.editsContent() {
			return ErrClosed
		}
		entry := audit.Entry{Action: "cases.patch", Outcome: audit.Success, ResourceType: "cases", ResourceID: id, CaseID: id}
		if u.ObserversMayDownload.Set {
			entry.Detail = map[string]string{"observers_may_download": strconv.FormatBool(u.ObserversMayDownload.Value)}
		}
		if err := audit.Append(ctx, tx, entry); err != nil {
			return err
		}
		k := row.toCase()
		u.applyTo(&k)
		k.normalize()
		if err := k.validate(s.rules, now); err != nil {
			return err
		}
		row.setContent(k)
		if err := tx.Save(&row).Error; err != nil {
			return err
		}
		if u.Tags.Set {
			if err := replaceTags(tx, id, k.Tags); err != nil {
				return err
			}
		}
		return s.syncClocks(tx, row)
	})
	if err != nil {
		return Case{}, wrapWrite("update", err)
	}
	return s.Get(ctx, id)
}

// claimVersion moves the case from version to version+1 inside tx and
// returns the row as it now stands. The version is compared in the
// UPDATE's WHERE clause, so of two writers holding the same version
// (on any nodes) exactly one gets the row; the other gets ErrStale. The
// update also locks the row until tx ends.
func claimVersion(tx *gorm.DB, id string, version int64, now time.Time) (caseRow, error) {
	res := tx.Model(&caseRow{}).Where("id = ? AND version = ?", id, version).
		Updates(map[string]any{"version": gorm.Expr("version + 1"), "updated_at": now})
	if res.Error != nil {
		return caseRow{}, res.Error
	}
	var row caseRow
	err := tx.Where("id = ?", id).Take(&row).Error
	switch {
	case errors.Is(err, gorm.ErrRecordNotFound):
		return caseRow{}, ErrNotFound
	case err != nil:
		return caseRow{}, err
	case res.RowsAffected == 0:
		return caseRow{}, ErrStale
	}
	return row, nil
}

// wrapWrite keeps the domain errors recognisable through the wrapping.
func wrapWrite(op string, err error) error {
	return fmt.Errorf("cases: %s: %w", op, err)
}
