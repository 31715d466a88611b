package api

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/url"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/bevis-ir/bevis/access"
	"github.com/bevis-ir/bevis/audit"
)

const (
	// ssoCallbackPath is the redirect URI each agency registers with its
	// provider, under the public URL.
	ssoCallbackPath = "/api/v1/auth/sso/callback"
	// ssoStateCookie binds a sign-in to the browser that started it, so
	// nobody can sign a victim into the attacker's account by sending them
	// a callback link. SameSite=Lax: the provider's redirect back is a
	// cross-site top-level navigation, on which Strict cookies are not sent.
	ssoStateCookie = "bevis_sso_state"
	ssoStatePath   = "/api/v1/auth/sso"
)

type ssoConfigJSON struct {
	AgencyID        string            `json:"agency_id"`
	Configured      bool              `json:"configured"`
	Enabled         bool              `json:"enabled"`
	Issuer          string            `json:"issuer"`
	ClientID        string            `json:"client_id"`
	ClientSecretSet bool              `json:"client_secret_set"`
	Scopes          []string          `json:"scopes"`
	EmailClaim      string            `json:"email_claim"`
	NameClaim       string            `json:"name_claim"`
	GroupsClaim     string            `json:"groups_claim"`
	ProvisionUsers  bool              `json:"provision_users"`
	GroupRoles      map[string]string `json:"group_roles"`
	RedirectURI     string            `json:"redirect_uri"`
	UpdatedAt       string            `json:"updated_at,omitempty"`
}

func (s *server) toSSOConfigJSON(c access.SSOConfig) ssoConfigJSON {
	out := ssoConfigJSON{AgencyID: c.AgencyID, Configured: c.Configured, Enabled: c.Enabled, Issuer: c.Issuer,
		ClientID: c.ClientID, ClientSecretSet: c.ClientSecretSet, Scopes: c.Scopes, EmailClaim: c.EmailClaim,
		NameClaim: c.NameClaim, GroupsClaim: c.GroupsClaim, ProvisionUsers: c.ProvisionUsers,
		GroupRoles: make(map[string]string, len(c.GroupRoles)), RedirectURI: s.ssoRedirectURL()}
	for g, r := range c.GroupRoles {
		out.GroupRoles[g] = string(r)
	}
	if c.Configured {
		out.UpdatedAt = timestamp(c.UpdatedAt)
	}
	return out
}

// putSSORequest replaces an agency's settings; client_secret may be left
// out to keep the stored one.
type putSSORequest struct {
	Enabled        bool              `json:"enabled"`
	Issuer         string            `json:"issuer"`
	ClientID       string            `json:"client_id"`
	ClientSecret   string            `json:"client_secret"`
	Scopes         []string          `json:"scopes"`
	EmailClaim     string            `json:"email_claim"`
	NameClaim      string            `json:"name_claim"`
	GroupsClaim    string            `json:"groups_claim"`
	ProvisionUsers bool              `json:"provision_users"`
	GroupRoles     map[string]string `json:"group_roles"`
}

// settings are the request's settings for access.SSO.
func (in putSSORequest) settings() access.SSOSettings {
	out := access.SSOSettings{Enabled: in.Enabled, Issuer: in.Issuer, ClientID: in.ClientID,
		ClientSecret: in.ClientSecret, Scopes: in.Scopes, EmailClaim: in.EmailClaim, NameClaim: in.NameClaim,
		GroupsClaim: in.GroupsClaim, ProvisionUsers: in.ProvisionUsers, GroupRoles: make(map[string]access.SystemRole, len(in.GroupRoles))}
	for g, r := range in.GroupRoles {
		out.GroupRoles[g] = access.SystemRole(r)
	}
	return out
}

func (s *server) getSSO(c *fiber.Ctx) error {
	id := c.Params("id")
	if err := s.authorize(c, access.ActionAgencySSORead, access.Resource{AgencyID: id}); err != nil {
		return err
	}
	cfg, err := s.SSO.Config(c.UserContext(), id)
	if err != nil {
		return err
	}
	return c.JSON(s.toSSOConfigJSON(cfg))
}

func (s *server) putSSO(c *fiber.Ctx) error {
	id := c.Params("id")
	if err := s.authorize(c, access.ActionAgencySSOWrite, access.Resource{AgencyID: id}); err != nil {
		return err
	}
	var in putSSORequest
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	cfg, err := s.SSO.SetConfig(c.UserContext(), id, in.settings())
	if err != nil {
		return err
	}
	s.Log.Info("single sign-on settings changed", "request_id", requestID(c), "agency_id", id,
		"by", principal(c).UserID, "enabled", cfg.Enabled, "issuer", cfg.Issuer)
	return c.JSON(s.toSSOConfigJSON(cfg))
}

type ssoCheckJSON struct {
	Name    string `json:"name"`
	Passed  bool   `json:"passed"`
	Message string `json:"message"`
}

type ssoTestJSON struct {
	Issuer string         `json:"issuer"`
	Passed bool           `json:"passed"`
	Checks []ssoCheckJSON `json:"checks"`
}

// testSSO checks an agency's provider with the settings in the body, not
// saved, or with the stored ones when there is no body. Only who may set
// the settings may test them: the test sends the client secret to the
// provider, and reaches only what a saved setting could.
func (s *server) testSSO(c *fiber.Ctx) error {
	id := c.Params("id")
	if err := s.authorize(c, access.ActionAgencySSOWrite, access.Resource{AgencyID: id}); err != nil {
		return err
	}
	var settings *access.SSOSettings
	if len(c.Body()) > 0 {
		var in putSSORequest
		if err := decodeJSON(c, &in); err != nil {
			return err
		}
		tested := in.settings()
		tested.Enabled, tested.ProvisionUsers = false, false // a test turns nothing on
		settings = &tested
	}
	res, err := s.SSO.TestProvider(c.UserContext(), id, settings)
	if err != nil {
		return err
	}
	out := ssoTestJSON{Issuer: res.Issuer, Passed: res.Passed, Checks: make([]ssoCheckJSON, len(res.Checks))}
	var failed []string
	for i, ch := range res.Checks {
		out.Checks[i] = ssoCheckJSON{Name: ch.Name, Passed: ch.Passed, Message: ch.Message}
		if !ch.Passed {
			failed = append(failed, ch.Name)
		}
	}
	s.Log.Info("single sign-on provider tested", "request_id", requestID(c), "agency_id", id,
		"by", principal(c).UserID, "issuer", res.Issuer, "passed", res.Passed, "failed", failed)
	return c.JSON(out)
}

type ssoAgencyJSON struct {
	Code string `json:"code"`
	Name string `json:"name"`
}

type ssoAgenciesJSON struct {
	Items []ssoAgencyJSON `json:"items"`
}

// ssoAgencies lists the agencies whose people may sign in by single
// sign-on, for the sign-in page: public, so code and name only. Browsers
// keep it and ask again with its ETag, so a change shows at once.
func (s *server) ssoAgencies(c *fiber.Ctx) error {
	list, err := s.SSO.SignInAgencies(c.UserContext())
	if err != nil {
		return err
	}
	out := ssoAgenciesJSON{Items: make([]ssoAgencyJSON, len(list))}
	for i, a := range list {
		out.Items[i] = ssoAgencyJSON{Code: a.Code, Name: a.Name}
	}
	body, err := json.Marshal(out)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(body)
	tag := `"` + hex.EncodeToString(sum[:16]) + `"`
	c.Set(fiber.HeaderCacheControl, "no-cache")
	c.Set(fiber.HeaderETag, tag)
	if c.Get(fiber.HeaderIfNoneMatch) == tag {
		return c.SendStatus(fiber.StatusNotModified)
	}
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
	return c.Send(body)
}

// ssoRedirectURL is the callback under the public URL.
func (s *server) ssoRedirectURL() string { return s.Config.BaseURL() + ssoCallbackPath }

// ssoStart sends the browser to the agency's provider. It answers with
// redirects only, errors included, since a person follows it from a link.
func (s *server) ssoStart(c *fiber.Ctx) error {
	c.Set(fiber.HeaderCacheControl, "no-store")
	start, err := s.SSO.Start(c.UserContext(), c.Params("agencyCode"), s.ssoRedirectURL())
	if err != nil {
		return s.ssoFailed(c, err)
	}
	c.Cookie(&fiber.Cookie{Name: ssoStateCookie, Value: start.State, Path: ssoStatePath,
		Expires: time.Now().Add(access.SSOLoginTTL), HTTPOnly: true, SameSite: fiber.CookieSameSiteLaxMode,
		Secure: s.Config.HTTPS()})
	return c.Redirect(start.AuthURL, fiber.StatusFound)
}

// ssoCallback finishes a sign-in and sends the browser to the SPA, which
// gets its access token with POST /api/v1/auth/refresh and the cookie set
// here, as after a password sign-in.
func (s *server) ssoCallback(c *fiber.Ctx) error {
	c.Set(fiber.HeaderCacheControl, "no-store")
	browserState := c.Cookies(ssoStateCookie)
	c.Cookie(&fiber.Cookie{Name: ssoStateCookie, Value: "", Path: ssoStatePath, Expires: time.Unix(0, 0),
		MaxAge: -1, HTTPOnly: true, SameSite: fiber.CookieSameSiteLaxMode, Secure: s.Config.HTTPS()})
	g, err := s.SSO.Finish(c.UserContext(), access.SSOCallback{
		State: c.Query("state"), BrowserState: browserState, Code: c.Query("code"),
		ProviderError: c.Query("error"), RedirectURL: s.ssoRedirectURL(),
		ClientIP: clientIP(c), UserAgent: c.Get(fiber.HeaderUserAgent),
	})
	if err != nil {
		return s.ssoFailed(c, err)
	}
	s.Log.Info("signed in by single sign-on", "request_id", requestID(c), "user_id", g.User.ID,
		"agency_id", g.User.AgencyID, "session_id", g.SessionID)
	if err := s.recordAuth(c, audit.Success, "sso", g.User, ""); err != nil {
		return s.ssoFailed(c, err)
	}
	s.setRefreshCookie(c, g)
	return c.Redirect("/", fiber.StatusFound)
}

// ssoFailed logs why and sends the browser to the SPA with a code that
// tells the person what happened and no more.
func (s *server) ssoFailed(c *fiber.Ctx, err error) error {
	code := "internal"
	var se *access.SSOError
	if errors.As(err, &se) {
		code = se.Code
		s.Log.Warn("single sign-on refused", "request_id", requestID(c), "code", code, "reason", err.Error())
	} else {
		s.Log.Error("single sign-on failed", "request_id", requestID(c), "err", err.Error())
	}
	if rerr := s.recordAuth(c, audit.Failed, "sso", access.User{}, code); rerr != nil {
		code = "internal"
	}
	return c.Redirect("/?sso_error="+url.QueryEscape(code), fiber.StatusFound)
}
