package api

import (
	"os"
	"testing"

	"github.com/bevis-ir/bevis/access"
	"github.com/bevis-ir/bevis/internal/testenv"
)

// TestMain makes fixtures hash passwords cheaply: the production argon2id
// parameters keep their own tests in package access.
func TestMain(m *testing.M) {
	access.UseCheapPasswordHashingInTests()
	code := m.Run()
	testenv.DropSeeds()
	os.Exit(code)
}
