package api

import (
	"errors"
	"io/fs"
	"mime"
	"path"
	"strings"

	"github.com/gofiber/fiber/v2"
)

// notBuilt is served at / when the binary was built before the UI was
// (`go build` on a fresh clone): it says what to do instead of a blank page.
const notBuilt = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Bevis</title></head>
<body><h1>Bevis</h1><p>The web interface is not built into this binary.
Run <code>make ui</code> (or <code>make run</code>) and rebuild. The API is at <code>/api/v1</code>.</p></body></html>
`

// spa serves the built single-page app: a file when the path names one
// (it has an extension), else index.html so the app's own router handles
// deep links. Paths under /api never reach it (see New), nor /api itself.
func (s *server) spa(c *fiber.Ctx) error {
	p := c.Path()
	if p == "/api" {
		c.Locals(localRoute, "unmatched")
		return fiber.ErrNotFound
	}
	name := strings.TrimPrefix(path.Clean("/"+p), "/")
	if path.Ext(name) != "" {
		return s.sendUIFile(c, name)
	}
	index, err := fs.ReadFile(s.UI, "index.html")
	if errors.Is(err, fs.ErrNotExist) {
		c.Type("html", "utf-8")
		return c.SendString(notBuilt)
	}
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-cache")
	c.Type("html", "utf-8")
	return c.Send(index)
}

func (s *server) sendUIFile(c *fiber.Ctx, name string) error {
	if !fs.ValidPath(name) || strings.HasPrefix(path.Base(name), ".") {
		return fiber.ErrNotFound
	}
	data, err := fs.ReadFile(s.UI, name)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrInvalid) {
		return fiber.ErrNotFound
	}
	if err != nil {
		return err
	}
	if ct := mime.TypeByExtension(path.Ext(name)); ct != "" {
		c.Set(fiber.HeaderContentType, ct)
	} else {
		c.Set(fiber.HeaderContentType, fiber.MIMEOctetStream)
	}
	if strings.HasPrefix(name, "assets/") {
		// Vite names these by content hash: a new build means a new name.
		c.Set(fiber.HeaderCacheControl, "public, max-age=31536000, immutable")
	}
	return c.Send(data)
}
