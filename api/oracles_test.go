package api

import (
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bevis-ir/bevis/access"
	"github.com/bevis-ir/bevis/alerts"
	"github.com/bevis-ir/bevis/cases"
	"github.com/bevis-ir/bevis/evidence"
)

// hiddenItem registers, as the (named) lead, a RED item of the fixture case
// and a RED event on its timeline: only people named on the case see them.
func hiddenItem(t *testing.T, w *world) (itemID, eventID string) {
	t.Helper()
	resp, body := w.call(t, http.MethodPost, "/api/v1/cases/"+w.caseID+"/evidence", w.bearer["lead"],
		`{"title":"Informant's phone","kind":"mobile_extraction","tlp":"RED"}`)
	var it itemJSON
	if err := json.Unmarshal([]byte(body), &it); err != nil || resp.StatusCode != 201 {
		t.Fatalf("register the RED item: %d %s", resp.StatusCode, body)
	}
	resp, body = w.call(t, http.MethodPost, "/api/v1/cases/"+w.caseID+"/timeline", w.bearer["lead"],
		`{"occurred_at":"2026-01-15T09:30:00Z","description":"Informant met the suspect","tlp":"RED"}`)
	var ev eventJSON
	if err := json.Unmarshal([]byte(body), &ev); err != nil || resp.StatusCode != 201 {
		t.Fatalf("add the RED event: %d %s", resp.StatusCode, body)
	}
	return it.ID, ev.ID
}

// setAgencyRole gives an agency's people a default role on the fixture case.
func setAgencyRole(t *testing.T, w *world, agency string, role access.CaseRole) {
	t.Helper()
	path := "/api/v1/cases/" + w.caseID + "/members/agencies/" + w.agency[agency].ID
	if resp, body := w.call(t, http.MethodPut, path, w.bearer["lead"], `{"role":"`+string(role)+`"}`); resp.StatusCode != 200 {
		t.Fatalf("agency %s as %s: %d %s", agency, role, resp.StatusCode, body)
	}
}

// requestIDs blanks what differs between any two answers.
var requestIDs = regexp.MustCompile(`"(request_id|instance)":"[^"]*"`)

func TestEvidence_AnItemBeyondClearanceIsNotFoundOnEveryRoute(t *testing.T) {
	t.Parallel()
	forEachDatabase(t, func(t *testing.T, w *world) {
		itemID, eventID := hiddenItem(t, w)
		// other_agency observes the case through agency B; spare works on it
		// through agency A. Neither is named, so neither sees RED.
		setAgencyRole(t, w, "B", access.CaseObserver)
		const noSuchItem = "01900000-0000-7000-8000-000000000000"
		routes := []struct{ method, path, body string }{
			{"GET", "/api/v1/evidence/{id}", ""},
			{"GET", "/api/v1/evidence/{id}/custody", ""},
			{"POST", "/api/v1/evidence/{id}/custody", `{"type":"location_changed","location":"Evidence room 2"}`},
			{"PUT", "/api/v1/evidence/{id}/content", "some bytes"},
			{"GET", "/api/v1/evidence/{id}/content", ""},
			{"POST", "/api/v1/evidence/{id}/verify", ""},
			{"GET", "/api/v1/evidence/{id}/report", ""},
			{"GET", "/api/v1/evidence/{id}/lineage", ""},
			{"GET", "/api/v1/evidence/{id}/access", ""},
			{"POST", "/api/v1/evidence/{id}/uploads", ""},
		}
		for _, who := range []string{"other_agency", "spare"} {
			for _, r := range routes {
				header := []string{"Tus-Resumable", "1.0.0", "Upload-Length", "10"}
				resp, hidden := w.call(t, r.method, strings.ReplaceAll(r.path, "{id}", itemID), w.bearer[who], r.body, header...)
				_, missing := w.call(t, r.method, strings.ReplaceAll(r.path, "{id}", noSuchItem), w.bearer[who], r.body, header...)
				if resp.StatusCode != 404 || requestIDs.ReplaceAllString(hidden, "") != requestIDs.ReplaceAllString(missing, "") {
					t.Errorf("%s %s %s of a RED item: %d %s; of no item: %s", who, r.method, r.path, resp.StatusCode, hidden, missing)
				}
			}
		}
		// A writer cannot hang an item of their own under it either.
		resp, body := w.call(t, http.MethodPost, "/api/v1/cases/"+w.caseID+"/evidence", w.bearer["spare"],
			`{"title":"Phone's SIM card","kind":"physical_item","parent_id":"`+itemID+`"}`)
		_, missing := w.call(t, http.MethodPost, "/api/v1/cases/"+w.caseID+"/evidence", w.bearer["spare"],
			`{"title":"Phone's SIM card","kind":"physical_item","parent_id":"`+noSuchItem+`"}`)
		if resp.StatusCode != 400 || requestIDs.ReplaceAllString(body, "") != requestIDs.ReplaceAllString(missing, "") {
			t.Errorf("a RED parent: %d %s; no parent: %s", resp.StatusCode, body, missing)
		}
		// Nor correct an event they cannot see: an observer's refusal would tell.
		correction := `{"occurred_at":"2026-01-15T09:30:00Z","description":"x","reason":"typo"}`
		resp, body = w.call(t, http.MethodPost, "/api/v1/cases/"+w.caseID+"/timeline/"+eventID+"/corrections", w.bearer["other_agency"], correction)
		_, missing = w.call(t, http.MethodPost, "/api/v1/cases/"+w.caseID+"/timeline/"+noSuchItem+"/corrections", w.bearer["other_agency"], correction)
		if resp.StatusCode != 404 || requestIDs.ReplaceAllString(body, "") != requestIDs.ReplaceAllString(missing, "") {
			t.Errorf("an observer correcting a RED event: %d %s; no event: %s", resp.StatusCode, body, missing)
		}
		// What they may see is answered as before.
		if resp, _ := w.call(t, http.MethodPost, "/api/v1/evidence/"+w.evidenceID+"/custody", w.bearer["other_agency"],
			`{"type":"location_changed","location":"Evidence room 2"}`); resp.StatusCode != 403 {
			t.Errorf("an observer writing to an item they see: %d, want 403", resp.StatusCode)
		}
		if resp, _ := w.call(t, http.MethodGet, "/api/v1/evidence/"+itemID, w.bearer["observer"], ""); resp.StatusCode != 200 {
			t.Errorf("the named observer reading the RED item: %d", resp.StatusCode)
		}
	})
}

func TestAuditLog_ALeadByAgencyDefaultReadsOnlyEntriesAboutWhatTheyMaySee(t *testing.T) {
	t.Parallel()
	forEachDatabase(t, func(t *testing.T, w *world) {
		runSequencer(t, w)
		itemID, eventID := hiddenItem(t, w)
		if resp, _ := w.call(t, http.MethodGet, "/api/v1/evidence/"+itemID, w.bearer["observer"], ""); resp.StatusCode != 200 {
			t.Fatal("the named observer cannot read the RED item")
		}
		setAgencyRole(t, w, "A", access.CaseLead) // spare leads the case through agency A
		logOf := func(who, query string) string {
			resp, body := w.call(t, http.MethodGet, "/api/v1/audit?limit=1000&case_id="+w.caseID+query, w.bearer[who], "")
			if resp.StatusCode != 200 {
				t.Fatalf("%s reads the case's log: %d %s", who, resp.StatusCode, body)
			}
			return body
		}
		var named string
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			if named = logOf("lead", ""); strings.Contains(named, `"cases.members.agencies.put"`) {
				break
			}
		}
		if !strings.Contains(named, itemID) || !strings.Contains(named, eventID) {
			t.Fatalf("the named lead's view lacks the RED item or event: %s", named)
		}
		spare := logOf("spare", "")
		if strings.Contains(spare, itemID) || strings.Contains(spare, eventID) {
			t.Errorf("a lead by agency default reads entries about RED objects: %s", spare)
		}
		if !strings.Contains(spare, `"cases.members.agencies.put"`) || !strings.Contains(spare, w.evidenceID) {
			t.Errorf("a lead by agency default misses entries they may read: %s", spare)
		}
		if got := logOf("spare", "&resource_id="+itemID); strings.Contains(got, itemID) {
			t.Errorf("asking for the RED item's entries by ID: %s", got)
		}
		if resp, body := w.call(t, http.MethodGet, "/api/v1/evidence/"+itemID+"/access", w.bearer["spare"], ""); resp.StatusCode != 404 {
			t.Errorf("the RED item's access list to a lead by agency default: %d %s", resp.StatusCode, body)
		}
		// An auditor reads everything.
		_, all := w.call(t, http.MethodGet, "/api/v1/audit?limit=1000&case_id="+w.caseID, w.bearer["auditor"], "")
		if !strings.Contains(all, itemID) {
			t.Errorf("the auditor's view lacks the RED item: %s", all)
		}
	})
}

func TestAlerts_NameOnlyCasesTheLeadMaySeeAndNeedThemAllToAcknowledge(t *testing.T) {
	t.Parallel()
	forEachDatabase(t, func(t *testing.T, w *world) {
		ctx := context.Background()
		// A second case, led by agency B's member, on which the
		// investigator works too.
		owner := w.principal(t, "other_agency")
		second, err := w.deps.Cases.Create(ctx, owner, cases.NewCase{Title: "Ministry breach", TLP: access.TLPAmber})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.deps.Membership.SetUser(ctx, owner, second.ID, w.user["investigator"].ID, access.CaseInvestigator); err != nil {
			t.Fatal(err)
		}
		it, err := w.deps.Items.Register(ctx, owner, second.ID, second.Reference, evidence.NewItem{Title: "Mail logs", Kind: "logs"})
		if err != nil {
			t.Fatal(err)
		}
		up, err := w.deps.Uploads.Create(ctx, owner, it, int64(len(fixtureContent)), "mail.log")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.deps.Uploads.Write(ctx, up.ID, 0, strings.NewReader(fixtureContent), nil); err != nil {
			t.Fatal(err)
		}
		w.withAlerts(t, alerts.Options{Window: time.Hour, MaxCases: 1})
		for _, id := range []string{w.contentID, it.ID} {
			if resp, body := w.call(t, http.MethodGet, "/api/v1/evidence/"+id+"/content", w.bearer["investigator"], ""); resp.StatusCode != 200 {
				t.Fatalf("download: %d %s", resp.StatusCode, body)
			}
		}
		crossCase := func(who string) alertJSON {
			var list struct{ Items []alertJSON }
			for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
				_, body := w.call(t, http.MethodGet, "/api/v1/alerts", w.bearer[who], "")
				if err := json.Unmarshal([]byte(body), &list); err != nil {
					t.Fatal(err)
				}
				for _, a := range list.Items {
					if a.Rule == string(alerts.RuleManyCases) {
						return a
					}
				}
			}
			t.Fatalf("no cross-case alert for %s", who)
			return alertJSON{}
		}
		if a := crossCase("admin"); !slices.Equal(a.CaseIDs, sorted(w.caseID, second.ID)) {
			t.Fatalf("the admin's view: %+v", a)
		}
		alert := crossCase("lead")
		if !slices.Equal(alert.CaseIDs, []string{w.caseID}) {
			t.Errorf("the first case's lead is told of cases %v", alert.CaseIDs)
		}
		if a := crossCase("other_agency"); !slices.Equal(a.CaseIDs, []string{second.ID}) {
			t.Errorf("the second case's lead is told of cases %v", a.CaseIDs)
		}
		for _, who := range []string{"lead", "other_agency"} {
			if resp, body := w.call(t, http.MethodPost, "/api/v1/alerts/"+alert.ID+"/acknowledge", w.bearer[who], ""); resp.StatusCode != 403 {
				t.Errorf("%s, lead of one of its cases, acknowledges: %d %s", who, resp.StatusCode, body)
			}
		}
		if resp, body := w.call(t, http.MethodPost, "/api/v1/alerts/"+alert.ID+"/acknowledge", w.bearer["admin"], ""); resp.StatusCode != 200 {
			t.Errorf("the admin acknowledges: %d %s", resp.StatusCode, body)
		}
	})
}

func sorted(ids ...string) []string { return slices.Sorted(slices.Values(ids)) }

func TestTasks_AnExcludedPersonIsAnsweredAsOneNotOnTheCase(t *testing.T) {
	t.Parallel()
	forEachDatabase(t, func(t *testing.T, w *world) {
		ctx := context.Background()
		lead := w.principal(t, "lead")
		// spare is named on the case, then excluded; "excluded" is on it only
		// through agency A.
		if _, err := w.deps.Membership.SetUser(ctx, lead, w.caseID, w.user["spare"].ID, access.CaseAnalyst); err != nil {
			t.Fatal(err)
		}
		if _, err := w.deps.Membership.Exclude(ctx, lead, w.caseID, w.user["spare"].ID, "suspected insider"); err != nil {
			t.Fatal(err)
		}
		agencyTask, err := w.deps.Tasks.CreateTask(ctx, lead, w.caseID, cases.NewTask{Title: "Collect the VPN logs",
			AssigneeAgencyID: w.agency["A"].ID})
		if err != nil {
			t.Fatal(err)
		}
		casePath := "/api/v1/cases/" + w.caseID
		answers := func(who, userID string) []string {
			calls := []struct{ method, path, body string }{
				{"POST", casePath + "/tasks", `{"title":"T","assignee_user_id":"` + userID + `"}`},
				{"PATCH", casePath + "/tasks/" + w.taskID, `{"assignee_user_id":"` + userID + `"}`},
				{"POST", casePath + "/tasks/" + agencyTask.ID + "/delegate", `{"user_id":"` + userID + `"}`},
				{"POST", casePath + "/comments", `{"body":"see this","mentions":["` + userID + `"]}`},
				{"POST", casePath + "/tasks/" + w.taskID + "/comments", `{"body":"see this","mentions":["` + userID + `"]}`},
			}
			var out []string
			for _, c := range calls {
				resp, body := w.call(t, c.method, c.path, w.bearer[who], c.body, "If-Match", `"1"`)
				out = append(out, resp.Status+" "+requestIDs.ReplaceAllString(body, ""))
			}
			return out
		}
		for _, who := range []string{"lead", "analyst"} {
			outsider := answers(who, w.user["other_agency"].ID)
			for _, excluded := range []string{"excluded", "spare"} {
				if got := answers(who, w.user[excluded].ID); !slices.Equal(got, outsider) {
					t.Errorf("%s naming %s:\n%v\nnaming someone not on the case:\n%v", who, excluded, got, outsider)
				}
			}
		}
	})
}

// An unfinished upload of an item beyond someone's clearance is, to them,
// no upload at all: a lead by the agency default cannot discard it and an
// observer is not told that it exists by a refusal.
func TestUploads_AnUploadOfAnItemBeyondClearanceIsNotFound(t *testing.T) {
	t.Parallel()
	forEachDatabase(t, func(t *testing.T, w *world) {
		itemID, _ := hiddenItem(t, w)
		tus := []string{"Tus-Resumable", "1.0.0"}
		resp, body := w.call(t, http.MethodPost, "/api/v1/evidence/"+itemID+"/uploads", w.bearer["lead"], "",
			append([]string{"Upload-Length", "10"}, tus...)...)
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("the named lead starts an upload of the RED item: %d %s", resp.StatusCode, body)
		}
		upload := resp.Header.Get("Location")
		noSuchUpload := upload[:strings.LastIndex(upload, "/")+1] + "01900000-0000-7000-8000-000000000000"
		// other_agency observes through agency B; spare leads through agency A.
		setAgencyRole(t, w, "B", access.CaseObserver)
		setAgencyRole(t, w, "A", access.CaseLead)
		for _, who := range []string{"other_agency", "spare"} {
			for _, method := range []string{http.MethodHead, http.MethodPatch, http.MethodDelete} {
				header := append([]string{"Upload-Offset", "0", "Content-Type", "application/offset+octet-stream"}, tus...)
				resp, hidden := w.call(t, method, upload, w.bearer[who], "0123456789", header...)
				_, missing := w.call(t, method, noSuchUpload, w.bearer[who], "0123456789", header...)
				if resp.StatusCode != http.StatusNotFound || requestIDs.ReplaceAllString(hidden, "") != requestIDs.ReplaceAllString(missing, "") {
					t.Errorf("%s %s of an upload of a RED item: %d %s; of no upload: %s", who, method, resp.StatusCode, hidden, missing)
				}
			}
		}
		if resp, _ := w.call(t, http.MethodHead, upload, w.bearer["lead"], "", tus...); resp.StatusCode != http.StatusOK {
			t.Errorf("the named lead's own upload afterwards: %d, want 200", resp.StatusCode)
		}
	})
}
