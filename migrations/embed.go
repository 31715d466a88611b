// Package migrations holds the versioned SQL schema of Bevis, one folder per
// database dialect, embedded in the binary. Files are applied in order by
// internal/db, each in its own transaction; a file, once released, is never
// edited: changes come as a new file.
package migrations

import (
	"embed"
	"fmt"
	"io/fs"
)

//go:embed sqlite/*.sql postgres/*.sql
var files embed.FS

// FS returns the migrations of one dialect ("sqlite" or "postgres").
func FS(dialect string) (fs.FS, error) {
	switch dialect {
	case "sqlite", "postgres":
		return fs.Sub(files, dialect)
	}
	return nil, fmt.Errorf("migrations: no migrations for dialect %q", dialect)
}
