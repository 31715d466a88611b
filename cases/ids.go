package cases

import "github.com/google/uuid"

// newID returns an unguessable, time-ordered ID (UUIDv7).
func newID() string { return uuid.Must(uuid.NewV7()).String() }
