package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bevis-ir/bevis/audit"
	"github.com/bevis-ir/bevis/internal/db"
	"github.com/bevis-ir/bevis/internal/testenv"
)

type auditRow struct {
	Action, Outcome, UserID, CaseID, ResourceID, ResourceType, ClientIP, Detail string
	RangeOffset, RangeLength                                                    *int64
}

// entries returns the audit entries recorded so far (sealed or not).
func (w *world) entries(t *testing.T, action string) []auditRow {
	t.Helper()
	var rows []auditRow
	if err := w.deps.DB.Raw(`SELECT action, outcome, user_id, case_id, resource_id, resource_type, client_ip, detail,
		range_offset, range_length FROM audit_entries WHERE action = ? ORDER BY id`, action).Scan(&rows).Error; err != nil {
		t.Fatal(err)
	}
	return rows
}

func TestAuditTrail_ReadsOfCaseDataAreOnTheRecordBeforeTheAnswer(t *testing.T) {
	t.Parallel()
	forEachDatabase(t, func(t *testing.T, w *world) {
		if resp, _ := w.call(t, http.MethodGet, "/api/v1/cases/"+w.caseID, w.bearer["observer"], ""); resp.StatusCode != 200 {
			t.Fatal(resp.StatusCode)
		}
		got := w.entries(t, "cases.get")
		if len(got) != 1 || got[0].Outcome != "success" || got[0].UserID != w.user["observer"].ID || got[0].CaseID != w.caseID ||
			got[0].ResourceID != w.caseID {
			t.Errorf("case read: %+v", got)
		}
		w.call(t, http.MethodGet, "/api/v1/evidence/"+w.contentID+"/content", w.bearer["analyst"], "", "Range", "bytes=5-9")
		dl := w.entries(t, "evidence.download")
		if len(dl) != 1 || dl[0].RangeOffset == nil || *dl[0].RangeOffset != 5 || *dl[0].RangeLength != 5 || dl[0].CaseID != w.caseID {
			t.Errorf("download: %+v", dl)
		}
		// A read that is no case data is not recorded.
		w.call(t, http.MethodGet, "/api/v1/me", w.bearer["observer"], "")
		if n := len(w.entries(t, "me.get")); n != 0 {
			t.Errorf("/me recorded %d times", n)
		}
		// A refusal is.
		w.call(t, http.MethodGet, "/api/v1/cases/"+w.caseID, w.bearer["other_agency"], "")
		if denied := w.entries(t, "cases.get"); len(denied) != 2 || denied[1].Outcome != "denied" || denied[1].UserID != w.user["other_agency"].ID {
			t.Errorf("refusal: %+v", denied)
		}
	})
}

func TestAuditTrail_ChangesAreRecordedOnceWithTheChange(t *testing.T) {
	t.Parallel()
	forEachDatabase(t, func(t *testing.T, w *world) {
		body := `{"title":"Image the mail server","assignee_user_id":"` + w.user["investigator"].ID + `"}`
		if resp, _ := w.call(t, http.MethodPost, "/api/v1/cases/"+w.caseID+"/tasks", w.bearer["lead"], body); resp.StatusCode != 201 {
			t.Fatal(resp.StatusCode)
		}
		got := w.entries(t, "cases.tasks.post")[1:] // the first is the fixture's own task
		if len(got) != 1 || got[0].Outcome != "success" || got[0].UserID != w.user["lead"].ID {
			t.Errorf("task creation: %+v", got)
		}
		// A change refused for its content changes nothing and is recorded as failed.
		resp, _ := w.call(t, http.MethodPatch, w.taskPath(w.taskID), w.bearer["lead"], `{"status":"done"}`, "If-Match", `"99"`)
		if resp.StatusCode != 412 {
			t.Fatal(resp.StatusCode)
		}
		if got := w.entries(t, "cases.tasks.patch"); len(got) != 1 || got[0].Outcome != "failed" {
			t.Errorf("stale change: %+v", got)
		}
		// A membership change is recorded with it too (access is handed audit.Change).
		if resp, _ := w.call(t, http.MethodPut, "/api/v1/cases/"+w.caseID+"/members/users/"+w.user["spare"].ID, w.bearer["lead"], `{"role":"analyst"}`); resp.StatusCode != 200 {
			t.Fatal(resp.StatusCode)
		}
		var byLead []auditRow
		for _, e := range w.entries(t, "cases.members.users.put") {
			if e.UserID == w.user["lead"].ID {
				byLead = append(byLead, e)
			}
		}
		if len(byLead) != 1 || byLead[0].Outcome != "success" || byLead[0].ResourceID != w.user["spare"].ID {
			t.Errorf("membership change: %+v", byLead)
		}

	})
}

func TestAuditTrail_AccessChangesAreRecordedWithTheChange(t *testing.T) {
	t.Parallel()
	forEachDatabase(t, func(t *testing.T, w *world) {
		tests := []struct{ who, method, path, body, action string }{
			{"admin", "PATCH", "/api/v1/users/" + w.user["spare"].ID, `{"title":"Analyst"}`, "users.patch"},
			{"admin", "PATCH", "/api/v1/agencies/" + w.agency["D"].ID, `{"name":"Agency D renamed"}`, "agencies.patch"},
			{"lead", "POST", "/api/v1/tokens", `{"name":"n","scopes":["case.list"],"expires_at":"` + tomorrow() + `"}`, "tokens.post"},
			{"lead", "POST", "/api/v1/me/mfa/totp", `{"password":"` + fixturePassword + `"}`, "me.mfa.totp.post"},
			{"admin", "PUT", "/api/v1/agencies/" + w.agency["B"].ID + "/sso",
				`{"enabled":false,"issuer":"https://login.agency-b.example","client_id":"bevis","client_secret":"s3cret"}`, "agencies.sso.put"},
			{"lead", "POST", "/api/v1/alerts/" + w.alertID + "/acknowledge", "", "alerts.acknowledge.post"},
			{"lead", "POST", "/api/v1/alerts/" + w.alertID + "/approve", `{"reason":"Expected"}`, "alerts.approve.post"},
		}
		for _, tt := range tests {
			if resp, body := w.call(t, tt.method, tt.path, w.bearer[tt.who], tt.body); resp.StatusCode >= 300 {
				t.Fatalf("%s %s: %d %s", tt.method, tt.path, resp.StatusCode, body)
			}
			got := w.entries(t, tt.action)
			// The transport's own entries carry the status; the domain's,
			// written in the change's transaction, do not.
			if len(got) != 1 || got[0].UserID != w.user[tt.who].ID || got[0].ClientIP == "" || strings.Contains(got[0].Detail, "status") {
				t.Errorf("%s: %+v", tt.action, got)
			}
		}
	})
}

func TestAuditTrail_NoRecordNoAnswer(t *testing.T) {
	t.Parallel()
	w := seededWorld(t, db.SQLite)
	w.deps.Audit.(*audit.Writer).Close() // the log can take nothing more
	resp, body := w.call(t, http.MethodGet, "/api/v1/evidence/"+w.contentID+"/content", w.bearer["lead"], "")
	if resp.StatusCode != 503 || strings.Contains(body, "DENY tcp") || problemCode(t, body) != "audit_unavailable" {
		t.Errorf("download without an audit log: %d %s", resp.StatusCode, body)
	}
}

func TestAuditTrail_SignInsAreRecordedWithoutWhatWasTyped(t *testing.T) {
	t.Parallel()
	forEachDatabase(t, func(t *testing.T, w *world) {
		// The fixture's people signed in with their passwords.
		signedIn := map[string]bool{}
		for _, e := range w.entries(t, "auth.login") {
			if e.Outcome == "success" && e.Detail == `{"method":"password"}` && e.ResourceID == e.UserID {
				signedIn[e.UserID] = true
			}
		}
		if !signedIn[w.user["lead"].ID] || !signedIn[w.user["observer"].ID] {
			t.Errorf("sign-ins of the lead and the observer are not on the record: %v", signedIn)
		}

		w.call(t, http.MethodPost, "/api/v1/auth/login", "", `{"email":"lead@bevis.test","password":"Tr0ub4dor&3 wrong"}`)
		w.call(t, http.MethodPost, "/api/v1/auth/login", "", `{"email":"nobody@bevis.test","password":"Tr0ub4dor&3 wrong"}`)
		var got []auditRow
		for _, e := range w.entries(t, "auth.login") {
			if e.Outcome != "success" {
				got = append(got, e)
			}
		}
		if len(got) != 2 || got[0].UserID != w.user["lead"].ID || got[1].UserID != "" || got[0].Outcome != "failed" {
			t.Errorf("refused sign-ins: %+v", got)
		}
		var leaked int64
		w.deps.DB.Raw(`SELECT COUNT(*) FROM audit_entries WHERE detail LIKE '%Tr0ub4dor%' OR detail LIKE '%nobody@%'`).Scan(&leaked)
		if leaked != 0 {
			t.Error("what was typed reached the audit log")
		}
	})
}

// runSequencer seals the world's audit entries in the background, as
// serve does, checkpointing often.
func runSequencer(t *testing.T, w *world) {
	t.Helper()
	pemData, err := audit.GenerateKeyPEM()
	if err != nil {
		t.Fatal(err)
	}
	signer, err := audit.ParseSigner(pemData)
	if err != nil {
		t.Fatal(err)
	}
	seq, err := audit.NewSequencer(w.deps.DB, audit.SequencerOptions{Signer: signer, Interval: 20 * time.Millisecond,
		CheckpointEvery: 50 * time.Millisecond, Log: testenv.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = seq.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
}

func TestAuditLog_LeadsReadTheirCasesRecordAndAuditorsAllOfIt(t *testing.T) {
	t.Parallel()
	forEachDatabase(t, func(t *testing.T, w *world) {
		runSequencer(t, w)
		w.call(t, http.MethodGet, "/api/v1/evidence/"+w.contentID+"/content", w.bearer["analyst"], "")
		var body string
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			_, body = w.call(t, http.MethodGet, "/api/v1/audit?case_id="+w.caseID, w.bearer["lead"], "")
			if strings.Contains(body, `"evidence.download"`) {
				break
			}
		}
		if !strings.Contains(body, `"action":"evidence.download"`) || !strings.Contains(body, w.user["analyst"].ID) {
			t.Fatalf("the lead's view of the case record: %s", body)
		}
		if resp, _ := w.call(t, http.MethodGet, "/api/v1/audit?case_id="+w.caseID, w.bearer["investigator"], ""); resp.StatusCode != 403 {
			t.Errorf("an investigator reads the record: %d", resp.StatusCode)
		}
		_, access := w.call(t, http.MethodGet, "/api/v1/evidence/"+w.contentID+"/access", w.bearer["lead"], "")
		if !strings.Contains(access, w.user["analyst"].ID) {
			t.Errorf("the item's access list: %s", access)
		}
		_, all := w.call(t, http.MethodGet, "/api/v1/audit?user_id="+w.user["analyst"].ID, w.bearer["auditor"], "")
		if !strings.Contains(all, `"evidence.download"`) {
			t.Errorf("the auditor's view: %s", all)
		}
		resp, export := w.call(t, http.MethodGet, "/api/v1/audit/export", w.bearer["auditor"], "")
		if resp.StatusCode != 200 || !strings.Contains(export, "evidence.download") || strings.Count(export, "\n") < 2 {
			t.Errorf("export: %d %s", resp.StatusCode, export)
		}
	})
}

func TestAuditTrail_ATimelineImportIsRecordedWithItsRows(t *testing.T) {
	t.Parallel()
	forEachDatabase(t, func(t *testing.T, w *world) {
		before := len(w.entries(t, "cases.timeline.imports.post"))
		body := `{"timestamp": 1768465800000000, "message": "logon", "hostname": "hr-fs02"}` + "\n"
		resp, out := w.call(t, http.MethodPost, "/api/v1/cases/"+w.caseID+"/timeline/imports?format=json_line", w.bearer["lead"], body)
		if resp.StatusCode != 201 {
			t.Fatalf("import: %d %s", resp.StatusCode, out)
		}
		got := w.entries(t, "cases.timeline.imports.post")[before:]
		if len(got) != 1 || got[0].UserID != w.user["lead"].ID || got[0].CaseID != w.caseID || strings.Contains(got[0].Detail, "status") {
			t.Errorf("import entry: %+v", got)
		}
	})
}

// auditActionNames is GET /api/v1/audit/actions, as the auditor reads it.
func auditActionNames(t *testing.T, w *world) []string {
	t.Helper()
	resp, body := w.call(t, http.MethodGet, "/api/v1/audit/actions", w.bearer["auditor"], "")
	var out struct{ Items []string }
	if err := json.Unmarshal([]byte(body), &out); resp.StatusCode != 200 || err != nil {
		t.Fatalf("audit actions: %d %s", resp.StatusCode, body)
	}
	return out.Items
}

// The audit log filters by exact action names, several at once, on the
// server, across keyset pages; a name it does not record, or too many
// names, is a 400 problem.
func TestAuditLog_FiltersByActionOnTheServer(t *testing.T) {
	t.Parallel()
	forEachDatabase(t, func(t *testing.T, w *world) {
		runSequencer(t, w)
		names := auditActionNames(t, w)
		for _, want := range []string{"evidence.download", "alerts.approve.post", "cases.get", "auth.login", "cases.sitreps.issue"} {
			if !slices.Contains(names, want) {
				t.Errorf("%s is not among the known actions", want)
			}
		}
		if !slices.IsSorted(names) {
			t.Error("the known actions are not sorted")
		}
		for range 3 {
			w.call(t, http.MethodGet, "/api/v1/evidence/"+w.contentID+"/content", w.bearer["analyst"], "")
		}
		w.call(t, http.MethodGet, "/api/v1/cases/"+w.caseID, w.bearer["lead"], "")
		page := func(who, query string) (int, pageJSON[auditEntryJSON]) {
			resp, body := w.call(t, http.MethodGet, "/api/v1/audit?"+query, w.bearer[who], "")
			var p pageJSON[auditEntryJSON]
			_ = json.Unmarshal([]byte(body), &p)
			return resp.StatusCode, p
		}
		downloads := "action=evidence.download&action=cases.get&user_id=" + w.user["analyst"].ID
		var all []auditEntryJSON
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			if _, p := page("auditor", downloads+"&limit=1000"); len(p.Items) >= 3 {
				all = p.Items
				break
			}
		}
		if len(all) < 3 {
			t.Fatalf("the analyst's downloads did not show: %+v", all)
		}
		for _, e := range all {
			if e.Action != "evidence.download" || e.UserID != w.user["analyst"].ID {
				t.Errorf("filtered by downloads and reads of the analyst: %s by %s", e.Action, e.UserID)
			}
		}
		// Keyset pages of one entry give the same entries, in the same order.
		var paged []auditEntryJSON
		cursor := ""
		for range len(all) + 2 {
			status, p := page("auditor", downloads+"&limit=1&cursor="+cursor)
			if status != 200 {
				t.Fatalf("page: %d", status)
			}
			paged = append(paged, p.Items...)
			if cursor = p.NextCursor; cursor == "" {
				break
			}
		}
		if len(paged) != len(all) {
			t.Fatalf("%d entries in pages of one, %d in one page", len(paged), len(all))
		}
		for i := range all {
			if paged[i].Seq != all[i].Seq {
				t.Errorf("page %d: seq %d, want %d", i, paged[i].Seq, all[i].Seq)
			}
		}
		// A lead filters their case's record the same way.
		if status, p := page("lead", "case_id="+w.caseID+"&action=evidence.download&limit=1000"); status != 200 || len(p.Items) < 3 ||
			slices.ContainsFunc(p.Items, func(e auditEntryJSON) bool { return e.Action != "evidence.download" }) {
			t.Errorf("the lead's downloads on the case: %d, %d entries", status, len(p.Items))
		}

		tooMany := strings.Repeat("action=cases.get&", audit.MaxFilterActions+1)
		for _, query := range []string{"action=evidence", "action=", "action=cases.get&action=DROP%20TABLE", tooMany} {
			resp, body := w.call(t, http.MethodGet, "/api/v1/audit?"+query, w.bearer["auditor"], "")
			if resp.StatusCode != 400 || resp.Header.Get("Content-Type") != "application/problem+json" || problemCode(t, body) != "invalid_input" {
				t.Errorf("%.60s: %d %s, want a 400 problem", query, resp.StatusCode, body)
			}
		}
	})
}

// An auditor reads the whole log, most of it by people of other agencies,
// whom the directory does not list to them: each entry names its actor.
func TestAuditLog_NamesTheActorOfEachEntry(t *testing.T) {
	t.Parallel()
	forEachDatabase(t, func(t *testing.T, w *world) {
		runSequencer(t, w)
		w.call(t, http.MethodGet, "/api/v1/evidence/"+w.contentID+"/content", w.bearer["analyst"], "")
		analyst := w.user["analyst"]
		var page struct{ Items []auditEntryJSON }
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			resp, body := w.call(t, http.MethodGet, "/api/v1/audit?user_id="+analyst.ID, w.bearer["auditor"], "")
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("the auditor lists the log: %d %s", resp.StatusCode, body)
			}
			if err := json.Unmarshal([]byte(body), &page); err != nil {
				t.Fatal(err)
			}
			if len(page.Items) > 0 {
				break
			}
		}
		if len(page.Items) == 0 {
			t.Fatal("no entries of the analyst sealed in time")
		}
		for _, e := range page.Items {
			if got := e.People[analyst.ID]; got.Name != analyst.Name || got.AgencyID != w.agency["A"].ID || got.AgencyName != w.agency["A"].Name {
				t.Errorf("entry %d (%s) names the analyst %+v, want %q of %q", e.Seq, e.Action, got, analyst.Name, w.agency["A"].Name)
			}
			if got := e.Agencies[w.agency["A"].ID]; got.Code != w.agency["A"].Code {
				t.Errorf("entry %d names agency A %+v", e.Seq, got)
			}
		}
	})
}

// A custody step is on the audit log as the step it was, with the agency a
// transfer is offered to: an auditor reads a handover from the log alone.
func TestAuditLog_ACustodyStepNamesTheStep(t *testing.T) {
	t.Parallel()
	forEachDatabase(t, func(t *testing.T, w *world) {
		runSequencer(t, w)
		b := w.agency["B"].ID
		path := "/api/v1/evidence/" + w.evidenceID + "/custody"
		for _, body := range []string{
			`{"type":"location_changed","location":"Locker 9"}`,
			`{"type":"transfer_offered","counterparty_agency_id":"` + b + `","purpose":"imaging"}`,
		} {
			if resp, out := w.call(t, http.MethodPost, path, w.bearer["investigator"], body); resp.StatusCode != http.StatusCreated {
				t.Fatalf("records %s: %d %s", body, resp.StatusCode, out)
			}
		}
		var steps []map[string]string
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline) && len(steps) < 2; time.Sleep(50 * time.Millisecond) {
			_, out := w.call(t, http.MethodGet, "/api/v1/audit?resource_id="+w.evidenceID+"&user_id="+w.user["investigator"].ID, w.bearer["auditor"], "")
			var page struct{ Items []auditEntryJSON }
			if err := json.Unmarshal([]byte(out), &page); err != nil {
				t.Fatal(err)
			}
			steps = steps[:0]
			for _, e := range page.Items {
				if e.Action == "evidence.custody.post" {
					steps = append(steps, e.Detail)
				}
			}
		}
		want := []map[string]string{{"step": "transfer_offered", "counterparty_agency_id": b}, {"step": "location_changed"}} // newest first
		if fmt.Sprint(steps) != fmt.Sprint(want) {
			t.Errorf("the custody steps on the log: %v, want %v", steps, want)
		}
	})
}
