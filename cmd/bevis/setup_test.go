package main

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestServe_FirstStartPrintsASetupLinkThatCreatesTheAdmin(t *testing.T) {
	dir := t.TempDir()
	s := startServe(t, map[string]string{"BEVIS_DATA_DIR": dir})
	s.waitReady(t, 15*time.Second)

	link := regexp.MustCompile(`(?m)^    (http://[^/\s]+)/setup#([A-Za-z0-9]+)$`).FindStringSubmatch(s.stderr.String())
	if link == nil || link[1] != s.base {
		t.Fatalf("no set-up link for %s on the console:\n%s", s.base, s.stderr.String())
	}
	token := link[2]
	for line := range strings.Lines(s.stderr.String()) {
		if strings.HasPrefix(line, "{") && strings.Contains(line, token) {
			t.Errorf("the set-up token is in a log line: %s", line)
		}
	}
	body := `{"token":"` + token + `","agency":{"code":"NCSC","name":"National Cyber Coordination Centre","kind":"cert"},
		"admin":{"email":"chief@ncsc.example","name":"Kari Nordmann","password":"a long and unusual passphrase"}}`
	resp, err := http.Post(s.base+"/api/v1/setup", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("set-up through the printed link: %d", resp.StatusCode)
	}
	s.stop(t)

	again := startServe(t, map[string]string{"BEVIS_DATA_DIR": dir})
	again.waitReady(t, 15*time.Second)
	if strings.Contains(again.stderr.String(), "/setup#") {
		t.Errorf("a set-up link printed with an admin in place:\n%s", again.stderr.String())
	}
	again.stop(t)
}
