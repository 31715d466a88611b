package api

import (
	_ "embed"

	"github.com/gofiber/fiber/v2"
)

// openAPIDocument describes every route of the route table; a test holds
// the two together.
//
//go:embed openapi.json
var openAPIDocument []byte

func serveOpenAPI(c *fiber.Ctx) error {
	c.Set(fiber.HeaderContentType, "application/vnd.oai.openapi+json")
	c.Set(fiber.HeaderCacheControl, "no-cache")
	return c.Send(openAPIDocument)
}
