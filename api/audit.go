package api

import (
	"errors"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/bevis-ir/bevis/access"
	"github.com/bevis-ir/bevis/audit"
)

// Locals a handler sets for the audit entry of its request.
const (
	localAuditCase  = "bevis.audit.case"
	localAuditRange = "bevis.audit.range"
)

// auditedReads are the path prefixes whose reads are case data, or the
// record itself: each successful read is on the audit log before its
// response leaves.
var auditedReads = []string{"/api/v1/cases", "/api/v1/evidence", "/api/v1/tasks", "/api/v1/uploads",
	"/api/v1/audit", "/api/v1/alerts"}

// auditTrail puts the caller on the request's context for the domain's
// own audit entries, and records what the domain does not:
//   - a successful read of case data, before its response is sent (an
//     evidence download before its first byte), through group commit;
//   - a refusal (403, or the 404 of something outside the caller's scope);
//   - a change that failed, and a change the domain did not record in its
//     own transaction.
//
// If the entry cannot be recorded, the caller gets a 503 instead of the
// answer: nothing is read off the record.
func (s *server) auditTrail(r route) fiber.Handler {
	action := auditAction(r.method, r.path)
	read := r.method == fiber.MethodGet || r.method == fiber.MethodHead
	caseData := false
	for _, prefix := range auditedReads {
		caseData = caseData || strings.HasPrefix(r.path, prefix)
	}
	return func(c *fiber.Ctx) error {
		p := principal(c)
		ctx := audit.WithRequestID(audit.WithActor(c.UserContext(), audit.Actor{UserID: p.UserID, AgencyID: p.AgencyID,
			TokenID: p.TokenID, ClientIP: clientIP(c), UserAgent: c.Get(fiber.HeaderUserAgent)}), requestID(c))
		ctx, trail := audit.WithTrail(ctx)
		c.SetUserContext(ctx)
		err := c.Next()

		status := c.Response().StatusCode()
		if err != nil {
			pr, _ := problemFor(err)
			status = pr.Status
		}
		var outcome audit.Outcome
		switch {
		case status == fiber.StatusForbidden || status == fiber.StatusNotFound:
			outcome = audit.Denied
		case status >= 400:
			if read && !caseData {
				return err
			}
			outcome = audit.Failed
		case read && caseData, !read && !trail.Appended():
			outcome = audit.Success
		default:
			return err // a change the domain recorded with itself, or a read of no case data
		}
		e := audit.Entry{Action: action, Outcome: outcome, ResourceType: resourceType(r.path),
			ResourceID: lastParam(c), Detail: map[string]string{"status": strconv.Itoa(status)}}
		e.CaseID, _ = c.Locals(localAuditCase).(string)
		if e.CaseID == "" && strings.HasPrefix(r.path, "/api/v1/cases/:id") {
			e.CaseID = c.Params("id")
		}
		if rg, ok := c.Locals(localAuditRange).(*audit.ByteRange); ok && outcome == audit.Success {
			e.Range = rg
		}
		if rerr := s.Audit.Record(ctx, e); rerr != nil {
			s.Log.Error("audit entry not recorded; answer withheld", "err", rerr, "request_id", requestID(c), "action", action)
			if status == fiber.StatusServiceUnavailable {
				return err // the request's own fault (the database's, most often) says more
			}
			return auditUnavailable(rerr)
		}
		return err
	}
}

// auditUnavailable is the answer to a request whose audit entry could not
// be recorded: it is withheld, since nothing may be read or done off the
// record.
func auditUnavailable(err error) error {
	return errors.Join(newProblem(fiber.StatusServiceUnavailable, "audit_unavailable",
		"The audit log cannot record this request now, so it is not answered. Try again later."), err)
}

// auditCase names the case a request touched, for its audit entry.
func auditCase(c *fiber.Ctx, caseID string) { c.Locals(localAuditCase, caseID) }

// auditAction names a route for the record: its static path segments and
// method, like "cases.tasks.acknowledge.post" or "cases.get"; a download
// of evidence content is "evidence.download".
func auditAction(method, path string) string {
	if method == fiber.MethodGet && path == "/api/v1/evidence/:id/content" {
		return "evidence.download" // the action the exfiltration rules watch
	}
	var parts []string
	for _, seg := range strings.Split(strings.TrimPrefix(path, "/api/v1/"), "/") {
		if seg != "" && !strings.HasPrefix(seg, ":") {
			parts = append(parts, strings.ReplaceAll(seg, "-", "_"))
		}
	}
	action := strings.Join(append(parts, strings.ToLower(method)), ".")
	if len(action) > audit.MaxActionLen {
		action = action[len(action)-audit.MaxActionLen:]
	}
	return action
}

// resourceType is the kind of object a route is about: the static segment
// before its last parameter, like "tasks" for /cases/:id/tasks/:taskId.
func resourceType(path string) string {
	segs := strings.Split(path, "/")
	for i := len(segs) - 1; i > 0; i-- {
		if strings.HasPrefix(segs[i], ":") && !strings.HasPrefix(segs[i-1], ":") {
			return segs[i-1]
		}
	}
	return segs[len(segs)-1]
}

// lastParam is the most specific object the request named.
func lastParam(c *fiber.Ctx) string {
	names := c.Route().Params
	if len(names) == 0 {
		return ""
	}
	return c.Params(names[len(names)-1])
}

// recordSignIn puts a refused password sign-in on the record, with the
// account it named when that account exists (never what was typed as the
// password), and answers with err.
func (s *server) recordSignIn(c *fiber.Ctx, email string, err error) error {
	var limited *access.RateLimitedError
	refused := errors.Is(err, access.ErrUnauthenticated) || errors.Is(err, access.ErrMFARequired) || errors.As(err, &limited)
	if !refused {
		return err // not a refusal: invalid input or a failure, answered as such
	}
	var u access.User
	if found, uerr := s.Directory.UserByEmail(c.UserContext(), email); uerr == nil {
		u = found
	}
	if rerr := s.recordAuth(c, audit.Failed, "password", u, ""); rerr != nil {
		return rerr
	}
	return err
}

// recordAuth puts a sign-in on the record, before the answer to it leaves:
// who (u, when known), how (password or sso), and for a refused single
// sign-on its code. If the entry cannot be recorded the error to answer
// with is a 503.
func (s *server) recordAuth(c *fiber.Ctx, outcome audit.Outcome, method string, u access.User, code string) error {
	e := audit.Entry{Action: "auth.login", Outcome: outcome, RequestID: requestID(c),
		Actor:        audit.Actor{UserID: u.ID, AgencyID: u.AgencyID, ClientIP: clientIP(c), UserAgent: c.Get(fiber.HeaderUserAgent)},
		ResourceType: "users", ResourceID: u.ID, Detail: map[string]string{"method": method}}
	if code != "" {
		e.Detail["code"] = code
	}
	if rerr := s.Audit.Record(c.UserContext(), e); rerr != nil {
		s.Log.Error("sign-in not recorded; answer withheld", "err", rerr, "request_id", requestID(c), "outcome", string(outcome))
		return auditUnavailable(rerr)
	}
	return nil
}
