// Package frontend holds the source of the Bevis single-page app and exposes
// its build output to the Go server. `make ui` (npm run build) writes the build
// into dist/, which is embedded here when the binary is compiled.
package frontend

import (
	"embed"
	"io/fs"
)

//go:embed all:dist
var dist embed.FS

var distFS = mustSub(dist, "dist")

// Dist returns the built SPA (the contents of frontend/dist). Before `make ui`
// has run it holds only .gitkeep.
func Dist() fs.FS {
	return distFS
}

func mustSub(fsys fs.FS, dir string) fs.FS {
	sub, err := fs.Sub(fsys, dir)
	if err != nil {
		panic("frontend: " + err.Error()) // impossible: dir is a valid, embedded path
	}
	return sub
}
