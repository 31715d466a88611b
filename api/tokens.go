package api

import (
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/bevis-ir/bevis/access"
	"github.com/bevis-ir/bevis/internal/validate"
)

type apiTokenJSON struct {
	ID         string   `json:"id"`
	Name       string   `json:"name"`
	Scopes     []string `json:"scopes"`
	CaseIDs    []string `json:"case_ids"`
	CreatedAt  string   `json:"created_at"`
	ExpiresAt  string   `json:"expires_at"`
	RevokedAt  *string  `json:"revoked_at"`
	LastUsedAt *string  `json:"last_used_at"`
	LastUsedIP string   `json:"last_used_ip"`
	// Token is the secret itself, present only in the answer that
	// creates it.
	Token string `json:"token,omitempty"`
}

func toAPITokenJSON(t access.APIToken) apiTokenJSON {
	out := apiTokenJSON{ID: t.ID, Name: t.Name, Scopes: make([]string, len(t.Scopes)), CaseIDs: t.CaseIDs,
		CreatedAt: timestamp(t.CreatedAt), ExpiresAt: timestamp(t.ExpiresAt),
		RevokedAt: optionalTimestamp(t.RevokedAt), LastUsedAt: optionalTimestamp(t.LastUsedAt), LastUsedIP: t.LastUsedIP}
	for i, s := range t.Scopes {
		out.Scopes[i] = string(s)
	}
	if out.CaseIDs == nil {
		out.CaseIDs = []string{}
	}
	return out
}

func (s *server) listTokens(c *fiber.Ctx) error {
	if err := s.authorize(c, access.ActionTokenManage, access.Resource{}); err != nil {
		return err
	}
	tokens, err := s.Sessions.APITokens(c.UserContext(), principal(c).UserID)
	if err != nil {
		return err
	}
	out := listJSON[apiTokenJSON]{Items: make([]apiTokenJSON, len(tokens))}
	for i, t := range tokens {
		out.Items[i] = toAPITokenJSON(t)
	}
	return c.JSON(out)
}

type createTokenRequest struct {
	Name      string   `json:"name"`
	Scopes    []string `json:"scopes"`
	CaseIDs   []string `json:"case_ids"`
	ExpiresAt string   `json:"expires_at"`
}

func (s *server) createToken(c *fiber.Ctx) error {
	if err := s.authorize(c, access.ActionTokenManage, access.Resource{}); err != nil {
		return err
	}
	var in createTokenRequest
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	expires, err := time.Parse(time.RFC3339, in.ExpiresAt)
	if err != nil {
		return validate.Field("expires_at", "must be an RFC 3339 time, like 2027-01-31T00:00:00Z")
	}
	scopes := make([]access.Action, len(in.Scopes))
	for i, sc := range in.Scopes {
		scopes[i] = access.Action(sc)
	}
	t, secret, err := s.Sessions.CreateAPIToken(c.UserContext(), s.Authz, principal(c),
		access.NewAPIToken{Name: in.Name, Scopes: scopes, CaseIDs: in.CaseIDs, ExpiresAt: expires})
	if err != nil {
		return err
	}
	out := toAPITokenJSON(t)
	out.Token = secret
	c.Location("/api/v1/tokens/" + t.ID)
	return c.Status(fiber.StatusCreated).JSON(out)
}

func (s *server) revokeToken(c *fiber.Ctx) error {
	if err := s.authorize(c, access.ActionTokenManage, access.Resource{}); err != nil {
		return err
	}
	if err := s.Sessions.RevokeAPIToken(c.UserContext(), principal(c).UserID, c.Params("id")); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}
