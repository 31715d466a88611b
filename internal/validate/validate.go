// Package validate collects the field errors of one input so a client hears
// about every problem at once. Domain packages return *Error; the API maps
// it to a 400 problem listing the fields.
package validate

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// FieldError names one invalid input field and why, in words for people.
type FieldError struct {
	Field   string
	Message string
}

// Error is an input that failed validation; nothing was changed.
type Error struct {
	Fields []FieldError
}

func (e *Error) Error() string {
	parts := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		parts[i] = f.Field + ": " + f.Message
	}
	return "invalid input: " + strings.Join(parts, "; ")
}

// Errors gathers field errors while an input is checked.
type Errors struct {
	fields []FieldError
}

// Add records that field is invalid.
func (v *Errors) Add(field, message string) {
	v.fields = append(v.fields, FieldError{Field: field, Message: message})
}

// Check records message for field unless ok.
func (v *Errors) Check(ok bool, field, message string) {
	if !ok {
		v.Add(field, message)
	}
}

// Err returns the collected errors as *Error, or nil when there are none.
func (v *Errors) Err() error {
	if len(v.fields) == 0 {
		return nil
	}
	return &Error{Fields: v.fields}
}

// Field returns a one-field *Error.
func Field(field, message string) error {
	return &Error{Fields: []FieldError{{Field: field, Message: message}}}
}

// Line checks a one-line text field: lo to hi characters of valid UTF-8,
// with no line break and no NUL.
func (v *Errors) Line(field, s string, lo, hi int) {
	n := utf8.RuneCountInString(s)
	v.Check(n >= lo && n <= hi && utf8.ValidString(s) && !strings.ContainsAny(s, "\x00\r\n"), field,
		fmt.Sprintf("must be %d to %d characters on one line", lo, hi))
}

// Text checks a free-text field: at most hi characters of valid UTF-8,
// with no NUL; line breaks are fine.
func (v *Errors) Text(field, s string, hi int) {
	v.Check(utf8.RuneCountInString(s) <= hi && utf8.ValidString(s) && !strings.ContainsRune(s, 0), field,
		fmt.Sprintf("must be at most %d characters", hi))
}
