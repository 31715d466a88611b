// Package api is Bevis's HTTP transport: the Fiber app, its route table,
// middleware, handlers and the single mapping from errors to RFC 9457
// problems. Domain packages know nothing of it.
package api

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/cors"
	"github.com/prometheus/client_golang/prometheus"
	"gorm.io/gorm"

	"github.com/bevis-ir/bevis/access"
	"github.com/bevis-ir/bevis/alerts"
	"github.com/bevis-ir/bevis/audit"
	"github.com/bevis-ir/bevis/cases"
	"github.com/bevis-ir/bevis/evidence"
	"github.com/bevis-ir/bevis/internal/config"
	"github.com/bevis-ir/bevis/reports"
)

// Deps is what the API needs from the rest of Bevis.
type Deps struct {
	Config   config.Config
	DB       *gorm.DB
	Evidence pinger
	Log      *slog.Logger
	UI       fs.FS // the built SPA; see frontend.Dist

	Directory   *access.Directory
	Sessions    *access.Sessions
	Authz       *access.Authorizer
	Membership  *access.Membership
	SigningKeys *access.SigningKeys
	SSO         *access.SSO
	Cases       *cases.Store
	Tasks       *cases.Tasks
	Items       *evidence.Items
	Uploads     *evidence.Uploads
	Content     *evidence.Content
	Audit       auditRecorder // an *audit.Writer
	// AuditKeys verify the checkpoints of the audit log (the current
	// signing key and the older ones of BEVIS_AUDIT_KEY_FILE).
	AuditKeys   audit.Keys
	Timeline    *cases.Timeline
	Setup       *access.Setup
	Alerts      *alerts.Engine
	Reports     *reports.Store
	StoreStatus storeStatus // the lock probe's last verdict, for /metrics; may be nil
	// Collectors are more series for /metrics: what this node does for
	// the cluster (see cmd/bevis).
	Collectors []prometheus.Collector
}

// storeStatus says whether the evidence store was last found weak: able to
// let Bevis's own credentials destroy evidence.
type storeStatus interface {
	Weak() bool
}

// auditRecorder puts entries on the audit log.
type auditRecorder interface {
	Record(ctx context.Context, e audit.Entry) error
}

// pinger is a dependency /readyz checks.
type pinger interface {
	Ping(ctx context.Context) error
}

type server struct {
	Deps
	metrics *metrics
	// auditActions are the action names the audit log can hold, for its
	// action filter (see knownAuditActions).
	auditActions map[string]bool
}

// route is one entry of the route table. Every route the API serves is
// declared here and only here, so the OpenAPI test and the middleware see
// the same list.
type route struct {
	method, path string
	handler      fiber.Handler
	// public routes answer without a signed-in caller; every other route
	// requires one, and its handler asks Authorize before anything else.
	public bool
	// streamsBody marks a route that reads its request body as a stream
	// under limits of its own (evidence uploads, imports); every other
	// route gets the general body limit.
	streamsBody bool
	// idempotent marks a route that creates something: it takes an
	// Idempotency-Key, so that a retry gets the first answer again
	// instead of creating a second object (see idempotency.go).
	idempotent bool
	// ticketed marks a download a browser follows as a plain link: it may
	// authenticate with a download ticket in its URL instead of a bearer
	// token (see download_tickets.go).
	ticketed bool
}

func (s *server) routes() []route {
	return []route{
		{method: fiber.MethodGet, path: "/healthz", handler: s.healthz, public: true},
		{method: fiber.MethodGet, path: "/readyz", handler: s.readyz, public: true},
		{method: fiber.MethodGet, path: "/metrics", handler: s.metrics.handler(), public: true},
		{method: fiber.MethodGet, path: "/api/v1/openapi.json", handler: serveOpenAPI, public: true},
		{method: fiber.MethodGet, path: "/.well-known/jwks.json", handler: s.jwks, public: true},

		{method: fiber.MethodGet, path: "/api/v1/setup", handler: s.setupStatus, public: true},
		{method: fiber.MethodPost, path: "/api/v1/setup", handler: s.completeSetup, public: true},
		{method: fiber.MethodPost, path: "/api/v1/auth/login", handler: s.login, public: true},
		{method: fiber.MethodPost, path: "/api/v1/auth/refresh", handler: s.refresh, public: true},
		{method: fiber.MethodPost, path: "/api/v1/auth/logout", handler: s.logout, public: true},
		{method: fiber.MethodGet, path: "/api/v1/auth/sso/agencies", handler: s.ssoAgencies, public: true},
		{method: fiber.MethodGet, path: "/api/v1/auth/sso/:agencyCode/start", handler: s.ssoStart, public: true},
		{method: fiber.MethodGet, path: "/api/v1/auth/sso/callback", handler: s.ssoCallback, public: true},
		{method: fiber.MethodGet, path: "/api/v1/me", handler: s.me},
		{method: fiber.MethodPatch, path: "/api/v1/me", handler: s.patchMe},
		{method: fiber.MethodGet, path: "/api/v1/me/mfa", handler: s.getMFA},
		{method: fiber.MethodPost, path: "/api/v1/me/mfa/totp", handler: s.startTOTP},
		{method: fiber.MethodPost, path: "/api/v1/me/mfa/totp/confirm", handler: s.confirmTOTP},
		{method: fiber.MethodPost, path: "/api/v1/me/mfa/recovery-codes", handler: s.newRecoveryCodes},
		{method: fiber.MethodPost, path: "/api/v1/me/mfa/disable", handler: s.disableMFA},
		{method: fiber.MethodGet, path: "/api/v1/tokens", handler: s.listTokens},
		{method: fiber.MethodPost, path: "/api/v1/tokens", handler: s.createToken, idempotent: true},
		{method: fiber.MethodDelete, path: "/api/v1/tokens/:id", handler: s.revokeToken},

		{method: fiber.MethodGet, path: "/api/v1/agencies", handler: s.listAgencies},
		{method: fiber.MethodPost, path: "/api/v1/agencies", handler: s.createAgency, idempotent: true},
		{method: fiber.MethodGet, path: "/api/v1/agencies/:id", handler: s.getAgency},
		{method: fiber.MethodPatch, path: "/api/v1/agencies/:id", handler: s.patchAgency},
		{method: fiber.MethodGet, path: "/api/v1/agencies/:id/sso", handler: s.getSSO},
		{method: fiber.MethodPut, path: "/api/v1/agencies/:id/sso", handler: s.putSSO},
		{method: fiber.MethodPost, path: "/api/v1/agencies/:id/sso/test", handler: s.testSSO},
		{method: fiber.MethodGet, path: "/api/v1/users", handler: s.listUsers},
		{method: fiber.MethodPost, path: "/api/v1/users", handler: s.createUser, idempotent: true},
		{method: fiber.MethodGet, path: "/api/v1/users/:id", handler: s.getUser},
		{method: fiber.MethodPatch, path: "/api/v1/users/:id", handler: s.patchUser},
		{method: fiber.MethodDelete, path: "/api/v1/users/:id/mfa", handler: s.resetUserMFA},

		{method: fiber.MethodGet, path: "/api/v1/cases", handler: s.listCases},
		{method: fiber.MethodPost, path: "/api/v1/cases", handler: s.createCase, idempotent: true},
		{method: fiber.MethodGet, path: "/api/v1/cases/:id", handler: s.getCase},
		{method: fiber.MethodPatch, path: "/api/v1/cases/:id", handler: s.patchCase},
		{method: fiber.MethodPost, path: "/api/v1/cases/:id/transitions", handler: s.transitionCase},
		{method: fiber.MethodGet, path: "/api/v1/cases/:id/history", handler: s.caseHistory},
		{method: fiber.MethodPost, path: "/api/v1/cases/:id/clocks/:clock/met", handler: s.meetClock},
		{method: fiber.MethodGet, path: "/api/v1/cases/:id/members", handler: s.listMembers},
		{method: fiber.MethodPut, path: "/api/v1/cases/:id/members/agencies/:agencyId", handler: s.putAgencyMember},
		{method: fiber.MethodDelete, path: "/api/v1/cases/:id/members/agencies/:agencyId", handler: s.deleteAgencyMember},
		{method: fiber.MethodPut, path: "/api/v1/cases/:id/members/users/:userId", handler: s.putUserMember},
		{method: fiber.MethodDelete, path: "/api/v1/cases/:id/members/users/:userId", handler: s.deleteUserMember},
		{method: fiber.MethodPut, path: "/api/v1/cases/:id/members/exclusions/:userId", handler: s.putExclusion},
		{method: fiber.MethodDelete, path: "/api/v1/cases/:id/members/exclusions/:userId", handler: s.deleteExclusion},

		{method: fiber.MethodGet, path: "/api/v1/cases/:id/evidence", handler: s.listItems},
		{method: fiber.MethodPost, path: "/api/v1/cases/:id/evidence", handler: s.registerItem, idempotent: true},
		{method: fiber.MethodGet, path: "/api/v1/evidence/:id", handler: s.getItem},
		{method: fiber.MethodGet, path: "/api/v1/evidence/:id/custody", handler: s.getCustody},
		{method: fiber.MethodPost, path: "/api/v1/evidence/:id/custody", handler: s.recordCustody, idempotent: true},
		{method: fiber.MethodPut, path: "/api/v1/evidence/:id/content", handler: s.putContent, streamsBody: true},
		{method: fiber.MethodGet, path: "/api/v1/evidence/:id/content", handler: s.getContent, ticketed: true},
		{method: fiber.MethodPost, path: "/api/v1/evidence/:id/download-tickets", handler: s.issueDownloadTicket},
		{method: fiber.MethodPost, path: "/api/v1/evidence/:id/verify", handler: s.verifyItem, idempotent: true},
		{method: fiber.MethodGet, path: "/api/v1/evidence/:id/report", handler: s.getReport},
		{method: fiber.MethodGet, path: "/api/v1/evidence/:id/lineage", handler: s.getLineage},
		{method: fiber.MethodGet, path: "/api/v1/cases/:id/evidence/manifest", handler: s.getManifest},
		{method: fiber.MethodGet, path: "/api/v1/cases/:id/evidence/report", handler: s.getCaseReport},
		{method: fiber.MethodOptions, path: "/api/v1/evidence/:id/uploads", handler: s.tusOptions, public: true},
		{method: fiber.MethodPost, path: "/api/v1/evidence/:id/uploads", handler: s.createUpload, idempotent: true},
		{method: fiber.MethodHead, path: "/api/v1/uploads/:uploadId", handler: s.headUpload},
		{method: fiber.MethodPatch, path: "/api/v1/uploads/:uploadId", handler: s.patchUpload, streamsBody: true},
		{method: fiber.MethodDelete, path: "/api/v1/uploads/:uploadId", handler: s.deleteUpload},
		{method: fiber.MethodGet, path: "/api/v1/cases/:id/uploads", handler: s.listUploads},

		{method: fiber.MethodGet, path: "/api/v1/templates", handler: s.listTemplates},
		{method: fiber.MethodPost, path: "/api/v1/templates", handler: s.saveTemplate, idempotent: true},
		{method: fiber.MethodGet, path: "/api/v1/templates/:id", handler: s.getTemplate},
		{method: fiber.MethodPut, path: "/api/v1/templates/:id", handler: s.saveTemplate},
		{method: fiber.MethodDelete, path: "/api/v1/templates/:id", handler: s.deleteTemplate},

		{method: fiber.MethodGet, path: "/api/v1/audit", handler: s.listAudit},
		{method: fiber.MethodGet, path: "/api/v1/audit/actions", handler: s.listAuditActions},
		{method: fiber.MethodGet, path: "/api/v1/audit/export", handler: s.exportAudit},
		{method: fiber.MethodGet, path: "/api/v1/audit/checkpoints", handler: s.auditCheckpoints},
		{method: fiber.MethodGet, path: "/api/v1/audit/verification", handler: s.verifyAudit},
		{method: fiber.MethodGet, path: "/api/v1/evidence/:id/access", handler: s.itemAccess},

		{method: fiber.MethodGet, path: "/api/v1/tasks", handler: s.listMyTasks},
		{method: fiber.MethodGet, path: "/api/v1/cases/:id/tasks", handler: s.listCaseTasks},
		{method: fiber.MethodPost, path: "/api/v1/cases/:id/tasks", handler: s.createTask, idempotent: true},
		{method: fiber.MethodGet, path: "/api/v1/cases/:id/tasks/:taskId", handler: s.getTask},
		{method: fiber.MethodPatch, path: "/api/v1/cases/:id/tasks/:taskId", handler: s.patchTask},
		{method: fiber.MethodPost, path: "/api/v1/cases/:id/tasks/:taskId/acknowledge", handler: s.acknowledgeTask},
		{method: fiber.MethodPost, path: "/api/v1/cases/:id/tasks/:taskId/delegate", handler: s.delegateTask},
		{method: fiber.MethodPost, path: "/api/v1/cases/:id/tasks/:taskId/checklist", handler: s.addChecklistItem, idempotent: true},
		{method: fiber.MethodPatch, path: "/api/v1/cases/:id/tasks/:taskId/checklist/:itemId", handler: s.patchChecklistItem},
		{method: fiber.MethodGet, path: "/api/v1/cases/:id/tasks/:taskId/comments", handler: s.listComments},
		{method: fiber.MethodPost, path: "/api/v1/cases/:id/tasks/:taskId/comments", handler: s.createComment, idempotent: true},
		{method: fiber.MethodGet, path: "/api/v1/cases/:id/comments", handler: s.listComments},
		{method: fiber.MethodPost, path: "/api/v1/cases/:id/comments", handler: s.createComment, idempotent: true},
		// The imports, ttp and histogram routes come before /timeline/:eventId, which would match them.
		{method: fiber.MethodGet, path: "/api/v1/cases/:id/timeline", handler: s.listTimeline},
		{method: fiber.MethodPost, path: "/api/v1/cases/:id/timeline", handler: s.addTimelineEvent, idempotent: true},
		{method: fiber.MethodGet, path: "/api/v1/cases/:id/timeline/imports", handler: s.listTimelineImports},
		{method: fiber.MethodPost, path: "/api/v1/cases/:id/timeline/imports", handler: s.importTimeline, streamsBody: true},
		{method: fiber.MethodGet, path: "/api/v1/cases/:id/timeline/imports/:importId", handler: s.getTimelineImport},
		{method: fiber.MethodGet, path: "/api/v1/cases/:id/timeline/ttp", handler: s.timelineTTP},
		{method: fiber.MethodGet, path: "/api/v1/cases/:id/timeline/histogram", handler: s.timelineHistogram},
		{method: fiber.MethodGet, path: "/api/v1/cases/:id/timeline/:eventId", handler: s.getTimelineEvent},
		{method: fiber.MethodGet, path: "/api/v1/cases/:id/timeline/:eventId/history", handler: s.timelineHistory},
		{method: fiber.MethodPost, path: "/api/v1/cases/:id/timeline/:eventId/corrections", handler: s.correctTimelineEvent, idempotent: true},

		{method: fiber.MethodGet, path: "/api/v1/portfolio", handler: s.getPortfolio},
		{method: fiber.MethodGet, path: "/api/v1/cases/:id/sitrep", handler: s.getSitrep},
		{method: fiber.MethodGet, path: "/api/v1/cases/:id/sitreps", handler: s.listSitreps},
		{method: fiber.MethodPost, path: "/api/v1/cases/:id/sitreps", handler: s.issueSitrep, idempotent: true},
		{method: fiber.MethodGet, path: "/api/v1/cases/:id/sitreps/:number", handler: s.getIssuedSitrep},

		{method: fiber.MethodGet, path: "/api/v1/alerts", handler: s.listAlerts},
		{method: fiber.MethodPost, path: "/api/v1/alerts/:id/acknowledge", handler: s.acknowledgeAlert},
		{method: fiber.MethodPost, path: "/api/v1/alerts/:id/approve", handler: s.approveAlert},
	}
}

// New builds the Fiber app serving the API, the metrics and the SPA.
func New(d Deps) (*fiber.App, error) {
	sqlDB, err := d.DB.DB()
	if err != nil {
		return nil, err
	}
	if d.Audit == nil {
		return nil, errors.New("api: no audit writer: every request of case data must be recorded")
	}
	s := &server{Deps: d, metrics: newMetrics(sqlDB, d.Collectors...)}
	if d.StoreStatus != nil {
		s.metrics.watchStore(d.StoreStatus)
	}
	cfg := d.Config
	app := fiber.New(fiber.Config{
		AppName:               "bevis",
		DisableStartupMessage: true,
		ErrorHandler:          errorHandler(d.Log, s.metrics),
		StreamRequestBody:     true,
		// fasthttp would otherwise read a multipart body in full, to memory
		// and temporary files, before any handler could refuse it.
		DisablePreParseMultipartForm: true,
		BodyLimit:                    int(cfg.BodyLimit),
		ReadBufferSize:               16 << 10, // bounds the request line and headers
		ReadTimeout:                  cfg.ReadTimeout,
		WriteTimeout:                 cfg.WriteTimeout,
		IdleTimeout:                  cfg.IdleTimeout,
		// Forwarded headers are believed only from trusted proxies; the
		// client address is withClientAddress's to find, not Fiber's
		// (whose c.IP() would take the leftmost, forgeable address).
		EnableTrustedProxyCheck: len(cfg.TrustedProxies) > 0,
		TrustedProxies:          cfg.TrustedProxies,
	})

	app.Use(withClientAddress(parseTrustedProxies(cfg.TrustedProxies)), withRequestID, observe(d.Log, s.metrics),
		recoverPanics(d.Log), securityHeaders(cfg.HTTPS()))
	if len(cfg.CORSOrigins) > 0 {
		app.Use(cors.New(cors.Config{
			AllowOrigins:     strings.Join(cfg.CORSOrigins, ","),
			AllowCredentials: true,
			AllowHeaders:     "Authorization, Content-Type, If-Match, X-Request-ID, Idempotency-Key",
			ExposeHeaders:    "ETag, Location, Retry-After, X-Request-ID, Idempotent-Replayed",
			MaxAge:           600,
		}))
	}

	limit := limitBody(cfg.BodyLimit)
	s.auditActions = knownAuditActions(s.routes())
	for _, r := range s.routes() {
		handlers := []fiber.Handler{tagRoute(r.path)}
		if !r.streamsBody {
			handlers = append(handlers, limit)
		}
		if !r.public {
			if r.ticketed {
				handlers = append(handlers, s.requireAuthOrTicket)
			} else {
				handlers = append(handlers, s.requireAuth)
			}
			if r.idempotent {
				handlers = append(handlers, s.idempotent)
			}
			handlers = append(handlers, s.auditTrail(r))
		}
		app.Add(r.method, r.path, append(handlers, r.handler)...)
	}
	// Unknown /api paths are 404 problems whatever the method; the SPA owns
	// every other GET path.
	app.All("/api/*", tagRoute("unmatched"), func(*fiber.Ctx) error { return fiber.ErrNotFound })
	app.Get("/*", tagRoute("spa"), s.spa)
	return app, nil
}

// tagRoute records the route template for logs and metrics.
func tagRoute(path string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		c.Locals(localRoute, path)
		return c.Next()
	}
}
