// Package validate collects the field errors of one input so a client hears
// about every problem at once. Domain packages return *Error; the API maps
// it to a 400 problem listing the fields.
package validate

import "strings"

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
