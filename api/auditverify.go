package api

import (
	"errors"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/bevis-ir/bevis/access"
	"github.com/bevis-ir/bevis/audit"
)

type auditInconsistencyJSON struct {
	Seq    int64  `json:"seq"`
	Kind   string `json:"kind"`
	Detail string `json:"detail"`
}

type auditVerificationJSON struct {
	Consistent        bool                    `json:"consistent"`
	CheckedAt         string                  `json:"checked_at"`
	Entries           int64                   `json:"entries"`
	Head              string                  `json:"head"`
	Checkpoints       int                     `json:"checkpoints"`
	LastCheckpointSeq *int64                  `json:"last_checkpoint_seq,omitempty"`
	LastCheckpointAt  string                  `json:"last_checkpoint_at,omitempty"`
	Unsealed          int64                   `json:"unsealed"`
	Inconsistency     *auditInconsistencyJSON `json:"inconsistency,omitempty"`
}

// verifyAudit checks the whole log in the database now, as `bevis audit
// verify` does, against the keys of this server's checkpoints, and answers
// what it found: an inconsistency is a finding (200), not a failure of the
// request. It is for auditors; offline verification of an export stays
// the stronger check, since it does not trust this server.
func (s *server) verifyAudit(c *fiber.Ctx) error {
	if err := s.authorize(c, access.ActionAuditRead, access.Resource{}); err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	rep, err := audit.VerifyDB(c.UserContext(), s.DB, s.AuditKeys, nil)
	out := auditVerificationJSON{Consistent: err == nil, CheckedAt: timestamp(time.Now()), Entries: rep.Entries,
		Head: rep.Head, Checkpoints: rep.Checkpoints, Unsealed: rep.Unsealed}
	if cp := rep.LastCheckpoint; cp != nil {
		out.LastCheckpointSeq, out.LastCheckpointAt = &cp.Seq, timestamp(cp.Time)
	}
	var bad *audit.Inconsistency
	switch {
	case errors.As(err, &bad):
		out.Inconsistency = &auditInconsistencyJSON{Seq: bad.Seq, Kind: bad.Kind, Detail: bad.Detail}
		s.Log.Warn("audit log found inconsistent", "request_id", requestID(c), "seq", bad.Seq, "kind", bad.Kind)
	case err != nil:
		return err
	}
	return c.JSON(out)
}
