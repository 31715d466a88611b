package api

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bevis-ir/bevis/access"
	"github.com/bevis-ir/bevis/alerts"
	"github.com/bevis-ir/bevis/audit"
	"github.com/bevis-ir/bevis/cases"
	"github.com/bevis-ir/bevis/internal/testenv"
)

// withAlerts rebuilds w's app around an alert engine fed by a real audit
// sequencer.
func (w *world) withAlerts(t *testing.T, opts alerts.Options) {
	t.Helper()
	pemData, err := audit.GenerateKeyPEM()
	if err != nil {
		t.Fatal(err)
	}
	signer, err := audit.ParseSigner(pemData)
	if err != nil {
		t.Fatal(err)
	}
	opts.Log = testenv.Logger(t)
	engine := alerts.New(w.deps.DB, opts)
	seq, err := audit.NewSequencer(w.deps.DB, audit.SequencerOptions{Signer: signer, Log: testenv.Logger(t),
		Interval: 20 * time.Millisecond, LeaderRetry: 20 * time.Millisecond, OnSealed: engine.Observe})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = seq.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done; engine.Stop() })
	w.deps.Alerts = engine
	if w.app, err = New(w.deps); err != nil {
		t.Fatal(err)
	}
}

// recordDownload checks that the download just answered is on the audit
// record as the rules read it: evidence.download, with the bytes sent.
func (w *world) recordDownload(t *testing.T, who, itemID string, n int64, downloads int64) {
	t.Helper()
	var recorded int64
	err := w.deps.DB.Raw(`SELECT COUNT(*) FROM audit_entries WHERE user_id = ? AND action = 'evidence.download'
		AND outcome = 'success' AND range_length = ?`, w.user[who].ID, n).Scan(&recorded).Error
	if err != nil {
		t.Fatal(err)
	}
	if recorded != downloads {
		t.Fatalf("%d downloads of %d bytes on the record, want %d (item %s)", recorded, n, downloads, itemID)
	}
}

func TestAlerts_BulkDownloadRaisesAlertAndHardLimitThrottlesUntilLeadApproves(t *testing.T) {
	t.Parallel()
	for _, dialect := range dialects {
		t.Run(dialect, func(t *testing.T) {
			w := seededWorld(t, dialect)
			size := int64(len(fixtureContent))
			w.withAlerts(t, alerts.Options{Window: time.Hour, MaxItems: 2, HardLimit: 3 * size})
			k, err := w.deps.Cases.Get(context.Background(), w.caseID)
			if err != nil {
				t.Fatal(err)
			}
			items := []string{w.contentID}
			for _, title := range []string{"Proxy logs", "DNS logs", "VPN logs"} {
				items = append(items, w.uploadContent(t, w.principal(t, "lead"), k.Reference, title, fixtureContent).ID)
			}
			for i, id := range items[:3] {
				resp, out := w.call(t, http.MethodGet, "/api/v1/evidence/"+id+"/content", w.bearer["investigator"], "")
				if resp.StatusCode != http.StatusOK || out != fixtureContent {
					t.Fatalf("download %d: %d %s", i+1, resp.StatusCode, out)
				}
				w.recordDownload(t, "investigator", id, size, int64(i+1))
			}
			fourth := "/api/v1/evidence/" + items[3] + "/content"
			resp, out := w.call(t, http.MethodGet, fourth, w.bearer["investigator"], "")
			var p problem
			_ = json.Unmarshal([]byte(out), &p)
			if resp.StatusCode != http.StatusTooManyRequests || p.Code != "download_throttled" || resp.Header.Get("Retry-After") == "" {
				t.Fatalf("past the hard limit: %d %s (Retry-After %q)", resp.StatusCode, out, resp.Header.Get("Retry-After"))
			}

			// The sequencer seals the downloads; the engine raises the
			// items alert. The lead sees it and the refusal's alert.
			var list struct{ Items []alertJSON }
			deadline := time.Now().Add(15 * time.Second)
			for {
				resp, out := w.call(t, http.MethodGet, "/api/v1/alerts", w.bearer["lead"], "")
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("lead lists alerts: %d %s", resp.StatusCode, out)
				}
				if err := json.Unmarshal([]byte(out), &list); err != nil {
					t.Fatal(err)
				}
				if len(list.Items) >= 3 || time.Now().After(deadline) {
					break // the fixture's own alert of the analyst, and ours
				}
				time.Sleep(50 * time.Millisecond)
			}
			var rules []string
			hardLimit, itemsAlert := "", ""
			for _, a := range list.Items {
				if a.UserID != w.user["investigator"].ID {
					continue
				}
				rules = append(rules, a.Rule)
				switch alerts.Rule(a.Rule) {
				case alerts.RuleHardLimit:
					hardLimit = a.ID
				case alerts.RuleEvidenceItems:
					itemsAlert = a.ID
					if a.Items != 3 || a.Threshold != 2 || a.Bytes != 3*size {
						t.Errorf("items alert figures: %+v", a)
					}
				}
				if !slices.Equal(a.CaseIDs, []string{w.caseID}) {
					t.Errorf("alert %s touches %v, want the case", a.Rule, a.CaseIDs)
				}
			}
			slices.Sort(rules)
			if want := []string{string(alerts.RuleHardLimit), string(alerts.RuleEvidenceItems)}; !slices.Equal(rules, want) {
				t.Fatalf("investigator's alerts %v, want %v", rules, want)
			}
			if resp, _ := w.call(t, http.MethodGet, "/api/v1/alerts", w.bearer["investigator"], ""); resp.StatusCode != http.StatusForbidden {
				t.Errorf("investigator lists alerts: %d, want 403", resp.StatusCode)
			}
			if resp, _ := w.call(t, http.MethodPost, "/api/v1/alerts/"+hardLimit+"/approve", w.bearer["investigator"], `{"reason":"mine"}`); resp.StatusCode != http.StatusNotFound {
				t.Errorf("investigator approves their own alert: %d, want 404", resp.StatusCode)
			}
			if resp, _ := w.call(t, http.MethodGet, fourth, w.bearer["investigator"], ""); resp.StatusCode != http.StatusTooManyRequests {
				t.Fatalf("still past the limit: %d", resp.StatusCode)
			}

			resp, out = w.call(t, http.MethodPost, "/api/v1/alerts/"+itemsAlert+"/acknowledge", w.bearer["admin"], "")
			var acked alertJSON
			_ = json.Unmarshal([]byte(out), &acked)
			if resp.StatusCode != http.StatusOK || acked.Status != "acknowledged" || acked.AcknowledgedBy != w.user["admin"].ID {
				t.Errorf("admin acknowledges: %d %s", resp.StatusCode, out)
			}
			resp, out = w.call(t, http.MethodPost, "/api/v1/alerts/"+hardLimit+"/approve", w.bearer["lead"], `{"reason":"Imaging the seized laptop for the police"}`)
			var approved alertJSON
			_ = json.Unmarshal([]byte(out), &approved)
			if resp.StatusCode != http.StatusOK || approved.Status != "approved" || approved.ApprovedBy != w.user["lead"].ID {
				t.Fatalf("lead approves: %d %s", resp.StatusCode, out)
			}
			if resp, out := w.call(t, http.MethodGet, fourth, w.bearer["investigator"], ""); resp.StatusCode != http.StatusOK || out != fixtureContent {
				t.Errorf("after approval: %d %s", resp.StatusCode, out)
			}
		})
	}
}

// Four eyes: the person an alert is about never lifts their own limit. A
// lead of the case approves it; only where the case has no other lead
// does an admin.
func TestAlerts_ApprovalNeedsASecondPerson(t *testing.T) {
	t.Parallel()
	forEachDatabase(t, func(t *testing.T, w *world) {
		db := testenv.Database{DB: w.deps.DB}
		approve := func(who, alertID string) (int, string) {
			resp, body := w.call(t, http.MethodPost, "/api/v1/alerts/"+alertID+"/approve", w.bearer[who], `{"reason":"Expected: the case's imaging"}`)
			var p problem
			_ = json.Unmarshal([]byte(body), &p)
			return resp.StatusCode, p.Code
		}
		// The fixture case has one lead, who is the alert's subject.
		onlyLead := fixtureAlert(t, db, w.user["lead"], w.caseID)
		if status, code := approve("lead", onlyLead); status != http.StatusForbidden || code != "self_approval" {
			t.Errorf("the lead approves an alert about themselves: %d %s, want 403 self_approval", status, code)
		}
		if status, _ := approve("admin", onlyLead); status != http.StatusOK {
			t.Errorf("an admin approves where the case has no other lead: %d, want 200", status)
		}

		// A case with a second lead: that lead approves, the admin may not.
		k, err := w.deps.Cases.Create(t.Context(), w.principal(t, "lead"), cases.NewCase{Title: "Second breach"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.deps.Membership.SetUser(t.Context(), w.principal(t, "lead"), k.ID, w.user["investigator"].ID, access.CaseLead); err != nil {
			t.Fatal(err)
		}
		twoLeads := fixtureAlert(t, db, w.user["lead"], k.ID)
		if status, code := approve("lead", twoLeads); status != http.StatusForbidden || code != "self_approval" {
			t.Errorf("the lead approves an alert about themselves: %d %s, want 403 self_approval", status, code)
		}
		if status, _ := approve("admin", twoLeads); status != http.StatusForbidden {
			t.Errorf("an admin approves where another lead could: %d, want 403", status)
		}
		if status, _ := approve("investigator", twoLeads); status != http.StatusOK {
			t.Errorf("the other lead approves: %d, want 200", status)
		}
		a, err := w.deps.Alerts.Store.Get(t.Context(), twoLeads)
		if err != nil || a.ApprovedBy != w.user["investigator"].ID {
			t.Errorf("approved by %q (%v), want the other lead", a.ApprovedBy, err)
		}
		// An excluded lead is no lead: with the other lead cut off, the admin may.
		if _, err := w.deps.Membership.Exclude(t.Context(), w.principal(t, "lead"), k.ID, w.user["investigator"].ID, "on leave"); err != nil {
			t.Fatal(err)
		}
		if status, _ := approve("admin", twoLeads); status != http.StatusOK {
			t.Errorf("an admin approves once the other lead is excluded: %d, want 200", status)
		}
	})
}

// An approval says why the activity was expected: the reason is required,
// trimmed, at most 1,000 characters; without one nothing changes. It is
// returned with the alert, listed, and kept on the approval's audit entry.
func TestAlerts_ApprovalNeedsAReason(t *testing.T) {
	t.Parallel()
	forEachDatabase(t, func(t *testing.T, w *world) {
		path := "/api/v1/alerts/" + w.alertID + "/approve"
		for _, body := range []string{
			`{}`,
			`{"reason":""}`,
			`{"reason":" \n\t "}`,
			`{"reason":"` + strings.Repeat("ø", alerts.MaxApprovalReason+1) + `"}`,
			`{"reason":"fine","approved_by":"someone"}`,
			`{"reason":"fine","approved_until":"2099-01-01T00:00:00Z"}`,
			`{"reason":42}`,
		} {
			resp, out := w.call(t, http.MethodPost, path, w.bearer["lead"], body)
			if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Content-Type") != "application/problem+json" {
				t.Errorf("%.60s: %d %s, want a 400 problem", body, resp.StatusCode, out)
			}
		}
		if resp, out := w.call(t, http.MethodPost, path, w.bearer["lead"], ""); resp.StatusCode != http.StatusUnsupportedMediaType {
			t.Errorf("no body: %d %s, want 415", resp.StatusCode, out)
		}
		a, err := w.deps.Alerts.Store.Get(t.Context(), w.alertID)
		if err != nil || a.Status != alerts.StatusOpen || a.ApprovedBy != "" || a.ApprovalReason != "" {
			t.Fatalf("after refused approvals: %+v %v", a, err)
		}
		approvals := func() []auditRow {
			var ok []auditRow
			for _, e := range w.entries(t, "alerts.approve.post") {
				if e.Outcome == "success" {
					ok = append(ok, e)
				}
			}
			return ok
		}
		if got := approvals(); len(got) != 0 {
			t.Fatalf("refused approvals are recorded as approvals: %+v", got)
		}

		longest := strings.Repeat("ø", alerts.MaxApprovalReason)
		resp, out := w.call(t, http.MethodPost, path, w.bearer["lead"], `{"reason":"  `+longest+`\n"}`)
		var approved alertJSON
		_ = json.Unmarshal([]byte(out), &approved)
		if resp.StatusCode != http.StatusOK || approved.ApprovalReason != longest || approved.ApprovedBy != w.user["lead"].ID {
			t.Fatalf("approve with the longest reason: %d %.200s", resp.StatusCode, out)
		}
		reason := "Imaging the seized laptop for the police, agreed on the 09:00 call"
		resp, out = w.call(t, http.MethodPost, path, w.bearer["lead"], `{"reason":"`+reason+`"}`)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("approve again: %d %s", resp.StatusCode, out)
		}
		_, out = w.call(t, http.MethodGet, "/api/v1/alerts?status=approved", w.bearer["lead"], "")
		var list struct{ Items []alertJSON }
		_ = json.Unmarshal([]byte(out), &list)
		if len(list.Items) != 1 || list.Items[0].ApprovalReason != reason {
			t.Errorf("listed: %s, want the latest reason", out)
		}
		got := approvals()
		if len(got) != 2 {
			t.Fatalf("approval entries: %+v", got)
		}
		var detail map[string]string
		if err := json.Unmarshal([]byte(got[1].Detail), &detail); err != nil || detail["reason"] != reason {
			t.Errorf("audit detail %q, want the reason", got[1].Detail)
		}
		if err := json.Unmarshal([]byte(got[0].Detail), &detail); err != nil || detail["reason"] != longest {
			t.Errorf("audit detail of the first approval holds %d characters, want the whole reason", len([]rune(detail["reason"])))
		}
	})
}

// An alert names whom it is about and who acknowledged it, so a lead or
// admin of another agency reads a name, not an ID.
func TestAlerts_NameThePeopleTheyAreAbout(t *testing.T) {
	t.Parallel()
	forEachDatabase(t, func(t *testing.T, w *world) {
		analyst, admin := w.user["analyst"], w.user["admin"]
		resp, out := w.call(t, http.MethodGet, "/api/v1/alerts", w.bearer["admin"], "")
		var list struct{ Items []alertJSON }
		if err := json.Unmarshal([]byte(out), &list); resp.StatusCode != http.StatusOK || err != nil {
			t.Fatalf("admin lists alerts: %d %s", resp.StatusCode, out)
		}
		i := slices.IndexFunc(list.Items, func(a alertJSON) bool { return a.ID == w.alertID })
		if i < 0 {
			t.Fatalf("the fixture's alert is not listed: %s", out)
		}
		if got := list.Items[i].People[analyst.ID]; got.Name != analyst.Name || got.AgencyName != w.agency["A"].Name {
			t.Errorf("the alert names its subject %+v, want %q of %q", got, analyst.Name, w.agency["A"].Name)
		}

		resp, out = w.call(t, http.MethodPost, "/api/v1/alerts/"+w.alertID+"/acknowledge", w.bearer["admin"], "")
		var acked alertJSON
		if err := json.Unmarshal([]byte(out), &acked); resp.StatusCode != http.StatusOK || err != nil {
			t.Fatalf("admin acknowledges: %d %s", resp.StatusCode, out)
		}
		if acked.People[admin.ID].Name != admin.Name || acked.People[analyst.ID].Name != analyst.Name {
			t.Errorf("the acknowledged alert names %+v, want %q and %q", acked.People, admin.Name, analyst.Name)
		}
	})
}
