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

func decodeTask(t *testing.T, body string) taskJSON {
	t.Helper()
	var k taskJSON
	if err := json.Unmarshal([]byte(body), &k); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	return k
}

func (w *world) taskPath(id string) string { return "/api/v1/cases/" + w.caseID + "/tasks/" + id }

func TestTasks_AgencyTaskIsTakenOnByItsCoordinatorAndDelegated(t *testing.T) {
	t.Parallel()
	forEachDatabase(t, func(t *testing.T, w *world) {
		path := w.taskPath(w.taskID)
		// Agency A's admin works on the case through A's membership: a
		// coordinator of A, though not the case's lead.
		resp, body := w.call(t, http.MethodPost, path+"/acknowledge", w.bearer["agency_admin"], "")
		if resp.StatusCode != 200 {
			t.Fatalf("acknowledge: %d %s", resp.StatusCode, body)
		}
		if k := decodeTask(t, body); k.AcknowledgedBy != w.user["agency_admin"].ID || k.AcknowledgedAt == nil {
			t.Errorf("acknowledgement: %+v", k)
		}
		if resp, _ := w.call(t, http.MethodPost, path+"/acknowledge", w.bearer["lead"], ""); resp.StatusCode != 409 {
			t.Errorf("second acknowledgement: %d, want 409", resp.StatusCode)
		}
		tests := []struct{ who, user string }{
			{"lead", w.user["observer"].ID},     // read-only on the case
			{"lead", w.user["other_agency"].ID}, // not of agency A
			{"lead", "no-such-user"},
		}
		for _, tt := range tests {
			if resp, body := w.call(t, http.MethodPost, path+"/delegate", w.bearer[tt.who], `{"user_id":"`+tt.user+`"}`); resp.StatusCode != 400 {
				t.Errorf("delegate to %s: %d %s", tt.user, resp.StatusCode, body)
			}
		}
		resp, body = w.call(t, http.MethodPost, path+"/delegate", w.bearer["lead"], `{"user_id":"`+w.user["analyst"].ID+`"}`)
		if resp.StatusCode != 200 || decodeTask(t, body).DelegatedTo != w.user["analyst"].ID {
			t.Fatalf("delegate: %d %s", resp.StatusCode, body)
		}
		_, mine := w.call(t, http.MethodGet, "/api/v1/tasks?view=mine", w.bearer["analyst"], "")
		if !strings.Contains(mine, w.taskID) {
			t.Errorf("the delegate's own tasks lack it: %s", mine)
		}
		_, agency := w.call(t, http.MethodGet, "/api/v1/tasks?view=agency", w.bearer["observer"], "")
		if !strings.Contains(agency, w.taskID) {
			t.Errorf("agency A's tasks lack it: %s", agency)
		}
		for _, who := range []string{"other_agency", "excluded"} {
			_, list := w.call(t, http.MethodGet, "/api/v1/tasks?view=agency", w.bearer[who], "")
			if strings.Contains(list, w.taskID) {
				t.Errorf("%s sees the task in the agency view: %s", who, list)
			}
		}
	})
}

func TestTasks_ChangesNeedTheCurrentETag(t *testing.T) {
	t.Parallel()
	forEachDatabase(t, func(t *testing.T, w *world) {
		path := w.taskPath(w.taskID)
		resp, body := w.call(t, http.MethodGet, path, w.bearer["investigator"], "")
		etag := resp.Header.Get("ETag")
		if resp.StatusCode != 200 || etag != `"1"` {
			t.Fatalf("get: %d %q %s", resp.StatusCode, etag, body)
		}
		if resp, _ := w.call(t, http.MethodPatch, path, w.bearer["investigator"], `{"status":"in_progress"}`); resp.StatusCode != 428 {
			t.Errorf("without If-Match: %d, want 428", resp.StatusCode)
		}
		resp, body = w.call(t, http.MethodPatch, path, w.bearer["investigator"], `{"status":"in_progress","due_at":"2027-01-01T12:00:00+01:00"}`, "If-Match", etag)
		if resp.StatusCode != 200 || resp.Header.Get("ETag") != `"2"` {
			t.Fatalf("patch: %d %q %s", resp.StatusCode, resp.Header.Get("ETag"), body)
		}
		if k := decodeTask(t, body); k.Status != "in_progress" || k.DueAt == nil || *k.DueAt != "2027-01-01T11:00:00Z" {
			t.Errorf("after patch: %+v", k)
		}
		resp, body = w.call(t, http.MethodPatch, path, w.bearer["analyst"], `{"status":"done"}`, "If-Match", etag)
		if resp.StatusCode != 412 || problemCode(t, body) != "precondition_failed" {
			t.Errorf("stale If-Match: %d %s", resp.StatusCode, body)
		}
		for _, field := range []string{`"id":"x"`, `"case_id":"x"`, `"created_by":"x"`, `"version":9`, `"acknowledged_by":"x"`, `"overdue":true`} {
			resp, body := w.call(t, http.MethodPatch, path, w.bearer["lead"], "{"+field+"}", "If-Match", `"2"`)
			if resp.StatusCode != 400 {
				t.Errorf("server-owned %s: %d %s", field, resp.StatusCode, body)
			}
		}
		if _, body := w.call(t, http.MethodPatch, path, w.bearer["lead"], `{"due_at":null}`, "If-Match", `"2"`); decodeTask(t, body).DueAt != nil {
			t.Errorf("due_at null did not clear it: %s", body)
		}
		_, body = w.call(t, http.MethodGet, path, w.bearer["observer"], "")
		if k := decodeTask(t, body); k.Status != "in_progress" || k.Version != 3 || k.CaseID != w.caseID {
			t.Errorf("refused changes changed the task: %+v", k)
		}
	})
}

func TestTasks_GoOnlyToPeopleAndAgenciesOnTheCase(t *testing.T) {
	t.Parallel()
	forEachDatabase(t, func(t *testing.T, w *world) {
		tests := map[string]string{
			"observer":       `"assignee_user_id":"` + w.user["observer"].ID + `"`,
			"outsider":       `"assignee_user_id":"` + w.user["other_agency"].ID + `"`,
			"excluded":       `"assignee_user_id":"` + w.user["excluded"].ID + `"`,
			"agency not on":  `"assignee_agency_id":"` + w.agency["D"].ID + `"`,
			"both":           `"assignee_user_id":"` + w.user["analyst"].ID + `","assignee_agency_id":"` + w.agency["A"].ID + `"`,
			"neither":        `"priority":"low"`,
			"bad priority":   `"assignee_user_id":"` + w.user["analyst"].ID + `","priority":"whenever"`,
			"long checklist": `"assignee_user_id":"` + w.user["analyst"].ID + `","checklist":["` + strings.Repeat("x", 501) + `"]`,
		}
		for name, fields := range tests {
			resp, body := w.call(t, http.MethodPost, "/api/v1/cases/"+w.caseID+"/tasks", w.bearer["lead"], `{"title":"T",`+fields+`}`)
			if resp.StatusCode != 400 {
				t.Errorf("%s: %d %s", name, resp.StatusCode, body)
			}
		}
		_, list := w.call(t, http.MethodGet, "/api/v1/cases/"+w.caseID+"/tasks", w.bearer["lead"], "")
		if n := strings.Count(list, `"title"`); n != 1 {
			t.Errorf("refused tasks were created: %d tasks", n)
		}
	})
}

func TestTasks_OverdueFollowsTheClockAndClosingEndsIt(t *testing.T) {
	t.Parallel()
	forEachDatabase(t, func(t *testing.T, w *world) {
		due := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
		resp, body := w.call(t, http.MethodPost, "/api/v1/cases/"+w.caseID+"/tasks", w.bearer["lead"],
			`{"title":"Notify the supervisory authority","assignee_user_id":"`+w.user["investigator"].ID+`","due_at":"`+due+`"}`)
		if resp.StatusCode != 201 {
			t.Fatalf("create: %d %s", resp.StatusCode, body)
		}
		task := decodeTask(t, body)
		if _, list := w.call(t, http.MethodGet, "/api/v1/tasks?view=overdue", w.bearer["lead"], ""); strings.Contains(list, task.ID) {
			t.Errorf("overdue before its time: %s", list)
		}
		later := time.Now().Add(2 * time.Hour)
		w.deps.Tasks.SetClock(func() time.Time { return later })
		_, list := w.call(t, http.MethodGet, "/api/v1/tasks?view=overdue", w.bearer["lead"], "")
		if !strings.Contains(list, task.ID) || !strings.Contains(list, `"overdue":true`) {
			t.Errorf("not overdue after its time: %s", list)
		}
		resp, _ = w.call(t, http.MethodPatch, w.taskPath(task.ID), w.bearer["investigator"], `{"status":"done"}`, "If-Match", `"1"`)
		if resp.StatusCode != 200 {
			t.Fatalf("done: %d", resp.StatusCode)
		}
		if _, list := w.call(t, http.MethodGet, "/api/v1/tasks?view=overdue", w.bearer["lead"], ""); strings.Contains(list, task.ID) {
			t.Errorf("a done task is still overdue: %s", list)
		}
	})
}

func TestTasks_ListsPageThroughCursors(t *testing.T) {
	t.Parallel()
	forEachDatabase(t, func(t *testing.T, w *world) {
		for i := range 4 {
			body := fmt.Sprintf(`{"title":"Task %d","assignee_agency_id":%q}`, i, w.agency["A"].ID)
			if resp, out := w.call(t, http.MethodPost, "/api/v1/cases/"+w.caseID+"/tasks", w.bearer["lead"], body); resp.StatusCode != 201 {
				t.Fatalf("create: %d %s", resp.StatusCode, out)
			}
		}
		seen := map[string]bool{}
		url := "/api/v1/cases/" + w.caseID + "/tasks?limit=2"
		for pages := 0; ; pages++ {
			if pages > 5 {
				t.Fatal("the cursor does not end")
			}
			_, body := w.call(t, http.MethodGet, url, w.bearer["observer"], "")
			var p pageJSON[taskJSON]
			if err := json.Unmarshal([]byte(body), &p); err != nil {
				t.Fatal(err)
			}
			for _, k := range p.Items {
				if seen[k.ID] {
					t.Errorf("task %s on two pages", k.ID)
				}
				seen[k.ID] = true
			}
			if p.NextCursor == "" {
				break
			}
			url = "/api/v1/cases/" + w.caseID + "/tasks?limit=2&cursor=" + p.NextCursor
		}
		if len(seen) != 5 {
			t.Errorf("paged through %d tasks, want 5", len(seen))
		}
		for _, q := range []string{"limit=0", "limit=201", "cursor=%%%", "status=finished"} {
			if resp, _ := w.call(t, http.MethodGet, "/api/v1/cases/"+w.caseID+"/tasks?"+q, w.bearer["observer"], ""); resp.StatusCode != 400 {
				t.Errorf("%s: %d, want 400", q, resp.StatusCode)
			}
		}
		if resp, _ := w.call(t, http.MethodGet, "/api/v1/tasks?view=everything", w.bearer["observer"], ""); resp.StatusCode != 400 {
			t.Errorf("unknown view: %d, want 400", resp.StatusCode)
		}
	})
}

func TestComments_MentionOnlyMembersAndKeepTheTextAsWritten(t *testing.T) {
	t.Parallel()
	forEachDatabase(t, func(t *testing.T, w *world) {
		casePath := "/api/v1/cases/" + w.caseID
		for _, who := range []string{"other_agency", "excluded", "no-such-user"} {
			id := who
			if u, ok := w.user[who]; ok {
				id = u.ID
			}
			resp, body := w.call(t, http.MethodPost, casePath+"/comments", w.bearer["lead"], `{"body":"see this","mentions":["`+id+`"]}`)
			if resp.StatusCode != 400 || !strings.Contains(body, `"mentions[0]"`) {
				t.Errorf("mention of %s: %d %s", who, resp.StatusCode, body)
			}
		}
		text := "<script>alert(1)</script> \u202egnp.exe @investigator"
		raw, _ := json.Marshal(map[string]any{"body": text, "mentions": []string{w.user["investigator"].ID}})
		resp, body := w.call(t, http.MethodPost, w.taskPath(w.taskID)+"/comments", w.bearer["analyst"], string(raw))
		if resp.StatusCode != 201 {
			t.Fatalf("comment: %d %s", resp.StatusCode, body)
		}
		_, list := w.call(t, http.MethodGet, w.taskPath(w.taskID)+"/comments", w.bearer["observer"], "")
		var p pageJSON[commentJSON]
		if err := json.Unmarshal([]byte(list), &p); err != nil {
			t.Fatal(err)
		}
		if len(p.Items) != 1 || p.Items[0].Body != text || len(p.Items[0].Mentions) != 1 || p.Items[0].AuthorID != w.user["analyst"].ID {
			t.Errorf("task comments: %s", list)
		}
		if _, list := w.call(t, http.MethodGet, casePath+"/comments", w.bearer["observer"], ""); list != `{"items":[]}` {
			t.Errorf("a task comment shows on the case: %s", list)
		}
		// A task of another case is not found through this one.
		other, err := w.deps.Cases.Create(t.Context(), w.principal(t, "lead"), cases.NewCase{Title: "Other breach", TLP: access.TLPAmber})
		if err != nil {
			t.Fatal(err)
		}
		resp, _ = w.call(t, http.MethodPost, "/api/v1/cases/"+other.ID+"/tasks/"+w.taskID+"/comments", w.bearer["lead"], `{"body":"x"}`)
		if resp.StatusCode != 404 {
			t.Errorf("a task through another case: %d, want 404", resp.StatusCode)
		}
	})
}

// The statements behind a page of tasks or comments do not grow with the
// number on the page: checklists and mentions load once per page (no N+1).
func TestTaskAndCommentLists_StatementsDoNotGrowWithThePage(t *testing.T) {
	t.Parallel()
	for _, dialect := range dialects {
		t.Run(dialect, func(t *testing.T) {
			w := seededWorld(t, dialect)
			n := countStatements(t, w.deps.DB)
			paths := []string{"/api/v1/tasks?view=agency", "/api/v1/cases/" + w.caseID + "/tasks", "/api/v1/cases/" + w.caseID + "/comments"}
			measure := func() []int64 {
				var out []int64
				for _, p := range paths {
					before := n.Load()
					if resp, body := w.call(t, http.MethodGet, p, w.bearer["lead"], ""); resp.StatusCode != 200 {
						t.Fatalf("%s: %d %s", p, resp.StatusCode, body)
					}
					out = append(out, n.Load()-before)
				}
				return out
			}
			comment := fmt.Sprintf(`{"body":"x","mentions":[%q]}`, w.user["analyst"].ID)
			w.call(t, http.MethodPost, "/api/v1/cases/"+w.caseID+"/comments", w.bearer["lead"], comment)
			few := measure()
			for i := range 20 {
				body := fmt.Sprintf(`{"title":"Task %d","assignee_agency_id":%q,"checklist":["a","b"]}`, i, w.agency["A"].ID)
				w.call(t, http.MethodPost, "/api/v1/cases/"+w.caseID+"/tasks", w.bearer["lead"], body)
				w.call(t, http.MethodPost, "/api/v1/cases/"+w.caseID+"/comments", w.bearer["lead"], comment)
			}
			many := measure()
			for i, p := range paths {
				if many[i] != few[i] {
					t.Errorf("%s: %d statements for a short page, %d for a long one", p, few[i], many[i])
				}
			}
		})
	}
}
