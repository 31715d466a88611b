package api

import (
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/gofiber/fiber/v2"
)

// problem is an RFC 9457 problem detail. Code is the stable, machine-readable
// name of the error that clients switch on; Title and Detail are for people.
type problem struct {
	Type      string            `json:"type"`
	Title     string            `json:"title"`
	Status    int               `json:"status"`
	Detail    string            `json:"detail,omitempty"`
	Instance  string            `json:"instance,omitempty"`
	Code      string            `json:"code"`
	RequestID string            `json:"request_id,omitempty"`
	Errors    []fieldError      `json:"errors,omitempty"`
	Checks    map[string]string `json:"checks,omitempty"`
}

// fieldError names one invalid input field.
type fieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// problemError is an error that already knows its HTTP answer. Handlers
// return it for conditions of the transport itself (a body too large, a
// service not ready); domain errors are mapped in problemFor.
type problemError struct{ p problem }

func (e *problemError) Error() string { return e.p.Code + ": " + e.p.Detail }

func newProblem(status int, code, detail string) *problemError {
	return &problemError{p: problem{Status: status, Code: code, Detail: detail}}
}

// fiberCodes names the errors Fiber and fasthttp raise themselves.
var fiberCodes = map[int]string{
	fiber.StatusBadRequest:                  "bad_request",
	fiber.StatusNotFound:                    "not_found",
	fiber.StatusMethodNotAllowed:            "method_not_allowed",
	fiber.StatusRequestTimeout:              "request_timeout",
	fiber.StatusRequestEntityTooLarge:       "body_too_large",
	fiber.StatusRequestHeaderFieldsTooLarge: "headers_too_large",
	fiber.StatusUnsupportedMediaType:        "unsupported_media_type",
	fiber.StatusServiceUnavailable:          "unavailable",
}

// problemFor is the one place that turns an error into its HTTP answer.
// An error it does not know is an internal failure: the client gets a
// generic 500 and the log gets the error.
func problemFor(err error) (problem, bool) {
	var pe *problemError
	if errors.As(err, &pe) {
		return pe.p, true
	}
	var fe *fiber.Error
	if errors.As(err, &fe) {
		if code, ok := fiberCodes[fe.Code]; ok {
			p := problem{Status: fe.Code, Code: code}
			if fe.Code == fiber.StatusNotFound {
				p.Detail = "No such resource."
			}
			return p, true
		}
	}
	return problem{Status: fiber.StatusInternalServerError, Code: "internal",
		Detail: "An internal error occurred; it has been logged with the request ID."}, false
}

// errorHandler writes every error as application/problem+json.
func errorHandler(log *slog.Logger) fiber.ErrorHandler {
	return func(c *fiber.Ctx, err error) error {
		p, known := problemFor(err)
		if !known {
			log.ErrorContext(c.UserContext(), "request failed",
				"err", err, "request_id", requestID(c), "method", c.Method(), "route", routeOf(c))
		}
		p.Type = "urn:bevis:problem:" + strings.ReplaceAll(p.Code, "_", "-")
		if p.Title == "" {
			p.Title = http.StatusText(p.Status)
		}
		p.Instance = c.Path()
		p.RequestID = requestID(c)
		return writeProblem(c, p)
	}
}

func writeProblem(c *fiber.Ctx, p problem) error {
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Status(p.Status).JSON(p, "application/problem+json")
}
