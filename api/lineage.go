package api

import (
	"context"

	"github.com/gofiber/fiber/v2"

	"github.com/bevis-ir/bevis/access"
	"github.com/bevis-ir/bevis/evidence"
)

type relativeJSON struct {
	ID            string               `json:"id"`
	ExhibitNumber string               `json:"exhibit_number"`
	Title         string               `json:"title"`
	Kind          string               `json:"kind"`
	TLP           string               `json:"tlp"`
	ParentID      string               `json:"parent_id,omitempty"`
	Generation    int                  `json:"generation"`
	Derivation    *evidence.Derivation `json:"derivation,omitempty"`
}

type lineageJSON struct {
	Item        relativeJSON   `json:"item"`
	Ancestors   []relativeJSON `json:"ancestors"`
	Descendants []relativeJSON `json:"descendants"`
}

func toRelativeJSON(r evidence.Relative) relativeJSON {
	return relativeJSON{ID: r.Item.ID, ExhibitNumber: r.Item.ExhibitNumber, Title: r.Item.Title, Kind: string(r.Item.Kind),
		TLP: string(r.Item.TLP), ParentID: r.Item.ParentID, Generation: r.Generation, Derivation: r.Derivation}
}

// getLineage answers an item's ancestors and descendants within its case,
// as far as the caller may see them.
func (s *server) getLineage(c *fiber.Ctx) error {
	it, err := s.item(c, access.ActionCaseRead)
	if err != nil {
		return err
	}
	ctx := c.UserContext()
	markings, err := s.Authz.ItemMarkings(ctx, principal(c), it.CaseID)
	if err != nil {
		return err
	}
	self, ancestors, descendants, err := s.Items.Lineage(ctx, it, markings)
	if err != nil {
		return err
	}
	out := lineageJSON{Item: toRelativeJSON(self), Ancestors: make([]relativeJSON, len(ancestors)),
		Descendants: make([]relativeJSON, len(descendants))}
	for i, r := range ancestors {
		out.Ancestors[i] = toRelativeJSON(r)
	}
	if len(ancestors) == 0 || ancestors[len(ancestors)-1].Item.ID != it.ParentID {
		out.Item.ParentID = "" // a parent the caller may not see is not named
	}
	if len(ancestors) > 0 && ancestors[0].Item.ParentID != "" {
		out.Ancestors[0].ParentID = "" // the line stops at what the caller may see
	}
	for i, r := range descendants {
		out.Descendants[i] = toRelativeJSON(r)
	}
	return c.JSON(out)
}

// hideUnseenParents leaves out the parent of each item that the caller,
// who may see items marked as markings, may not see: its ID would tell of
// an item they are not to know of.
func (s *server) hideUnseenParents(ctx context.Context, caseID string, markings []access.TLP, items ...*itemJSON) error {
	var ids []string
	for _, it := range items {
		if it.ParentID != "" {
			ids = append(ids, it.ParentID)
		}
	}
	seen, err := s.Items.ParentsSeen(ctx, caseID, ids, markings)
	if err != nil {
		return err
	}
	for _, it := range items {
		if !seen[it.ParentID] {
			it.ParentID = ""
		}
	}
	return nil
}
