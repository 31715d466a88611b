package cases

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bevis-ir/bevis/internal/testenv"
	"github.com/bevis-ir/bevis/internal/validate"
)

func TestClocks_PersonalDataBreachRunsGDPR72hAndTurnsOverdue(t *testing.T) {
	for _, d := range testenv.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			e := newEnv(t, d)
			ctx := context.Background()
			aware := start.Add(-10 * time.Hour)
			k := e.create(t, e.alice, NewCase{PersonalDataBreach: true, AwareAt: &aware})
			c := clockOf(t, k, "gdpr.art33")
			if c.DueAt == nil || !c.DueAt.Equal(aware.Add(72*time.Hour)) || c.State != ClockPending || c.Met != nil {
				t.Fatalf("gdpr clock %+v", c)
			}
			e.clock.Advance(62 * time.Hour) // exactly due
			k, _ = e.store.Get(ctx, k.ID)
			if c := clockOf(t, k, "gdpr.art33"); c.State != ClockPending {
				t.Errorf("at the due time: %s", c.State)
			}
			e.clock.Advance(time.Microsecond)
			k, _ = e.store.Get(ctx, k.ID)
			if c := clockOf(t, k, "gdpr.art33"); c.State != ClockOverdue {
				t.Errorf("past the due time: %s", c.State)
			}
			page, err := e.store.List(ctx, e.alice, ListQuery{ClockState: ClockOverdue})
			if err != nil || len(page.Cases) != 1 {
				t.Errorf("overdue list: %d cases, %v", len(page.Cases), err)
			}

			metAt := e.clock.Now() // a microsecond late
			k, err = e.store.MeetClock(ctx, e.bob, k.ID, k.Version, "gdpr.art33", Meeting{At: &metAt, Reference: " DPA-2026-77 "})
			if err != nil {
				t.Fatal(err)
			}
			c = clockOf(t, k, "gdpr.art33")
			if c.State != ClockMet || c.Met == nil || !c.Met.At.Equal(metAt) || c.Met.ByUser != e.bob.UserID ||
				c.Met.ByAgency != e.bob.AgencyID || c.Met.Reference != "DPA-2026-77" || !c.Met.Late || !c.Met.RecordedAt.Equal(e.clock.Now()) {
				t.Errorf("met clock %+v %+v", c, c.Met)
			}
			if _, err := e.store.MeetClock(ctx, e.alice, k.ID, k.Version, "gdpr.art33", Meeting{Reference: "again"}); !errors.Is(err, ErrClockMet) {
				t.Errorf("meeting twice: %v", err)
			}
			page, _ = e.store.List(ctx, e.alice, ListQuery{ClockState: ClockOverdue})
			if len(page.Cases) != 0 {
				t.Errorf("a met clock still lists as overdue")
			}
		})
	}
}

func TestClocks_FollowTheFacts(t *testing.T) {
	for _, d := range testenv.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			e := newEnv(t, d)
			ctx := context.Background()
			k := e.create(t, e.alice, NewCase{})
			if len(k.Clocks) != 0 {
				t.Fatalf("a case that is no personal-data breach has clocks %+v", k.Clocks)
			}
			k, err := e.store.Update(ctx, e.alice, k.ID, k.Version, Update{PersonalDataBreach: Optional[bool]{Set: true, Value: true}})
			if err != nil {
				t.Fatal(err)
			}
			if c := clockOf(t, k, "gdpr.art33"); c.DueAt != nil || c.State != ClockPending {
				t.Errorf("without aware_at: %+v", c)
			}
			aware := start.Add(-time.Hour)
			k, _ = e.store.Update(ctx, e.alice, k.ID, k.Version, Update{AwareAt: Optional[*time.Time]{Set: true, Value: &aware}})
			if c := clockOf(t, k, "gdpr.art33"); c.DueAt == nil || !c.DueAt.Equal(aware.Add(72*time.Hour)) {
				t.Errorf("with aware_at: %+v", c)
			}
			k, _ = e.store.Update(ctx, e.alice, k.ID, k.Version, Update{PersonalDataBreach: Optional[bool]{Set: true, Value: false}})
			if len(k.Clocks) != 0 {
				t.Errorf("an unmet clock that no longer applies stays: %+v", k.Clocks)
			}
		})
	}
}

func TestClocks_NIS2FinalReportRunsFromTheNotification(t *testing.T) {
	for _, d := range testenv.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			e := newEnv(t, d)
			ctx := context.Background()
			aware := start.Add(-time.Hour)
			k := e.create(t, e.alice, NewCase{AwareAt: &aware, Jurisdictions: []string{"nis2"}})
			var ids []string
			for _, c := range k.Clocks {
				ids = append(ids, c.ID)
			}
			if !slices.Equal(ids, []string{"nis2.art23.early_warning", "nis2.art23.notification", "nis2.art23.final_report"}) {
				t.Fatalf("nis2 clocks %v", ids)
			}
			if c := clockOf(t, k, "nis2.art23.early_warning"); !c.DueAt.Equal(aware.Add(24 * time.Hour)) {
				t.Errorf("early warning due %v", c.DueAt)
			}
			if c := clockOf(t, k, "nis2.art23.notification"); !c.DueAt.Equal(aware.Add(72 * time.Hour)) {
				t.Errorf("notification due %v", c.DueAt)
			}
			if c := clockOf(t, k, "nis2.art23.final_report"); c.DueAt != nil || c.State != ClockPending {
				t.Errorf("final report before the notification: %+v", c)
			}
			e.clock.Advance(100 * 24 * time.Hour) // long past: still pending, it has no due time
			k, _ = e.store.Get(ctx, k.ID)
			if c := clockOf(t, k, "nis2.art23.final_report"); c.State != ClockPending {
				t.Errorf("final report with no due time is %s", c.State)
			}
			notified := time.Date(2026, 1, 31, 12, 0, 0, 0, time.UTC)
			k, err := e.store.MeetClock(ctx, e.alice, k.ID, k.Version, "nis2.art23.notification", Meeting{At: &notified, Reference: "CSIRT-1"})
			if err != nil {
				t.Fatal(err)
			}
			// One calendar month after 31 January is 3 March (Go's AddDate normalises).
			if c := clockOf(t, k, "nis2.art23.final_report"); c.DueAt == nil || !c.DueAt.Equal(notified.AddDate(0, 1, 0)) || c.State != ClockOverdue {
				t.Errorf("final report after the notification: %+v", c)
			}
		})
	}
}

func TestMeetClock_RefusesBadInputAndChangesNothing(t *testing.T) {
	for _, d := range testenv.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			e := newEnv(t, d)
			ctx := context.Background()
			k := e.create(t, e.alice, NewCase{PersonalDataBreach: true, AwareAt: ptr(start)})
			var invalid *validate.Error
			if _, err := e.store.MeetClock(ctx, e.alice, k.ID, k.Version, "gdpr.art33", Meeting{}); !errors.As(err, &invalid) {
				t.Errorf("no reference: %v", err)
			}
			if _, err := e.store.MeetClock(ctx, e.alice, k.ID, k.Version, "gdpr.art33", Meeting{Reference: "x", At: ptr(start.Add(time.Hour))}); !errors.As(err, &invalid) {
				t.Errorf("future: %v", err)
			}
			if _, err := e.store.MeetClock(ctx, e.alice, k.ID, k.Version, "nis2.art23.notification", Meeting{Reference: "x"}); !errors.Is(err, ErrNotFound) {
				t.Errorf("a clock the case does not have: %v", err)
			}
			if _, err := e.store.MeetClock(ctx, e.alice, k.ID, k.Version-1, "gdpr.art33", Meeting{Reference: "x"}); !errors.Is(err, ErrStale) {
				t.Errorf("stale: %v", err)
			}
			got, _ := e.store.Get(ctx, k.ID)
			if got.Version != k.Version || clockOf(t, got, "gdpr.art33").Met != nil {
				t.Errorf("refused meetings changed the case: %+v", got)
			}
		})
	}
}

func TestLoadClockRules_AddsNationalRules(t *testing.T) {
	rules, err := LoadClockRules(strings.NewReader(`{"rules":[
		{"id":"no.nsm.varsel","jurisdiction":"no-sikkerhetsloven","title":"Varsle NSM","anchor":"discovered_at","after":"6h"},
		{"id":"no.nsm.rapport","jurisdiction":"no-sikkerhetsloven","title":"Rapport til NSM","anchor":"met:no.nsm.varsel","after":"2mo","requires":["personal_data_breach"]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := rules.Jurisdictions(); !slices.Equal(got, []string{"gdpr", "nis2", "no-sikkerhetsloven"}) {
		t.Errorf("jurisdictions %v", got)
	}
	for _, d := range []testenv.Database{testenv.SQLite(t)} {
		e := newEnv(t, d, WithClockRules(rules))
		discovered := start.Add(-time.Hour)
		k := e.create(t, e.alice, NewCase{DiscoveredAt: &discovered, Jurisdictions: []string{"no-sikkerhetsloven"}})
		if len(k.Clocks) != 1 || !k.Clocks[0].DueAt.Equal(discovered.Add(6*time.Hour)) {
			t.Errorf("national clocks %+v", k.Clocks)
		}
	}

	for name, file := range map[string]string{
		"not json":      `{`,
		"unknown field": `{"rules":[{"id":"x","jurisdiction":"x","title":"x","anchor":"aware_at","after":"1h","color":"red"}]}`,
		"duplicate id":  `{"rules":[{"id":"gdpr.art33","jurisdiction":"x","title":"x","anchor":"aware_at","after":"1h"}]}`,
		"bad anchor":    `{"rules":[{"id":"x","jurisdiction":"x","title":"x","anchor":"lunch","after":"1h"}]}`,
		"chain order":   `{"rules":[{"id":"x","jurisdiction":"x","title":"x","anchor":"met:y","after":"1h"}]}`,
		"bad period":    `{"rules":[{"id":"x","jurisdiction":"x","title":"x","anchor":"aware_at","after":"soon"}]}`,
		"negative":      `{"rules":[{"id":"x","jurisdiction":"x","title":"x","anchor":"aware_at","after":"-1h"}]}`,
		"bad id":        `{"rules":[{"id":"X Y","jurisdiction":"x","title":"x","anchor":"aware_at","after":"1h"}]}`,
		"unknown fact":  `{"rules":[{"id":"x","jurisdiction":"x","title":"x","anchor":"aware_at","after":"1h","requires":["moon"]}]}`,
		"no title":      `{"rules":[{"id":"x","jurisdiction":"x","anchor":"aware_at","after":"1h"}]}`,
	} {
		if _, err := LoadClockRules(strings.NewReader(file)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
