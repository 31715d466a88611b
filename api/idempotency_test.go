package api

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"gorm.io/gorm"

	"github.com/bevis-ir/bevis/internal/db"
)

const newCaseBody = `{"title":"Second breach","tlp":"AMBER"}`

func countCases(t *testing.T, gdb *gorm.DB, title string) int64 {
	t.Helper()
	var n int64
	if err := gdb.Table("cases").Where("title = ?", title).Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

func TestIdempotencyKey_RetryGetsTheFirstAnswerAndCreatesNothingMore(t *testing.T) {
	t.Parallel()
	for _, dialect := range dialects {
		t.Run(dialect, func(t *testing.T) {
			w := seededWorld(t, dialect)
			lead := w.bearer["lead"]
			key := "01a2370e-4bc5-7964-ac0c-238860a73d35"
			first, firstBody := w.call(t, http.MethodPost, "/api/v1/cases", lead, newCaseBody, "Idempotency-Key", key)
			if first.StatusCode != http.StatusCreated {
				t.Fatalf("first: %d %s", first.StatusCode, firstBody)
			}
			retry, retryBody := w.call(t, http.MethodPost, "/api/v1/cases", lead, newCaseBody, "Idempotency-Key", key)
			if retry.StatusCode != http.StatusCreated || retryBody != firstBody ||
				retry.Header.Get("Location") != first.Header.Get("Location") || retry.Header.Get("ETag") != first.Header.Get("ETag") ||
				retry.Header.Get("Idempotent-Replayed") != "true" {
				t.Fatalf("retry: %d %v %s\nwant the first answer %v %s", retry.StatusCode, retry.Header, retryBody, first.Header, firstBody)
			}
			if n := countCases(t, w.deps.DB, "Second breach"); n != 1 {
				t.Fatalf("%d cases after a retry with the same key, want 1", n)
			}

			// The same key with another body is a mistake of the client's.
			resp, body := w.call(t, http.MethodPost, "/api/v1/cases", lead, `{"title":"Third breach","tlp":"AMBER"}`,
				"Idempotency-Key", key)
			if resp.StatusCode != http.StatusUnprocessableEntity || decodeProblem(t, resp, body).Code != "idempotency_key_reused" {
				t.Fatalf("same key, other body: %d %s", resp.StatusCode, body)
			}
			// Keys are the caller's own: another person's same key is theirs.
			resp, body = w.call(t, http.MethodPost, "/api/v1/cases", w.bearer["investigator"], newCaseBody, "Idempotency-Key", key)
			if resp.StatusCode != http.StatusCreated || resp.Header.Get("Idempotent-Replayed") != "" || body == firstBody {
				t.Fatalf("another caller with the same key: %d %v %s", resp.StatusCode, resp.Header, body)
			}
			// Without a key, a retry creates again, as before.
			if resp, body := w.call(t, http.MethodPost, "/api/v1/cases", lead, newCaseBody); resp.StatusCode != http.StatusCreated {
				t.Fatalf("no key: %d %s", resp.StatusCode, body)
			}
			if n := countCases(t, w.deps.DB, "Second breach"); n != 3 {
				t.Fatalf("%d cases, want 3", n)
			}
			resp, body = w.call(t, http.MethodPost, "/api/v1/cases", lead, newCaseBody, "Idempotency-Key", "short")
			if resp.StatusCode != http.StatusBadRequest || decodeProblem(t, resp, body).Code != "invalid_idempotency_key" {
				t.Fatalf("malformed key: %d %s", resp.StatusCode, body)
			}
		})
	}
}

func TestIdempotencyKey_FailureIsNotKeptAndTheSecretIsNotStoredInClear(t *testing.T) {
	t.Parallel()
	for _, dialect := range dialects {
		t.Run(dialect, func(t *testing.T) {
			w := seededWorld(t, dialect)
			lead := w.bearer["lead"]
			key := "retry-after-a-refusal-0001"
			// Refused input changes nothing, so a corrected retry with the
			// same key runs again.
			resp, body := w.call(t, http.MethodPost, "/api/v1/tokens", lead, `{"name":"ci","scopes":["case.read"]}`,
				"Idempotency-Key", key)
			if resp.StatusCode != http.StatusBadRequest {
				t.Fatalf("token without expiry: %d %s", resp.StatusCode, body)
			}
			tokenBody := `{"name":"ci","scopes":["case.read"],"expires_at":"` +
				time.Now().Add(24*time.Hour).UTC().Format(time.RFC3339) + `"}`
			resp, body = w.call(t, http.MethodPost, "/api/v1/tokens", lead, tokenBody, "Idempotency-Key", key)
			if resp.StatusCode != http.StatusCreated {
				t.Fatalf("corrected retry with the key of a refused request: %d %s", resp.StatusCode, body)
			}
			var tok struct {
				Token string `json:"token"`
			}
			if err := json.Unmarshal([]byte(body), &tok); err != nil || !strings.HasPrefix(tok.Token, "bvt_") {
				t.Fatalf("token answer %s: %v", body, err)
			}
			replay, replayBody := w.call(t, http.MethodPost, "/api/v1/tokens", lead, tokenBody, "Idempotency-Key", key)
			if replay.StatusCode != http.StatusCreated || replayBody != body {
				t.Fatalf("replay: %d %s", replay.StatusCode, replayBody)
			}
			var rows []idempotencyRow
			if err := w.deps.DB.Find(&rows).Error; err != nil {
				t.Fatal(err)
			}
			for _, r := range rows {
				if strings.Contains(string(r.Body), tok.Token) || strings.Contains(r.KeyHash, key) || strings.Contains(r.Headers, tok.Token) {
					t.Fatalf("the stored answer shows the token or the key in clear: %+v", r)
				}
			}
		})
	}
}

func TestIdempotencyKey_RetryWhileTheFirstRunsIs409(t *testing.T) {
	t.Parallel()
	w := seededWorld(t, db.Postgres)
	lead := w.bearer["lead"]
	key := "slow-first-attempt-000001"
	// Hold the case reference counter, so the first request waits inside
	// its transaction with its key claimed.
	ctx := context.Background()
	hold := w.deps.DB.WithContext(ctx).Begin()
	if err := hold.Exec("LOCK TABLE case_reference_counters IN EXCLUSIVE MODE").Error; err != nil {
		t.Fatal(err)
	}
	type answer struct {
		status int
		body   string
	}
	firstDone := make(chan answer, 1)
	go func() {
		resp, body := w.call(t, http.MethodPost, "/api/v1/cases", lead, newCaseBody, "Idempotency-Key", key)
		firstDone <- answer{resp.StatusCode, body}
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var n int64
		if err := w.deps.DB.Table("idempotency_keys").Count(&n).Error; err != nil {
			t.Fatal(err)
		}
		if n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the first request never claimed its key")
		}
		time.Sleep(20 * time.Millisecond)
	}
	resp, body := w.call(t, http.MethodPost, "/api/v1/cases", lead, newCaseBody, "Idempotency-Key", key)
	if resp.StatusCode != http.StatusConflict || decodeProblem(t, resp, body).Code != "idempotency_key_in_use" ||
		resp.Header.Get("Retry-After") == "" {
		t.Fatalf("retry while the first runs: %d %s", resp.StatusCode, body)
	}
	if err := hold.Rollback().Error; err != nil {
		t.Fatal(err)
	}
	first := <-firstDone
	if first.status != http.StatusCreated {
		t.Fatalf("first: %d %s", first.status, first.body)
	}
	resp, body = w.call(t, http.MethodPost, "/api/v1/cases", lead, newCaseBody, "Idempotency-Key", key)
	if resp.StatusCode != http.StatusCreated || body != first.body {
		t.Fatalf("retry after the first finished: %d %s", resp.StatusCode, body)
	}
	if n := countCases(t, w.deps.DB, "Second breach"); n != 1 {
		t.Fatalf("%d cases, want 1", n)
	}
}

func TestIdempotencyKey_ExpiredKeysAreDiscarded(t *testing.T) {
	t.Parallel()
	for _, dialect := range dialects {
		t.Run(dialect, func(t *testing.T) {
			w := seededWorld(t, dialect)
			resp, body := w.call(t, http.MethodPost, "/api/v1/cases", w.bearer["lead"], newCaseBody,
				"Idempotency-Key", "kept-for-a-day-000000001")
			if resp.StatusCode != http.StatusCreated {
				t.Fatalf("%d %s", resp.StatusCode, body)
			}
			if n, err := DiscardExpiredIdempotencyKeys(context.Background(), w.deps.DB); err != nil || n != 0 {
				t.Fatalf("a fresh key discarded: %d, %v", n, err)
			}
			if err := w.deps.DB.Model(&idempotencyRow{}).Where("1 = 1").
				Update("expires_at", time.Now().Add(-time.Minute).UTC()).Error; err != nil {
				t.Fatal(err)
			}
			if n, err := DiscardExpiredIdempotencyKeys(context.Background(), w.deps.DB); err != nil || n != 1 {
				t.Fatalf("expired keys discarded: %d, %v; want 1", n, err)
			}
		})
	}
}

func TestOpenAPI_EveryIdempotentRouteTakesTheKey(t *testing.T) {
	t.Parallel()
	var doc struct {
		Paths map[string]map[string]struct {
			Parameters []struct {
				Ref string `json:"$ref"`
			} `json:"parameters"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(openAPIDocument, &doc); err != nil {
		t.Fatal(err)
	}
	s := &server{metrics: &metrics{registry: prometheus.NewRegistry()}}
	flagged := 0
	for _, r := range s.routes() {
		op := doc.Paths[fiberParam.ReplaceAllString(r.path, "{$1}")][strings.ToLower(r.method)]
		documented := false
		for _, p := range op.Parameters {
			documented = documented || p.Ref == "#/components/parameters/IdempotencyKey"
		}
		if documented != r.idempotent {
			t.Errorf("%s %s: takes an Idempotency-Key %v, documented %v", r.method, r.path, r.idempotent, documented)
		}
		if r.idempotent {
			flagged++
			if r.method != http.MethodPost || r.public || r.streamsBody {
				t.Errorf("%s %s: only creating POSTs of signed-in callers take an Idempotency-Key", r.method, r.path)
			}
		}
	}
	if flagged < 15 {
		t.Errorf("%d routes take an Idempotency-Key, want every create", flagged)
	}
}
