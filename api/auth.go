package api

import (
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/bevis-ir/bevis/access"
	"github.com/bevis-ir/bevis/audit"
)

const (
	localPrincipal = "bevis.principal"
	refreshCookie  = "bevis_refresh"
	refreshPath    = "/api/v1/auth"
	// maxAuthorizationHeader refuses oversized credentials before any
	// parsing work is spent on them.
	maxAuthorizationHeader = 8 << 10
)

// requireAuth turns the bearer token into the request's principal, or
// answers 401. The user and session are read from the database, so a
// disabled user or a revoked session is refused on their next request.
func (s *server) requireAuth(c *fiber.Ctx) error {
	p, err := s.authenticate(c)
	if err != nil {
		return err
	}
	c.Locals(localPrincipal, p)
	return c.Next()
}

// authenticate reads the bearer token of the request, refusing an
// oversized header before any parsing, and returns its principal.
func (s *server) authenticate(c *fiber.Ctx) (access.Principal, error) {
	header := c.Get(fiber.HeaderAuthorization)
	if header == "" || len(header) > maxAuthorizationHeader {
		return access.Principal{}, access.ErrUnauthenticated
	}
	scheme, token, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return access.Principal{}, access.ErrUnauthenticated
	}
	p, err := s.Sessions.Authenticate(c.UserContext(), strings.TrimSpace(token), c.IP())
	if err != nil {
		s.Log.Info("authentication refused", "request_id", requestID(c), "reason", err.Error())
		return access.Principal{}, access.ErrUnauthenticated
	}
	return p, nil
}

func principal(c *fiber.Ctx) access.Principal {
	p, _ := c.Locals(localPrincipal).(access.Principal)
	return p
}

// authorize asks the one authorization function on behalf of the caller.
func (s *server) authorize(c *fiber.Ctx, action access.Action, res access.Resource) error {
	return s.Authz.Authorize(c.UserContext(), principal(c), action, res)
}

type loginRequest struct {
	Email       string `json:"email"`
	Password    string `json:"password"`
	TOTP        string `json:"totp,omitempty"`
	NewPassword string `json:"new_password,omitempty"`
}

type tokenResponse struct {
	AccessToken          string   `json:"access_token"`
	TokenType            string   `json:"token_type"`
	ExpiresIn            int      `json:"expires_in"`
	ExpiresAt            string   `json:"expires_at"`
	User                 userJSON `json:"user"`
	MFAEnrolmentRequired bool     `json:"mfa_enrolment_required"`
}

func (s *server) login(c *fiber.Ctx) error {
	var in loginRequest
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	if len(in.Email) > 254 || len(in.Password) > 1024 || len(in.NewPassword) > 1024 || len(in.TOTP) > 64 {
		return access.ErrUnauthenticated
	}
	g, err := s.Sessions.Login(c.UserContext(), access.LoginRequest{
		Email: in.Email, Password: in.Password, NewPassword: in.NewPassword, Code: in.TOTP,
		ClientIP: c.IP(), UserAgent: c.Get(fiber.HeaderUserAgent),
	})
	if err != nil {
		return s.recordSignIn(c, in.Email, err)
	}
	if err := s.recordAuth(c, audit.Success, "password", g.User, ""); err != nil {
		return err
	}
	return s.sendGrant(c, g)
}

func (s *server) refresh(c *fiber.Ctx) error {
	g, err := s.Sessions.Refresh(c.UserContext(), c.Cookies(refreshCookie))
	if err != nil {
		s.clearRefreshCookie(c)
		return err
	}
	return s.sendGrant(c, g)
}

// logout ends the session of the access token or, failing that, of the
// refresh cookie; it succeeds whatever was presented, so it can be retried.
func (s *server) logout(c *fiber.Ctx) error {
	ctx := c.UserContext()
	sessionID := ""
	if p, err := s.authenticate(c); err == nil {
		sessionID = p.SessionID
	}
	if sessionID == "" {
		sessionID, _ = s.Sessions.SessionOfRefreshToken(ctx, c.Cookies(refreshCookie))
	}
	if sessionID != "" {
		if err := s.Sessions.Logout(ctx, sessionID); err != nil {
			return err
		}
	}
	s.clearRefreshCookie(c)
	return c.SendStatus(fiber.StatusNoContent)
}

func (s *server) sendGrant(c *fiber.Ctx, g access.Grant) error {
	s.setRefreshCookie(c, g)
	return c.JSON(tokenResponse{
		AccessToken: g.AccessToken, TokenType: "Bearer",
		ExpiresIn: int(time.Until(g.AccessExpiresAt).Seconds()), ExpiresAt: g.AccessExpiresAt.UTC().Format(time.RFC3339),
		User: toUserJSON(g.User), MFAEnrolmentRequired: g.MFAEnrolmentRequired,
	})
}

// setRefreshCookie hands the browser the refresh token of a grant, for
// every way of signing in.
func (s *server) setRefreshCookie(c *fiber.Ctx, g access.Grant) {
	c.Cookie(&fiber.Cookie{
		Name: refreshCookie, Value: g.RefreshToken, Path: refreshPath, Expires: g.RefreshExpiresAt,
		HTTPOnly: true, SameSite: fiber.CookieSameSiteStrictMode, Secure: s.Config.TLSEnabled(),
	})
}

func (s *server) clearRefreshCookie(c *fiber.Ctx) {
	c.Cookie(&fiber.Cookie{Name: refreshCookie, Value: "", Path: refreshPath, Expires: time.Unix(0, 0),
		MaxAge: -1, HTTPOnly: true, SameSite: fiber.CookieSameSiteStrictMode, Secure: s.Config.TLSEnabled()})
}

func (s *server) jwks(c *fiber.Ctx) error {
	doc, err := s.SigningKeys.JWKS()
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, "application/jwk-set+json")
	c.Set(fiber.HeaderCacheControl, "public, max-age=300")
	return c.Send(doc)
}

type membershipJSON struct {
	CaseID string `json:"case_id"`
	Role   string `json:"role"`
}

type meJSON struct {
	User        userJSON         `json:"user"`
	Agency      agencyJSON       `json:"agency"`
	Memberships []membershipJSON `json:"memberships"`
}

func (s *server) me(c *fiber.Ctx) error {
	if err := s.authorize(c, access.ActionSelfRead, access.Resource{}); err != nil {
		return err
	}
	u, err := s.Directory.User(c.UserContext(), principal(c).UserID)
	if err != nil {
		return err
	}
	return s.sendMe(c, u)
}

type patchMeRequest struct {
	TimeZone *string `json:"time_zone"`
}

// patchMe changes the caller's own settings: for now the time zone they
// read times in.
func (s *server) patchMe(c *fiber.Ctx) error {
	if err := s.authorize(c, access.ActionSelfWrite, access.Resource{}); err != nil {
		return err
	}
	var in patchMeRequest
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	ctx, p := c.UserContext(), principal(c)
	u, err := s.Directory.User(ctx, p.UserID)
	if err != nil {
		return err
	}
	if in.TimeZone != nil {
		if u, err = s.Directory.SetTimeZone(ctx, p.UserID, *in.TimeZone); err != nil {
			return err
		}
	}
	return s.sendMe(c, u)
}

// sendMe answers with the caller, their agency and their case memberships.
func (s *server) sendMe(c *fiber.Ctx, u access.User) error {
	ctx, p := c.UserContext(), principal(c)
	a, err := s.Directory.Agency(ctx, p.AgencyID)
	if err != nil {
		return err
	}
	ms, err := s.Authz.Memberships(ctx, p)
	if err != nil {
		return err
	}
	out := meJSON{User: toUserJSON(u), Agency: toAgencyJSON(a), Memberships: make([]membershipJSON, len(ms))}
	for i, m := range ms {
		out.Memberships[i] = membershipJSON{CaseID: m.CaseID, Role: string(m.Role)}
	}
	return c.JSON(out)
}
