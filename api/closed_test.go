package api

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/bevis-ir/bevis/evidence"
)

// caseETag is the fixture case's current ETag.
func (w *world) caseETag(t *testing.T) string {
	t.Helper()
	k, err := w.deps.Cases.Get(t.Context(), w.caseID)
	if err != nil {
		t.Fatal(err)
	}
	return etag(k)
}

// transition moves the fixture case as the lead.
func (w *world) transition(t *testing.T, to string) {
	t.Helper()
	resp, body := w.call(t, http.MethodPost, "/api/v1/cases/"+w.caseID+"/transitions", w.bearer["lead"],
		`{"to":"`+to+`","reason":"test"}`, "If-Match", w.caseETag(t))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("move the case to %s: %d %s", to, resp.StatusCode, body)
	}
}

// A closed case takes no new work through any write route until a lead
// reopens it; custody of the evidence it holds, and who may see it, go on.
func TestClosedCase_RefusesNewWorkButKeepsCustodyGoing(t *testing.T) {
	t.Parallel()
	forEachDatabase(t, func(t *testing.T, w *world) {
		ctx := t.Context()
		k, err := w.deps.Cases.Get(ctx, w.caseID)
		if err != nil {
			t.Fatal(err)
		}
		empty, err := w.deps.Items.Register(ctx, w.principal(t, "lead"), w.caseID, k.Reference,
			evidence.NewItem{Title: "Router config", Kind: "document"})
		if err != nil {
			t.Fatal(err)
		}
		counts := func() map[string]int64 {
			out := map[string]int64{}
			for _, table := range []string{"case_tasks", "task_checklist_items", "comments", "timeline_events",
				"timeline_imports", "evidence_items", "evidence_uploads", "case_clocks"} {
				var n int64
				if err := w.deps.DB.Table(table).Count(&n).Error; err != nil {
					t.Fatal(err)
				}
				out[table] = n
			}
			return out
		}
		w.transition(t, "closed")
		before := counts()

		c := "/api/v1/cases/" + w.caseID
		task := c + "/tasks/" + w.taskID
		tus := []string{"Tus-Resumable", "1.0.0"}
		refused := []struct {
			method, path, body string
			header             []string
		}{
			{"PATCH", c, `{"summary":"Edited after closing"}`, nil},
			{"POST", c + "/clocks/gdpr.art33/met", `{"reference":"DPA-1"}`, nil},
			{"POST", c + "/tasks", `{"title":"More work","assignee_agency_id":"` + w.agency["A"].ID + `"}`, nil},
			{"PATCH", task, `{"status":"done"}`, []string{"If-Match", `"1"`}},
			{"POST", task + "/acknowledge", "", nil},
			{"POST", task + "/delegate", `{"user_id":"` + w.user["investigator"].ID + `"}`, nil},
			{"POST", task + "/checklist", `{"text":"One more step"}`, nil},
			{"PATCH", task + "/checklist/" + w.itemID, `{"done":true}`, nil},
			{"POST", task + "/comments", `{"body":"Still at it"}`, nil},
			{"POST", c + "/comments", `{"body":"After closing"}`, nil},
			{"POST", c + "/timeline", `{"occurred_at":"2026-01-15T09:30:00Z","description":"Logon"}`, nil},
			{"POST", c + "/timeline/imports?format=json_line", `{"timestamp": 1768465800000000, "message": "logon"}` + "\n", nil},
			{"POST", c + "/timeline/" + w.eventID + "/corrections",
				`{"occurred_at":"2026-01-15T08:30:00Z","description":"Phishing mail","reason":"host"}`, nil},
			{"POST", c + "/evidence", `{"title":"Another disk","kind":"disk_image"}`, nil},
			{"PUT", "/api/v1/evidence/" + empty.ID + "/content", "data", nil},
			{"POST", "/api/v1/evidence/" + empty.ID + "/uploads", "", append([]string{"Upload-Length", "4"}, tus...)},
			{"PATCH", "/api/v1/uploads/" + w.uploadID, "data", append([]string{"Content-Type", "application/offset+octet-stream",
				"Upload-Offset", "0"}, tus...)},
		}
		for _, tt := range refused {
			header := tt.header
			if tt.path == c || tt.path == c+"/clocks/gdpr.art33/met" {
				header = []string{"If-Match", w.caseETag(t)}
			}
			resp, body := w.call(t, tt.method, tt.path, w.bearer["lead"], tt.body, header...)
			if resp.StatusCode != http.StatusConflict {
				t.Errorf("%s %s on a closed case: %d, want 409: %s", tt.method, tt.path, resp.StatusCode, body)
				continue
			}
			if p := decodeProblem(t, resp, body); p.Code != "case_closed" {
				t.Errorf("%s %s on a closed case: code %q, want case_closed", tt.method, tt.path, p.Code)
			}
		}
		if after := counts(); fmt.Sprint(after) != fmt.Sprint(before) {
			t.Errorf("a closed case changed: %v, was %v", after, before)
		}

		// Outsiders still learn nothing: the closed case is as unknown to them as before.
		if resp, _ := w.call(t, http.MethodPost, c+"/tasks", w.bearer["other_agency"], `{"title":"x"}`); resp.StatusCode != http.StatusNotFound {
			t.Errorf("an outsider writes to the closed case: %d, want 404", resp.StatusCode)
		}
		allowed := []struct {
			method, path, body string
			status             int
		}{
			{"POST", "/api/v1/evidence/" + w.evidenceID + "/custody", `{"type":"location_changed","location":"Archive"}`, 201},
			{"POST", "/api/v1/evidence/" + w.contentID + "/verify", "", 200},
			{"PUT", c + "/members/exclusions/" + w.user["spare"].ID, `{"reason":"left the team"}`, 201},
			{"PUT", c + "/members/users/" + w.user["spare"].ID, `{"role":"observer"}`, 200},
			{"DELETE", "/api/v1/uploads/" + w.uploadID, "", 204},
			{"GET", c + "/tasks", "", 200},
		}
		for _, tt := range allowed {
			resp, body := w.call(t, tt.method, tt.path, w.bearer["lead"], tt.body, tus...)
			if resp.StatusCode != tt.status {
				t.Errorf("%s %s on a closed case: %d, want %d: %s", tt.method, tt.path, resp.StatusCode, tt.status, body)
			}
		}

		w.transition(t, "investigating")
		resp, body := w.call(t, http.MethodPost, c+"/tasks", w.bearer["lead"],
			`{"title":"More work","assignee_agency_id":"`+w.agency["A"].ID+`"}`)
		if resp.StatusCode != http.StatusCreated {
			t.Errorf("a task on the reopened case: %d %s", resp.StatusCode, body)
		}
	})
}
