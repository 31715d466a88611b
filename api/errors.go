package api

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/bevis-ir/bevis/access"
	"github.com/bevis-ir/bevis/alerts"
	"github.com/bevis-ir/bevis/cases"
	"github.com/bevis-ir/bevis/evidence"
	"github.com/bevis-ir/bevis/internal/db"
	"github.com/bevis-ir/bevis/internal/validate"
	"github.com/bevis-ir/bevis/reports"
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

	headers map[string]string // sent with the problem, e.g. Retry-After
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
	fiber.StatusBadRequest:            "bad_request",
	fiber.StatusNotFound:              "not_found",
	fiber.StatusMethodNotAllowed:      "method_not_allowed",
	fiber.StatusRequestTimeout:        "request_timeout",
	fiber.StatusRequestEntityTooLarge: "body_too_large",
	fiber.StatusUnsupportedMediaType:  "unsupported_media_type",
	fiber.StatusServiceUnavailable:    "unavailable",
}

// domainErrors maps the sentinel errors of the domain packages.
var domainErrors = []struct {
	err    error
	status int
	code   string
	detail string
}{
	{access.ErrUnauthenticated, fiber.StatusUnauthorized, "unauthenticated", "Sign in, or present a valid access token."},
	{access.ErrTicketInvalid, fiber.StatusUnauthorized, "ticket_invalid",
		"The download ticket is unknown, used, expired or for another item: ask for a new one."},
	{access.ErrTicketNeedsSession, fiber.StatusForbidden, "session_required",
		"Download tickets are for signed-in people; an API token downloads with its Authorization header."},
	{access.ErrPasswordChangeRequired, fiber.StatusForbidden, "password_change_required",
		"The password must be changed: sign in again with new_password set."},
	{access.ErrMFARequired, fiber.StatusUnauthorized, "mfa_required",
		"A code from the authenticator, or a recovery code, is required: sign in again with totp set."},
	{access.ErrMFAEnrolmentRequired, fiber.StatusForbidden, "mfa_enrolment_required",
		"Your agency requires a second factor: enrol an authenticator at /api/v1/me/mfa/totp first."},
	{access.ErrPasswordIncorrect, fiber.StatusForbidden, "password_incorrect", "The password is not correct."},
	{access.ErrTOTPInvalid, fiber.StatusBadRequest, "invalid_code", "The code does not match the authenticator."},
	{access.ErrNotFound, fiber.StatusNotFound, "not_found", "No such resource."},
	{cases.ErrNotFound, fiber.StatusNotFound, "not_found", "No such resource."},
	{cases.ErrTaskNotFound, fiber.StatusNotFound, "not_found", "No such resource."},
	{cases.ErrTemplateNotFound, fiber.StatusNotFound, "not_found", "No such resource."},
	{evidence.ErrItemNotFound, fiber.StatusNotFound, "not_found", "No such resource."},
	{evidence.ErrUploadGone, fiber.StatusNotFound, "not_found", "No such upload going on: it finished, was discarded or expired."},
	{evidence.ErrNoContent, fiber.StatusNotFound, "no_content", "The item's content has not been received."},
	{evidence.ErrDisposed, fiber.StatusGone, "disposed", "The item was disposed of: its content is no longer available. Its record stays."},
	{evidence.ErrUploadInProgress, fiber.StatusConflict, "upload_in_progress",
		"Another person's upload of this item is in progress; it can be replaced or discarded once it has received nothing for an hour."},
	{evidence.ErrOffsetMismatch, fiber.StatusConflict, "offset_mismatch",
		"Upload-Offset is not where the upload stands: ask with HEAD and go on from its Upload-Offset."},
	{evidence.ErrUploadBusy, fiber.StatusLocked, "upload_busy",
		"Another request is writing this upload; try again in a moment (an interrupted one lets go within 30 seconds)."},
	{evidence.ErrTooLarge, fiber.StatusRequestEntityTooLarge, "too_large",
		"The content is larger than its declared length or than BEVIS_UPLOAD_MAX_SIZE allows."},
	{evidence.ErrQuotaExceeded, fiber.StatusRequestEntityTooLarge, "quota_exceeded", "The case's evidence quota is used up."},
	{evidence.ErrChecksum, 460, "checksum_mismatch", "The body does not match Upload-Checksum; nothing of it was kept."},
	{evidence.ErrInvalidFilename, fiber.StatusUnprocessableEntity, "invalid_filename",
		"The file name must be valid UTF-8 without NUL, of at most 255 characters; nothing was stored."},
	{evidence.ErrStoreUnavailable, fiber.StatusServiceUnavailable, "storage_unavailable",
		"The evidence store cannot be reached; nothing was recorded. Try again later."},
	{cases.ErrStale, fiber.StatusPreconditionFailed, "precondition_failed",
		"It has changed since you read it (If-Match is stale): read it again and retry with its new ETag."},
	{cases.ErrInvalidTransition, fiber.StatusConflict, "invalid_transition", "The case cannot move to that status."},
	{cases.ErrClockMet, fiber.StatusConflict, "clock_already_met", "This clock is already met."},
	{cases.ErrLeadOnly, fiber.StatusForbidden, "forbidden", "Only the case's lead may close or reopen it."},
	{cases.ErrClosed, fiber.StatusConflict, "case_closed",
		"The case is closed: a lead reopens it (a transition to investigating) before anything new is added. Custody steps on its evidence go on."},
	{alerts.ErrNotFound, fiber.StatusNotFound, "not_found", "No such resource."},
	{reports.ErrNotFound, fiber.StatusNotFound, "not_found", "No such resource."},
	{access.ErrSelfApproval, fiber.StatusForbidden, "self_approval",
		"An alert about you is approved by another lead of the case (or, where it has none, an admin)."},
	{evidence.ErrSelfConfirmation, fiber.StatusForbidden, "self_confirmation",
		"A disposal is confirmed by another lead of the case than the one who proposed it."},
	{access.ErrForbidden, fiber.StatusForbidden, "forbidden", "You may not do this."},
	{access.ErrConflict, fiber.StatusConflict, "conflict", "The request conflicts with the current state."},
	{cases.ErrSuperseded, fiber.StatusConflict, "superseded",
		"This version of the event has already been corrected; correct the current version."},
}

// problemFor is the one place that turns an error into its HTTP answer.
// An error it does not know is an internal failure: the client gets a
// generic 500 and the log gets the error.
func problemFor(err error) (problem, bool) {
	var pe *problemError
	if errors.As(err, &pe) {
		return pe.p, true
	}
	var invalid *validate.Error
	if errors.As(err, &invalid) {
		p := problem{Status: fiber.StatusBadRequest, Code: "invalid_input", Detail: "Some fields are invalid; see errors."}
		for _, f := range invalid.Fields {
			p.Errors = append(p.Errors, fieldError{Field: f.Field, Message: f.Message})
		}
		return p, true
	}
	var mismatch *evidence.HashMismatchError
	if errors.As(err, &mismatch) {
		return problem{Status: fiber.StatusUnprocessableEntity, Code: "hash_mismatch",
			Detail: fmt.Sprintf("The content's %s is %s, not the %s declared at registration. Nothing was kept; the rejection is on the item's custody record.",
				mismatch.Algorithm, mismatch.Received, mismatch.Declared)}, true
	}
	if p, ok := importProblem(err); ok {
		return p, true
	}
	var limited *access.RateLimitedError
	if errors.As(err, &limited) {
		secs := int(limited.RetryAfter.Seconds())
		return problem{Status: fiber.StatusTooManyRequests, Code: "rate_limited",
			Detail:  "Too many failed sign-ins; try again later.",
			headers: map[string]string{fiber.HeaderRetryAfter: strconv.Itoa(secs)}}, true
	}
	var integrity *evidence.IntegrityError
	if errors.As(err, &integrity) {
		detail := "The item's stored content is missing from the evidence store."
		if integrity.Result != "missing" {
			detail = "The item's stored content is not what was recorded: it was changed or replaced in the evidence store."
		}
		return problem{Status: fiber.StatusConflict, Code: "content_" + integrity.Result,
			Detail: detail + " Nothing was sent; the finding is on the item's custody record and an alert was raised."}, true
	}
	if errors.Is(err, access.ErrPasswordBusy) {
		return problem{Status: fiber.StatusServiceUnavailable, Code: "busy",
			Detail:  "Bevis is checking as many passwords as it can at once; try again in a moment.",
			headers: map[string]string{fiber.HeaderRetryAfter: "1"}}, true
	}
	var throttled *alerts.ThrottledError
	if errors.As(err, &throttled) {
		secs := max(int(throttled.RetryAfter.Seconds()), 1)
		return problem{Status: fiber.StatusTooManyRequests, Code: "download_throttled",
			Detail: "You have downloaded more evidence than BEVIS_DOWNLOAD_HARD_LIMIT allows in the window; " +
				"a lead of the case can approve the alert raised, or try again later.",
			headers: map[string]string{fiber.HeaderRetryAfter: strconv.Itoa(secs)}}, true
	}
	for _, d := range domainErrors {
		if errors.Is(err, d.err) {
			p := problem{Status: d.status, Code: d.code, Detail: d.detail}
			var conflict *access.ConflictError
			if errors.As(err, &conflict) && conflict.Reason != "" {
				p.Detail = strings.ToUpper(conflict.Reason[:1]) + conflict.Reason[1:] + "."
			}
			var transition *cases.TransitionError
			if errors.As(err, &transition) {
				p.Detail = strings.ToUpper(transition.Error()[:1]) + transition.Error()[1:] + "."
			}
			switch d.status {
			case fiber.StatusUnauthorized:
				p.headers = map[string]string{fiber.HeaderWWWAuthenticate: `Bearer realm="bevis"`}
			case fiber.StatusServiceUnavailable:
				p.headers = map[string]string{fiber.HeaderRetryAfter: "30"}
			case fiber.StatusLocked:
				p.headers = map[string]string{fiber.HeaderRetryAfter: "5"}
			}
			return p, true
		}
	}
	if backend, _ := backendFault(err); backend == backendDatabase {
		return problem{Status: fiber.StatusServiceUnavailable, Code: "database_unavailable",
			Detail: "The database cannot be reached or is busy; the request may not have been carried out. Try again shortly."}, true
	}
	var fe *fiber.Error
	if errors.As(err, &fe) && fe.Code == fiber.StatusRequestHeaderFieldsTooLarge {
		// Headers past the read buffer are never parsed, so no credentials
		// were read: the request is unauthenticated, as with any bad token.
		return problem{Status: fiber.StatusUnauthorized, Code: "unauthenticated",
			Detail:  "The request's headers are larger than Bevis reads (16 KiB), so its credentials were not read.",
			headers: map[string]string{fiber.HeaderWWWAuthenticate: `Bearer realm="bevis"`}}, true
	}
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

// Backends whose faults are counted in /metrics.
const (
	backendDatabase      = "database"
	backendEvidenceStore = "evidence_store"
)

// backendFault names the backend and the kind of a transient fault err
// comes from (the database's kinds are internal/db's), or "" for none.
func backendFault(err error) (backend, kind string) {
	if kind := db.Fault(err); kind != "" {
		return backendDatabase, kind
	}
	if errors.Is(err, evidence.ErrStoreUnavailable) {
		return backendEvidenceStore, "unavailable"
	}
	return "", ""
}

// errorHandler writes every error as application/problem+json, and counts
// the faults of the database and the evidence store. Every 503 says when
// to try again.
func errorHandler(log *slog.Logger, m *metrics) fiber.ErrorHandler {
	return func(c *fiber.Ctx, err error) error {
		p, known := problemFor(err)
		if backend, kind := backendFault(err); backend != "" {
			m.backendFault(backend, kind)
			log.WarnContext(c.UserContext(), "backend fault", "backend", backend, "kind", kind, "err", err,
				"request_id", requestID(c), "method", c.Method(), "route", routeOf(c))
		}
		if !known {
			log.ErrorContext(c.UserContext(), "request failed",
				"err", err, "request_id", requestID(c), "method", c.Method(), "route", routeOf(c))
		}
		if p.Status == fiber.StatusServiceUnavailable && p.headers[fiber.HeaderRetryAfter] == "" {
			p.headers = map[string]string{fiber.HeaderRetryAfter: "2"}
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
	for k, v := range p.headers {
		c.Set(k, v)
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Status(p.Status).JSON(p, "application/problem+json")
}

// importProblem answers a timeline import that added nothing: 422 with
// the malformed rows by line, or with why the file could not be read. The
// import record is at Location either way.
func importProblem(err error) (problem, bool) {
	var rejected *cases.ImportRejectedError
	var failed *cases.ImportFailedError
	switch {
	case errors.As(err, &rejected):
		rec := rejected.Record
		p := problem{Status: fiber.StatusUnprocessableEntity, Code: "import_rejected",
			Detail: fmt.Sprintf("Nothing was imported: %d rows are malformed (see errors, by line; at most %d are listed).",
				rec.RowsRejected, cases.MaxReportedRejections),
			headers: map[string]string{fiber.HeaderLocation: importLocation(rec)}}
		for _, r := range rec.Rejections {
			p.Errors = append(p.Errors, fieldError{Field: "line " + strconv.FormatInt(r.Line, 10), Message: r.Reason})
		}
		return p, true
	case errors.As(err, &failed):
		return problem{Status: fiber.StatusUnprocessableEntity, Code: "import_failed",
			Detail:  "Nothing was imported: " + failed.Record.Failure + ".",
			headers: map[string]string{fiber.HeaderLocation: importLocation(failed.Record)}}, true
	}
	return problem{}, false
}
