package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"

	"gorm.io/gorm"

	"github.com/bevis-ir/bevis/access"
	"github.com/bevis-ir/bevis/api"
	"github.com/bevis-ir/bevis/cases"
	"github.com/bevis-ir/bevis/evidence"
	"github.com/bevis-ir/bevis/frontend"
	"github.com/bevis-ir/bevis/internal/config"
	"github.com/bevis-ir/bevis/internal/db"
	"github.com/bevis-ir/bevis/internal/retry"
)

// evidenceStore is what serve needs of a blob store.
type evidenceStore interface {
	Ping(ctx context.Context) error
}

// serve runs Bevis until ctx ends, then shuts down in order: stop
// accepting and drain requests in flight, then close the stores.
func serve(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, ok, err := loadConfig("serve", args, getenv, stdout)
	if !ok {
		return err
	}
	log := newLogger(cfg, stderr)
	log.Info("starting bevis", "version", version, "config", cfg)

	gdb, err := db.Open(ctx, cfg.DatabaseURL, cfg.StartupTimeout, log)
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
	log.Info("database ready", "dialect", db.Dialect(gdb), "migrations_applied", len(applied))

	store, err := openEvidenceStore(ctx, cfg, log)
	if err != nil {
		return err
	}

	deps, err := apiDeps(cfg, gdb, log)
	if err != nil {
		return err
	}
	deps.Evidence, deps.UI = store, frontend.Dist()
	app, err := api.New(deps)
	if err != nil {
		return err
	}
	ln, err := listen(ctx, cfg)
	if err != nil {
		return err
	}
	served := make(chan error, 1)
	go func() { served <- app.Listener(ln) }()
	log.Info("listening", "addr", ln.Addr().String(), "tls", cfg.TLSEnabled())

	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down", "timeout", cfg.ShutdownTimeout.String())
	if err := app.ShutdownWithTimeout(cfg.ShutdownTimeout); err != nil {
		log.Error("requests still in flight at shutdown timeout", "err", err)
	}
	log.Info("stopped")
	return nil
}

// apiDeps builds the domain services the API serves.
func apiDeps(cfg config.Config, gdb *gorm.DB, log *slog.Logger) (api.Deps, error) {
	keys, err := loadSigningKeys(cfg, log)
	if err != nil {
		return api.Deps{}, err
	}
	tokens, err := access.NewTokenIssuer(keys, cfg.TokenIssuer, tokenAudience, access.DefaultAccessTokenTTL)
	if err != nil {
		return api.Deps{}, err
	}
	return api.Deps{
		Config: cfg, DB: gdb, Log: log,
		Directory:   access.NewDirectory(gdb),
		Sessions:    access.NewSessions(gdb, tokens, cfg.SessionTTL),
		Authz:       access.NewAuthorizer(gdb),
		Membership:  access.NewMembership(gdb),
		SigningKeys: keys,
		Cases:       cases.NewStore(gdb),
		Timeline:    cases.NewTimeline(gdb),
	}, nil
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
func openEvidenceStore(ctx context.Context, cfg config.Config, log *slog.Logger) (evidenceStore, error) {
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
