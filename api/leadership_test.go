package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bevis-ir/bevis/access"
	"github.com/bevis-ir/bevis/cases"
	"github.com/bevis-ir/bevis/evidence"
	"github.com/bevis-ir/bevis/internal/testenv"
	"github.com/bevis-ir/bevis/reports"
)

// leadershipWorld adds, to the fixture, cases that differ only in who may
// read them, as seen by other_agency (of agency B): two it reads (one
// through B's membership, one RED case it is named on) and four it must
// not (excluded; AMBER+STRICT without being named; RED without being
// named; B not a member). Every unreadable case carries "SECRET" in its
// title, an overdue GDPR clock and an overdue task of agency D, which is on
// no readable case.
type leadershipWorld struct {
	*world
	readable, secret []string
	shared           string // the AMBER case B reads, holding a RED event and a RED item B may not see
}

func newLeadershipWorld(t *testing.T, d testenv.Database) *leadershipWorld {
	t.Helper()
	ctx := context.Background()
	w := &leadershipWorld{world: newWorld(t, d)}
	lead := w.principal(t, "lead")
	viewer := w.user["other_agency"]
	aware := time.Date(2026, 1, 5, 8, 0, 0, 0, time.UTC)
	overdue := time.Now().Add(-48 * time.Hour)
	open := func(title string, tlp access.TLP, setup func(id string)) string {
		t.Helper()
		k, err := w.deps.Cases.Create(ctx, lead, cases.NewCase{Title: title, TLP: tlp, Severity: cases.SeverityHigh,
			PersonalDataBreach: true, AwareAt: &aware, Tags: []string{"health"}})
		if err != nil {
			t.Fatal(err)
		}
		setup(k.ID)
		return k.ID
	}
	member := func(caseID, agency string, role access.CaseRole) {
		if _, err := w.deps.Membership.SetAgency(ctx, lead, caseID, w.agency[agency].ID, role); err != nil {
			t.Fatal(err)
		}
	}
	task := func(caseID, agency, title string) {
		if _, err := w.deps.Tasks.CreateTask(ctx, lead, caseID, cases.NewTask{Title: title, AssigneeAgencyID: w.agency[agency].ID,
			Priority: "high", DueAt: &overdue}); err != nil {
			t.Fatal(err)
		}
	}
	item := func(caseID string, tlp access.TLP, title string) {
		k, err := w.deps.Cases.Get(ctx, caseID)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.deps.Items.Register(ctx, lead, caseID, k.Reference, evidence.NewItem{Title: title, Kind: "logs", TLP: tlp}); err != nil {
			t.Fatal(err)
		}
	}
	secretCase := func(n int, tlp access.TLP, setup func(id string)) {
		w.secret = append(w.secret, open(fmt.Sprintf("SECRET case %d", n), tlp, func(id string) {
			setup(id)
			member(id, "D", access.CaseAnalyst)
			task(id, "D", fmt.Sprintf("SECRET task %d", n))
			item(id, access.TLPAmber, fmt.Sprintf("SECRET item %d", n))
		}))
	}
	secretCase(1, access.TLPAmber, func(id string) {
		member(id, "B", access.CaseObserver)
		if _, err := w.deps.Membership.Exclude(ctx, lead, id, viewer.ID, "suspected insider"); err != nil {
			t.Fatal(err)
		}
	})
	secretCase(2, access.TLPAmberStrict, func(id string) { member(id, "B", access.CaseObserver) })
	secretCase(3, access.TLPRed, func(id string) { member(id, "B", access.CaseObserver) })
	secretCase(4, access.TLPAmber, func(string) {})

	w.shared = open("Shared breach", access.TLPAmber, func(id string) {
		member(id, "B", access.CaseObserver)
		task(id, "A", "Preserve mail logs")
		item(id, access.TLPAmber, "Mail server logs")
		item(id, access.TLPRed, "RED-ITEM informant notes")
		markings, err := w.deps.Authz.ItemMarkings(ctx, lead, id)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.deps.Timeline.Add(ctx, id, cases.Reader{Principal: lead, Markings: markings}, cases.NewEvent{
			OccurredAt: time.Now().Add(-time.Hour), Description: "REDEVENT informant meeting", TLP: access.TLPRed}); err != nil {
			t.Fatal(err)
		}
		if _, err := w.deps.Timeline.Add(ctx, id, cases.Reader{Principal: lead, Markings: markings}, cases.NewEvent{
			OccurredAt: time.Now().Add(-time.Hour), Description: "Exfiltration over HTTPS", Techniques: []string{"T1048"}}); err != nil {
			t.Fatal(err)
		}
	})
	named := open("Named breach", access.TLPRed, func(id string) {
		if _, err := w.deps.Membership.SetUser(ctx, lead, id, viewer.ID, access.CaseObserver); err != nil {
			t.Fatal(err)
		}
	})
	w.readable = []string{w.shared, named}
	return w
}

// leaks fails the test when body holds anything of an unreadable case or
// item: a title, an ID, agency D's name or ID.
func (w *leadershipWorld) leaks(t *testing.T, what, body string) {
	t.Helper()
	for _, s := range append([]string{"SECRET", "REDEVENT", "RED-ITEM", w.agency["D"].ID, w.agency["D"].Name}, w.secret...) {
		if strings.Contains(body, s) {
			t.Errorf("%s holds %q of something the reader may not see", what, s)
		}
	}
}

func TestLeadership_NeedToKnow(t *testing.T) {
	t.Parallel()
	for _, d := range testenv.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			w := newLeadershipWorld(t, d)
			viewer := w.bearer["other_agency"]

			resp, body := w.call(t, http.MethodGet, "/api/v1/portfolio", viewer, "")
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("portfolio: %d %s", resp.StatusCode, body)
			}
			w.leaks(t, "the portfolio", body)
			var p portfolioJSON
			if err := json.Unmarshal([]byte(body), &p); err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, k := range p.Cases {
				ids = append(ids, k.ID)
			}
			if len(ids) != len(w.readable) {
				t.Errorf("portfolio cases %v, want exactly %v", ids, w.readable)
			}
			for _, id := range ids {
				if !contains(w.readable, id) {
					t.Errorf("portfolio names case %s, which the viewer cannot read", id)
				}
			}
			total := 0
			for _, bar := range p.ByPhase {
				total += bar.Count
			}
			if total != 2 {
				t.Errorf("phase counts add up to %d, want 2", total)
			}
			if len(p.Clocks) != 2 {
				t.Errorf("%d clocks, want the two readable cases' overdue GDPR clocks: %+v", len(p.Clocks), p.Clocks)
			}
			for _, k := range p.Clocks {
				if k.State != "overdue" || !contains(w.readable, k.CaseID) {
					t.Errorf("clock %+v: want overdue, of a readable case", k)
				}
			}
			if len(p.Tasks) != 1 || p.Tasks[0].AgencyID != w.agency["A"].ID || p.Tasks[0].Overdue != 1 {
				t.Errorf("tasks %+v, want agency A's one overdue task", p.Tasks)
			}
			for _, e := range p.Evidence {
				if e.CaseID == w.shared && e.Items != 1 {
					t.Errorf("shared case: %d items counted, want 1 (its RED item is not the viewer's to see)", e.Items)
				}
			}

			// A filter narrows within the readable cases, never beyond them.
			resp, body = w.call(t, http.MethodGet, "/api/v1/portfolio?agency="+w.agency["D"].ID+"&severity=3", viewer, "")
			if resp.StatusCode != http.StatusOK || !strings.Contains(body, `"cases":[]`) {
				t.Errorf("portfolio for agency D: %d %s, want no cases", resp.StatusCode, body)
			}
			resp, body = w.call(t, http.MethodGet, "/api/v1/portfolio?severity=9", viewer, "")
			if resp.StatusCode != http.StatusBadRequest {
				t.Errorf("severity 9: %d %s, want 400", resp.StatusCode, body)
			}

			// The lead, named on the case, sees the RED event in the live
			// report, which is then marked RED as a whole.
			_, body = w.call(t, http.MethodGet, "/api/v1/cases/"+w.shared+"/sitrep?format=html", w.bearer["lead"], "")
			if !strings.Contains(body, "REDEVENT") || !strings.Contains(body, "TLP:RED") {
				t.Errorf("the lead's report lacks the RED event or the RED marking it then needs")
			}

			// The lead issues a report of the shared case: it draws on what
			// every reader of the case may see, so not on the RED event.
			resp, body = w.call(t, http.MethodPost, "/api/v1/cases/"+w.shared+"/sitreps", w.bearer["lead"], "")
			if resp.StatusCode != http.StatusCreated {
				t.Fatalf("issue: %d %s", resp.StatusCode, body)
			}
			w.leaks(t, "the issued report", body)

			for _, path := range []string{"/sitrep", "/sitrep?format=html", "/sitreps", "/sitreps/1", "/sitreps/1?format=html"} {
				resp, body := w.call(t, http.MethodGet, "/api/v1/cases/"+w.shared+path, viewer, "")
				if resp.StatusCode != http.StatusOK {
					t.Errorf("shared %s: %d %s", path, resp.StatusCode, body)
				}
				w.leaks(t, "shared "+path, body)
				if strings.Contains(path, "/1") && strings.Contains(body, `"withheld":true`) {
					t.Errorf("shared %s: withheld from a reader of the case", path)
				}
				if strings.Contains(path, "html") && !strings.Contains(body, "TLP:AMBER") {
					t.Errorf("shared %s: no TLP marking", path)
				}
			}
			for _, id := range w.secret {
				for _, path := range []string{"/sitrep", "/sitrep?format=html", "/sitreps", "/sitreps/1"} {
					resp, body := w.call(t, http.MethodGet, "/api/v1/cases/"+id+path, viewer, "")
					if resp.StatusCode != http.StatusNotFound {
						t.Errorf("secret %s: %d, want 404", path, resp.StatusCode)
					}
					// A 404 names the path asked for; nothing else of the case.
					if strings.Contains(body, "SECRET") || strings.Contains(body, w.agency["D"].Name) {
						t.Errorf("secret %s: the answer holds something of the case: %s", path, body)
					}
				}
			}
		})
	}
}

func contains(v []string, s string) bool {
	for _, x := range v {
		if x == s {
			return true
		}
	}
	return false
}

// An issued report is frozen: its SHA-256 is on the audit log, the next
// one is numbered after it and says what changed, and the database refuses
// to change it.
func TestLeadership_IssuedReportsAreNumberedHashedAndImmutable(t *testing.T) {
	t.Parallel()
	for _, d := range testenv.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			w := newLeadershipWorld(t, d)
			issue := func() issuedJSON {
				t.Helper()
				resp, body := w.call(t, http.MethodPost, "/api/v1/cases/"+w.shared+"/sitreps", w.bearer["lead"], "")
				if resp.StatusCode != http.StatusCreated {
					t.Fatalf("issue: %d %s", resp.StatusCode, body)
				}
				return decodeInto[issuedJSON](t, body)
			}
			first := issue()
			if first.Number != 1 || len(first.SHA256) != 64 {
				t.Fatalf("first report %d %q", first.Number, first.SHA256)
			}
			resp, body := w.call(t, http.MethodPost, "/api/v1/cases/"+w.shared+"/sitreps", w.bearer["observer"], "")
			if resp.StatusCode != http.StatusNotFound && resp.StatusCode != http.StatusForbidden {
				t.Errorf("an observer issued: %d %s", resp.StatusCode, body)
			}
			k, err := w.deps.Cases.Get(context.Background(), w.shared)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := w.deps.Cases.Transition(context.Background(), w.principal(t, "lead"), w.shared, k.Version,
				cases.Move{To: cases.StatusTriage, Reason: "assessed"}); err != nil {
				t.Fatal(err)
			}
			second := issue()
			if second.Number != 2 {
				t.Errorf("second report numbered %d", second.Number)
			}
			var content reports.Sitrep
			if err := json.Unmarshal(second.Content, &content); err != nil {
				t.Fatal(err)
			}
			if content.SinceNumber != 1 || !containsChange(content.Changes, "phase", "new", "triage") {
				t.Errorf("second report: since #%d, changes %+v; want since #1 and phase new → triage", content.SinceNumber, content.Changes)
			}
			var logged []string
			if err := d.DB.Raw(`SELECT detail FROM audit_entries WHERE action = 'cases.sitreps.issue' ORDER BY at`).Scan(&logged).Error; err != nil {
				t.Fatal(err)
			}
			if len(logged) != 2 || !strings.Contains(logged[0], first.SHA256) || !strings.Contains(logged[1], second.SHA256) {
				t.Errorf("audit details %v, want the two reports' hashes", logged)
			}
			resp, body = w.call(t, http.MethodGet, "/api/v1/cases/"+w.shared+"/sitreps/1", w.bearer["observer"], "")
			got := decodeInto[issuedJSON](t, body)
			if resp.StatusCode != http.StatusOK || got.SHA256 != first.SHA256 || string(got.Content) != string(first.Content) {
				t.Errorf("report 1 read back: %d, not as issued", resp.StatusCode)
			}
			for _, n := range []string{"3", "0", "x"} {
				resp, body := w.call(t, http.MethodGet, "/api/v1/cases/"+w.shared+"/sitreps/"+n, w.bearer["observer"], "")
				if resp.StatusCode != http.StatusNotFound {
					t.Errorf("report %s: %d %s, want 404", n, resp.StatusCode, body)
				}
			}
			if err := d.DB.Exec(`UPDATE case_sitreps SET content = '{}' WHERE number = 1`).Error; err == nil {
				t.Error("the database let an issued report change")
			}
			if err := d.DB.Exec(`DELETE FROM case_sitreps`).Error; err == nil {
				t.Error("the database let issued reports go")
			}
		})
	}
}

func containsChange(cs []reports.Change, what, from, to string) bool {
	for _, c := range cs {
		if c.What == what && c.From == from && c.To == to {
			return true
		}
	}
	return false
}

// The portfolio runs the same number of statements over two cases as over
// thirty (no query per case).
func TestLeadership_PortfolioStatementsDoNotGrowWithTheCases(t *testing.T) {
	t.Parallel()
	for _, d := range testenv.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			w := newLeadershipWorld(t, d)
			n := countStatements(t, d.DB)
			measure := func() int64 {
				t.Helper()
				before := n.Load()
				resp, body := w.call(t, http.MethodGet, "/api/v1/portfolio", w.bearer["other_agency"], "")
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("portfolio: %d %s", resp.StatusCode, body)
				}
				return n.Load() - before
			}
			few := measure()
			ctx := context.Background()
			lead := w.principal(t, "lead")
			overdue := time.Now().Add(-time.Hour)
			for i := range 28 {
				k, err := w.deps.Cases.Create(ctx, lead, cases.NewCase{Title: fmt.Sprintf("More %d", i), TLP: access.TLPAmber})
				if err != nil {
					t.Fatal(err)
				}
				if _, err := w.deps.Membership.SetAgency(ctx, lead, k.ID, w.agency["B"].ID, access.CaseObserver); err != nil {
					t.Fatal(err)
				}
				if _, err := w.deps.Tasks.CreateTask(ctx, lead, k.ID, cases.NewTask{Title: "Look", AssigneeAgencyID: w.agency["A"].ID,
					Priority: "low", DueAt: &overdue}); err != nil {
					t.Fatal(err)
				}
				if _, err := w.deps.Items.Register(ctx, lead, k.ID, k.Reference, evidence.NewItem{Title: "Logs", Kind: "logs"}); err != nil {
					t.Fatal(err)
				}
			}
			if many := measure(); many != few {
				t.Errorf("portfolio: %d statements over 2 cases, %d over 30", few, many)
			}
		})
	}
}

// The portfolio counts what leadership must chase: an item offered that
// nobody accepted, an item whose re-verification failed, and the time a
// closed case spent in each phase and from discovery to containment.
func TestLeadership_PortfolioCountsHandoversVerificationsAndPhaseTimes(t *testing.T) {
	t.Parallel()
	forEachDatabase(t, func(t *testing.T, w *world) {
		ctx := context.Background()
		lead := w.principal(t, "lead")
		resp, body := w.call(t, http.MethodPost, "/api/v1/evidence/"+w.evidenceID+"/custody", w.bearer["lead"],
			`{"type":"transfer_offered","counterparty_agency_id":"`+w.agency["B"].ID+`","purpose":"imaging"}`)
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("offer: %d %s", resp.StatusCode, body)
		}
		it, err := w.deps.Items.Item(ctx, w.contentID)
		if err != nil {
			t.Fatal(err)
		}
		w.tamperStored(t, it, 0)
		// Through the store: the API's answer to a mismatch is another matter.
		if v, err := w.deps.Content.Verify(ctx, lead, it); err != nil || v.Result != "mismatch" {
			t.Fatalf("verify: %+v %v", v, err)
		}

		discovered := time.Now().Add(-48 * time.Hour)
		k, err := w.deps.Cases.Create(ctx, lead, cases.NewCase{Title: "Closed breach", TLP: access.TLPAmber, DiscoveredAt: &discovered})
		if err != nil {
			t.Fatal(err)
		}
		for _, to := range []cases.Status{cases.StatusTriage, cases.StatusInvestigating, cases.StatusContainment,
			cases.StatusEradication, cases.StatusRecovery, cases.StatusClosed} {
			if k, err = w.deps.Cases.Transition(ctx, lead, k.ID, k.Version, cases.Move{To: to, Reason: "on", MayGovern: true}); err != nil {
				t.Fatal(err)
			}
		}

		resp, body = w.call(t, http.MethodGet, "/api/v1/portfolio", w.bearer["lead"], "")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("portfolio: %d %s", resp.StatusCode, body)
		}
		p := decodeInto[portfolioJSON](t, body)
		var fixture caseEvidenceJSON
		for _, e := range p.Evidence {
			if e.CaseID == w.caseID {
				fixture = e
			}
		}
		if fixture.AwaitingHandover != 1 || fixture.FailedVerifications != 1 || fixture.Items != 3 {
			t.Errorf("fixture case evidence %+v: want 3 items, 1 awaiting handover, 1 failed verification", fixture)
		}
		if got := p.PhaseTimes["triage"]; got.Samples != 1 {
			t.Errorf("triage times %+v, want one closed case", got)
		}
		if got := p.DiscoveryToContainment; got.Samples != 1 || got.MedianSeconds < 47*3600 {
			t.Errorf("discovery to containment %+v, want one case of about 48 h", got)
		}
		closedBar := p.ByPhase[len(p.ByPhase)-1]
		if closedBar.Key != "closed" || closedBar.Count != 1 || closedBar.CaseIDs[0] != k.ID {
			t.Errorf("closed bar %+v", closedBar)
		}
	})
}

// A situation report runs the same statements over a case with two tasks,
// items and events as over one with thirty of each.
func TestLeadership_SitrepStatementsDoNotGrowWithTheCase(t *testing.T) {
	t.Parallel()
	forEachDatabase(t, func(t *testing.T, w *world) {
		ctx := context.Background()
		lead := w.principal(t, "lead")
		n := countStatements(t, w.deps.DB)
		measure := func() int64 {
			t.Helper()
			before := n.Load()
			resp, body := w.call(t, http.MethodGet, "/api/v1/cases/"+w.caseID+"/sitrep", w.bearer["observer"], "")
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("sitrep: %d %s", resp.StatusCode, body)
			}
			return n.Load() - before
		}
		few := measure()
		k, err := w.deps.Cases.Get(ctx, w.caseID)
		if err != nil {
			t.Fatal(err)
		}
		markings, err := w.deps.Authz.ItemMarkings(ctx, lead, w.caseID)
		if err != nil {
			t.Fatal(err)
		}
		overdue := time.Now().Add(-time.Hour)
		for i := range 30 {
			if _, err := w.deps.Tasks.CreateTask(ctx, lead, w.caseID, cases.NewTask{Title: fmt.Sprint("Task ", i),
				AssigneeAgencyID: w.agency["A"].ID, Priority: "low", DueAt: &overdue}); err != nil {
				t.Fatal(err)
			}
			w.uploadContent(t, lead, k.Reference, fmt.Sprint("Logs ", i), fmt.Sprint("content ", i))
			if _, err := w.deps.Timeline.Add(ctx, w.caseID, cases.Reader{Principal: lead, Markings: markings},
				cases.NewEvent{OccurredAt: time.Now(), Description: fmt.Sprint("event ", i)}); err != nil {
				t.Fatal(err)
			}
		}
		if many := measure(); many != few {
			t.Errorf("sitrep: %d statements over a small case, %d over a larger one", few, many)
		}
	})
}
