// Package testenv hands tests the real services they run against: a fresh
// SQLite database, a fresh PostgreSQL database and a fresh bucket on the test
// S3 server. A service that is not there skips the test with a loud reason,
// except under CI=true, where it fails it: CI must never pass by skipping.
package testenv

import (
	"os"
	"testing"
)

// unavailable reports that a service a test needs is missing. Under CI it is
// a failure; elsewhere the test is skipped with the reason and how to fix it.
func unavailable(t testing.TB, service, reason string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s unavailable under CI=true: %s", service, reason)
	}
	t.Skipf("SKIPPED: %s unavailable (%s); run `make test` to start the test services", service, reason)
}

// env returns the variable's value, or def when it is unset or empty.
func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
