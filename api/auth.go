package api

import (
	"errors"
	"net/url"
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
// disabled user or a revoked session is refused on their next request. On
// a route about the case its :id names, the caller's standing on the case
// is read with them, for the handler's first authorization (see
// access.Sessions.AuthenticateOnCase).
func (s *server) requireAuth(c *fiber.Ctx) error {
	caseID := ""
	if strings.HasPrefix(c.Route().Path, caseRoutes) {
		caseID = c.Params("id")
	}
	p, err := s.authenticate(c, caseID)
	if err != nil {
		return err
	}
	c.Locals(localPrincipal, p)
	return c.Next()
}

// caseRoutes begins the path of every route about one case.
const caseRoutes = "/api/v1/cases/:id"

// authenticate reads the bearer token of the request, refusing an
// oversized header before any parsing, and returns its principal. With a
// caseID, the request's context carries the caller's standing on it.
func (s *server) authenticate(c *fiber.Ctx, caseID string) (access.Principal, error) {
	header := c.Get(fiber.HeaderAuthorization)
	if header == "" || len(header) > maxAuthorizationHeader {
		return access.Principal{}, access.ErrUnauthenticated
	}
	scheme, token, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return access.Principal{}, access.ErrUnauthenticated
	}
	p, ctx, err := s.Sessions.AuthenticateOnCase(c.UserContext(), strings.TrimSpace(token), clientIP(c), caseID)
	if errors.Is(err, access.ErrUnauthenticated) {
		s.Log.Info("authentication refused", "request_id", requestID(c), "reason", err.Error())
		return access.Principal{}, access.ErrUnauthenticated
	}
	// Any other error is a fault of Bevis's (the database's, most often),
	// not a bad token: answering 401 would sign the caller out.
	if err == nil {
		c.SetUserContext(ctx)
	}
	return p, err
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
		ClientIP: clientIP(c), UserAgent: c.Get(fiber.HeaderUserAgent),
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
	if err := s.checkOrigin(c); err != nil {
		return err
	}
	g, err := s.Sessions.Refresh(c.UserContext(), c.Cookies(refreshCookie))
	if err != nil {
		if errors.Is(err, access.ErrUnauthenticated) {
			s.clearRefreshCookie(c) // a fault keeps the cookie, for a retry
		}
		return err
	}
	return s.sendGrant(c, g)
}

// logout ends the session of the access token or, failing that, of the
// refresh cookie; it succeeds whatever was presented, so it can be retried.
func (s *server) logout(c *fiber.Ctx) error {
	if err := s.checkOrigin(c); err != nil {
		return err
	}
	ctx := c.UserContext()
	sessionID := ""
	if p, err := s.authenticate(c, ""); err == nil {
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

// checkOrigin refuses a request acting on the refresh cookie that a browser
// says comes from a page of another origin: when Origin is sent, it must be
// the origin the request was sent to (its Host), where Bevis is served
// (BEVIS_PUBLIC_URL) or a CORS origin allowed. The cookie's SameSite=Strict
// keeps it off cross-site requests already; this also holds against a page
// of the same site on another origin (a sibling subdomain) and a browser
// that ignores SameSite. Clients without an Origin (scripts, older
// browsers) are not refused.
func (s *server) checkOrigin(c *fiber.Ctx) error {
	origin := c.Get(fiber.HeaderOrigin)
	if origin == "" {
		return nil
	}
	if given, ok := normalOrigin(origin); ok {
		scheme, _, _ := strings.Cut(given, "://")
		allowed := append([]string{scheme + "://" + c.Get(fiber.HeaderHost), s.Config.BaseURL()}, s.Config.CORSOrigins...)
		for _, a := range allowed {
			if want, _ := normalOrigin(a); given == want {
				return nil
			}
		}
	}
	return newProblem(fiber.StatusForbidden, "origin_refused",
		"The request comes from a page of another origin than Bevis's own (BEVIS_PUBLIC_URL) or an allowed CORS origin.")
}

// normalOrigin is scheme://host[:port] in lower case, without a default port.
func normalOrigin(s string) (string, bool) {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return "", false
	}
	host := strings.ToLower(u.Host)
	host = strings.TrimSuffix(host, map[string]string{"http": ":80", "https": ":443"}[u.Scheme])
	return u.Scheme + "://" + host, true
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
		HTTPOnly: true, SameSite: fiber.CookieSameSiteStrictMode, Secure: s.Config.HTTPS(),
	})
}

func (s *server) clearRefreshCookie(c *fiber.Ctx) {
	c.Cookie(&fiber.Cookie{Name: refreshCookie, Value: "", Path: refreshPath, Expires: time.Unix(0, 0),
		MaxAge: -1, HTTPOnly: true, SameSite: fiber.CookieSameSiteStrictMode, Secure: s.Config.HTTPS()})
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
