package api

import (
	"github.com/gofiber/fiber/v2"

	"github.com/bevis-ir/bevis/access"
	"github.com/bevis-ir/bevis/evidence"
)

type uploadJSON struct {
	ID        string `json:"id"`
	ItemID    string `json:"item_id"`
	CreatedBy string `json:"created_by"`
	Filename  string `json:"filename,omitempty"`
	Length    int64  `json:"length"`
	Received  int64  `json:"received"`
	QuotaHeld int64  `json:"quota_held"`
	CreatedAt string `json:"created_at"`
	ActiveAt  string `json:"active_at"`
	ExpiresAt string `json:"expires_at"`
	Stale     bool   `json:"stale"`
}

func toUploadJSON(up evidence.Upload) uploadJSON {
	return uploadJSON{ID: up.ID, ItemID: up.ItemID, CreatedBy: up.CreatedBy, Filename: up.Filename, Length: up.Length,
		Received: up.Received, QuotaHeld: up.Held, CreatedAt: timestamp(up.CreatedAt), ActiveAt: timestamp(up.ActiveAt),
		ExpiresAt: timestamp(up.ExpiresAt), Stale: up.Stale}
}

// listUploads lists the unfinished uploads of a case's items the caller
// can see: a lead sees everyone's, to discard the stale ones that hold the
// case's quota; another writer their own.
func (s *server) listUploads(c *fiber.Ctx) error {
	caseID, err := s.caseAction(c, access.ActionCaseWrite)
	if err != nil {
		return err
	}
	ctx, p := c.UserContext(), principal(c)
	createdBy := p.UserID
	if s.authorize(c, access.ActionEvidenceGovern, access.Resource{CaseID: caseID}) == nil {
		createdBy = ""
	}
	markings, err := s.Authz.ItemMarkings(ctx, p, caseID)
	if err != nil {
		return err
	}
	list, err := s.Uploads.CaseUploads(ctx, caseID, markings, createdBy)
	if err != nil {
		return err
	}
	out := make([]uploadJSON, len(list))
	for i, up := range list {
		out[i] = toUploadJSON(up)
	}
	return c.JSON(fiber.Map{"items": out})
}
