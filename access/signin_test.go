package access

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/argon2"

	"github.com/bevis-ir/bevis/internal/testenv"
)

// withPasswordWork replaces, for one test, the key derivation behind every
// password check and the gate it passes.
func withPasswordWork(t *testing.T, kdf passwordKDF, gate *passwordGate) {
	t.Helper()
	oldKDF, oldGate := deriveKey, passwords
	deriveKey, passwords = kdf, gate
	t.Cleanup(func() { deriveKey, passwords = oldKDF, oldGate })
}

// withCheapPasswords has passwords hashed, for one test, with argon2id's
// smallest parameters, as every other package's tests do: for a test of
// what is counted around the derivations, not of the derivations, which
// at the production parameters cost it a second each under the race
// detector. The stored hash names its parameters, so checks follow.
func withCheapPasswords(t *testing.T) {
	t.Helper()
	old := currentPasswordParams
	currentPasswordParams = cheapPasswordParams
	t.Cleanup(func() { currentPasswordParams = old })
}

func TestLogin_TheFailureLimitHoldsUnderConcurrency(t *testing.T) {
	withCheapPasswords(t)
	for _, d := range testenv.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			ctx := context.Background()
			dir := NewDirectory(d.DB)
			agency, err := dir.CreateAgency(ctx, NewAgency{Code: "AG", Name: "Agency", Kind: "other"})
			if err != nil {
				t.Fatal(err)
			}
			u, err := dir.CreateUser(ctx, NewUser{AgencyID: agency.ID, Email: "target@bevis.test", Name: "Target",
				Password: "the right passphrase"})
			if err != nil {
				t.Fatal(err)
			}
			var derivations atomic.Int64
			counting := func(password, salt []byte, time, memory uint32, threads uint8, keyLen uint32) []byte {
				derivations.Add(1)
				return argon2.IDKey(password, salt, time, memory, threads, keyLen)
			}
			// A gate wide enough to admit every attempt: what is counted here
			// is the limit, not the gate.
			withPasswordWork(t, counting, newPasswordGate(64))
			s := newTestSessions(t, d)

			var wg sync.WaitGroup
			errs := make(chan error, 40)
			for i := range 40 {
				wg.Go(func() {
					_, err := s.Login(ctx, LoginRequest{Email: u.Email, Password: fmt.Sprintf("wrong guess %02d", i),
						ClientIP: fmt.Sprintf("192.0.2.%d", i)})
					errs <- err
				})
			}
			wg.Wait()
			close(errs)
			refused, limited := 0, 0
			for err := range errs {
				var rl *RateLimitedError
				switch {
				case errors.Is(err, ErrUnauthenticated):
					refused++
				case errors.As(err, &rl):
					limited++
				default:
					t.Errorf("an attempt ended with %v", err)
				}
			}
			if n := derivations.Load(); n > maxLoginFailures || refused != maxLoginFailures || limited != 40-maxLoginFailures {
				t.Errorf("40 parallel wrong passwords: %d derivations, %d refused, %d rate-limited; want at most %d derivations",
					n, refused, limited, maxLoginFailures)
			}
			// The account stays locked, even for the right password.
			var rl *RateLimitedError
			if _, err := s.Login(ctx, LoginRequest{Email: u.Email, Password: "the right passphrase", ClientIP: "198.51.100.1"}); !errors.As(err, &rl) {
				t.Errorf("right password after the burst: %v", err)
			}
		})
	}
}

func TestLogin_AnAttemptThatDidNotFailIsNotCounted(t *testing.T) {
	withCheapPasswords(t)
	for _, d := range testenv.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			ctx := context.Background()
			dir := NewDirectory(d.DB)
			agency, err := dir.CreateAgency(ctx, NewAgency{Code: "AG", Name: "Agency", Kind: "other"})
			if err != nil {
				t.Fatal(err)
			}
			u, err := dir.CreateUser(ctx, NewUser{AgencyID: agency.ID, Email: "target@bevis.test", Name: "Target",
				Password: "the right passphrase"})
			if err != nil {
				t.Fatal(err)
			}
			s := newTestSessions(t, d)
			for range maxLoginFailures + 2 {
				if _, err := s.Login(ctx, LoginRequest{Email: u.Email, Password: "the right passphrase", ClientIP: "192.0.2.1"}); err != nil {
					t.Fatalf("a right password: %v", err)
				}
			}
			var left int64
			if err := d.DB.Model(&loginFailureRow{}).Count(&left).Error; err != nil || left != 0 {
				t.Errorf("successful sign-ins left %d failures on record (%v)", left, err)
			}
		})
	}
}

func TestPasswordGate_BoundsDerivationsAndRefusesTheExcessAtOnce(t *testing.T) {
	const cpus = 2
	release := make(chan struct{})
	var running, most atomic.Int64
	blocking := func(password, salt []byte, time, memory uint32, threads uint8, keyLen uint32) []byte {
		n := running.Add(1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		<-release
		running.Add(-1)
		return make([]byte, keyLen)
	}
	gate := newPasswordGate(cpus)
	gate.wait = time.Minute // waiting callers would wait long: the excess must not
	withPasswordWork(t, blocking, gate)
	stored := dummyPasswordHash()

	results := make(chan error, 40)
	for range 40 {
		go func() {
			_, err := VerifyPassword(stored, "a password being guessed")
			results <- err
		}()
	}
	// While the admitted derivations are held, everyone past the queue has
	// already been answered.
	admitted := cap(gate.queue)
	for i := range 40 - admitted {
		select {
		case err := <-results:
			if !errors.Is(err, ErrPasswordBusy) {
				t.Fatalf("refusal %d: %v, want ErrPasswordBusy", i, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("only %d of %d excess attempts were refused while the gate was full", i, 40-admitted)
		}
	}
	if most.Load() != cpus {
		t.Errorf("%d derivations ran at once, want %d", most.Load(), cpus)
	}
	close(release)
	for range admitted {
		if err := <-results; err != nil {
			t.Errorf("an admitted check: %v", err)
		}
	}
	if most.Load() > cpus {
		t.Errorf("%d derivations ran at once, want at most %d", most.Load(), cpus)
	}

	// A caller queued longer than the gate's wait is refused then.
	hold := make(chan struct{})
	gate = newPasswordGate(1)
	gate.wait = 50 * time.Millisecond
	withPasswordWork(t, func(password, salt []byte, time, memory uint32, threads uint8, keyLen uint32) []byte {
		<-hold
		return make([]byte, keyLen)
	}, gate)
	first := make(chan error, 1)
	go func() { _, err := VerifyPassword(stored, "x"); first <- err }()
	for len(gate.running) == 0 {
		time.Sleep(time.Millisecond)
	}
	if _, err := VerifyPassword(stored, "y"); !errors.Is(err, ErrPasswordBusy) {
		t.Errorf("a caller waiting past the gate's wait: %v", err)
	}
	close(hold)
	if err := <-first; err != nil {
		t.Error(err)
	}
}

func TestAPIToken_UnderRequireMFAOnlyAfterEnrolmentOrSingleSignOn(t *testing.T) {
	for _, d := range testenv.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			ctx := context.Background()
			dir := NewDirectory(d.DB)
			agency, err := dir.CreateAgency(ctx, NewAgency{Code: "AG", Name: "Agency", Kind: "other", RequireMFA: true})
			if err != nil {
				t.Fatal(err)
			}
			u, err := dir.CreateUser(ctx, NewUser{AgencyID: agency.ID, Email: "sso@bevis.test", Name: "Signed in elsewhere"})
			if err != nil {
				t.Fatal(err)
			}
			s := newTestSessions(t, d)
			authz := NewAuthorizer(d.DB)
			scopes := NewAPIToken{Name: "export", Scopes: []Action{ActionCaseList}, ExpiresAt: time.Now().Add(time.Hour)}
			for method, confined := range map[string]bool{methodSSO: false, methodPassword: true} {
				g, err := s.open(ctx, u, method, "192.0.2.1", "test")
				if err != nil {
					t.Fatal(err)
				}
				p := Principal{UserID: u.ID, AgencyID: u.AgencyID, SystemRole: u.SystemRole, SessionID: g.SessionID}
				_, secret, err := s.CreateAPIToken(ctx, authz, p, scopes)
				if err != nil {
					t.Fatal(err)
				}
				tp, err := s.Authenticate(ctx, secret, "192.0.2.1")
				if err != nil {
					t.Fatal(err)
				}
				if tp.MFAEnrolmentRequired != confined {
					t.Errorf("a token made in a %s session: confined %v, want %v", method, tp.MFAEnrolmentRequired, confined)
				}
				if err := authz.Authorize(ctx, tp, ActionCaseList, Resource{}); (err != nil) != confined {
					t.Errorf("a token made in a %s session lists cases: %v", method, err)
				}
			}
		})
	}
}
