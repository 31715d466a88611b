package api

import (
	"bytes"
	"encoding/json"
)

// optional is a JSON field that can be left out, set to null, or set to a
// value: a PATCH must tell "leave as it is" from "clear it".
type optional[T any] struct {
	Set   bool // present in the input, null or not
	Value *T   // nil when the input said null
}

func (o *optional[T]) UnmarshalJSON(b []byte) error {
	o.Set = true
	if bytes.Equal(bytes.TrimSpace(b), []byte("null")) {
		o.Value = nil
		return nil
	}
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	o.Value = &v
	return nil
}
