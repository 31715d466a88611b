package reports

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/bevis-ir/bevis/access"
	"github.com/bevis-ir/bevis/internal/testenv"
)

// benchScale reads a size from the environment (to try the benchmarks
// small), else def.
func benchScale(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

// benchPerson makes an agency with one member and returns them.
func benchPerson(b *testing.B, dir *access.Directory, code string) access.Principal {
	b.Helper()
	ctx := context.Background()
	a, err := dir.CreateAgency(ctx, access.NewAgency{Code: "AG-" + code, Name: "Agency " + code, Kind: "other"})
	if err != nil {
		b.Fatal(err)
	}
	u, err := dir.CreateUser(ctx, access.NewUser{AgencyID: a.ID, Email: code + "@bevis.test", Name: code,
		SystemRole: access.RoleMember, Password: "correct horse battery staple"})
	if err != nil {
		b.Fatal(err)
	}
	return access.Principal{UserID: u.ID, AgencyID: a.ID, SystemRole: access.RoleMember}
}

// seedPortfolio writes, straight into the tables, cases of a seeding
// agency with tasks, clocks and evidence items each, and makes reader a
// member of every (cases/readable)-th one (half named, half through the
// agency).
func seedPortfolio(b *testing.B, db *gorm.DB, seeder, reader access.Principal, cases, readable, tasks, clocks, items int) {
	b.Helper()
	now := time.Now().UTC().Truncate(time.Microsecond)
	phases := []string{"new", "triage", "investigating", "containment", "eradication", "recovery", "closed"}
	err := db.Transaction(func(tx *gorm.DB) error {
		const batch = 200
		for from := 0; from < cases; from += batch {
			var cs, am, um, ts, ks, es []map[string]any
			for i := from; i < min(from+batch, cases); i++ {
				id := uuid.NewString()
				at := now.Add(-time.Duration(cases-i) * time.Minute)
				cs = append(cs, map[string]any{"id": id, "reference": fmt.Sprintf("BEV-B-%06d", i), "title": fmt.Sprint("Case ", i),
					"tlp": "AMBER", "lead_agency_id": seeder.AgencyID, "created_by": seeder.UserID, "created_at": at, "updated_at": at,
					"severity": i%4 + 1, "status": phases[i%len(phases)], "status_changed_at": at})
				am = append(am, map[string]any{"case_id": id, "agency_id": seeder.AgencyID, "role": "lead", "added_by": seeder.UserID, "added_at": at})
				if step := cases / readable; i%step == 0 {
					if (i/step)%2 == 0 {
						um = append(um, map[string]any{"case_id": id, "user_id": reader.UserID, "role": "observer", "added_by": seeder.UserID, "added_at": at})
					} else {
						am = append(am, map[string]any{"case_id": id, "agency_id": reader.AgencyID, "role": "observer", "added_by": seeder.UserID, "added_at": at})
					}
				}
				for t := range tasks {
					due := at.Add(time.Duration(t) * time.Hour)
					status := []string{"open", "in_progress", "blocked", "done"}[t%4]
					ts = append(ts, map[string]any{"id": uuid.NewString(), "case_id": id, "title": "Task", "assignee_agency_id": seeder.AgencyID,
						"priority": "normal", "due_at": due, "status": status, "created_by": seeder.UserID, "created_at": at, "updated_at": at})
				}
				for k := range clocks {
					due := now.Add(time.Duration(k*40-20) * time.Hour)
					ks = append(ks, map[string]any{"case_id": id, "clock": fmt.Sprint("c", k), "jurisdiction": "gdpr", "title": "Clock", "due_at": due})
				}
				for e := range items {
					es = append(es, map[string]any{"id": uuid.NewString(), "case_id": id, "exhibit_seq": e + 1,
						"exhibit_number": fmt.Sprintf("BEV-B-%06d-%d", i, e+1), "title": "Item", "kind": "logs", "tlp": "AMBER",
						"created_by": seeder.UserID, "created_at": at, "content_status": "received", "size": 1 << 20})
				}
			}
			for table, rows := range map[string][]map[string]any{"cases": cs} {
				if err := tx.Table(table).Create(rows).Error; err != nil {
					return err
				}
			}
			for _, t := range []struct {
				table string
				rows  []map[string]any
			}{{"case_agency_members", am}, {"case_user_members", um}, {"case_tasks", ts}, {"case_clocks", ks}, {"evidence_items", es}} {
				if len(t.rows) > 0 {
					if err := tx.Table(t.table).CreateInBatches(t.rows, 100).Error; err != nil {
						return fmt.Errorf("%s: %w", t.table, err)
					}
				}
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	if db.Dialector.Name() == "postgres" {
		if err := db.Exec("ANALYZE").Error; err != nil {
			b.Fatal(err)
		}
	}
}

func p99(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[(len(s)*99)/100]
}

// BenchmarkPortfolio builds the portfolio of a user who reads 200 of
// 20,000 cases (each with 10 tasks, 3 clocks and 5 evidence items) and,
// beside it in the same loop, the baseline: a primary-key SELECT of the
// same 200 cases. It reports both 99th percentiles and their ratio.
// BEVIS_BENCH_PORTFOLIO_CASES scales the seed down to try it quickly.
func BenchmarkPortfolio(b *testing.B) {
	cases := benchScale("BEVIS_BENCH_PORTFOLIO_CASES", 20000)
	readable := min(200, cases)
	for _, d := range testenv.Databases(b) {
		b.Run(d.Name, func(b *testing.B) {
			dir := access.NewDirectory(d.DB)
			seeder, reader := benchPerson(b, dir, "SEED"), benchPerson(b, dir, "READ")
			seedPortfolio(b, d.DB, seeder, reader, cases, readable, 10, 3, 5)
			s := NewStore(d.DB)
			ctx := context.Background()
			p, err := s.Portfolio(ctx, reader, PortfolioQuery{})
			if err != nil {
				b.Fatal(err)
			}
			if len(p.Cases) != readable || len(p.Evidence) != readable {
				b.Fatalf("the reader sees %d cases (%d with evidence), want %d", len(p.Cases), len(p.Evidence), readable)
			}
			ids := make([]string, len(p.Cases))
			for i, k := range p.Cases {
				ids[i] = k.ID
			}
			var got, baseline []time.Duration
			for b.Loop() {
				t0 := time.Now()
				if _, err := s.Portfolio(ctx, reader, PortfolioQuery{}); err != nil {
					b.Fatal(err)
				}
				t1 := time.Now()
				var n []string
				if err := d.DB.WithContext(ctx).Table("cases").Where("id IN ?", ids).Pluck("id", &n).Error; err != nil || len(n) != len(ids) {
					b.Fatalf("baseline: %d rows, %v", len(n), err)
				}
				got, baseline = append(got, t1.Sub(t0)), append(baseline, time.Since(t1))
			}
			gp, bp := p99(got), p99(baseline)
			b.ReportMetric(float64(gp.Microseconds())/1000, "p99_ms")
			b.ReportMetric(float64(bp.Microseconds())/1000, "pk_select_p99_ms")
			b.ReportMetric(float64(gp)/float64(bp), "p99_x_pk_select")
		})
	}
}

// BenchmarkSitrep builds the situation report of a case with 1,000,000
// timeline events and 500 tasks, and beside it in the same loop the
// baseline: a primary-key SELECT of the case. It reports both 99th
// percentiles and their ratio. BEVIS_BENCH_SITREP_EVENTS seeds fewer events
// to try it quickly.
func BenchmarkSitrep(b *testing.B) {
	events := benchScale("BEVIS_BENCH_SITREP_EVENTS", 1_000_000)
	for _, d := range testenv.Databases(b) {
		b.Run(d.Name, func(b *testing.B) {
			dir := access.NewDirectory(d.DB)
			lead := benchPerson(b, dir, "LEAD")
			seedPortfolio(b, d.DB, lead, lead, 1, 1, 500, 3, 5)
			var caseID string
			if err := d.DB.Table("cases").Select("id").Take(&caseID).Error; err != nil {
				b.Fatal(err)
			}
			now := time.Now().UTC().Truncate(time.Microsecond)
			err := d.DB.Transaction(func(tx *gorm.DB) error {
				const batch = 1000
				for from := 0; from < events; from += batch {
					rows := make([]map[string]any, 0, batch)
					for i := from; i < min(from+batch, events); i++ {
						at := now.Add(-time.Duration(events-i) * time.Second)
						rows = append(rows, map[string]any{"id": uuid.NewString(), "case_id": caseID, "occurred_at": at,
							"source_timezone": "UTC", "recorded_at": at, "recorded_by": lead.UserID,
							"description": fmt.Sprint("event ", i), "techniques": " T1078 ", "tlp": "AMBER"})
					}
					if err := tx.Table("timeline_events").Create(rows).Error; err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
			if d.Name == "postgres" {
				if err := d.DB.Exec("ANALYZE").Error; err != nil {
					b.Fatal(err)
				}
			}
			s := NewStore(d.DB)
			ctx := context.Background()
			markings := []access.TLP{access.TLPClear, access.TLPGreen, access.TLPAmber}
			r, err := s.Sitrep(ctx, caseID, markings)
			if err != nil {
				b.Fatal(err)
			}
			if len(r.Conditions.KeyEvents) != min(events, KeyEventsShown) || r.Conditions.EventsSince != min(events, KeyEventsCounted) {
				b.Fatalf("report: %d key events, %d counted", len(r.Conditions.KeyEvents), r.Conditions.EventsSince)
			}
			var got, baseline []time.Duration
			for b.Loop() {
				t0 := time.Now()
				if _, err := s.Sitrep(ctx, caseID, markings); err != nil {
					b.Fatal(err)
				}
				t1 := time.Now()
				var title string
				if err := d.DB.WithContext(ctx).Table("cases").Where("id = ?", caseID).Pluck("title", &title).Error; err != nil {
					b.Fatal(err)
				}
				got, baseline = append(got, t1.Sub(t0)), append(baseline, time.Since(t1))
			}
			gp, bp := p99(got), p99(baseline)
			b.ReportMetric(float64(gp.Microseconds())/1000, "p99_ms")
			b.ReportMetric(float64(bp.Microseconds())/1000, "pk_select_p99_ms")
			b.ReportMetric(float64(gp)/float64(bp), "p99_x_pk_select")
		})
	}
}
