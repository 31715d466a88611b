package api

import (
	"errors"
	"net"

	"github.com/gofiber/fiber/v2"

	"github.com/bevis-ir/bevis/access"
	"github.com/bevis-ir/bevis/audit"
)

type setupStatusJSON struct {
	Needed bool `json:"needed"`
}

// setupStatus tells the sign-in page whether Bevis still waits for its
// first admin, so it can say where the set-up link is.
func (s *server) setupStatus(c *fiber.Ctx) error {
	needed, err := s.Setup.Needed(c.UserContext())
	if err != nil {
		return err
	}
	return c.JSON(setupStatusJSON{Needed: needed})
}

type setupRequest struct {
	Token  string `json:"token"`
	Agency struct {
		Code string `json:"code"`
		Name string `json:"name"`
		Kind string `json:"kind"`
	} `json:"agency"`
	Admin struct {
		Email    string `json:"email"`
		Name     string `json:"name"`
		Password string `json:"password"`
	} `json:"admin"`
}

// completeSetup redeems the set-up link: the first agency and its admin,
// who then signs in as anyone does.
func (s *server) completeSetup(c *fiber.Ctx) error {
	var in setupRequest
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	if !setupClientAllowed(c) || len(in.Token) > 128 {
		return s.refuseSetup(c)
	}
	u, err := s.Setup.Complete(c.UserContext(), in.Token, c.Hostname(), access.Bootstrap{
		Email: in.Admin.Email, Name: in.Admin.Name, Password: in.Admin.Password,
		AgencyCode: in.Agency.Code, AgencyName: in.Agency.Name, AgencyKind: access.AgencyKind(in.Agency.Kind)})
	if errors.Is(err, access.ErrSetupLinkInvalid) {
		return s.refuseSetup(c)
	}
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(toUserJSON(u))
}

// setupClientAllowed keeps a link that names this machine to this machine:
// printed for a loopback address, it works only from a loopback client.
func setupClientAllowed(c *fiber.Ctx) bool {
	host := c.Hostname()
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if host != "localhost" && !isLoopback(host) {
		return true
	}
	return isLoopback(clientIP(c))
}

func isLoopback(host string) bool {
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// refuseSetup answers a wrong, spent or misplaced set-up link as a 404,
// and puts the attempt on the record.
func (s *server) refuseSetup(c *fiber.Ctx) error {
	e := audit.Entry{Action: "setup.complete", Outcome: audit.Denied, RequestID: requestID(c),
		Actor:        audit.Actor{ClientIP: clientIP(c), UserAgent: c.Get(fiber.HeaderUserAgent)},
		ResourceType: "setup"}
	if err := s.Audit.Record(c.UserContext(), e); err != nil {
		s.Log.Error("refused set-up not recorded; answer withheld", "err", err, "request_id", requestID(c))
		return auditUnavailable(err)
	}
	return access.ErrNotFound
}
