package api

import (
	"bufio"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/gofiber/fiber/v2"
	"gorm.io/gorm"

	"github.com/bevis-ir/bevis/access"
	"github.com/bevis-ir/bevis/audit"
	"github.com/bevis-ir/bevis/evidence"
	"github.com/bevis-ir/bevis/internal/validate"
)

type auditEntryJSON struct {
	Seq          int64             `json:"seq"`
	ID           string            `json:"id"`
	At           string            `json:"at"`
	UserID       string            `json:"user_id,omitempty"`
	AgencyID     string            `json:"agency_id,omitempty"`
	TokenID      string            `json:"token_id,omitempty"`
	ClientIP     string            `json:"client_ip,omitempty"`
	UserAgent    string            `json:"user_agent,omitempty"`
	Action       string            `json:"action"`
	ResourceType string            `json:"resource_type,omitempty"`
	ResourceID   string            `json:"resource_id,omitempty"`
	CaseID       string            `json:"case_id,omitempty"`
	Outcome      string            `json:"outcome"`
	RequestID    string            `json:"request_id,omitempty"`
	Range        *audit.ByteRange  `json:"range,omitempty"`
	Detail       map[string]string `json:"detail,omitempty"`
	namesJSON
}

// references names the actor, so an auditor or lead reads a person of
// another agency by name, not by ID.
func (e *auditEntryJSON) references() ([]string, []string) { return []string{e.UserID}, nil }

func toAuditEntryJSON(r audit.Recorded) auditEntryJSON {
	return auditEntryJSON{Seq: r.Seq, ID: r.ID, At: timestamp(r.At), UserID: r.Actor.UserID, AgencyID: r.Actor.AgencyID,
		TokenID: r.Actor.TokenID, ClientIP: r.Actor.ClientIP, UserAgent: r.Actor.UserAgent, Action: r.Action,
		ResourceType: r.ResourceType, ResourceID: r.ResourceID, CaseID: r.CaseID, Outcome: string(r.Outcome),
		RequestID: r.RequestID, Range: r.Range, Detail: r.Detail}
}

// domainActions are the actions the domains record under names of their
// own rather than a route's (see auditAction for those).
var domainActions = []string{
	"auth.login", "auth.sso.provision", "agencies.sso.test", "setup.complete", "users.password", "users.time_zone",
	"evidence.download", "evidence.verify", "evidence.integrity",
	"evidence.content.received", "evidence.content.rejected", "evidence.content.deleted",
	"cases.sitreps.issue", "templates.save", "templates.delete",
}

// knownAuditActions are the action names the audit log can hold: every
// route's and the domains' own.
func knownAuditActions(routes []route) map[string]bool {
	known := map[string]bool{}
	for _, r := range routes {
		if !r.public {
			known[auditAction(r.method, r.path)] = true
		}
	}
	for _, a := range domainActions {
		known[a] = true
	}
	return known
}

// auditFilter reads the query of an audit listing. action may repeat: an
// entry of any of them matches.
func (s *server) auditFilter(c *fiber.Ctx) (audit.Filter, error) {
	f := audit.Filter{CaseID: c.Query("case_id"), UserID: c.Query("user_id"), AgencyID: c.Query("agency_id"),
		ResourceID: c.Query("resource_id"), Cursor: c.Query("cursor")}
	var v validate.Errors
	actions := c.Context().QueryArgs().PeekMulti("action")
	if len(actions) > audit.MaxFilterActions {
		v.Add("action", fmt.Sprintf("at most %d actions", audit.MaxFilterActions))
	} else {
		for _, a := range actions {
			name := string(a)
			if !s.auditActions[name] {
				v.Add("action", "must be an action the audit log records (GET /api/v1/audit/actions lists them)")
				break
			}
			if !slices.Contains(f.Actions, name) {
				f.Actions = append(f.Actions, name)
			}
		}
	}
	for name, dst := range map[string]*time.Time{"from": &f.From, "to": &f.To} {
		if s := c.Query(name); s != "" {
			t, err := time.Parse(time.RFC3339, s)
			v.Check(err == nil, name, "must be an RFC 3339 time")
			*dst = t
		}
	}
	f.Limit = limitParam(c, &v, audit.MaxListLimit)
	return f, v.Err()
}

func (s *server) sendAuditPage(c *fiber.Ctx, f audit.Filter) error {
	page, err := audit.List(c.UserContext(), s.DB, f)
	if errors.Is(err, audit.ErrInvalidFilter) {
		return validate.Field("query", err.Error())
	}
	if err != nil {
		return err
	}
	out := pageJSON[auditEntryJSON]{Items: make([]auditEntryJSON, len(page.Entries)), NextCursor: page.Next}
	named := make([]referrer, len(page.Entries))
	for i, r := range page.Entries {
		out.Items[i] = toAuditEntryJSON(r)
		named[i] = &out.Items[i]
	}
	if err := s.nameAll(c.UserContext(), named...); err != nil {
		return err
	}
	return c.JSON(out)
}

// listAudit answers the audit log: all of it to auditors, one case's
// (case_id) to that case's leads, without the entries about what the lead
// may not see.
func (s *server) listAudit(c *fiber.Ctx) error {
	f, err := s.auditFilter(c)
	if err != nil {
		return err
	}
	if err := s.authorize(c, access.ActionAuditRead, access.Resource{CaseID: f.CaseID}); err != nil {
		return err
	}
	if f.Hidden, err = s.hiddenFromLead(c, f.CaseID); err != nil {
		return err
	}
	return s.sendAuditPage(c, f)
}

// itemAccess answers who read or changed an evidence item, and when: to an
// auditor, or to a lead of its case who may see it.
func (s *server) itemAccess(c *fiber.Ctx) error {
	var it evidence.Item
	var err error
	if s.authorize(c, access.ActionAuditRead, access.Resource{}) == nil {
		if it, err = s.Items.Item(c.UserContext(), c.Params("id")); err == nil {
			auditCase(c, it.CaseID)
		}
	} else {
		it, err = s.item(c, access.ActionAuditRead)
	}
	if err != nil {
		return err
	}
	f, err := s.auditFilter(c)
	if err != nil {
		return err
	}
	f.ResourceID, f.CaseID = it.ID, it.CaseID
	return s.sendAuditPage(c, f)
}

// hiddenFromLead is what the audit log of a case leaves out for the
// caller, when they read it as a lead of the case rather than as an
// auditor: the entries about items and timeline events marked beyond what
// they may see (a lead through their agency's default role sees no
// AMBER+STRICT or RED ones).
func (s *server) hiddenFromLead(c *fiber.Ctx, caseID string) ([]*gorm.DB, error) {
	if s.authorize(c, access.ActionAuditRead, access.Resource{}) == nil {
		return nil, nil // an auditor reads the whole log
	}
	markings, err := s.Authz.ItemMarkings(c.UserContext(), principal(c), caseID)
	if err != nil {
		return nil, err
	}
	return []*gorm.DB{s.Items.IDsMarkedOutside(caseID, markings), s.Timeline.IDsMarkedOutside(caseID, markings)}, nil
}

// listAuditActions answers the action names the audit log's action filter
// takes, sorted.
func (s *server) listAuditActions(c *fiber.Ctx) error {
	if err := s.authorize(c, access.ActionAuditRead, access.Resource{}); err != nil {
		return err
	}
	names := slices.Sorted(maps.Keys(s.auditActions))
	return c.JSON(fiber.Map{"items": names})
}

// exportAudit streams the whole sealed log and its checkpoints as JSON
// Lines, for `bevis audit verify --export`.
func (s *server) exportAudit(c *fiber.Ctx) error {
	if err := s.authorize(c, access.ActionAuditRead, access.Resource{}); err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, "application/jsonl")
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="bevis-audit.jsonl"`)
	ctx := c.UserContext()
	c.Context().SetBodyStreamWriter(func(w *bufio.Writer) {
		if err := audit.Export(ctx, s.DB, w); err != nil {
			s.Log.Error("audit export cut short", "err", err)
		}
		_ = w.Flush()
	})
	return nil
}

// auditCheckpoints answers the signed checkpoints alone, for a partner
// agency to keep its own copy.
func (s *server) auditCheckpoints(c *fiber.Ctx) error {
	if err := s.authorize(c, access.ActionAuditRead, access.Resource{}); err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, "text/plain; charset=utf-8")
	ctx := c.UserContext()
	c.Context().SetBodyStreamWriter(func(w *bufio.Writer) {
		if err := audit.ExportCheckpoints(ctx, s.DB, w); err != nil {
			s.Log.Error("audit checkpoints export cut short", "err", err)
		}
		_ = w.Flush()
	})
	return nil
}
