//go:build !unix

package reports

import "time"

// processCPU is not measured here.
func processCPU() time.Duration { return 0 }
