package api

import (
	"github.com/gofiber/fiber/v2"

	"github.com/bevis-ir/bevis/access"
)

type agencyMemberJSON struct {
	AgencyID string `json:"agency_id"`
	Name     string `json:"name"`
	Code     string `json:"code"`
	Role     string `json:"role"`
	AddedBy  string `json:"added_by"`
	AddedAt  string `json:"added_at"`
}

type userMemberJSON struct {
	UserID   string `json:"user_id"`
	Name     string `json:"name"`
	AgencyID string `json:"agency_id"`
	Role     string `json:"role"`
	AddedBy  string `json:"added_by"`
	AddedAt  string `json:"added_at"`
}

func toAgencyMemberJSON(m access.AgencyMember) agencyMemberJSON {
	return agencyMemberJSON{m.AgencyID, m.Name, m.Code, string(m.Role), m.AddedBy, timestamp(m.AddedAt)}
}

func toUserMemberJSON(m access.UserMember) userMemberJSON {
	return userMemberJSON{m.UserID, m.Name, m.AgencyID, string(m.Role), m.AddedBy, timestamp(m.AddedAt)}
}

type exclusionJSON struct {
	UserID     string `json:"user_id"`
	Reason     string `json:"reason"`
	ExcludedBy string `json:"excluded_by"`
	ExcludedAt string `json:"excluded_at"`
}

type membersJSON struct {
	Agencies   []agencyMemberJSON `json:"agencies"`
	Users      []userMemberJSON   `json:"users"`
	Exclusions []exclusionJSON    `json:"exclusions,omitempty"`
	// The agencies are named in their entries; the people named are also
	// those who added members and who are excluded.
	namesJSON
}

func (m *membersJSON) references() (people, agencies []string) {
	for _, a := range m.Agencies {
		people, agencies = append(people, a.AddedBy), append(agencies, a.AgencyID)
	}
	for _, u := range m.Users {
		people = append(people, u.UserID, u.AddedBy)
	}
	for _, e := range m.Exclusions {
		people = append(people, e.UserID, e.ExcludedBy)
	}
	return people, agencies
}

func (s *server) caseAction(c *fiber.Ctx, action access.Action) (string, error) {
	id := c.Params("id")
	auditCase(c, id)
	return id, s.authorize(c, action, access.Resource{CaseID: id})
}

// caseWork authorizes new work on the case of the route (case.write) and
// refuses it while the case is closed (409 case_closed).
func (s *server) caseWork(c *fiber.Ctx) (string, error) {
	id, err := s.caseAction(c, access.ActionCaseWrite)
	if err != nil {
		return "", err
	}
	return id, s.Cases.EnsureOpen(c.UserContext(), id)
}

func (s *server) listMembers(c *fiber.Ctx) error {
	caseID, err := s.caseAction(c, access.ActionCaseMembersRead)
	if err != nil {
		return err
	}
	m, err := s.Membership.List(c.UserContext(), caseID)
	if err != nil {
		return err
	}
	out := membersJSON{Agencies: []agencyMemberJSON{}, Users: []userMemberJSON{}}
	for _, a := range m.Agencies {
		out.Agencies = append(out.Agencies, toAgencyMemberJSON(a))
	}
	for _, u := range m.Users {
		out.Users = append(out.Users, toUserMemberJSON(u))
	}
	// Who is excluded, and why, is for those who manage membership: an
	// insider must not learn from the list that they are suspected.
	if s.authorize(c, access.ActionCaseMembersManage, access.Resource{CaseID: caseID}) == nil {
		out.Exclusions = []exclusionJSON{}
		for _, e := range m.Exclusions {
			out.Exclusions = append(out.Exclusions, exclusionJSON{e.UserID, e.Reason, e.ExcludedBy, timestamp(e.ExcludedAt)})
		}
	}
	if err := s.nameAll(c.UserContext(), &out); err != nil {
		return err
	}
	return c.JSON(out)
}

type roleRequest struct {
	Role string `json:"role"`
}

func (s *server) putAgencyMember(c *fiber.Ctx) error {
	caseID, err := s.caseAction(c, access.ActionCaseMembersManage)
	if err != nil {
		return err
	}
	var in roleRequest
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	m, err := s.Membership.SetAgency(c.UserContext(), principal(c), caseID, c.Params("agencyId"), access.CaseRole(in.Role))
	if err != nil {
		return err
	}
	return c.JSON(toAgencyMemberJSON(m))
}

func (s *server) deleteAgencyMember(c *fiber.Ctx) error {
	caseID, err := s.caseAction(c, access.ActionCaseMembersManage)
	if err != nil {
		return err
	}
	if err := s.Membership.RemoveAgency(c.UserContext(), caseID, c.Params("agencyId")); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

func (s *server) putUserMember(c *fiber.Ctx) error {
	caseID, err := s.caseAction(c, access.ActionCaseMembersManage)
	if err != nil {
		return err
	}
	var in roleRequest
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	m, err := s.Membership.SetUser(c.UserContext(), principal(c), caseID, c.Params("userId"), access.CaseRole(in.Role))
	if err != nil {
		return err
	}
	return c.JSON(toUserMemberJSON(m))
}

func (s *server) deleteUserMember(c *fiber.Ctx) error {
	caseID, err := s.caseAction(c, access.ActionCaseMembersManage)
	if err != nil {
		return err
	}
	if err := s.Membership.RemoveUser(c.UserContext(), caseID, c.Params("userId")); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

type exclusionRequest struct {
	Reason string `json:"reason"`
}

func (s *server) putExclusion(c *fiber.Ctx) error {
	caseID, err := s.caseAction(c, access.ActionCaseMembersManage)
	if err != nil {
		return err
	}
	var in exclusionRequest
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	e, err := s.Membership.Exclude(c.UserContext(), principal(c), caseID, c.Params("userId"), in.Reason)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(exclusionJSON{e.UserID, e.Reason, e.ExcludedBy, timestamp(e.ExcludedAt)})
}

func (s *server) deleteExclusion(c *fiber.Ctx) error {
	caseID, err := s.caseAction(c, access.ActionCaseMembersManage)
	if err != nil {
		return err
	}
	if err := s.Membership.Readmit(c.UserContext(), caseID, c.Params("userId")); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}
