package main

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestAdmin_BootstrapOnceThenFirstSignInMustChangeThePassword(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"BEVIS_DATA_DIR": dir}
	getenv := func(k string) string { return env[k] }
	ctx := context.Background()
	args := []string{"admin", "bootstrap", "--email", "Chief@NCSC.example", "--name", "Kari Nordmann",
		"--agency-code", "ncsc", "--agency-name", "National Cyber Coordination Centre", "--agency-kind", "cert"}

	var out strings.Builder
	if err := run(ctx, args, getenv, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	line := out.String()[strings.Index(out.String(), "one-time password"):]
	oneTime := strings.TrimSpace(line[strings.LastIndex(line, " "):])
	if len(oneTime) < 20 {
		t.Fatalf("no one-time password in %q", out.String())
	}
	err := run(ctx, args, getenv, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "an admin exists already") || exitCode(err) != 1 {
		t.Errorf("second bootstrap: %v", err)
	}
	if err := run(ctx, []string{"admin", "bootstrap", "--email", "x@y.example"}, getenv, io.Discard, io.Discard); exitCode(err) != 2 {
		t.Errorf("missing flags: %v", err)
	}

	s := startServe(t, env)
	s.waitReady(t, 15*time.Second)
	login := func(body string) int {
		resp, err := http.Post(s.base+"/api/v1/auth/login", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := login(`{"email":"chief@ncsc.example","password":"` + oneTime + `"}`); got != 403 {
		t.Errorf("one-time password without a new one: %d, want 403", got)
	}
	if got := login(`{"email":"chief@ncsc.example","password":"` + oneTime + `","new_password":"short"}`); got != 400 {
		t.Errorf("too short a new password: %d, want 400", got)
	}
	if got := login(`{"email":"chief@ncsc.example","password":"` + oneTime + `","new_password":"a long and uncommon passphrase"}`); got != 200 {
		t.Errorf("with a new password: %d, want 200", got)
	}
	if got := login(`{"email":"chief@ncsc.example","password":"` + oneTime + `"}`); got != 401 {
		t.Errorf("the one-time password after the change: %d, want 401", got)
	}
	s.stop(t)
}
