package cases

import (
	"context"
	"fmt"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/bevis-ir/bevis/access"
	"github.com/bevis-ir/bevis/internal/db"
	"github.com/bevis-ir/bevis/internal/testenv"
)

// Rows written straight into the membership tables to seed the benchmark
// quickly; the real writes go through access.
type benchAgencyMember struct {
	CaseID, AgencyID, Role, AddedBy string
	AddedAt                         time.Time
}

func (benchAgencyMember) TableName() string { return "case_agency_members" }

type benchUserMember struct {
	CaseID, UserID, Role, AddedBy string
	AddedAt                       time.Time
}

func (benchUserMember) TableName() string { return "case_user_members" }

const (
	benchCases   = 20000
	benchMember  = 200 // cases the listing user can see
	benchSeeders = 50  // agencies (each with one person) that open the other cases
)

// seedCaseList fills db with total cases opened by benchSeeders agencies,
// and returns a user of another agency who is a member of member of them,
// spread evenly: half named on the case, half through their agency.
func seedCaseList(b testing.TB, d testenv.Database, total, member int) access.Principal {
	b.Helper()
	ctx := context.Background()
	e := &env{dir: access.NewDirectory(d.DB), d: d}
	seeders := make([]access.Principal, benchSeeders)
	for i := range seeders {
		seeders[i] = e.person(b, fmt.Sprint("S", i), fmt.Sprint("seeder", i))
	}
	reader := e.person(b, "R", "reader")
	now := time.Now().UTC().Truncate(time.Microsecond)
	aware := now.Add(-100 * time.Hour)
	err := d.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		const batch = 500
		for from := 0; from < total; from += batch {
			var rows []caseRow
			var agencies []benchAgencyMember
			var users []benchUserMember
			var tags []tagRow
			var clocks []clockRow
			for i := from; i < min(from+batch, total); i++ {
				s := seeders[i%benchSeeders]
				at := now.Add(-time.Duration(total-i) * time.Minute)
				r := caseRow{ID: newID(), Reference: fmt.Sprintf("BEV-2026-%05d", i+1), Title: fmt.Sprint("Case ", i),
					Severity: i%4 + 1, Status: string(Statuses[i%len(Statuses)]), StatusChangedAt: at, TLP: string(access.TLPAmber),
					LeadAgencyID: s.AgencyID, Version: 1, CreatedBy: s.UserID, CreatedAt: at, UpdatedAt: at}
				r.setContent(Case{Title: r.Title, Severity: Severity(r.Severity), TLP: access.TLPAmber, Jurisdictions: []string{"gdpr"},
					PersonalDataBreach: i%2 == 0, AwareAt: &aware})
				rows = append(rows, r)
				agencies = append(agencies, benchAgencyMember{CaseID: r.ID, AgencyID: s.AgencyID, Role: "lead", AddedBy: s.UserID, AddedAt: at})
				users = append(users, benchUserMember{CaseID: r.ID, UserID: s.UserID, Role: "lead", AddedBy: s.UserID, AddedAt: at})
				tags = append(tags, tagRow{CaseID: r.ID, Tag: fmt.Sprint("tag", i%20)}, tagRow{CaseID: r.ID, Tag: "breach"})
				if i%2 == 0 {
					due := aware.Add(72 * time.Hour)
					clocks = append(clocks, clockRow{CaseID: r.ID, Clock: "gdpr.art33", Jurisdiction: "gdpr", Title: "GDPR Art. 33", DueAt: &due})
				}
				// Spread the reader's cases evenly through the whole set.
				if step := total / member; i%step == 0 {
					if (i/step)%2 == 0 {
						users = append(users, benchUserMember{CaseID: r.ID, UserID: reader.UserID, Role: "investigator", AddedBy: s.UserID, AddedAt: at})
					} else {
						agencies = append(agencies, benchAgencyMember{CaseID: r.ID, AgencyID: reader.AgencyID, Role: "analyst", AddedBy: s.UserID, AddedAt: at})
					}
				}
			}
			for _, rs := range []any{&rows, &agencies, &users, &tags, &clocks} {
				if err := tx.Create(rs).Error; err != nil {
					return err
				}
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
	return reader
}

// BenchmarkCaseList lists the first page (50 cases, with tags, clocks and
// the counts per status) for a user who is a member of 200 cases among
// 1,000 and among 20,000, and beside it, in the same loop, a plain
// primary-key SELECT of the same 50 rows. It reports the list's 50th and
// 99th percentiles, the baseline's 99th and their ratio (p99_x_pk_select:
// the list's p99 over the baseline's); the page should cost the same
// whatever the number of cases.
func BenchmarkCaseList(b *testing.B) {
	for _, dialect := range []string{db.SQLite, db.Postgres} {
		for _, total := range []int{1000, benchCases} {
			b.Run(fmt.Sprintf("%s/cases=%d", dialect, total), func(b *testing.B) {
				d := benchDatabase(b, dialect)
				benchCaseList(b, d, seedCaseList(b, d, total, benchMember))
			})
		}
	}
}

func benchCaseList(b *testing.B, d testenv.Database, reader access.Principal) {
	s := NewStore(d.DB)
	ctx := context.Background()
	first, err := s.List(ctx, reader, ListQuery{})
	if err != nil {
		b.Fatal(err)
	}
	if len(first.Cases) != 50 || first.NextCursor == "" {
		b.Fatalf("first page has %d cases", len(first.Cases))
	}
	total := 0
	for _, n := range first.Counts {
		total += n
	}
	if total != benchMember {
		b.Fatalf("the reader sees %d cases, want %d", total, benchMember)
	}
	listBesidePKSelect(b, d, s, reader, ListQuery{}, first)
}

// listBesidePKSelect lists q for reader again and again and, beside each
// list in the same loop, selects the cases of first (q's first page) by
// their primary keys. It reports the list's 50th and 99th percentiles, the
// baseline's 99th and their ratio (p99_x_pk_select).
func listBesidePKSelect(b *testing.B, d testenv.Database, s *Store, reader access.Principal, q ListQuery, first Page) {
	ctx := context.Background()
	ids := make([]string, len(first.Cases))
	for i, k := range first.Cases {
		ids[i] = k.ID
	}
	var list, baseline []time.Duration
	for b.Loop() {
		t0 := time.Now()
		if _, err := s.List(ctx, reader, q); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		var rows []caseRow
		if err := d.DB.WithContext(ctx).Where("id IN ?", ids).Find(&rows).Error; err != nil || len(rows) != len(ids) {
			b.Fatalf("baseline: %d rows, %v", len(rows), err)
		}
		list, baseline = append(list, t1.Sub(t0)), append(baseline, time.Since(t1))
	}
	lp, bp := p99(list), p99(baseline)
	b.ReportMetric(ms(percentile(list, 50)), "p50_ms")
	b.ReportMetric(ms(lp), "p99_ms")
	b.ReportMetric(ms(bp), "pk_select_p99_ms")
	b.ReportMetric(float64(lp)/float64(bp), "p99_x_pk_select")
}

func p99(d []time.Duration) time.Duration { return percentile(d, 99) }

// BenchmarkCaseCounts counts the case list's cases per status afresh (as
// the first list after a change does) for a reader who sees 1%, 50% and all
// of 20,000 cases, both ways any count can take (countStatuses): gathering
// the reader's cases from their memberships and testing every case. Beside
// them, in the same loop, the baseline counts every case per status with no
// test of access.
// It reports each way's median over the baseline's (gather_x_all,
// scan_x_all) and that of the way countSource chooses with no estimate, from
// the reader's memberships (x_all): the choice should be the cheaper way.
func BenchmarkCaseCounts(b *testing.B) {
	for _, dialect := range []string{db.SQLite, db.Postgres} {
		for _, member := range []int{benchCases / 100, benchCases / 2, benchCases} {
			b.Run(fmt.Sprintf("%s/sees=%d", dialect, member), func(b *testing.B) {
				d := benchDatabase(b, dialect)
				reader := seedCaseList(b, d, benchCases, member)
				s := NewStore(d.DB)
				gdb := d.DB.WithContext(context.Background())
				now := time.Now()
				src, err := s.countSource(gdb, reader, ListQuery{}, now, -1)
				if err != nil {
					b.Fatal(err)
				}
				var gathered, scanned, all []time.Duration
				for b.Loop() {
					for _, way := range []struct {
						src  source
						took *[]time.Duration
					}{{source{kind: fromScope}, &gathered}, {source{kind: fromAll}, &scanned}} {
						t0 := time.Now()
						counts, err := s.countStatuses(gdb, reader, ListQuery{}, now, way.src)
						if err != nil {
							b.Fatal(err)
						}
						*way.took = append(*way.took, time.Since(t0))
						if total(counts) != member {
							b.Fatalf("counted %d cases, want %d", total(counts), member)
						}
					}
					t0 := time.Now()
					var rows []struct {
						Status string
						N      int
					}
					if err := gdb.Raw("SELECT status, COUNT(*) AS n FROM cases GROUP BY status").Scan(&rows).Error; err != nil {
						b.Fatal(err)
					}
					all = append(all, time.Since(t0))
				}
				base := float64(percentile(all, 50))
				g, sc := float64(percentile(gathered, 50))/base, float64(percentile(scanned, 50))/base
				b.ReportMetric(ms(percentile(all, 50)), "all_ms")
				b.ReportMetric(g, "gather_x_all")
				b.ReportMetric(sc, "scan_x_all")
				chosen := g
				if src.kind == fromAll {
					chosen = sc
				}
				b.ReportMetric(chosen, "x_all")
			})
		}
	}
}

// BenchmarkCaseListByClock lists the cases with an overdue clock, as the
// case list's deadlines do on every visit (200 a page, with their counts),
// for a reader who sees all of 20,000 cases of which 20 have an overdue
// clock (every other case had one; the rest are met), and beside it, in
// the same loop, a primary-key SELECT of those 20 cases. It reports the
// list's 50th and 99th percentiles and the ratio of its 99th to the
// baseline's: the list should cost what the clocks in that state hold, not
// what the reader sees. On PostgreSQL it runs with the statistics of after
// the clocks were met and with those of before (autovacuum not having
// analysed the table since).
func BenchmarkCaseListByClock(b *testing.B) {
	for _, run := range []struct {
		dialect  string
		analysed bool
	}{{db.SQLite, false}, {db.Postgres, true}, {db.Postgres, false}} {
		name := run.dialect
		if run.dialect == db.Postgres && !run.analysed {
			name += "/stale_statistics"
		}
		b.Run(name, func(b *testing.B) {
			d := benchDatabase(b, run.dialect)
			reader := seedCaseList(b, d, benchCases, benchCases)
			ctx := context.Background()
			if err := d.DB.Exec(`UPDATE case_clocks SET met_at = due_at WHERE case_id NOT IN
				(SELECT case_id FROM case_clocks ORDER BY case_id LIMIT 20)`).Error; err != nil {
				b.Fatal(err)
			}
			if run.analysed {
				if err := d.DB.Exec("ANALYZE").Error; err != nil {
					b.Fatal(err)
				}
			}
			s := NewStore(d.DB)
			q := ListQuery{ClockState: ClockOverdue, Limit: 200}
			first, err := s.List(ctx, reader, q)
			if err != nil {
				b.Fatal(err)
			}
			if len(first.Cases) != 20 || total(first.Counts) != 20 {
				b.Fatalf("%d cases listed, %d counted, want 20", len(first.Cases), total(first.Counts))
			}
			listBesidePKSelect(b, d, s, reader, q, first)
		})
	}
}
