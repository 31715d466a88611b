package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"strings"

	"github.com/gofiber/fiber/v2"
)

// decodeJSON reads one JSON object into dst, strictly: the body must be
// application/json, every field must be known (a client cannot set what it
// does not own, such as an ID or a creator), and nothing may follow it.
// The body is already bounded by limitBody.
func decodeJSON(c *fiber.Ctx, dst any) error {
	mt, _, err := mime.ParseMediaType(c.Get(fiber.HeaderContentType))
	if err != nil || mt != fiber.MIMEApplicationJSON {
		return newProblem(fiber.StatusUnsupportedMediaType, "unsupported_media_type", "Send the body as application/json.")
	}
	dec := json.NewDecoder(bytes.NewReader(c.Body()))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return newProblem(fiber.StatusBadRequest, "invalid_json", jsonErrorDetail(err))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return newProblem(fiber.StatusBadRequest, "invalid_json", "The body must hold exactly one JSON object.")
	}
	return nil
}

// jsonErrorDetail says what is wrong without echoing the input back.
func jsonErrorDetail(err error) string {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return fmt.Sprintf("The body is not valid JSON (at byte %d).", syntax.Offset)
	case errors.As(err, &typ):
		return fmt.Sprintf("Field %q has the wrong type; expected %s.", typ.Field, typ.Type)
	case errors.Is(err, io.EOF):
		return "The body is empty; send a JSON object."
	}
	if field, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return "Unknown field " + field + "; it cannot be set here."
	}
	return "The body is not a valid JSON object for this request."
}
