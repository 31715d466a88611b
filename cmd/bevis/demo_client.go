package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// demoClient calls a running Bevis's API as one person, the way the SPA
// and scripts do, so the demo goes through authorization, the domain code
// and the audit trail like any real use.
type demoClient struct {
	ctx   context.Context
	base  string
	http  *http.Client
	who   string // whose session, for error messages
	token string
}

// demoError is an answer the story did not expect; the demo stops at it.
type demoError struct {
	who, method, path string
	status            int
	body              string
}

func (e *demoError) Error() string {
	return fmt.Sprintf("demo: %s %s as %s: HTTP %d: %s", e.method, e.path, e.who, e.status, strings.TrimSpace(e.body))
}

// signIn signs a person in with their password and returns their client;
// with newPassword set it replaces a one-time password in the same step.
func (c *demoClient) signIn(email, password, newPassword string) (*demoClient, error) {
	var grant struct {
		AccessToken string `json:"access_token"`
	}
	anon := &demoClient{ctx: c.ctx, base: c.base, http: c.http, who: email}
	in := map[string]string{"email": email, "password": password}
	if newPassword != "" {
		in["new_password"] = newPassword
	}
	err := anon.do(http.MethodPost, "/api/v1/auth/login", in, http.StatusOK, &grant)
	if err != nil {
		return nil, err
	}
	anon.token = grant.AccessToken
	return anon, nil
}

// post, put and get send JSON and decode the JSON answer into out (when
// not nil), failing unless the status is want.
func (c *demoClient) post(path string, in any, want int, out any) error {
	return c.do(http.MethodPost, path, in, want, out)
}

func (c *demoClient) put(path string, in any, want int, out any) error {
	return c.do(http.MethodPut, path, in, want, out)
}

func (c *demoClient) get(path string, out any) error {
	return c.do(http.MethodGet, path, nil, http.StatusOK, out)
}

func (c *demoClient) do(method, path string, in any, want int, out any, header ...string) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
		header = append(header, "Content-Type", "application/json")
	}
	return c.send(method, path, body, want, out, header...)
}

// send sends body as it is (for content and imports, with their own
// Content-Type among header).
func (c *demoClient) send(method, path string, body io.Reader, want int, out any, header ...string) error {
	req, err := http.NewRequestWithContext(c.ctx, method, c.base+path, body)
	if err != nil {
		return err
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("demo: %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != want {
		text, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return &demoError{who: c.who, method: method, path: path, status: resp.StatusCode, body: string(text)}
	}
	if out == nil {
		_, err = io.Copy(io.Discard, resp.Body)
		return err
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// caseVersion is a case's current version, for If-Match.
func (c *demoClient) caseVersion(caseID string) (string, error) {
	var k struct {
		Version int64 `json:"version"`
	}
	if err := c.get("/api/v1/cases/"+caseID, &k); err != nil {
		return "", err
	}
	return `"` + strconv.FormatInt(k.Version, 10) + `"`, nil
}

// caseWrite changes the case itself, which needs its current version.
func (c *demoClient) caseWrite(caseID, path string, in any, out any) error {
	etag, err := c.caseVersion(caseID)
	if err != nil {
		return err
	}
	return c.do(http.MethodPost, path, in, http.StatusOK, out, "If-Match", etag)
}

// rfc3339 formats t the way the API takes times.
func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339) }
