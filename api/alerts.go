package api

import (
	"errors"
	"slices"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/bevis-ir/bevis/access"
	"github.com/bevis-ir/bevis/alerts"
	"github.com/bevis-ir/bevis/internal/validate"
)

type alertJSON struct {
	ID             string     `json:"id"`
	Rule           string     `json:"rule"`
	Status         string     `json:"status"`
	UserID         string     `json:"user_id"`
	AgencyID       string     `json:"agency_id,omitempty"`
	TokenID        string     `json:"token_id,omitempty"`
	CaseIDs        []string   `json:"case_ids"`
	WindowStart    time.Time  `json:"window_start"`
	WindowEnd      time.Time  `json:"window_end"`
	Bytes          int64      `json:"bytes"`
	Items          int64      `json:"items"`
	Cases          int64      `json:"cases"`
	Reads          int64      `json:"reads"`
	Threshold      int64      `json:"threshold"`
	Note           string     `json:"note,omitempty"`
	CreatedAt      time.Time  `json:"created_at"`
	AcknowledgedBy string     `json:"acknowledged_by,omitempty"`
	AcknowledgedAt *time.Time `json:"acknowledged_at,omitempty"`
	ApprovedBy     string     `json:"approved_by,omitempty"`
	ApprovedAt     *time.Time `json:"approved_at,omitempty"`
	ApprovedUntil  *time.Time `json:"approved_until,omitempty"`
	ApprovalReason string     `json:"approval_reason,omitempty"`
	namesJSON
}

// references names whom the alert is about and who acted on it: a lead
// reads a person of another agency by name, not by ID.
func (a *alertJSON) references() ([]string, []string) {
	return []string{a.UserID, a.AcknowledgedBy, a.ApprovedBy}, []string{a.AgencyID}
}

func toAlertJSON(a alerts.Alert) alertJSON {
	if a.CaseIDs == nil {
		a.CaseIDs = []string{} // an alert of no case (an audit checkpoint's) lists none, never null
	}
	return alertJSON{ID: a.ID, Rule: string(a.Rule), Status: string(a.Status), UserID: a.UserID, AgencyID: a.AgencyID,
		TokenID: a.TokenID, CaseIDs: a.CaseIDs, WindowStart: a.WindowStart, WindowEnd: a.WindowEnd, Bytes: a.Bytes,
		Items: a.Items, Cases: a.Cases, Reads: a.Reads, Threshold: a.Threshold, Note: a.Note, CreatedAt: a.CreatedAt,
		AcknowledgedBy: a.AcknowledgedBy, AcknowledgedAt: a.AcknowledgedAt, ApprovedBy: a.ApprovedBy,
		ApprovedAt: a.ApprovedAt, ApprovedUntil: a.ApprovedUntil, ApprovalReason: a.ApprovalReason}
}

// listAlerts lists the exfiltration alerts the caller may see: all for an
// admin, those touching the cases they lead for a lead.
func (s *server) listAlerts(c *fiber.Ctx) error {
	if err := s.authorize(c, access.ActionAlertRead, access.Resource{}); err != nil {
		return err
	}
	f := alerts.ListFilter{Status: alerts.Status(c.Query("status"))}
	switch f.Status {
	case "", alerts.StatusOpen, alerts.StatusAcknowledged, alerts.StatusApproved:
	default:
		return validate.Field("status", "must be open, acknowledged or approved")
	}
	var v validate.Errors
	if f.Limit = limitParam(c, &v, 500); v.Err() != nil {
		return v.Err()
	}
	p := principal(c)
	ctx := c.UserContext()
	var seen map[string]bool // the cases a lead may see; nil for an admin, who sees every alert whole
	if p.SystemRole == access.RoleAdmin {
		f.AllCases = true
	} else {
		members, err := s.Authz.Memberships(ctx, p)
		if err != nil {
			return err
		}
		seen = map[string]bool{}
		for _, m := range members {
			seen[m.CaseID] = true
			if m.Role == access.CaseLead {
				f.CaseIDs = append(f.CaseIDs, m.CaseID)
			}
		}
	}
	list, err := s.Alerts.List(ctx, f)
	if err != nil {
		return err
	}
	out := make([]alertJSON, len(list))
	named := make([]referrer, len(list))
	for i, a := range list {
		if seen != nil {
			// An alert about several cases names to a lead only those they
			// may see.
			a.CaseIDs = slices.DeleteFunc(a.CaseIDs, func(id string) bool { return !seen[id] })
		}
		out[i] = toAlertJSON(a)
		named[i] = &out[i]
	}
	if err := s.nameAll(ctx, named...); err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(fiber.Map{"items": out})
}

// alert loads the alert of the route for a caller allowed action on it:
// on one of its cases to read it, on every one of them to acknowledge or
// approve it (whoever acts on an alert must see all it is about). An alert
// the caller may not see is not found.
func (s *server) alert(c *fiber.Ctx, action access.Action) (alerts.Alert, error) {
	a, err := s.Alerts.Get(c.UserContext(), c.Params("id"))
	if err != nil {
		return alerts.Alert{}, err
	}
	if len(a.CaseIDs) == 0 { // an integrity alert of no case, like an audit checkpoint's: the admins'
		if principal(c).SystemRole != access.RoleAdmin {
			return alerts.Alert{}, alerts.ErrNotFound
		}
		return a, s.authorize(c, action, access.Resource{})
	}
	var firstErr error
	allowed := 0
	for _, caseID := range a.CaseIDs {
		err := s.authorize(c, action, access.Resource{CaseID: caseID, UserID: a.UserID})
		if err == nil {
			allowed++
		} else if firstErr == nil || errors.Is(firstErr, access.ErrNotFound) {
			firstErr = err
		}
	}
	switch {
	case allowed == 0 && firstErr != nil:
		return alerts.Alert{}, firstErr
	case allowed == 0:
		return alerts.Alert{}, alerts.ErrNotFound
	case action != access.ActionAlertRead && allowed < len(a.CaseIDs):
		return alerts.Alert{}, access.ErrForbidden // a lead of some of its cases only
	}
	return a, nil
}

func (s *server) acknowledgeAlert(c *fiber.Ctx) error {
	a, err := s.alert(c, access.ActionAlertAcknowledge)
	if err != nil {
		return err
	}
	a, err = s.Alerts.Acknowledge(c.UserContext(), a.ID, principal(c).UserID)
	if err != nil {
		return err
	}
	return s.sendAlert(c, a)
}

// approveRequest is the body of an approval: why the activity was
// expected. The approver, the time and the period are the server's.
type approveRequest struct {
	Reason string `json:"reason"`
}

// approveAlert lifts the download hard limit for the alert's user on its
// cases for BEVIS_ALERT_APPROVAL_TTL, with the approver's reason.
func (s *server) approveAlert(c *fiber.Ctx) error {
	a, err := s.alert(c, access.ActionAlertApprove)
	if err != nil {
		return err
	}
	if a.Rule == alerts.RuleIntegrity {
		return &access.ConflictError{Reason: "an integrity alert reports what was found in storage; acknowledge it, there is no activity to approve"}
	}
	var req approveRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	a, err = s.Alerts.Approve(c.UserContext(), a.ID, principal(c).UserID, req.Reason, s.Alerts.ApprovalTTL())
	if err != nil {
		return err
	}
	return s.sendAlert(c, a)
}

// sendAlert answers one alert, with the names of the people it refers to.
func (s *server) sendAlert(c *fiber.Ctx, a alerts.Alert) error {
	out := toAlertJSON(a)
	if err := s.nameAll(c.UserContext(), &out); err != nil {
		return err
	}
	return c.JSON(out)
}
