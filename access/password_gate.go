package access

import (
	"errors"
	"runtime"
	"time"
)

// ErrPasswordBusy refuses to hash or check a password while the process is
// doing as much of that as it allows at once. The API answers 503 with
// Retry-After; nothing was checked, so it is no failed sign-in.
var ErrPasswordBusy = errors.New("access: too many passwords being checked at once; try again shortly")

// passwordGate bounds the key derivations a process runs at once. Each
// takes passwordMemoryKiB of memory and a CPU for some 50 ms, so without a
// bound a burst of sign-ins (40 at once took a server from 88 to 777 MiB)
// takes the memory of the machine. running admits one derivation per CPU;
// queue admits four callers per CPU, those not running waiting for a turn
// for at most wait (waiting costs no memory). Everyone past the queue is
// refused at once: a burst is answered, never piled up.
type passwordGate struct {
	running chan struct{}
	queue   chan struct{}
	wait    time.Duration
}

func newPasswordGate(cpus int) *passwordGate {
	cpus = max(cpus, 1)
	return &passwordGate{running: make(chan struct{}, cpus), queue: make(chan struct{}, 4*cpus), wait: 2 * time.Second}
}

// passwords is the gate every password derivation of this process passes.
var passwords = newPasswordGate(runtime.GOMAXPROCS(0))

// derive runs kdf when the gate admits it, or answers ErrPasswordBusy.
func (g *passwordGate) derive(kdf passwordKDF, password, salt []byte, passes, memory uint32, threads uint8, keyLen uint32) ([]byte, error) {
	select {
	case g.queue <- struct{}{}:
		defer func() { <-g.queue }()
	default:
		return nil, ErrPasswordBusy
	}
	turn := time.NewTimer(g.wait)
	defer turn.Stop()
	select {
	case g.running <- struct{}{}:
		defer func() { <-g.running }()
	case <-turn.C:
		return nil, ErrPasswordBusy
	}
	return kdf(password, salt, passes, memory, threads, keyLen), nil
}
