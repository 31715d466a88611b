package api

import (
	"database/sql"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the Prometheus series of one Bevis process, in a registry of
// its own so that tests can build many apps side by side.
type metrics struct {
	registry *prometheus.Registry
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	// backendErrors counts requests failed by a fault of the database or
	// the evidence store, by kind.
	backendErrors *prometheus.CounterVec
}

func newMetrics(sqlDB *sql.DB, more ...prometheus.Collector) *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bevis_http_requests_total",
			Help: "HTTP requests by method, route template and status code.",
		}, []string{"method", "route", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "bevis_http_request_duration_seconds",
			Help:    "Time to serve HTTP requests, by method and route template.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"method", "route"}),
		backendErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bevis_backend_errors_total",
			Help: "Requests answered 503 for a fault of a backend (database, evidence_store), by kind (connection, timeout, busy, unavailable).",
		}, []string{"backend", "kind"}),
	}
	m.registry.MustRegister(more...)
	m.registry.MustRegister(
		m.requests, m.duration, m.backendErrors,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewDBStatsCollector(sqlDB, "bevis"),
	)
	return m
}

// watchStore exports the lock probe's verdict: 1 while the evidence store
// lets Bevis's own credentials destroy evidence (served only under
// BEVIS_ALLOW_WEAK_STORE, or the filesystem store, which enforces no lock).
func (m *metrics) watchStore(s storeStatus) {
	m.registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "bevis_evidence_store_weak",
		Help: "1 when the evidence store lets Bevis's own credentials shorten a lock, delete a locked version or lift a legal hold, or cannot enforce locks at all (the filesystem store).",
	}, func() float64 {
		if s.Weak() {
			return 1
		}
		return 0
	}))
}

// observe counts one request. The registry keeps its label values for
// good, so none may alias Fiber's request buffers (which the next request
// overwrites): the method is one of the constants, the route a template of
// the route table.
func (m *metrics) observe(method, route string, status int, elapsed time.Duration) {
	method = methodLabel(method)
	m.requests.WithLabelValues(method, route, strconv.Itoa(status)).Inc()
	m.duration.WithLabelValues(method, route).Observe(elapsed.Seconds())
}

// backendFault counts a request failed by a backend's fault; a nil
// metrics (an app of a test) counts nothing.
func (m *metrics) backendFault(backend, kind string) {
	if m != nil {
		m.backendErrors.WithLabelValues(backend, kind).Inc()
	}
}

// methodLabel is the constant naming method, so that the label set stays
// bounded and owns its strings.
func methodLabel(method string) string {
	for _, m := range []string{fiber.MethodGet, fiber.MethodHead, fiber.MethodPost, fiber.MethodPut, fiber.MethodPatch,
		fiber.MethodDelete, fiber.MethodOptions, fiber.MethodConnect, fiber.MethodTrace} {
		if method == m {
			return m
		}
	}
	return "other"
}

func (m *metrics) handler() fiber.Handler {
	return adaptor.HTTPHandler(promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{}))
}
