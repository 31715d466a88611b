package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"gorm.io/gorm"

	"github.com/bevis-ir/bevis/access"
	"github.com/bevis-ir/bevis/alerts"
	"github.com/bevis-ir/bevis/api"
	"github.com/bevis-ir/bevis/audit"
	"github.com/bevis-ir/bevis/cases"
	"github.com/bevis-ir/bevis/evidence"
	"github.com/bevis-ir/bevis/frontend"
	"github.com/bevis-ir/bevis/internal/config"
	"github.com/bevis-ir/bevis/internal/db"
	"github.com/bevis-ir/bevis/internal/period"
	"github.com/bevis-ir/bevis/internal/retry"
	"github.com/bevis-ir/bevis/reports"
)

// checkpointStore keeps each audit checkpoint in the evidence store under
// a legal hold and a COMPLIANCE lock as long as evidence is kept, so that
// nobody, not even with the bucket owner's credentials, can delete or
// overwrite it there before then (a lifted hold leaves the lock).
type checkpointStore struct {
	store     evidence.BlobStore
	retention period.Period
}

func (c checkpointStore) PutLocked(ctx context.Context, key string, data []byte) error {
	lock := &evidence.Retention{Mode: evidence.Compliance, Until: c.retention.After(time.Now())}
	_, err := c.store.Put(ctx, key, bytes.NewReader(data), int64(len(data)), evidence.PutOptions{LegalHold: true, Retention: lock})
	if errors.Is(err, evidence.ErrObjectExists) {
		return nil // written before a restart cut the round short; keys are per seq
	}
	return err
}

// startSequencer runs the audit sequencer until the returned stop is
// called; stop waits for its last round.
func startSequencer(cfg config.Config, signer *audit.Signer, gdb *gorm.DB, store evidence.BlobStore, onSealed func([]audit.Recorded), log *slog.Logger) (seq *audit.Sequencer, stop func(), err error) {
	seq, err = audit.NewSequencer(gdb, audit.SequencerOptions{Signer: signer, Store: checkpointStore{store, cfg.EvidenceRetention}, Log: log,
		OnSealed: onSealed})
	if err != nil {
		return nil, nil, err
	}
	log.Info("audit checkpoints signed", "key_id", signer.KeyID())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := seq.Run(ctx); err != nil {
			log.Error("audit sequencer stopped with an error", "err", err)
		}
	}()
	return seq, func() { cancel(); <-done }, nil
}

// serve runs Bevis until ctx ends, then shuts down in order: stop
// accepting and drain requests in flight, then stop the workers (the audit
// sequencer seals what they recorded), then close the stores.
func serve(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, ok, err := loadConfig("serve", args, getenv, stdout)
	if !ok {
		return err
	}
	log := newLogger(cfg, stderr)
	log.Info("starting bevis", "version", version, "config", cfg)
	tuneGC(getenv, log)

	// The key files are read before waiting for the database, so a wrong
	// one is reported at once; default files made now are written only
	// once every check below has passed.
	var made newKeyFiles
	master, err := stageMasterKeys(cfg, &made, log)
	if err != nil {
		return err
	}
	signingKeys, err := loadSigningKeys(cfg, &made, log)
	if err != nil {
		return err
	}
	auditSigner, auditPEM, err := loadAuditSigner(cfg, &made, log)
	if err != nil {
		return err
	}
	gdb, err := db.OpenSized(ctx, cfg.DatabaseURL, int(cfg.DatabaseConnections), cfg.StartupTimeout, log)
	if err != nil {
		return err
	}
	defer func() {
		if err := db.Close(gdb); err != nil {
			log.Error("close database", "err", err)
		}
	}()
	applied, err := db.Migrate(ctx, gdb, log)
	if err != nil {
		return err
	}
	// Requests find the pool's connections open (see db.Warm).
	if err := db.Warm(ctx, gdb); err != nil {
		return err
	}
	log.Info("database ready", "dialect", db.Dialect(gdb), "migrations_applied", len(applied))

	// A node that could not unwrap every case's data key refuses to start.
	keyring := evidence.NewKeyring(gdb, master)
	if err := checkMasterKeys(ctx, keyring, log); err != nil {
		return err
	}
	// Every node must hold the cluster's token and audit keys.
	err = checkClusterKeys(ctx, gdb, []clusterKeyFile{
		{purpose: "token", env: "BEVIS_TOKEN_KEYS_FILE", path: cfg.TokenKeysFile, fingerprints: signingKeys.KeyIDs()},
		{purpose: "audit", env: "BEVIS_AUDIT_KEY_FILE", path: cfg.AuditKeyFile, fingerprints: auditKeyIDs(auditSigner, auditPEM)},
	}, func() error { return made.write(log) })
	if err != nil {
		return err
	}

	store, err := openEvidenceStore(ctx, cfg, log)
	if err != nil {
		return err
	}
	// A store in which Bevis's own credentials could destroy evidence is
	// refused (unless BEVIS_ALLOW_WEAK_STORE), before anything is served.
	storeHealth := &storeStatus{}
	if err := probeStore(ctx, cfg, store, storeHealth, log); err != nil {
		return err
	}

	engine := alerts.New(gdb, alertOptions(cfg, log))
	defer engine.Stop() // after the sequencer, which feeds it
	sequencer, stopSequencer, err := startSequencer(cfg, auditSigner, gdb, store, engine.Observe, log)
	if err != nil {
		return err
	}
	defer stopSequencer() // also on the error paths below; after the HTTP drain on the normal one

	deps, err := apiDeps(cfg, gdb, signingKeys, log)
	if err != nil {
		return err
	}
	deps.Evidence, deps.UI, deps.Alerts, deps.StoreStatus = store, frontend.Dist(), engine, storeHealth
	node := nodeName()
	jobs, tick := newEvidenceJobs(gdb, node, cfg.VerifyInterval)
	deps.Collectors = clusterCollectors(gdb, node, sequencer, jobs, log)
	if q := db.QueueOf(gdb); q != nil {
		deps.Collectors = append(deps.Collectors, q.Collectors()...)
	}
	deps.Uploads = evidence.NewUploads(gdb, store, keyring, evidence.UploadLimits{MaxSize: cfg.UploadMaxSize,
		CaseQuota: cfg.CaseQuota, Expiry: cfg.UploadExpiry, PartSize: int(cfg.S3.PartSize),
		Lease: cfg.UploadLease},
		evidence.RetentionPolicy{Mode: evidence.RetentionMode(cfg.RetentionMode), Period: cfg.EvidenceRetention})
	deps.Content = evidence.NewContent(gdb, store, keyring)
	deps.Content.ReportIncidentsTo(engine)
	auditWriter := audit.NewWriter(gdb, audit.WriterOptions{})
	defer auditWriter.Close() // also on the error paths below; after the HTTP drain on the normal one
	deps.Audit = auditWriter
	deps.AuditKeys = auditVerifyKeys(auditSigner, auditPEM)
	app, err := api.New(deps)
	if err != nil {
		return err
	}
	ln, err := listen(ctx, cfg)
	if err != nil {
		return err
	}
	// Before serving, so that the first answer from /readyz finds it printed.
	if err := announceSetup(ctx, deps.Setup, cfg, stderr, log); err != nil {
		_ = ln.Close()
		return err
	}
	workers, stopWorkers := context.WithCancel(ctx)
	defer stopWorkers()
	var wg sync.WaitGroup
	wg.Go(func() {
		keepEvidence(workers, jobs, tick, deps.Uploads, deps.Content, store, gdb, cfg.UploadExpiry, cfg.VerifyInterval, log)
	})
	weakStore := make(chan error, 1)
	wg.Go(func() { watchStore(workers, cfg, store, storeHealth, engine, log, weakStore) })
	served := make(chan error, 1)
	go func() { served <- app.Listener(ln) }()
	log.Info("listening", "addr", ln.Addr().String(), "tls", cfg.TLSEnabled(), "node", node)

	var stopped error
	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	case stopped = <-weakStore:
		log.Error("stopping: the daily lock probe found the evidence store weak", "err", stopped)
	}
	log.Info("shutting down", "timeout", cfg.ShutdownTimeout.String())
	if err := app.ShutdownWithTimeout(cfg.ShutdownTimeout); err != nil {
		log.Error("requests still in flight at shutdown timeout", "err", err)
	}
	stopWorkers()
	wg.Wait()
	auditWriter.Close() // commits what the drained requests recorded
	stopSequencer()     // seals what the drained requests recorded and signs the head
	engine.Stop()       // evaluates the last sealed batches; gives the webhook a few seconds
	log.Info("stopped")
	return stopped
}

// announceSetup prints a one-time set-up link while Bevis has no admin, as
// a plain line whatever the log format, so that whoever started it can
// create the first agency and admin in the browser. The log says only that
// set-up is waiting: the link is a credential for an hour.
func announceSetup(ctx context.Context, setup *access.Setup, cfg config.Config, stderr io.Writer, log *slog.Logger) error {
	base, err := url.Parse(cfg.BaseURL())
	if err != nil {
		return fmt.Errorf("set-up link: %w", err)
	}
	token, expires, err := setup.NewLink(ctx, base.Host)
	if err != nil || token == "" {
		return err
	}
	log.Warn("no admin yet: open the set-up link printed on the console to create the first agency and admin",
		"expires_at", expires.Format(time.RFC3339))
	_, err = fmt.Fprintf(stderr, "\nBevis has no admin yet. To set it up, open this link within the hour (it works once, and only at this address):\n\n    %s/setup#%s\n\nOr run `bevis admin bootstrap --help` for a set-up from the command line.\n\n",
		strings.TrimSuffix(cfg.BaseURL(), "/"), token)
	return err
}

// alertOptions are the exfiltration rules' thresholds from the configuration.
func alertOptions(cfg config.Config, log *slog.Logger) alerts.Options {
	a := cfg.Alerts
	return alerts.Options{Window: a.Window, MaxBytes: a.MaxBytes, MaxItems: a.MaxItems, MaxCases: a.MaxCases,
		ReadsWindow: a.ReadsWindow, MaxReads: a.MaxReads, RareHourShare: a.RareHourShare,
		HardLimit: a.DownloadHardLimit, ApprovalTTL: a.ApprovalTTL,
		Webhook: alerts.WebhookOptions{URL: a.WebhookURL, Secret: a.WebhookSecret}, Log: log}
}

// apiDeps builds the domain services the API serves.
func apiDeps(cfg config.Config, gdb *gorm.DB, keys *access.SigningKeys, log *slog.Logger) (api.Deps, error) {
	tokens, err := access.NewTokenIssuer(keys, cfg.TokenIssuer, tokenAudience, access.DefaultAccessTokenTTL)
	if err != nil {
		return api.Deps{}, err
	}
	authz := access.NewAuthorizer(gdb)
	// Changes to access go on the audit log in their own transactions.
	sessions := access.NewSessions(gdb, tokens, cfg.SessionTTL)
	sessions.RecordChangesWith(audit.Change)
	directory := access.NewDirectory(gdb)
	directory.RecordChangesWith(audit.Change)
	membership := access.NewMembership(gdb)
	membership.RecordChangesWith(audit.Change)
	sso := access.NewSSO(gdb, sessions)
	sso.RecordChangesWith(audit.Change)
	setup := access.NewSetup(gdb)
	setup.RecordChangesWith(audit.Change)
	rules, err := loadClockRules(cfg)
	if err != nil {
		return api.Deps{}, err
	}
	return api.Deps{
		Config: cfg, DB: gdb, Log: log,
		Directory:   directory,
		Sessions:    sessions,
		SSO:         sso,
		Authz:       authz,
		Membership:  membership,
		SigningKeys: keys,
		Cases:       cases.NewStore(gdb, cases.WithClockRules(rules)),
		Tasks:       cases.NewTasks(gdb, authz),
		Items:       evidence.NewItems(gdb, cfg.EvidenceRetention),
		Timeline:    cases.NewTimeline(gdb),
		Reports:     reports.NewStore(gdb),
		Setup:       setup,
	}, nil
}

// loadClockRules reads BEVIS_CLOCK_RULES_FILE, when set, over the
// built-in GDPR and NIS2 rules.
func loadClockRules(cfg config.Config) (cases.ClockRules, error) {
	if cfg.ClockRulesFile == "" {
		return cases.DefaultClockRules(), nil
	}
	f, err := os.Open(cfg.ClockRulesFile)
	if err != nil {
		return cases.ClockRules{}, fmt.Errorf("BEVIS_CLOCK_RULES_FILE: %w", err)
	}
	defer f.Close()
	rules, err := cases.LoadClockRules(f)
	if err != nil {
		return cases.ClockRules{}, fmt.Errorf("BEVIS_CLOCK_RULES_FILE %s: %w", cfg.ClockRulesFile, err)
	}
	return rules, nil
}

// tokenAudience is the aud of access tokens: they are for this API only.
const tokenAudience = "bevis-api"

func listen(ctx context.Context, cfg config.Config) (net.Listener, error) {
	ln, err := new(net.ListenConfig).Listen(ctx, "tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", cfg.Listen, err)
	}
	if !cfg.TLSEnabled() {
		return ln, nil
	}
	cert, err := tls.LoadX509KeyPair(cfg.TLSCertFile, cfg.TLSKeyFile)
	if err != nil {
		_ = ln.Close()
		return nil, &config.InvalidError{Err: fmt.Errorf("TLS certificate: %w", err)}
	}
	return tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}), nil
}

// openEvidenceStore opens the S3 store when configured, else the folder,
// waiting for an S3 server that is not reachable yet.
func openEvidenceStore(ctx context.Context, cfg config.Config, log *slog.Logger) (evidence.BlobStore, error) {
	if !cfg.S3.Enabled() {
		store, err := evidence.NewFSStore(cfg.EvidenceDir)
		if err != nil {
			return nil, fmt.Errorf("evidence folder: %w", err)
		}
		log.Info("evidence store ready", "kind", "filesystem", "dir", cfg.EvidenceDir)
		return store, nil
	}
	store, err := evidence.NewS3Store(evidence.S3Config{
		Endpoint: cfg.S3.Endpoint, Bucket: cfg.S3.Bucket, Region: cfg.S3.Region, TLS: cfg.S3.TLS,
		AccessKey: cfg.S3.AccessKey, SecretKey: cfg.S3.SecretKey, PartSize: uint64(cfg.S3.PartSize), //nolint:gosec // config bounds it to 5MiB..5GiB
	})
	if err != nil {
		return nil, &config.InvalidError{Err: fmt.Errorf("S3: %w", err)}
	}
	err = retry.Until(ctx, cfg.StartupTimeout, log, "S3 evidence store", func(ctx context.Context) error {
		err := store.EnsureBucket(ctx)
		if err != nil && !errors.Is(err, evidence.ErrStoreUnavailable) {
			return fmt.Errorf("%w: %w", retry.ErrPermanent, err)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	log.Info("evidence store ready", "kind", "s3", "endpoint", cfg.S3.Endpoint, "bucket", cfg.S3.Bucket)
	return store, nil
}
