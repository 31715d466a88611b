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
	checks := []struct {
		name string
		ping func(context.Context) error
	}{
		{"database", func(ctx context.Context) error { return db.Ping(ctx, s.DB) }},
		{"evidence_store", s.Evidence.Ping},
	}
	// The fiber.Ctx is not safe for concurrent use: read it before fanning
	// out. Each check writes only its own slot of errs.
	parent, rid := c.UserContext(), requestID(c)
	errs := make([]error, len(checks))
	var wg sync.WaitGroup
	for i, check := range checks {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(parent, 2*time.Second)
			defer cancel()
			errs[i] = check.ping(ctx)
		})
	}
	wg.Wait()

	results := make(map[string]string, len(checks))
	var failed []string
	for i, check := range checks {
		results[check.name] = "ok"
		if errs[i] != nil {
			results[check.name] = "unreachable"
			failed = append(failed, check.name)
			s.Log.Warn("readiness check failed", "check", check.name, "err", errs[i], "request_id", rid)
		}
	}
	if len(failed) > 0 {
		p := newProblem(fiber.StatusServiceUnavailable, "not_ready", "Not ready: "+strings.Join(failed, " and ")+" unreachable.")
		p.p.Checks = results
		return p
	}
	return c.JSON(fiber.Map{"status": "ready", "checks": results})
}
