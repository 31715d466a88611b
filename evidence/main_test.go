package evidence

import (
	"os"
	"testing"

	"github.com/bevis-ir/bevis/access"
)

// TestMain makes fixtures hash passwords cheaply: the production argon2id
// parameters keep their own tests in package access.
func TestMain(m *testing.M) {
	access.UseCheapPasswordHashingInTests()
	os.Exit(m.Run())
}
