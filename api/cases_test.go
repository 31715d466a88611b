package api

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/bevis-ir/bevis/cases"
	"github.com/bevis-ir/bevis/internal/db"
)

func decodeCase(t *testing.T, body string) caseJSON {
	t.Helper()
	var k caseJSON
	if err := json.Unmarshal([]byte(body), &k); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	return k
}

func problemCode(t *testing.T, body string) string {
	t.Helper()
	var p problem
	if err := json.Unmarshal([]byte(body), &p); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	return p.Code
}

// current reads the fixture case as the lead sees it, with its ETag.
func (w *world) current(t *testing.T) (caseJSON, string) {
	t.Helper()
	resp, body := w.call(t, "GET", "/api/v1/cases/"+w.caseID, w.bearer["lead"], "")
	if resp.StatusCode != 200 {
		t.Fatalf("get case: %d %s", resp.StatusCode, body)
	}
	return decodeCase(t, body), resp.Header.Get("ETag")
}

func TestCases_WritesNeedTheCurrentETag(t *testing.T) {
	t.Parallel()
	for _, dialect := range dialects {
		t.Run(dialect, func(t *testing.T) {
			w := seededWorld(t, dialect)
			before, tag := w.current(t)
			if tag != `"1"` || before.Version != 1 || !strings.HasPrefix(before.Reference, "BEV-") {
				t.Fatalf("etag %s, case %+v", tag, before)
			}
			path := "/api/v1/cases/" + w.caseID
			patch := `{"summary":"changed"}`
			for _, tc := range []struct {
				name, ifMatch string
				status        int
				code          string
			}{
				{"missing", "", 428, "precondition_required"},
				{"star", "*", 428, "precondition_required"},
				{"stale", `"7"`, 412, "precondition_failed"},
				{"weak", `W/"1"`, 412, "precondition_failed"},
				{"unquoted", `1`, 412, "precondition_failed"},
			} {
				var hdr []string
				if tc.ifMatch != "" {
					hdr = []string{"If-Match", tc.ifMatch}
				}
				for _, req := range []struct{ method, path, body string }{
					{"PATCH", path, patch},
					{"POST", path + "/transitions", `{"to":"triage"}`},
					{"POST", path + "/clocks/gdpr.art33/met", `{"reference":"x"}`},
				} {
					resp, body := w.call(t, req.method, req.path, w.bearer["lead"], req.body, hdr...)
					if resp.StatusCode != tc.status || problemCode(t, body) != tc.code {
						t.Errorf("%s %s, If-Match %s: %d %s", req.method, req.path, tc.name, resp.StatusCode, body)
					}
				}
			}
			if after, _ := w.current(t); after.Version != 1 || after.Summary != "" || after.Status != "new" {
				t.Errorf("refused writes changed the case: %+v", after)
			}
			resp, body := w.call(t, "PATCH", path, w.bearer["investigator"], patch, "If-Match", tag)
			if resp.StatusCode != 200 || resp.Header.Get("ETag") != `"2"` || decodeCase(t, body).Summary != "changed" {
				t.Fatalf("patch with the current ETag: %d %s %s", resp.StatusCode, resp.Header.Get("ETag"), body)
			}
			// The tag just used is now stale: a second writer holding it loses.
			resp, body = w.call(t, "PATCH", path, w.bearer["analyst"], `{"summary":"lost update"}`, "If-Match", tag)
			if resp.StatusCode != 412 {
				t.Errorf("second writer with the old ETag: %d %s", resp.StatusCode, body)
			}
		})
	}
}

func TestCases_RefuseUnknownAndServerOwnedFields(t *testing.T) {
	t.Parallel()
	w := seededWorld(t, db.SQLite)
	before, tag := w.current(t)
	fields := []string{`"id":"x"`, `"reference":"BEV-2026-9999"`, `"status":"closed"`, `"version":9`, `"lead_agency_id":"x"`,
		`"created_by":"x"`, `"created_at":"2026-01-01T00:00:00Z"`, `"updated_at":"2026-01-01T00:00:00Z"`, `"clocks":[]`,
		`"allowed_transitions":[]`, `"status_changed_at":"2026-01-01T00:00:00Z"`, `"colour":"red"`}
	for _, f := range fields {
		resp, body := w.call(t, "POST", "/api/v1/cases", w.bearer["lead"], `{"title":"x",`+f+`}`)
		if resp.StatusCode != 400 || problemCode(t, body) != "invalid_json" || !strings.Contains(body, "Unknown field") {
			t.Errorf("create with %s: %d %s", f, resp.StatusCode, body)
		}
		resp, body = w.call(t, "PATCH", "/api/v1/cases/"+w.caseID, w.bearer["lead"], `{"title":"y",`+f+`}`, "If-Match", tag)
		if resp.StatusCode != 400 || problemCode(t, body) != "invalid_json" {
			t.Errorf("patch with %s: %d %s", f, resp.StatusCode, body)
		}
	}
	resp, body := w.call(t, "PATCH", "/api/v1/cases/"+w.caseID, w.bearer["lead"], `{"severity":"high"}`, "If-Match", tag)
	if resp.StatusCode != 400 || !strings.Contains(body, `Field \"severity\" has the wrong type`) {
		t.Errorf("patch with a wrongly typed field: %d %s", resp.StatusCode, body)
	}
	for _, bad := range []string{`{"severity":9}`, `{"tlp":"PURPLE"}`, `{"title":""}`, `{"jurisdictions":["atlantis"]}`,
		`{"aware_at":"2999-01-01T00:00:00Z"}`, `{"tags":["a\nb"]}`} {
		resp, body := w.call(t, "PATCH", "/api/v1/cases/"+w.caseID, w.bearer["lead"], bad, "If-Match", tag)
		if resp.StatusCode != 400 || problemCode(t, body) != "invalid_input" {
			t.Errorf("patch %s: %d %s", bad, resp.StatusCode, body)
		}
	}
	after, _ := w.current(t)
	if after.Version != before.Version || after.Title != before.Title || after.Status != "new" {
		t.Errorf("refused input changed the case: %+v", after)
	}
	resp, body = w.call(t, "GET", "/api/v1/cases", w.bearer["lead"], "")
	if resp.StatusCode != 200 || strings.Count(body, `"reference"`) != 1 {
		t.Errorf("refused creations made cases: %s", body)
	}
}

func TestCases_OnlyTheLeadChangesTLPAndClosesOrReopens(t *testing.T) {
	t.Parallel()
	w := seededWorld(t, db.SQLite)
	path := "/api/v1/cases/" + w.caseID
	_, tag := w.current(t)
	resp, body := w.call(t, "PATCH", path, w.bearer["investigator"], `{"tlp":"GREEN"}`, "If-Match", tag)
	if resp.StatusCode != 403 {
		t.Errorf("investigator changes TLP: %d %s", resp.StatusCode, body)
	}
	resp, body = w.call(t, "POST", path+"/transitions", w.bearer["investigator"], `{"to":"closed","reason":"false positive"}`, "If-Match", tag)
	if resp.StatusCode != 403 {
		t.Errorf("investigator closes: %d %s", resp.StatusCode, body)
	}
	resp, body = w.call(t, "POST", path+"/transitions", w.bearer["lead"], `{"to":"closed","reason":"false positive"}`, "If-Match", tag)
	if resp.StatusCode != 200 || decodeCase(t, body).Status != "closed" {
		t.Fatalf("lead closes: %d %s", resp.StatusCode, body)
	}
	tag = resp.Header.Get("ETag")
	resp, body = w.call(t, "POST", path+"/transitions", w.bearer["analyst"], `{"to":"investigating"}`, "If-Match", tag)
	if resp.StatusCode != 403 {
		t.Errorf("analyst reopens: %d %s", resp.StatusCode, body)
	}
	resp, body = w.call(t, "POST", path+"/transitions", w.bearer["lead"], `{"to":"investigating","reason":"new logs"}`, "If-Match", tag)
	if resp.StatusCode != 200 || decodeCase(t, body).Status != "investigating" {
		t.Errorf("lead reopens: %d %s", resp.StatusCode, body)
	}
	resp, body = w.call(t, "GET", path+"/history", w.bearer["observer"], "")
	var h historyJSON
	_ = json.Unmarshal([]byte(body), &h)
	if resp.StatusCode != 200 || len(h.Transitions) != 3 || h.Transitions[2].Reason != "new logs" ||
		h.Transitions[2].ByUser != w.user["lead"].ID || len(h.Phases) != 3 || h.Phases[2].LeftAt != nil {
		t.Errorf("history: %d %s", resp.StatusCode, body)
	}
}

func TestCases_InvalidTransitionIsAConflictAndChangesNothing(t *testing.T) {
	t.Parallel()
	w := seededWorld(t, db.SQLite)
	path := "/api/v1/cases/" + w.caseID
	_, tag := w.current(t)
	resp, body := w.call(t, "POST", path+"/transitions", w.bearer["lead"], `{"to":"recovery"}`, "If-Match", tag)
	if resp.StatusCode != 409 || problemCode(t, body) != "invalid_transition" || !strings.Contains(body, "from new it can go to triage, closed") {
		t.Errorf("new → recovery: %d %s", resp.StatusCode, body)
	}
	resp, body = w.call(t, "POST", path+"/transitions", w.bearer["lead"], `{"to":"done"}`, "If-Match", tag)
	if resp.StatusCode != 400 || problemCode(t, body) != "invalid_input" {
		t.Errorf("unknown status: %d %s", resp.StatusCode, body)
	}
	if k, _ := w.current(t); k.Status != "new" || k.Version != 1 {
		t.Errorf("refused transitions changed the case: %+v", k)
	}
	_, body = w.call(t, "GET", path+"/history", w.bearer["lead"], "")
	if strings.Count(body, `"to":`) != 1 {
		t.Errorf("refused transitions are in the history: %s", body)
	}
}

func TestCases_PersonalDataBreachClocksShowDueTimesAndOverdue(t *testing.T) {
	t.Parallel()
	w := seededWorld(t, db.SQLite)
	aware := time.Now().UTC().Add(-80 * time.Hour).Truncate(time.Second)
	resp, body := w.call(t, "POST", "/api/v1/cases", w.bearer["lead"], fmt.Sprintf(
		`{"title":"Patient records","severity":4,"personal_data_breach":true,"aware_at":%q,"jurisdictions":["gdpr","nis2"],"tags":["health"]}`,
		aware.Format(time.RFC3339)))
	if resp.StatusCode != 201 || resp.Header.Get("ETag") != `"1"` {
		t.Fatalf("create: %d %s", resp.StatusCode, body)
	}
	k := decodeCase(t, body)
	want := map[string]struct{ due, state string }{
		"gdpr.art33":               {timestamp(aware.Add(72 * time.Hour)), "overdue"},
		"nis2.art23.early_warning": {timestamp(aware.Add(24 * time.Hour)), "overdue"},
		"nis2.art23.notification":  {timestamp(aware.Add(72 * time.Hour)), "overdue"},
		"nis2.art23.final_report":  {"", "pending"},
	}
	if len(k.Clocks) != len(want) {
		t.Fatalf("clocks %+v", k.Clocks)
	}
	for _, c := range k.Clocks {
		due := ""
		if c.DueAt != nil {
			due = *c.DueAt
		}
		if w, ok := want[c.ID]; !ok || due != w.due || c.State != w.state {
			t.Errorf("clock %s: due %q state %s, want %+v", c.ID, due, c.State, w)
		}
	}
	resp, body = w.call(t, "POST", "/api/v1/cases/"+k.ID+"/clocks/nis2.art23.notification/met", w.bearer["lead"],
		`{"reference":"CSIRT-2026-12"}`, "If-Match", `"1"`)
	if resp.StatusCode != 200 {
		t.Fatalf("meet: %d %s", resp.StatusCode, body)
	}
	for _, c := range decodeCase(t, body).Clocks {
		switch c.ID {
		case "nis2.art23.notification":
			if c.State != "met" || c.Met == nil || c.Met.Reference != "CSIRT-2026-12" || c.Met.ByUser != w.user["lead"].ID || !c.Met.Late {
				t.Errorf("met clock %+v %+v", c, c.Met)
			}
		case "nis2.art23.final_report":
			if c.DueAt == nil || c.State != "pending" {
				t.Errorf("final report after the notification: %+v", c)
			}
		}
	}
	resp, body = w.call(t, "GET", "/api/v1/cases?clock_state=overdue&tag=health&severity=4", w.bearer["lead"], "")
	var page casePageJSON
	_ = json.Unmarshal([]byte(body), &page)
	if resp.StatusCode != 200 || len(page.Items) != 1 || page.Items[0].ID != k.ID || page.Counts["new"] != 1 {
		t.Errorf("overdue list: %d %s", resp.StatusCode, body)
	}
}

func TestCaseList_RefusesUnknownParametersAndSortKeys(t *testing.T) {
	t.Parallel()
	w := seededWorld(t, db.SQLite)
	for _, q := range []string{"?owner=me", "?sort=title", "?sort=id;drop", "?status=done", "?severity=high", "?limit=0",
		"?limit=1000", "?clock_state=late", "?cursor=abc"} {
		resp, body := w.call(t, "GET", "/api/v1/cases"+q, w.bearer["lead"], "")
		if resp.StatusCode != 400 || problemCode(t, body) != "invalid_input" {
			t.Errorf("%s: %d %s", q, resp.StatusCode, body)
		}
	}
}

// The statements behind one page of the list do not grow with the number
// of cases on it: no query per case (N+1).
func TestCaseList_StatementsDoNotGrowWithThePage(t *testing.T) {
	t.Parallel()
	for _, dialect := range dialects {
		t.Run(dialect, func(t *testing.T) {
			w := seededWorld(t, dialect)
			n := countStatements(t, w.deps.DB)
			list := func() (int64, casePageJSON) {
				t.Helper()
				before := n.Load()
				resp, body := w.call(t, "GET", "/api/v1/cases?limit=200", w.bearer["lead"], "")
				if resp.StatusCode != 200 {
					t.Fatalf("list: %d %s", resp.StatusCode, body)
				}
				var page casePageJSON
				if err := json.Unmarshal([]byte(body), &page); err != nil {
					t.Fatal(err)
				}
				return n.Load() - before, page
			}
			lead := w.principal(t, "lead")
			aware := time.Now().Add(-time.Hour)
			open := func(n int) {
				t.Helper()
				for i := range n {
					if _, err := w.deps.Cases.Create(context.Background(), lead, cases.NewCase{Title: fmt.Sprint("case ", i),
						Tags: []string{"a", "b"}, PersonalDataBreach: true, AwareAt: &aware, Jurisdictions: []string{"gdpr", "nis2"}}); err != nil {
						t.Fatal(err)
					}
				}
			}
			// Each list measured follows a change, with the counts of
			// before it cached: both count again and read new cases.
			if _, page := list(); len(page.Items) != 1 {
				t.Fatalf("%d cases listed, want 1", len(page.Items))
			}
			open(1)
			one, page := list()
			if len(page.Items) != 2 {
				t.Fatalf("%d cases listed, want 2", len(page.Items))
			}
			open(29)
			many, page := list()
			if len(page.Items) != 31 || len(page.Items[0].Clocks) != 4 || len(page.Items[0].Tags) != 2 {
				t.Fatalf("%d cases listed", len(page.Items))
			}
			if one == 0 || many != one {
				t.Errorf("listing 2 cases ran %d statements, 31 cases %d: statements per case (N+1)", one, many)
			}
			t.Logf("statements per list request: %d", many)
		})
	}
}

func TestTemplates_OpenACaseWithItsTagsClocksAndTasks(t *testing.T) {
	t.Parallel()
	forEachDatabase(t, func(t *testing.T, w *world) {
		resp, body := w.call(t, "POST", "/api/v1/cases", w.bearer["other_agency"],
			`{"title":"Hospital encrypted","tags":["hospital"],"template_id":"`+w.templateID+`"}`)
		if resp.StatusCode != 201 {
			t.Fatalf("create from template: %d %s", resp.StatusCode, body)
		}
		var k caseJSON
		if err := json.Unmarshal([]byte(body), &k); err != nil {
			t.Fatal(err)
		}
		if k.Severity != 3 || strings.Join(k.Tags, ",") != "hospital,ransomware" || strings.Join(k.Jurisdictions, ",") != "gdpr,nis2" {
			t.Errorf("case from template: %s", body)
		}
		_, tasks := w.call(t, "GET", "/api/v1/cases/"+k.ID+"/tasks", w.bearer["other_agency"], "")
		if !strings.Contains(tasks, `"title":"Isolate affected hosts"`) || !strings.Contains(tasks, `"assignee_agency_id":"`+w.agency["B"].ID+`"`) ||
			!strings.Contains(tasks, `"text":"Preserve memory"`) || !strings.Contains(tasks, `"priority":"urgent"`) {
			t.Errorf("preset tasks: %s", tasks)
		}
		if resp, body := w.call(t, "POST", "/api/v1/cases", w.bearer["lead"], `{"title":"x","template_id":"nope"}`); resp.StatusCode != 400 {
			t.Errorf("unknown template: %d %s", resp.StatusCode, body)
		}
		bad := []string{`{"name":""}`, `{"name":"x","severity":9}`, `{"name":"x","jurisdictions":["atlantis"]}`,
			`{"name":"x","tasks":[{"title":"t","priority":"whenever"}]}`, `{"name":"x","tasks":[{"title":"t","due_in_hours":-1}]}`,
			`{"name":"Ransomware"}`}
		for _, b := range bad {
			if resp, out := w.call(t, "POST", "/api/v1/templates", w.bearer["admin"], b); resp.StatusCode != 400 && resp.StatusCode != 409 {
				t.Errorf("%s: %d %s", b, resp.StatusCode, out)
			}
		}
	})
}
