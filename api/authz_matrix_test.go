package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/bevis-ir/bevis/cases"
)

// expect is the status each principal gets, in the order of principals:
// none, expired, other_agency, observer, analyst, investigator, lead,
// excluded, admin, auditor, admin_a, auditor_a.
type expect [12]int

// public routes answer every caller alike.
func all(status int) expect {
	var e expect
	for i := range e {
		e[i] = status
	}
	return e
}

// signedIn routes refuse callers without a valid token.
func signedIn(others int) expect {
	e := all(others)
	e[0], e[1] = 401, 401
	return e
}

type matrixRow struct {
	method, path string // path as in the OpenAPI document
	body         func(w *world, who string) string
	want         expect
}

// matrix lists every route of the OpenAPI document. A route missing here
// fails TestAuthorizationMatrix. Rows run in order, every principal in
// turn; only the lead's calls change anything, and the rows are arranged so
// that what they change does not alter later rows.
func matrix() []matrixRow {
	json := func(s string) func(*world, string) string { return func(*world, string) string { return s } }
	const (
		ok, created, noContent     = 200, 201, 204
		found                      = 302
		bad, unauth, forbid, nofnd = 400, 401, 403, 404
		conflict                   = 409
	)
	// Case rows: outsiders, the excluded, and admins and auditors (of the
	// case's own agency too: separation of duties) get 404; members by role.
	caseRead := expect{unauth, unauth, nofnd, ok, ok, ok, ok, nofnd, nofnd, nofnd, nofnd, nofnd}
	caseWrite := func(status int) expect {
		return expect{unauth, unauth, nofnd, forbid, status, status, status, nofnd, nofnd, nofnd, nofnd, nofnd}
	}
	// Only a coordinator of the assigned agency (A's lead) takes its task on.
	taskAck := expect{unauth, unauth, nofnd, forbid, forbid, forbid, ok, nofnd, nofnd, nofnd, nofnd, nofnd}
	// Writers past authorization get lead as the lead, others as the rest.
	leadWrites := func(lead, others int) expect {
		return expect{unauth, unauth, nofnd, forbid, others, others, lead, nofnd, nofnd, nofnd, nofnd, nofnd}
	}
	caseManage := func(status int) expect {
		return expect{unauth, unauth, nofnd, forbid, forbid, forbid, status, nofnd, nofnd, nofnd, nofnd, nofnd}
	}
	return []matrixRow{
		{"GET", "/healthz", nil, all(ok)},
		{"GET", "/readyz", nil, all(ok)},
		{"GET", "/metrics", nil, all(ok)},
		{"GET", "/api/v1/openapi.json", nil, all(ok)},
		{"GET", "/.well-known/jwks.json", nil, all(ok)},
		{"GET", "/api/v1/setup", nil, all(ok)},
		// The fixture has an admin, so no set-up link works any more.
		{"POST", "/api/v1/setup", json(`{"token":"x","agency":{"code":"N","name":"N"},"admin":{"email":"a@b.c","name":"A","password":"p"}}`), all(nofnd)},
		{"POST", "/api/v1/auth/login", json(`{"email":"x@bevis.test","password":"p","role":"admin"}`), all(bad)},
		{"POST", "/api/v1/auth/refresh", nil, all(unauth)},
		// Public and answered by redirects only: agency B has no single sign-on.
		{"GET", "/api/v1/auth/sso/agencies", nil, all(ok)},
		{"GET", "/api/v1/auth/sso/{agencyCode}/start", nil, all(found)},
		{"GET", "/api/v1/auth/sso/callback", nil, all(found)},
		{"GET", "/api/v1/me", nil, signedIn(ok)},
		{"PATCH", "/api/v1/me", json(`{"time_zone":"Europe/Oslo"}`), signedIn(ok)},
		{"GET", "/api/v1/me/mfa", nil, signedIn(ok)},
		{"POST", "/api/v1/me/mfa/totp", json(`{"password":"` + fixturePassword + `"}`), signedIn(created)},
		{"POST", "/api/v1/me/mfa/totp/confirm", json(`{"code":"not-a-code"}`), signedIn(bad)},
		{"POST", "/api/v1/me/mfa/recovery-codes", json(`{"password":"` + fixturePassword + `"}`), signedIn(conflict)},
		{"POST", "/api/v1/me/mfa/disable", json(`{"password":"` + fixturePassword + `"}`), signedIn(noContent)},
		{"GET", "/api/v1/tokens", nil, signedIn(ok)},
		{"POST", "/api/v1/tokens", func(*world, string) string {
			return `{"name":"nightly export","scopes":["case.list"],"expires_at":"` +
				time.Now().Add(24*time.Hour).UTC().Format(time.RFC3339) + `"}`
		}, signedIn(created)},
		{"DELETE", "/api/v1/tokens/{id}", nil, signedIn(nofnd)},

		{"GET", "/api/v1/agencies", nil, signedIn(ok)},
		{"POST", "/api/v1/agencies", func(_ *world, who string) string {
			return `{"code":"NEW-` + strings.ToUpper(strings.ReplaceAll(who, "_", "")) + `","name":"New agency","kind":"cert"}`
		}, expect{unauth, unauth, forbid, forbid, forbid, forbid, forbid, forbid, created, forbid, created, forbid}},
		{"GET", "/api/v1/agencies/{id}", nil, signedIn(ok)},
		{"PATCH", "/api/v1/agencies/{id}", json(`{"name":"Agency B, renamed"}`),
			expect{unauth, unauth, forbid, forbid, forbid, forbid, forbid, forbid, ok, forbid, ok, forbid}},
		{"GET", "/api/v1/agencies/{id}/sso", nil, expect{unauth, unauth, forbid, forbid, forbid, forbid, forbid, forbid, ok, forbid, ok, forbid}},
		{"PUT", "/api/v1/agencies/{id}/sso",
			json(`{"enabled":false,"issuer":"https://login.agency-b.example","client_id":"bevis","client_secret":"s3cret"}`),
			expect{unauth, unauth, forbid, forbid, forbid, forbid, forbid, forbid, ok, forbid, ok, forbid}},
		// Tested against a loopback port nothing listens on: a failed check, answered 200.
		{"POST", "/api/v1/agencies/{id}/sso/test", json(`{"issuer":"http://127.0.0.1:1/realms/b","client_id":"bevis"}`),
			expect{unauth, unauth, forbid, forbid, forbid, forbid, forbid, forbid, ok, forbid, ok, forbid}},
		{"GET", "/api/v1/users", nil, signedIn(ok)},
		{"POST", "/api/v1/users", func(w *world, who string) string {
			return fmt.Sprintf(`{"agency_id":%q,"email":"new-%s@bevis.test","name":"New person"}`, w.agency["A"].ID, who)
		}, expect{unauth, unauth, nofnd, forbid, forbid, forbid, forbid, forbid, created, nofnd, created, forbid}},
		{"GET", "/api/v1/users/{id}", nil, expect{unauth, unauth, nofnd, ok, ok, ok, ok, ok, ok, nofnd, ok, ok}},
		{"PATCH", "/api/v1/users/{id}", json(`{"title":"Senior investigator"}`),
			expect{unauth, unauth, nofnd, forbid, forbid, forbid, forbid, forbid, ok, nofnd, ok, forbid}},
		{"DELETE", "/api/v1/users/{id}/mfa", nil,
			expect{unauth, unauth, nofnd, forbid, forbid, forbid, forbid, forbid, noContent, nofnd, noContent, forbid}},

		{"GET", "/api/v1/cases", nil, signedIn(ok)},
		{"POST", "/api/v1/cases", json(`{"title":"Another breach","tlp":"GREEN"}`),
			expect{unauth, unauth, created, created, created, created, created, created, forbid, forbid, forbid, forbid}},
		{"GET", "/api/v1/cases/{id}", nil, caseRead},
		// Writes to the case carry its current ETag (see caseHeaders). This one
		// flags a personal-data breach, which gives the case its GDPR clock.
		{"PATCH", "/api/v1/cases/{id}", json(`{"summary":"Records taken","personal_data_breach":true,"aware_at":"2026-01-05T08:00:00Z"}`),
			caseWrite(ok)},
		{"POST", "/api/v1/cases/{id}/transitions", nextPhase, caseWrite(ok)},
		{"GET", "/api/v1/cases/{id}/history", nil, caseRead},
		// The first writer meets the clock; later ones find it met.
		{"POST", "/api/v1/cases/{id}/clocks/{clock}/met", json(`{"reference":"DPA-2026-1"}`),
			expect{unauth, unauth, nofnd, forbid, ok, conflict, conflict, nofnd, nofnd, nofnd, nofnd, nofnd}},
		{"GET", "/api/v1/cases/{id}/members", nil, caseRead},
		{"PUT", "/api/v1/cases/{id}/members/agencies/{agencyId}", json(`{"role":"observer"}`), caseManage(ok)},
		{"DELETE", "/api/v1/cases/{id}/members/agencies/{agencyId}", nil, caseManage(noContent)},
		{"PUT", "/api/v1/cases/{id}/members/users/{userId}", json(`{"role":"analyst"}`), caseManage(ok)},
		{"DELETE", "/api/v1/cases/{id}/members/users/{userId}", nil, caseManage(noContent)},
		{"PUT", "/api/v1/cases/{id}/members/exclusions/{userId}", json(`{"reason":"suspected insider"}`), caseManage(created)},
		{"DELETE", "/api/v1/cases/{id}/members/exclusions/{userId}", nil, caseManage(noContent)},

		{"GET", "/api/v1/cases/{id}/evidence", nil, caseRead},
		{"POST", "/api/v1/cases/{id}/evidence", json(`{"title":"Firewall logs","kind":"logs"}`), caseWrite(created)},
		{"GET", "/api/v1/evidence/{id}", nil, caseRead},
		{"GET", "/api/v1/evidence/{id}/custody", nil, caseRead},
		{"POST", "/api/v1/evidence/{id}/custody", json(`{"type":"location_changed","location":"Evidence room 2"}`), caseWrite(created)},
		// For /content and /verify, {id} is the item whose content is
		// received: a second upload of it is a conflict.
		{"PUT", "/api/v1/evidence/{id}/content", nil, caseWrite(conflict)},
		// Observers download only where the case allows it; the fixture case does not.
		{"GET", "/api/v1/evidence/{id}/content", nil, expect{unauth, unauth, nofnd, forbid, ok, ok, ok, nofnd, nofnd, nofnd, nofnd, nofnd}},
		{"POST", "/api/v1/evidence/{id}/download-tickets", nil, expect{unauth, unauth, nofnd, forbid, created, created, created, nofnd, nofnd, nofnd, nofnd, nofnd}},
		{"POST", "/api/v1/evidence/{id}/verify", nil, caseWrite(ok)},
		{"GET", "/api/v1/evidence/{id}/report", nil, caseRead},
		{"GET", "/api/v1/evidence/{id}/lineage", nil, caseRead},
		{"GET", "/api/v1/evidence/{id}/access", nil, expect{unauth, unauth, nofnd, forbid, forbid, forbid, ok, nofnd, nofnd, ok, nofnd, ok}},
		{"GET", "/api/v1/templates", nil, signedIn(ok)},
		{"POST", "/api/v1/templates", func(_ *world, who string) string {
			return `{"name":"Health-sector breach (` + who + `)","severity":3,"tags":["health"],"jurisdictions":["gdpr"]}`
		}, expect{unauth, unauth, forbid, forbid, forbid, forbid, forbid, forbid, created, forbid, created, forbid}},
		{"GET", "/api/v1/templates/{id}", nil, signedIn(ok)},
		{"PUT", "/api/v1/templates/{id}", json(`{"name":"Ransomware","severity":4,"tags":["ransomware"]}`),
			expect{unauth, unauth, forbid, forbid, forbid, forbid, forbid, forbid, ok, forbid, ok, forbid}},
		// The admin deletes the template; admin_a, allowed too, finds it gone.
		{"DELETE", "/api/v1/templates/{id}", nil,
			expect{unauth, unauth, forbid, forbid, forbid, forbid, forbid, forbid, noContent, forbid, nofnd, forbid}},
		{"GET", "/api/v1/audit", nil, expect{unauth, unauth, forbid, forbid, forbid, forbid, forbid, forbid, forbid, ok, forbid, ok}},
		{"GET", "/api/v1/audit/actions", nil, expect{unauth, unauth, forbid, forbid, forbid, forbid, forbid, forbid, forbid, ok, forbid, ok}},
		{"GET", "/api/v1/audit/export", nil, expect{unauth, unauth, forbid, forbid, forbid, forbid, forbid, forbid, forbid, ok, forbid, ok}},
		{"GET", "/api/v1/audit/checkpoints", nil, expect{unauth, unauth, forbid, forbid, forbid, forbid, forbid, forbid, forbid, ok, forbid, ok}},
		{"GET", "/api/v1/audit/verification", nil, expect{unauth, unauth, forbid, forbid, forbid, forbid, forbid, forbid, forbid, ok, forbid, ok}},
		{"GET", "/api/v1/cases/{id}/evidence/manifest", nil, caseRead},
		{"GET", "/api/v1/cases/{id}/evidence/report", nil, caseRead},
		{"OPTIONS", "/api/v1/evidence/{id}/uploads", nil, all(noContent)},
		{"POST", "/api/v1/evidence/{id}/uploads", nil, caseWrite(conflict)},
		// Only the writer who started an upload goes on with it.
		{"HEAD", "/api/v1/uploads/{uploadId}", nil, expect{unauth, unauth, nofnd, forbid, nofnd, nofnd, ok, nofnd, nofnd, nofnd, nofnd, nofnd}},
		{"PATCH", "/api/v1/uploads/{uploadId}", nil, expect{unauth, unauth, nofnd, forbid, nofnd, nofnd, 415, nofnd, nofnd, nofnd, nofnd, nofnd}},
		{"DELETE", "/api/v1/uploads/{uploadId}", nil, expect{unauth, unauth, nofnd, forbid, nofnd, nofnd, noContent, nofnd, nofnd, nofnd, nofnd, nofnd}},
		// Writers list their own unfinished uploads; the lead everyone's.
		{"GET", "/api/v1/cases/{id}/uploads", nil, caseWrite(ok)},

		{"GET", "/api/v1/tasks", nil, signedIn(ok)},
		{"GET", "/api/v1/cases/{id}/tasks", nil, caseRead},
		{"POST", "/api/v1/cases/{id}/tasks", func(w *world, _ string) string {
			return `{"title":"Image the mail server","assignee_user_id":"` + w.user["investigator"].ID + `","priority":"high"}`
		}, caseWrite(created)},
		{"GET", "/api/v1/cases/{id}/tasks/{taskId}", nil, caseRead},
		// Writers without If-Match are told to send it (428).
		{"PATCH", "/api/v1/cases/{id}/tasks/{taskId}", json(`{"status":"in_progress"}`), caseWrite(428)},
		{"POST", "/api/v1/cases/{id}/tasks/{taskId}/acknowledge", nil, taskAck},
		{"POST", "/api/v1/cases/{id}/tasks/{taskId}/delegate", func(w *world, _ string) string {
			return `{"user_id":"` + w.user["investigator"].ID + `"}`
		}, taskAck},
		{"POST", "/api/v1/cases/{id}/tasks/{taskId}/checklist", json(`{"text":"Hash the export"}`), caseWrite(created)},
		{"PATCH", "/api/v1/cases/{id}/tasks/{taskId}/checklist/{itemId}", json(`{"done":true}`), caseWrite(ok)},
		{"GET", "/api/v1/cases/{id}/tasks/{taskId}/comments", nil, caseRead},
		{"POST", "/api/v1/cases/{id}/tasks/{taskId}/comments", json(`{"body":"Started."}`), caseWrite(created)},
		{"GET", "/api/v1/cases/{id}/comments", nil, caseRead},
		{"POST", "/api/v1/cases/{id}/comments", json(`{"body":"Sitrep at 16:00."}`), caseWrite(created)},
		{"GET", "/api/v1/cases/{id}/timeline", nil, caseRead},
		// The lead's calls are valid; the other writers' carry a malformed
		// ATT&CK ID or row, so they pass authorization and change nothing.
		{"POST", "/api/v1/cases/{id}/timeline", func(_ *world, who string) string {
			return `{"occurred_at":"2026-01-15T09:30:00+01:00","description":"Logon","techniques":["` + leadOr(who, "T1078.002", "T1078.2") + `"]}`
		}, leadWrites(created, bad)},
		{"GET", "/api/v1/cases/{id}/timeline/imports", nil, caseRead},
		{"POST", "/api/v1/cases/{id}/timeline/imports", func(_ *world, who string) string {
			return `{"timestamp": ` + leadOr(who, "1768465800000000", `"today"`) + `, "message": "logon"}` + "\n"
		}, leadWrites(created, 422)},
		{"GET", "/api/v1/cases/{id}/timeline/imports/{importId}", nil, caseRead},
		{"GET", "/api/v1/cases/{id}/timeline/ttp", nil, caseRead},
		{"GET", "/api/v1/cases/{id}/timeline/histogram", nil, caseRead},
		{"GET", "/api/v1/cases/{id}/timeline/{eventId}", nil, caseRead},
		{"GET", "/api/v1/cases/{id}/timeline/{eventId}/history", nil, caseRead},
		{"POST", "/api/v1/cases/{id}/timeline/{eventId}/corrections", func(_ *world, who string) string {
			return `{"occurred_at":"2026-01-15T08:30:00Z","description":"Phishing mail opened on hr-ws12","reason":"` +
				leadOr(who, "wrong host", "") + `"}`
		}, leadWrites(created, bad)},

		// Leadership's picture: the portfolio holds only the caller's readable
		// cases (none for admins and auditors); the lead issues report 1,
		// which every reader of the case may then read.
		{"GET", "/api/v1/portfolio", nil, signedIn(ok)},
		{"GET", "/api/v1/cases/{id}/sitrep", nil, caseRead},
		{"GET", "/api/v1/cases/{id}/sitreps", nil, caseRead},
		{"POST", "/api/v1/cases/{id}/sitreps", nil, caseManage(created)},
		{"GET", "/api/v1/cases/{id}/sitreps/{number}", nil, caseRead},

		// Alerts are for admins and the leads of the cases they touch; to
		// everyone else on the case they do not exist. Only a lead approves.
		// Everyone but the admin and auditor leads the case they created above,
		// so may list (only that case's alerts: none); the auditor leads none.
		{"GET", "/api/v1/alerts", nil, expect{unauth, unauth, ok, ok, ok, ok, ok, ok, ok, forbid, ok, forbid}},
		{"POST", "/api/v1/alerts/{id}/acknowledge", nil, expect{unauth, unauth, nofnd, nofnd, nofnd, nofnd, ok, nofnd, ok, nofnd, ok, nofnd}},
		{"POST", "/api/v1/alerts/{id}/approve", json(`{"reason":"The imaging was planned"}`), expect{unauth, unauth, nofnd, nofnd, nofnd, nofnd, ok, nofnd, forbid, nofnd, forbid, nofnd}},

		// Last: signing out ends each caller's session.
		{"POST", "/api/v1/auth/logout", nil, all(noContent)},
	}
}

// fill puts the fixture's IDs into a documented path: {id} is the case,
// agency B or user "investigator" depending on the collection;
// {agencyCode} is agency B's code.
func (w *world) fill(path string) string {
	id := w.caseID
	switch {
	case strings.HasPrefix(path, "/api/v1/agencies/"):
		id = w.agency["B"].ID
	case strings.HasPrefix(path, "/api/v1/users/"):
		id = w.user["investigator"].ID
	case strings.HasPrefix(path, "/api/v1/evidence/") && (strings.HasSuffix(path, "/content") || strings.HasSuffix(path, "/verify") ||
		strings.HasSuffix(path, "/download-tickets")):
		id = w.contentID
	case strings.HasPrefix(path, "/api/v1/evidence/"):
		id = w.evidenceID
	case strings.HasPrefix(path, "/api/v1/templates/"):
		id = w.templateID
	case strings.HasPrefix(path, "/api/v1/alerts/"):
		id = w.alertID
	}
	r := strings.NewReplacer("{agencyCode}", w.agency["B"].Code, "{id}", id, "{agencyId}", w.agency["D"].ID,
		"{userId}", w.user["spare"].ID, "{taskId}", w.taskID, "{itemId}", w.itemID, "{clock}", "gdpr.art33",
		"{uploadId}", w.uploadID, "{eventId}", w.eventID, "{importId}", w.importID, "{number}", "1")
	path = r.Replace(path)
	if strings.HasSuffix(path, "/timeline/imports") {
		path += "?format=json_line" // the listing ignores it; the import needs it
	}
	return path
}

// leadOr is lead for the lead and other for everyone else.
func leadOr(who, lead, other string) string {
	if who == "lead" {
		return lead
	}
	return other
}

func TestAuthorizationMatrix(t *testing.T) {
	t.Parallel()
	for _, dialect := range dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel() // each dialect's world is its own
			w := seededWorld(t, dialect)
			rows := matrix()
			known := map[string]bool{} // read before the last row signs everyone out
			for _, a := range auditActionNames(t, w) {
				known[a] = true
			}
			covered := map[string]bool{}
			for _, row := range rows {
				covered[row.method+" "+row.path] = true
			}
			for _, route := range documentedRoutes(t, w) {
				if !covered[route] {
					t.Errorf("route %s has no row in the authorization matrix", route)
				}
			}
			for _, row := range rows {
				for i, who := range principals {
					body := ""
					if row.body != nil {
						body = row.body(w, who)
					}
					headers := append(w.caseHeaders(t, row), tusHeadersFor(row)...)
					resp, out := w.call(t, row.method, w.fill(row.path), w.bearer[who], body, headers...)
					if resp.StatusCode != row.want[i] {
						t.Errorf("%s %s as %s: status %d, want %d: %s", row.method, row.path, who, resp.StatusCode, row.want[i], out)
					}
				}
			}
			// Every action the matrix put on the record is one the audit
			// log's action filter takes.
			var recorded []string
			if err := w.deps.DB.Raw("SELECT DISTINCT action FROM audit_entries").Scan(&recorded).Error; err != nil {
				t.Fatal(err)
			}
			for _, a := range recorded {
				if !known[a] {
					t.Errorf("action %q is recorded but not among GET /api/v1/audit/actions", a)
				}
			}
		})
	}
}

// tusHeadersFor makes the tus rows well-formed tus requests, so that what
// they test is who may make them.
func tusHeadersFor(row matrixRow) []string {
	if !strings.Contains(row.path, "/uploads") || row.method == http.MethodOptions {
		return nil
	}
	return []string{"Tus-Resumable", "1.0.0", "Upload-Length", "10"}
}

// caseHeaders sends the fixture case's current ETag with every write to
// the case itself, so that the rows test authorization; concurrency has
// tests of its own.
func (w *world) caseHeaders(t *testing.T, row matrixRow) []string {
	caseItself := row.path == "/api/v1/cases/{id}" || strings.HasPrefix(row.path, "/api/v1/cases/{id}/transitions") ||
		strings.HasPrefix(row.path, "/api/v1/cases/{id}/clocks/")
	if row.method == http.MethodGet || !caseItself {
		return nil
	}
	k, err := w.deps.Cases.Get(context.Background(), w.caseID)
	if err != nil {
		t.Fatal(err)
	}
	return []string{"If-Match", fmt.Sprintf(`"%d"`, k.Version)}
}

// nextPhase asks for a move the fixture case can make from where it is,
// so that each member allowed to write moves it on.
func nextPhase(w *world, _ string) string {
	k, err := w.deps.Cases.Get(context.Background(), w.caseID)
	if err != nil {
		return `{}`
	}
	next := map[cases.Status]cases.Status{cases.StatusNew: cases.StatusTriage, cases.StatusTriage: cases.StatusInvestigating,
		cases.StatusInvestigating: cases.StatusContainment, cases.StatusContainment: cases.StatusInvestigating}
	return `{"to":"` + string(next[k.Status]) + `","reason":"matrix"}`
}

// documentedRoutes lists "METHOD /path" of every operation in the OpenAPI document.
func documentedRoutes(t *testing.T, w *world) []string {
	t.Helper()
	resp, err := w.app.Test(httptest.NewRequest(http.MethodGet, "/api/v1/openapi.json", nil), -1)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var doc openAPIDoc
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	var out []string
	for path, item := range doc.Paths {
		for method := range item {
			out = append(out, strings.ToUpper(method)+" "+path)
		}
	}
	return out
}
