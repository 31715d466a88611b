package access

import (
	"context"
	"testing"
	"time"

	"golang.org/x/crypto/argon2"

	"github.com/bevis-ir/bevis/internal/testenv"
)

func newTestSessions(t *testing.T, d testenv.Database) *Sessions {
	t.Helper()
	pem, err := GenerateSigningKeyPEM()
	if err != nil {
		t.Fatal(err)
	}
	keys, err := ParseSigningKeys(pem)
	if err != nil {
		t.Fatal(err)
	}
	tokens, err := NewTokenIssuer(keys, "bevis-test", "bevis-api", DefaultAccessTokenTTL)
	if err != nil {
		t.Fatal(err)
	}
	return NewSessions(d.DB, tokens, 12*time.Hour)
}

func TestLogin_RehashesAStoredHashWeakerThanToday(t *testing.T) {
	for _, d := range testenv.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			ctx := context.Background()
			dir := NewDirectory(d.DB)
			agency, err := dir.CreateAgency(ctx, NewAgency{Code: "AG", Name: "Agency", Kind: "other"})
			if err != nil {
				t.Fatal(err)
			}
			const password = "an older but still good passphrase"
			u, err := dir.CreateUser(ctx, NewUser{AgencyID: agency.ID, Email: "old@bevis.test", Name: "Old", Password: password})
			if err != nil {
				t.Fatal(err)
			}
			// A hash made years ago with weaker parameters.
			weak := passwordParams{memoryKiB: 8 << 10, time: 1, threads: 1}
			salt := []byte("0123456789abcdef")
			old := encodePasswordHash(weak, salt, argon2.IDKey([]byte(password), salt, weak.time, weak.memoryKiB, weak.threads, passwordKeyBytes))
			if err := d.DB.Model(&userRow{}).Where("id = ?", u.ID).Update("password_hash", old).Error; err != nil {
				t.Fatal(err)
			}
			if !NeedsRehash(old) {
				t.Fatal("the weak hash is not weak; the test is broken")
			}

			if _, err := newTestSessions(t, d).Login(ctx, LoginRequest{Email: u.Email, Password: password, ClientIP: "192.0.2.1"}); err != nil {
				t.Fatal(err)
			}
			var stored string
			if err := d.DB.Model(&userRow{}).Where("id = ?", u.ID).Pluck("password_hash", &stored).Error; err != nil {
				t.Fatal(err)
			}
			if stored == old || NeedsRehash(stored) {
				t.Errorf("hash not upgraded: %s", stored)
			}
			if ok, err := VerifyPassword(stored, password); !ok || err != nil {
				t.Errorf("upgraded hash does not verify the password: %v %v", ok, err)
			}
		})
	}
}
