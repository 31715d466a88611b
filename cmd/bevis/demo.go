package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/bevis-ir/bevis/access"
	"github.com/bevis-ir/bevis/internal/config"
	"github.com/bevis-ir/bevis/internal/db"
)

// demoDownloadLimit is the hard download limit the demo's server runs
// with, so that one analyst's download raises an exfiltration alert.
const demoDownloadLimit = "1MiB"

// demo builds a fictional multi-agency investigation in a fresh data
// folder, through a real Bevis serving it, so that what it leaves is what
// real use would: every change authorized, on the audit log and sealed.
func demo(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stdout)
	dir := fs.String("data-dir", "./demo-data", "the folder to create the demo in; it must not exist or be empty")
	fs.Usage = func() {
		fmt.Fprintln(stdout, "Usage: bevis demo [--data-dir DIR]\n\nCreates a demo investigation in a new data folder, then prints who can sign in.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return &usageError{err.Error()}
	}
	if err := freshDir(*dir); err != nil {
		return err
	}
	// The demo's server sees only these settings, whatever the environment:
	// the demo always builds on SQLite and an evidence folder.
	env := map[string]string{
		"BEVIS_DATA_DIR":            *dir,
		"BEVIS_LOG_FORMAT":          "json",
		"BEVIS_LOG_LEVEL":           "error",
		"BEVIS_DOWNLOAD_HARD_LIMIT": demoDownloadLimit,
	}
	demoEnv := func(k string) string { return env[k] }

	cast := newDemoCast()
	if err := bootstrapDemo(ctx, demoEnv, cast.admin()); err != nil {
		return err
	}
	addr, err := freeLocalAddr(ctx)
	if err != nil {
		return err
	}
	serverCtx, stopServer := context.WithCancel(ctx)
	defer stopServer()
	served := make(chan error, 1)
	go func() { served <- serve(serverCtx, []string{"--listen", addr}, demoEnv, io.Discard, stderr) }()
	base := "http://" + addr
	if err := waitServing(ctx, base, served); err != nil {
		return err
	}

	fmt.Fprintf(stdout, "Building the demo investigation in %s …\n", *dir)
	root := &demoClient{ctx: ctx, base: base, http: &http.Client{Timeout: time.Minute}}
	story, err := runDemoStory(root, cast)
	stopServer()
	if serr := <-served; serr != nil && err == nil {
		err = serr
	}
	if err != nil {
		return err
	}
	story.print(stdout, *dir)
	return nil
}

// freshDir refuses a folder that exists with anything in it: the demo
// never mixes its fiction with real data.
func freshDir(dir string) error {
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil
	case err != nil:
		return err
	case len(entries) > 0:
		return &usageError{fmt.Sprintf("%s is not empty: the demo builds only in a new folder", dir)}
	}
	return nil
}

// bootstrapDemo creates the demo's first agency and its admin, as `bevis
// admin bootstrap` does.
func bootstrapDemo(ctx context.Context, getenv func(string) string, admin demoPerson) error {
	cfg, err := config.Load("demo", nil, getenv, io.Discard)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Clean(cfg.DataDir), 0o700); err != nil {
		return err
	}
	log := newLogger(cfg, io.Discard)
	gdb, err := openMigrated(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer db.Close(gdb)
	_, _, err = access.RunBootstrap(ctx, gdb, access.Bootstrap{Email: admin.email, Name: admin.name,
		AgencyCode: admin.agency, AgencyName: demoAgencyName(admin.agency), AgencyKind: access.AgencyKind(demoAgencyKind(admin.agency)),
		Password: admin.password})
	return err
}

func freeLocalAddr(ctx context.Context) (string, error) {
	ln, err := new(net.ListenConfig).Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := ln.Addr().String()
	return addr, ln.Close()
}

// waitServing waits until the demo's server answers /readyz.
func waitServing(ctx context.Context, base string, served <-chan error) error {
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		select {
		case err := <-served:
			return fmt.Errorf("demo: the server stopped: %w", err)
		default:
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/readyz", nil)
		if err != nil {
			return err
		}
		if resp, err := http.DefaultClient.Do(req); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return errors.New("demo: the server was not ready within a minute")
}

// demoPassword is a password for a demo person: random, shown once.
func demoPassword() string { return rand.Text()[:20] }
