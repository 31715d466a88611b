package evidence

import (
	"context"
	"fmt"

	"github.com/bevis-ir/bevis/access"
)

// lineageLimit bounds how far up and down a lineage is followed, and how
// many descendants are listed: an item's family is small, and a loop in
// the data (which the database refuses, but a restore might bring) must
// not run forever.
const lineageLimit = 1000

// Relative is an item of a lineage: how many generations from the item
// asked about (-1 its parent, 1 its children) and how it was derived.
type Relative struct {
	Item       Item
	Generation int
	Derivation *Derivation // from its parent, as its registration records it
}

// Lineage is an item's ancestors, nearest last (the root first), and its
// descendants, generation by generation, all within its case and marked
// as allowed (the caller's clearance). The line up stops at the first
// ancestor the caller may not see; the descendants of one they may not see
// are left out with it.
func (s *Items) Lineage(ctx context.Context, it Item, allowed []access.TLP) (self Relative, ancestors, descendants []Relative, err error) {
	db := s.db.WithContext(ctx)
	seen := map[string]bool{it.ID: true}
	for parentID, gen := it.ParentID, -1; parentID != "" && -gen <= lineageLimit && !seen[parentID]; gen-- {
		var rows []itemRow
		if err := db.Where("id = ? AND case_id = ? AND tlp IN ?", parentID, it.CaseID, allowed).Limit(1).Find(&rows).Error; err != nil {
			return Relative{}, nil, nil, fmt.Errorf("evidence: lineage: %w", err)
		}
		if len(rows) == 0 {
			break
		}
		seen[parentID] = true
		ancestors = append([]Relative{{Item: rows[0].item(), Generation: gen}}, ancestors...)
		parentID = str(rows[0].ParentID)
	}
	frontier := []string{it.ID}
	for gen := 1; len(frontier) > 0 && len(descendants) < lineageLimit; gen++ {
		var rows []itemRow
		err := db.Where("parent_id IN ? AND case_id = ? AND tlp IN ?", frontier, it.CaseID, allowed).
			Order("exhibit_seq").Limit(lineageLimit - len(descendants)).Find(&rows).Error
		if err != nil {
			return Relative{}, nil, nil, fmt.Errorf("evidence: lineage: %w", err)
		}
		frontier = frontier[:0]
		for _, r := range rows {
			if seen[r.ID] {
				continue
			}
			seen[r.ID] = true
			frontier = append(frontier, r.ID)
			descendants = append(descendants, Relative{Item: r.item(), Generation: gen})
		}
	}
	ids := []string{it.ID}
	for _, r := range append(append([]Relative{}, ancestors...), descendants...) {
		ids = append(ids, r.Item.ID)
	}
	derivations, err := s.derivations(ctx, ids)
	if err != nil {
		return Relative{}, nil, nil, err
	}
	for i := range ancestors {
		ancestors[i].Derivation = derivations[ancestors[i].Item.ID]
	}
	for i := range descendants {
		descendants[i].Derivation = derivations[descendants[i].Item.ID]
	}
	return Relative{Item: it, Derivation: derivations[it.ID]}, ancestors, descendants, nil
}

// derivations reads how each item was derived from its parent, from its
// registration, in one query.
func (s *Items) derivations(ctx context.Context, ids []string) (map[string]*Derivation, error) {
	out := map[string]*Derivation{}
	if len(ids) == 0 {
		return out, nil
	}
	var rows []eventRow
	if err := s.db.WithContext(ctx).Where("item_id IN ? AND seq = 1", ids).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("evidence: lineage: %w", err)
	}
	for _, r := range rows {
		if d := r.event().Details.Derivation; d != nil {
			out[r.ItemID] = d
		}
	}
	return out, nil
}

// ParentsSeen says which of parentIDs are items of caseID marked as
// allowed: the parents a reader of their children may be told of.
func (s *Items) ParentsSeen(ctx context.Context, caseID string, parentIDs []string, allowed []access.TLP) (map[string]bool, error) {
	out := map[string]bool{}
	if len(parentIDs) == 0 {
		return out, nil
	}
	var ids []string
	err := s.db.WithContext(ctx).Model(&itemRow{}).Where("id IN ? AND case_id = ? AND tlp IN ?", parentIDs, caseID, allowed).
		Pluck("id", &ids).Error
	if err != nil {
		return nil, fmt.Errorf("evidence: parents: %w", err)
	}
	for _, id := range ids {
		out[id] = true
	}
	return out, nil
}
