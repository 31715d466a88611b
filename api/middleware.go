package api

import (
	"log/slog"
	"regexp"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/recover"
	"github.com/google/uuid"
)

const (
	headerRequestID = "X-Request-ID"
	localRequestID  = "bevis.request_id"
	localRoute      = "bevis.route"
)

// validRequestID admits a caller's request ID only when it is short and
// plain, so it cannot forge log lines or bloat them.
var validRequestID = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,128}$`)

// withRequestID takes the caller's X-Request-ID when valid, else makes one,
// and echoes it on the response.
func withRequestID(c *fiber.Ctx) error {
	id := c.Get(headerRequestID)
	if !validRequestID.MatchString(id) {
		id = uuid.Must(uuid.NewV7()).String()
	}
	c.Locals(localRequestID, id)
	c.Set(headerRequestID, id)
	return c.Next()
}

func requestID(c *fiber.Ctx) string {
	id, _ := c.Locals(localRequestID).(string)
	return id
}

// routeOf is the route template that served the request ("/api/v1/cases/:id"),
// never the raw path, so logs and metrics group by route and stay bounded.
func routeOf(c *fiber.Ctx) string {
	if r, ok := c.Locals(localRoute).(string); ok {
		return r
	}
	return "unmatched"
}

// observe writes the access log line and the request metrics. It resolves
// errors through the error handler itself so that both see the final status.
func observe(log *slog.Logger, m *metrics) fiber.Handler {
	return func(c *fiber.Ctx) error {
		start := time.Now()
		if err := c.Next(); err != nil {
			if herr := c.App().ErrorHandler(c, err); herr != nil {
				_ = c.SendStatus(fiber.StatusInternalServerError)
			}
		}
		elapsed := time.Since(start)
		status := c.Response().StatusCode()
		route := routeOf(c)
		// The method is copied: Fiber's is a view of a buffer the next request reuses.
		m.observe(c.Method(), route, status, elapsed) // observe keeps none of the request's buffers
		level := slog.LevelInfo
		if status >= 500 {
			level = slog.LevelError
		}
		log.LogAttrs(c.UserContext(), level, "request",
			slog.String("request_id", requestID(c)),
			slog.String("method", c.Method()),
			slog.String("route", route),
			slog.String("path", c.Path()),
			slog.Int("status", status),
			slog.Float64("duration_ms", float64(elapsed.Microseconds())/1000),
			slog.Int("bytes_out", bytesOut(c)),
			slog.String("client", clientIP(c)),
			slog.String("user_agent", truncate(c.Get(fiber.HeaderUserAgent), 256)),
		)
		return nil
	}
}

// bytesOut is the size of a buffered response body, or -1 for a stream:
// asking a stream for its Body() would drain it into memory.
func bytesOut(c *fiber.Ctx) int {
	if c.Response().IsBodyStream() {
		return -1
	}
	return len(c.Response().Body())
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// recoverPanics turns a panic in a handler into a 500 problem and logs the stack.
func recoverPanics(log *slog.Logger) fiber.Handler {
	return recover.New(recover.Config{
		EnableStackTrace: true,
		StackTraceHandler: func(c *fiber.Ctx, e any) {
			log.Error("panic", "request_id", requestID(c), "panic", e, "stack", string(debug.Stack()))
		},
	})
}

// contentSecurityPolicy fits the built SPA: its scripts, styles and fonts come
// from Bevis itself, it talks only to Bevis, and nothing may frame it.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; " +
	"frame-ancestors 'none'"

// securityHeaders sets the headers of every response; HSTS when people
// reach Bevis over HTTPS, served by Bevis or by a balancer in front of it.
func securityHeaders(https bool) fiber.Handler {
	return func(c *fiber.Ctx) error {
		c.Set(fiber.HeaderContentSecurityPolicy, contentSecurityPolicy)
		c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
		c.Set(fiber.HeaderXFrameOptions, "DENY")
		c.Set(fiber.HeaderReferrerPolicy, "no-referrer")
		c.Set("Cross-Origin-Opener-Policy", "same-origin")
		c.Set("Cross-Origin-Resource-Policy", "same-origin")
		c.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
		if https {
			c.Set(fiber.HeaderStrictTransportSecurity, "max-age=63072000; includeSubDomains")
		}
		if strings.HasPrefix(c.Path(), "/api/") {
			// Case data must not linger in browser or proxy caches.
			c.Set(fiber.HeaderCacheControl, "no-store")
		}
		return c.Next()
	}
}

// limitBody refuses a request body over limit before anything reads it.
// Fiber streams large bodies (StreamRequestBody), so its own BodyLimit does
// not refuse them: this does, for every route that does not stream its body
// under limits of its own. A body without a declared length is refused too,
// since reading it to find its length is what must not happen.
func limitBody(limit int64) fiber.Handler {
	return func(c *fiber.Ctx) error {
		n := c.Request().Header.ContentLength()
		switch {
		case n == -1: // chunked
			return newProblem(fiber.StatusLengthRequired, "length_required",
				"Send a Content-Length with the request body.")
		case int64(n) > limit:
			return newProblem(fiber.StatusRequestEntityTooLarge, "body_too_large",
				"The request body is larger than "+strconv.FormatInt(limit, 10)+" bytes.")
		}
		return c.Next()
	}
}
