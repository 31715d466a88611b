package api

import (
	"net/url"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/bevis-ir/bevis/access"
	"github.com/bevis-ir/bevis/evidence"
)

// A browser keeps its access token in memory, so a plain link cannot carry
// it, and a download fetched by script is held in memory whole. A download
// ticket closes the gap: the SPA asks for one (authorized like the download
// itself), then follows /content?ticket=… as an ordinary link, which the
// browser streams to disk. The ticket works once, for a minute, for the
// person and item it names; the download is authorized and audited as any.

type downloadTicketJSON struct {
	Ticket    string `json:"ticket"`
	URL       string `json:"url"`
	ExpiresAt string `json:"expires_at"`
}

// issueDownloadTicket hands the caller a ticket for one download of the
// item's content.
func (s *server) issueDownloadTicket(c *fiber.Ctx) error {
	it, err := s.item(c, access.ActionEvidenceDownload)
	if err != nil {
		return err
	}
	if it.ContentStatus != "received" {
		return evidence.ErrNoContent
	}
	ticket, expires, err := s.Sessions.IssueDownloadTicket(c.UserContext(), principal(c), it.ID)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Status(fiber.StatusCreated).JSON(downloadTicketJSON{Ticket: ticket,
		URL:       "/api/v1/evidence/" + url.PathEscape(it.ID) + "/content?ticket=" + url.QueryEscape(ticket),
		ExpiresAt: expires.UTC().Format(time.RFC3339Nano)})
}

// requireAuthOrTicket authenticates a ticketed route: by its bearer token
// when the request has one, else by the ticket in its URL, which it uses
// up.
func (s *server) requireAuthOrTicket(c *fiber.Ctx) error {
	ticket := c.Query("ticket")
	if c.Get(fiber.HeaderAuthorization) != "" || ticket == "" {
		return s.requireAuth(c)
	}
	p, err := s.Sessions.RedeemDownloadTicket(c.UserContext(), ticket, c.Params("id"))
	if err != nil {
		return err
	}
	c.Locals(localPrincipal, p)
	return c.Next()
}
