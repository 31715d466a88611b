package api

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/bevis-ir/bevis/internal/db"
)

// healthz answers while the process runs, whatever its dependencies do, so
// an orchestrator restarts only a Bevis that is really stuck.
func (s *server) healthz(c *fiber.Ctx) error {
	return c.JSON(fiber.Map{"status": "ok"})
}

// readyz answers 200 only while the database and the evidence store are
// reachable; a load balancer stops sending work to a node that answers 503.
// It names which dependency failed; the reason goes to the log only.
func (s *server) readyz(c *fiber.Ctx) error {
	checks := map[string]func(context.Context) error{
		"database":       func(ctx context.Context) error { return db.Ping(ctx, s.DB) },
		"evidence_store": s.Evidence.Ping,
	}
	// The fiber.Ctx is not safe for concurrent use: read it before fanning out.
	parent, rid := c.UserContext(), requestID(c)
	results := make(map[string]string, len(checks))
	var mu sync.Mutex
	var wg sync.WaitGroup
	for name, check := range checks {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(parent, 2*time.Second)
			defer cancel()
			state := "ok"
			if err := check(ctx); err != nil {
				state = "unreachable"
				s.Log.Warn("readiness check failed", "check", name, "err", err, "request_id", rid)
			}
			mu.Lock()
			results[name] = state
			mu.Unlock()
		})
	}
	wg.Wait()

	var failed []string
	for _, name := range []string{"database", "evidence_store"} {
		if results[name] != "ok" {
			failed = append(failed, name)
		}
	}
	if len(failed) > 0 {
		p := newProblem(fiber.StatusServiceUnavailable, "not_ready", "Not ready: "+strings.Join(failed, " and ")+" unreachable.")
		p.p.Checks = results
		return p
	}
	return c.JSON(fiber.Map{"status": "ready", "checks": results})
}
