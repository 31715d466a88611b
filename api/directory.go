package api

import (
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/bevis-ir/bevis/access"
)

type agencyJSON struct {
	ID         string `json:"id"`
	Code       string `json:"code"`
	Name       string `json:"name"`
	Kind       string `json:"kind"`
	RequireMFA bool   `json:"require_mfa"`
	CreatedAt  string `json:"created_at"`
	UpdatedAt  string `json:"updated_at"`
}

func toAgencyJSON(a access.Agency) agencyJSON {
	return agencyJSON{ID: a.ID, Code: a.Code, Name: a.Name, Kind: string(a.Kind), RequireMFA: a.RequireMFA,
		CreatedAt: timestamp(a.CreatedAt), UpdatedAt: timestamp(a.UpdatedAt)}
}

type userJSON struct {
	ID                 string  `json:"id"`
	AgencyID           string  `json:"agency_id"`
	Email              string  `json:"email"`
	Name               string  `json:"name"`
	Title              string  `json:"title"`
	Status             string  `json:"status"`
	SystemRole         string  `json:"system_role"`
	MustChangePassword bool    `json:"must_change_password"`
	TimeZone           string  `json:"time_zone"`
	CreatedAt          string  `json:"created_at"`
	UpdatedAt          string  `json:"updated_at"`
	DisabledAt         *string `json:"disabled_at,omitempty"`
	DisabledBy         string  `json:"disabled_by,omitempty"`
}

func toUserJSON(u access.User) userJSON {
	return userJSON{ID: u.ID, AgencyID: u.AgencyID, Email: u.Email, Name: u.Name, Title: u.Title,
		Status: string(u.Status), SystemRole: string(u.SystemRole), MustChangePassword: u.MustChangePassword,
		TimeZone: u.TimeZone, CreatedAt: timestamp(u.CreatedAt), UpdatedAt: timestamp(u.UpdatedAt),
		DisabledAt: optionalTimestamp(u.DisabledAt), DisabledBy: u.DisabledBy}
}

func timestamp(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

type listJSON[T any] struct {
	Items []T `json:"items"`
}

func (s *server) listAgencies(c *fiber.Ctx) error {
	if err := s.authorize(c, access.ActionAgencyRead, access.Resource{}); err != nil {
		return err
	}
	agencies, err := s.Directory.Agencies(c.UserContext())
	if err != nil {
		return err
	}
	out := listJSON[agencyJSON]{Items: make([]agencyJSON, len(agencies))}
	for i, a := range agencies {
		out.Items[i] = toAgencyJSON(a)
	}
	return c.JSON(out)
}

func (s *server) getAgency(c *fiber.Ctx) error {
	if err := s.authorize(c, access.ActionAgencyRead, access.Resource{AgencyID: c.Params("id")}); err != nil {
		return err
	}
	a, err := s.Directory.Agency(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(toAgencyJSON(a))
}

type createAgencyRequest struct {
	Code       string `json:"code"`
	Name       string `json:"name"`
	Kind       string `json:"kind"`
	RequireMFA bool   `json:"require_mfa"`
}

func (s *server) createAgency(c *fiber.Ctx) error {
	if err := s.authorize(c, access.ActionAgencyWrite, access.Resource{}); err != nil {
		return err
	}
	var in createAgencyRequest
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	a, err := s.Directory.CreateAgency(c.UserContext(), access.NewAgency{
		Code: in.Code, Name: in.Name, Kind: access.AgencyKind(in.Kind), RequireMFA: in.RequireMFA})
	if err != nil {
		return err
	}
	c.Location("/api/v1/agencies/" + a.ID)
	return c.Status(fiber.StatusCreated).JSON(toAgencyJSON(a))
}

type patchAgencyRequest struct {
	Name       *string `json:"name"`
	Kind       *string `json:"kind"`
	RequireMFA *bool   `json:"require_mfa"`
}

func (s *server) patchAgency(c *fiber.Ctx) error {
	id := c.Params("id")
	if err := s.authorize(c, access.ActionAgencyWrite, access.Resource{AgencyID: id}); err != nil {
		return err
	}
	var in patchAgencyRequest
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	patch := access.AgencyPatch{Name: in.Name, RequireMFA: in.RequireMFA}
	if in.Kind != nil {
		kind := access.AgencyKind(*in.Kind)
		patch.Kind = &kind
	}
	a, err := s.Directory.UpdateAgency(c.UserContext(), id, patch)
	if err != nil {
		return err
	}
	return c.JSON(toAgencyJSON(a))
}

// listUsers lists the users the caller may read: every user for an admin,
// otherwise those of the caller's agency (or the ?agency_id asked for, when
// allowed).
func (s *server) listUsers(c *fiber.Ctx) error {
	p := principal(c)
	agencyID := c.Query("agency_id")
	if agencyID == "" && p.SystemRole != access.RoleAdmin {
		agencyID = p.AgencyID
	}
	if err := s.authorize(c, access.ActionUserRead, access.Resource{AgencyID: agencyID}); err != nil {
		return err
	}
	users, err := s.Directory.Users(c.UserContext(), agencyID)
	if err != nil {
		return err
	}
	out := listJSON[userJSON]{Items: make([]userJSON, len(users))}
	for i, u := range users {
		out.Items[i] = toUserJSON(u)
	}
	return c.JSON(out)
}

// loadUser reads a user, then checks the caller may do action to it: the
// resource's agency and role are the user's own, known only after reading.
func (s *server) loadUser(c *fiber.Ctx, action access.Action) (access.User, error) {
	u, err := s.Directory.User(c.UserContext(), c.Params("id"))
	if err != nil {
		return access.User{}, err
	}
	if err := s.authorize(c, action, access.Resource{AgencyID: u.AgencyID, Role: u.SystemRole}); err != nil {
		return access.User{}, err
	}
	return u, nil
}

func (s *server) getUser(c *fiber.Ctx) error {
	u, err := s.loadUser(c, access.ActionUserRead)
	if err != nil {
		return err
	}
	return c.JSON(toUserJSON(u))
}

type createUserRequest struct {
	AgencyID   string `json:"agency_id"`
	Email      string `json:"email"`
	Name       string `json:"name"`
	Title      string `json:"title"`
	SystemRole string `json:"system_role"`
	Password   string `json:"password"`
}

func (s *server) createUser(c *fiber.Ctx) error {
	var in createUserRequest
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	role := access.SystemRole(in.SystemRole)
	if role == "" {
		role = access.RoleMember
	}
	res := access.Resource{AgencyID: in.AgencyID, Role: role}
	if err := s.authorize(c, access.ActionUserWrite, res); err != nil {
		return err
	}
	if err := s.authorize(c, access.ActionUserGrantRole, res); err != nil {
		return err
	}
	u, err := s.Directory.CreateUser(c.UserContext(), access.NewUser{
		AgencyID: in.AgencyID, Email: in.Email, Name: in.Name, Title: in.Title, SystemRole: role,
		Password: in.Password, MustChangePassword: in.Password != ""})
	if err != nil {
		return err
	}
	c.Location("/api/v1/users/" + u.ID)
	return c.Status(fiber.StatusCreated).JSON(toUserJSON(u))
}

type patchUserRequest struct {
	Name       *string `json:"name"`
	Title      *string `json:"title"`
	Status     *string `json:"status"`
	SystemRole *string `json:"system_role"`
}

func (s *server) patchUser(c *fiber.Ctx) error {
	u, err := s.loadUser(c, access.ActionUserWrite)
	if err != nil {
		return err
	}
	var in patchUserRequest
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	patch := access.UserPatch{Name: in.Name, Title: in.Title}
	if in.Status != nil {
		status := access.UserStatus(*in.Status)
		patch.Status = &status
		if status == access.UserActive && u.Status == access.UserDisabled {
			res := access.Resource{AgencyID: u.AgencyID, Role: u.SystemRole, DisabledBy: u.DisabledByRole}
			if err := s.authorize(c, access.ActionUserWrite, res); err != nil {
				return err
			}
		}
	}
	if in.SystemRole != nil {
		role := access.SystemRole(*in.SystemRole)
		// Both the role taken away and the role given must be the caller's to grant.
		for _, r := range []access.SystemRole{u.SystemRole, role} {
			if err := s.authorize(c, access.ActionUserGrantRole, access.Resource{AgencyID: u.AgencyID, Role: r}); err != nil {
				return err
			}
		}
		patch.SystemRole = &role
	}
	if u.ID == principal(c).UserID && (patch.SystemRole != nil || patch.Status != nil) {
		return access.ErrForbidden // nobody promotes, demotes or disables themselves
	}
	updated, err := s.Directory.UpdateUser(c.UserContext(), principal(c), u.ID, patch)
	if err != nil {
		return err
	}
	return c.JSON(toUserJSON(updated))
}
