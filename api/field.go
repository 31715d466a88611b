package api

import (
	"encoding/json"

	"github.com/bevis-ir/bevis/cases"
)

// field is one field of a partial update: set tells an absent field from
// one sent as null or as its zero value.
type field[T any] struct {
	set bool
	v   T
}

func (f *field[T]) UnmarshalJSON(b []byte) error {
	f.set = true
	return json.Unmarshal(b, &f.v)
}

func opt[T any](f field[T]) cases.Optional[T] { return cases.Optional[T]{Set: f.set, Value: f.v} }
