package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bevis-ir/bevis/access"
	"github.com/bevis-ir/bevis/cases"
)

// newAPIToken creates a token through the API as a fixture user.
func newAPIToken(t *testing.T, w *world, who, body string) apiTokenJSON {
	t.Helper()
	resp, out := w.call(t, http.MethodPost, "/api/v1/tokens", w.bearer[who], body)
	if resp.StatusCode != 201 {
		t.Fatalf("create token: %d %s", resp.StatusCode, out)
	}
	var tok apiTokenJSON
	if err := json.Unmarshal([]byte(out), &tok); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(tok.Token, "bvt_") {
		t.Fatalf("token: %q", tok.Token)
	}
	return tok
}

func tomorrow() string { return time.Now().Add(24 * time.Hour).UTC().Format(time.RFC3339) }

func TestAPIToken_ActsOnlyWithinItsScopesAndCases(t *testing.T) {
	t.Parallel()
	forEachDatabase(t, func(t *testing.T, w *world) {
		// A second case the investigator is a member of, outside the token.
		other, err := w.deps.Cases.Create(t.Context(), w.principal(t, "lead"), cases.NewCase{Title: "Second breach", TLP: access.TLPAmber})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.deps.Membership.SetUser(t.Context(), w.principal(t, "lead"), other.ID, w.user["investigator"].ID, access.CaseInvestigator); err != nil {
			t.Fatal(err)
		}
		tok := newAPIToken(t, w, "investigator", fmt.Sprintf(`{"name":"SIEM export","scopes":["case.read","case.list"],"case_ids":[%q],"expires_at":%q}`,
			w.caseID, tomorrow()))
		if strings.Join(tok.Scopes, ",") != "case.list,case.read" || len(tok.CaseIDs) != 1 {
			t.Errorf("token as created: %+v", tok)
		}
		tests := []struct {
			method, path, body string
			status             int
		}{
			{"GET", "/api/v1/cases/" + w.caseID, "", 200},
			{"GET", "/api/v1/cases/" + other.ID, "", 404},              // outside the token's cases
			{"GET", "/api/v1/cases/" + w.caseID + "/members", "", 403}, // outside its scopes
			{"GET", "/api/v1/me", "", 403},
			{"POST", "/api/v1/tokens", `{"name":"more","scopes":["case.read"],"expires_at":"` + tomorrow() + `"}`, 403},
			{"POST", "/api/v1/me/mfa/totp", "", 403},
		}
		for _, tt := range tests {
			if resp, body := w.call(t, tt.method, tt.path, tok.Token, tt.body); resp.StatusCode != tt.status {
				t.Errorf("%s %s with the token: %d, want %d: %s", tt.method, tt.path, resp.StatusCode, tt.status, body)
			}
		}
		_, list := w.call(t, http.MethodGet, "/api/v1/cases", tok.Token, "")
		if !strings.Contains(list, w.caseID) || strings.Contains(list, other.ID) {
			t.Errorf("the token's case list: %s", list)
		}
		// The token never does more than its user can now.
		resp, body := w.call(t, http.MethodPut, "/api/v1/cases/"+w.caseID+"/members/exclusions/"+w.user["investigator"].ID,
			w.bearer["lead"], `{"reason":"suspected insider"}`)
		if resp.StatusCode != 201 {
			t.Fatalf("exclude: %d %s", resp.StatusCode, body)
		}
		if resp, _ := w.call(t, http.MethodGet, "/api/v1/cases/"+w.caseID, tok.Token, ""); resp.StatusCode != 404 {
			t.Errorf("the excluded user's token: %d, want 404", resp.StatusCode)
		}
	})
}

func TestAPIToken_RevokedExpiredOrDisabledStopsWorkingAndUseIsRecorded(t *testing.T) {
	t.Parallel()
	forEachDatabase(t, func(t *testing.T, w *world) {
		body := `{"name":"n","scopes":["case.list"],"expires_at":"` + tomorrow() + `"}`
		revoked, expiring, disabled := newAPIToken(t, w, "analyst", body), newAPIToken(t, w, "analyst", body), newAPIToken(t, w, "observer", body)
		for _, tok := range []apiTokenJSON{revoked, expiring, disabled} {
			if resp, _ := w.call(t, http.MethodGet, "/api/v1/cases", tok.Token, "", "X-Forwarded-For", "203.0.113.9"); resp.StatusCode != 200 {
				t.Fatalf("fresh token: %d", resp.StatusCode)
			}
		}
		_, listed := w.call(t, http.MethodGet, "/api/v1/tokens", w.bearer["analyst"], "")
		if strings.Contains(listed, "bvt_") || !strings.Contains(listed, `"last_used_at":"`) {
			t.Errorf("token list shows a secret or no last use: %s", listed)
		}
		if resp, _ := w.call(t, http.MethodDelete, "/api/v1/tokens/"+revoked.ID, w.bearer["observer"], ""); resp.StatusCode != 404 {
			t.Errorf("another user revoked the token: %d", resp.StatusCode)
		}
		for range 2 { // revoking twice succeeds twice
			if resp, _ := w.call(t, http.MethodDelete, "/api/v1/tokens/"+revoked.ID, w.bearer["analyst"], ""); resp.StatusCode != 204 {
				t.Fatalf("revoke: %d", resp.StatusCode)
			}
		}
		if resp, _ := w.call(t, http.MethodGet, "/api/v1/cases", revoked.Token, ""); resp.StatusCode != 401 {
			t.Errorf("revoked token: %d, want 401", resp.StatusCode)
		}
		if resp, _ := w.call(t, http.MethodPatch, "/api/v1/users/"+w.user["observer"].ID, w.bearer["admin"], `{"status":"disabled"}`); resp.StatusCode != 200 {
			t.Fatalf("disable: %d", resp.StatusCode)
		}
		if resp, _ := w.call(t, http.MethodGet, "/api/v1/cases", disabled.Token, ""); resp.StatusCode != 401 {
			t.Errorf("disabled user's token: %d, want 401", resp.StatusCode)
		}
		later := time.Now().Add(25 * time.Hour)
		w.deps.Sessions.SetClock(func() time.Time { return later })
		if resp, _ := w.call(t, http.MethodGet, "/api/v1/cases", expiring.Token, ""); resp.StatusCode != 401 {
			t.Errorf("expired token: %d, want 401", resp.StatusCode)
		}
	})
}

func TestAPIToken_IsStoredOnlyAsAHash(t *testing.T) {
	t.Parallel()
	forEachDatabase(t, func(t *testing.T, w *world) {
		tok := newAPIToken(t, w, "lead", `{"name":"n","scopes":["case.list"],"expires_at":"`+tomorrow()+`"}`)
		var rows []map[string]any
		if err := w.deps.DB.Raw("SELECT * FROM api_tokens").Scan(&rows).Error; err != nil {
			t.Fatal(err)
		}
		secret := strings.TrimPrefix(tok.Token, "bvt_")
		for _, r := range rows {
			if strings.Contains(fmt.Sprint(r), secret) {
				t.Errorf("the token is stored in clear: %v", r)
			}
		}
		if len(rows) != 1 {
			t.Errorf("%d rows, want 1", len(rows))
		}
	})
}

func TestAPIToken_InvalidRequestsAreRefusedAndCreateNothing(t *testing.T) {
	t.Parallel()
	forEachDatabase(t, func(t *testing.T, w *world) {
		exp := tomorrow()
		tests := []struct {
			name, body string
			field      string
		}{
			{"no scopes", `{"name":"n","scopes":[],"expires_at":"` + exp + `"}`, "scopes"},
			{"token.manage", `{"name":"n","scopes":["token.manage"],"expires_at":"` + exp + `"}`, "scopes[0]"},
			{"unknown action", `{"name":"n","scopes":["case.delete_everything"],"expires_at":"` + exp + `"}`, "scopes[0]"},
			{"past expiry", `{"name":"n","scopes":["case.read"],"expires_at":"2020-01-01T00:00:00Z"}`, "expires_at"},
			{"too long", `{"name":"n","scopes":["case.read"],"expires_at":"2099-01-01T00:00:00Z"}`, "expires_at"},
			{"bad time", `{"name":"n","scopes":["case.read"],"expires_at":"tomorrow"}`, "expires_at"},
			{"no name", `{"name":"","scopes":["case.read"],"expires_at":"` + exp + `"}`, "name"},
			{"case not visible", `{"name":"n","scopes":["case.read"],"case_ids":["` + w.caseID + `"],"expires_at":"` + exp + `"}`, "case_ids[0]"},
			{"server-owned user", `{"name":"n","scopes":["case.read"],"expires_at":"` + exp + `","user_id":"` + w.user["lead"].ID + `"}`, ""},
			{"server-owned hash", `{"name":"n","scopes":["case.read"],"expires_at":"` + exp + `","token_hash":"x"}`, ""},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				resp, body := w.call(t, http.MethodPost, "/api/v1/tokens", w.bearer["other_agency"], tt.body)
				if resp.StatusCode != 400 || !strings.Contains(body, `"field":"`+tt.field+`"`) && tt.field != "" {
					t.Errorf("%d %s", resp.StatusCode, body)
				}
			})
		}
		if _, list := w.call(t, http.MethodGet, "/api/v1/tokens", w.bearer["other_agency"], ""); list != `{"items":[]}` {
			t.Errorf("refused requests created tokens: %s", list)
		}
	})
}

// A token confined to some cases acts on those cases alone: a case it
// opened would be outside them, so it cannot open one; an unconfined token
// with the scope can.
func TestAPIToken_ConfinedToCasesCannotOpenNewCases(t *testing.T) {
	t.Parallel()
	forEachDatabase(t, func(t *testing.T, w *world) {
		confined := newAPIToken(t, w, "investigator", fmt.Sprintf(
			`{"name":"one case","scopes":["case.create","case.read"],"case_ids":[%q],"expires_at":%q}`, w.caseID, tomorrow()))
		resp, body := w.call(t, http.MethodPost, "/api/v1/cases", confined.Token, `{"title":"Opened by a confined token"}`)
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("a token confined to one case opens a case: %d, want 403: %s", resp.StatusCode, body)
		}
		var n int64
		if err := w.deps.DB.Table("cases").Where("title = ?", "Opened by a confined token").Count(&n).Error; err != nil || n != 0 {
			t.Errorf("cases opened: %d (%v), want none", n, err)
		}
		free := newAPIToken(t, w, "investigator", fmt.Sprintf(`{"name":"any case","scopes":["case.create"],"expires_at":%q}`, tomorrow()))
		if resp, body := w.call(t, http.MethodPost, "/api/v1/cases", free.Token, `{"title":"Opened by a token"}`); resp.StatusCode != http.StatusCreated {
			t.Errorf("an unconfined token with case.create: %d, want 201: %s", resp.StatusCode, body)
		}
	})
}

// Downloading evidence is a scope of its own: a token that reads cases
// does not download their evidence unless given evidence.download.
func TestAPIToken_DownloadsEvidenceOnlyWithItsScope(t *testing.T) {
	t.Parallel()
	forEachDatabase(t, func(t *testing.T, w *world) {
		content := "/api/v1/evidence/" + w.contentID + "/content"
		reader := newAPIToken(t, w, "investigator", fmt.Sprintf(`{"name":"reader","scopes":["case.read"],"expires_at":%q}`, tomorrow()))
		if resp, _ := w.call(t, http.MethodGet, content, reader.Token, ""); resp.StatusCode != http.StatusForbidden {
			t.Errorf("a case.read token downloads: %d, want 403", resp.StatusCode)
		}
		downloader := newAPIToken(t, w, "investigator", fmt.Sprintf(
			`{"name":"downloader","scopes":["case.read","evidence.download"],"expires_at":%q}`, tomorrow()))
		if resp, body := w.call(t, http.MethodGet, content, downloader.Token, ""); resp.StatusCode != http.StatusOK || body != fixtureContent {
			t.Errorf("an evidence.download token downloads: %d %s", resp.StatusCode, body)
		}
	})
}
