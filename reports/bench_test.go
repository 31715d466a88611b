package reports

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"gorm.io/gorm"

	"github.com/bevis-ir/bevis/access"
	"github.com/bevis-ir/bevis/internal/testenv"
)

// benchScale is a size of a benchmark: the variable name sets it; else
// full with BEVIS_BENCH_FULL=1 (the sizes of the targets, which take
// minutes to seed on a small machine), else reduced.
func benchScale(name string, full, reduced int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	if os.Getenv("BEVIS_BENCH_FULL") == "1" {
		return full
	}
	return reduced
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

// benchTable is n rows to write into one table, the i-th appended to dst by row.
type benchTable struct {
	name    string
	columns []string
	n       int
	row     func(i int, dst []any) []any
}

// bulkInsert writes the tables, in order, in one transaction, the fastest
// plain way each dialect has: pgx CopyFrom on PostgreSQL, prepared
// multi-row INSERTs on SQLite. The rows are the ones the domain writes,
// column for column; this only skips GORM's per-row work.
func bulkInsert(b *testing.B, gdb *gorm.DB, tables ...benchTable) {
	b.Helper()
	ctx := b.Context()
	defer func(start time.Time) {
		rows := 0
		for _, t := range tables {
			rows += t.n
		}
		b.Logf("%s: seeded %d rows in %s", gdb.Dialector.Name(), rows, time.Since(start).Round(time.Millisecond))
	}(time.Now())
	if gdb.Dialector.Name() == "postgres" {
		sqlDB, err := gdb.DB()
		if err != nil {
			b.Fatal(err)
		}
		conn, err := sqlDB.Conn(ctx)
		if err != nil {
			b.Fatal(err)
		}
		defer conn.Close()
		err = conn.Raw(func(dc any) error {
			tx, err := dc.(*stdlib.Conn).Conn().Begin(ctx)
			if err != nil {
				return err
			}
			defer func() { _ = tx.Rollback(ctx) }()
			for _, t := range tables {
				i, values := -1, []any(nil)
				_, err := tx.CopyFrom(ctx, pgx.Identifier{t.name}, t.columns, pgx.CopyFromFunc(func() ([]any, error) {
					if i++; i == t.n {
						return nil, nil
					}
					values = t.row(i, values[:0])
					return values, nil
				}))
				if err != nil {
					return fmt.Errorf("%s: %w", t.name, err)
				}
			}
			if _, err := tx.Exec(ctx, "ANALYZE"); err != nil {
				return err
			}
			return tx.Commit(ctx)
		})
		if err != nil {
			b.Fatal(err)
		}
		return
	}
	err := gdb.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		pool := tx.Statement.ConnPool
		// Random keys into a dozen indexes thrash SQLite's default 2 MB
		// page cache; the connection gets its own back afterwards, so the
		// measurements run as the server would.
		var cache int
		if err := pool.QueryRowContext(ctx, "PRAGMA cache_size").Scan(&cache); err != nil {
			return err
		}
		if _, err := pool.ExecContext(ctx, "PRAGMA cache_size = -524288"); err != nil {
			return err
		}
		defer func() { _, _ = pool.ExecContext(ctx, fmt.Sprintf("PRAGMA cache_size = %d", cache)) }()
		for _, t := range tables {
			// SQLite takes at most 32,766 parameters a statement.
			batch := min(500, 32766/len(t.columns))
			insert := func(rows int) string {
				one := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(t.columns)), ", ") + ")"
				return "INSERT INTO " + t.name + " (" + strings.Join(t.columns, ", ") + ") VALUES " +
					strings.TrimSuffix(strings.Repeat(one+", ", rows), ", ")
			}
			full, err := pool.PrepareContext(ctx, insert(batch))
			if err != nil {
				return err
			}
			defer full.Close()
			args := make([]any, 0, batch*len(t.columns))
			for i := range t.n {
				if args = t.row(i, args); len(args) == cap(args) {
					if _, err := full.ExecContext(ctx, args...); err != nil {
						return fmt.Errorf("%s: %w", t.name, err)
					}
					args = args[:0]
				}
			}
			if len(args) > 0 {
				if _, err := pool.ExecContext(ctx, insert(len(args)/len(t.columns)), args...); err != nil {
					return fmt.Errorf("%s: %w", t.name, err)
				}
			}
		}
		_, err := pool.ExecContext(ctx, "ANALYZE")
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
}

// seedPortfolio writes, straight into the tables, cases of a seeding
// agency with tasks, clocks and evidence items each, and makes reader a
// member of every (cases/readable)-th one (half named, half through the
// agency). Each case has the status history the cases package writes (from
// ” to new, then phase by phase to its status); each item is registered
// and received on its custody ledger, the first of each case re-verified,
// the second of every tenth case offered to another agency and not yet
// answered. The ledger's hashes are chained as the evidence package chains
// them, but over a stand-in of the event (its canonical form is that
// package's own): the read model never checks them. It returns the IDs of
// the cases, in the order written.
func seedPortfolio(b *testing.B, db *gorm.DB, seeder, reader access.Principal, cases, readable, tasks, clocks, items int) []string {
	b.Helper()
	now := time.Now().UTC().Truncate(time.Microsecond)
	// References and exhibit numbers are unique: each seeder has its own.
	prefix := "BEV-" + seeder.AgencyID[len(seeder.AgencyID)-6:]
	ids := make([]string, cases)
	for i := range ids {
		ids[i] = uuid.NewString()
	}
	opened := func(i int) time.Time { return now.Add(-time.Duration(cases-i) * time.Minute) }
	phase := func(i int) int { return i % len(phases) }
	// phaseAt is when case i entered phase j (at most its own): a second apart.
	phaseAt := func(i, j int) time.Time { return opened(i).Add(time.Duration(j) * time.Second) }
	var transitions [][2]int // case, phase entered
	for i := range cases {
		for j := 0; j <= phase(i); j++ {
			transitions = append(transitions, [2]int{i, j})
		}
	}
	itemIDs := make([]string, cases*items)
	for i := range itemIDs {
		itemIDs[i] = uuid.NewString()
	}
	// The custody events: item, seq, type; after the two every item has,
	// a verification of each case's first item and an open offer of the
	// second of every tenth case.
	type custody struct {
		item, seq int
		kind      string
	}
	var ledger []custody
	for it := range itemIDs {
		ledger = append(ledger, custody{it, 1, "registered"}, custody{it, 2, "received"})
		switch c, e := it/items, it%items; {
		case e == 0:
			ledger = append(ledger, custody{it, 3, "verified"})
		case e == 1 && c%10 == 0:
			ledger = append(ledger, custody{it, 3, "transfer_offered"})
		}
	}
	chain := make([]string, len(ledger))
	for n, ev := range ledger {
		prev := strings.Repeat("0", 64)
		if ev.seq > 1 {
			prev = chain[n-1]
		}
		sum := sha256.Sum256([]byte(prev + itemIDs[ev.item] + ev.kind))
		chain[n] = hex.EncodeToString(sum[:])
	}
	step := cases / readable
	// The reader's memberships: the (2k)-th readable case names them, the
	// (2k+1)-th their agency.
	var named, throughAgency []int
	for i := 0; i < cases; i += step {
		if (i/step)%2 == 0 {
			named = append(named, i)
		} else {
			throughAgency = append(throughAgency, i)
		}
	}
	bulkInsert(b, db,
		benchTable{"cases", []string{"id", "reference", "title", "tlp", "lead_agency_id", "created_by", "created_at", "updated_at",
			"severity", "status", "status_changed_at"}, cases, func(i int, dst []any) []any {
			at := opened(i)
			return append(dst, ids[i], fmt.Sprintf("%s-%06d", prefix, i), fmt.Sprint("Case ", i), "AMBER", seeder.AgencyID,
				seeder.UserID, at, phaseAt(i, phase(i)), i%4+1, phases[phase(i)], phaseAt(i, phase(i)))
		}},
		benchTable{"case_transitions", []string{"id", "case_id", "from_status", "to_status", "by_user", "by_agency", "at"},
			len(transitions), func(n int, dst []any) []any {
				i, j := transitions[n][0], transitions[n][1]
				from := ""
				if j > 0 {
					from = phases[j-1]
				}
				return append(dst, uuid.NewString(), ids[i], from, phases[j], seeder.UserID, seeder.AgencyID, phaseAt(i, j))
			}},
		benchTable{"case_agency_members", []string{"case_id", "agency_id", "role", "added_by", "added_at"},
			cases + len(throughAgency), func(i int, dst []any) []any {
				if i < cases {
					return append(dst, ids[i], seeder.AgencyID, "lead", seeder.UserID, opened(i))
				}
				c := throughAgency[i-cases]
				return append(dst, ids[c], reader.AgencyID, "observer", seeder.UserID, opened(c))
			}},
		benchTable{"case_user_members", []string{"case_id", "user_id", "role", "added_by", "added_at"},
			len(named), func(i int, dst []any) []any {
				c := named[i]
				return append(dst, ids[c], reader.UserID, "observer", seeder.UserID, opened(c))
			}},
		benchTable{"case_tasks", []string{"id", "case_id", "title", "assignee_agency_id", "priority", "due_at", "status",
			"created_by", "created_at", "updated_at"}, cases * tasks, func(i int, dst []any) []any {
			c, t := i/tasks, i%tasks
			at := opened(c)
			return append(dst, uuid.NewString(), ids[c], "Task", seeder.AgencyID, "normal", at.Add(time.Duration(t)*time.Hour),
				[]string{"open", "in_progress", "blocked", "done"}[t%4], seeder.UserID, at, at)
		}},
		benchTable{"case_clocks", []string{"case_id", "clock", "jurisdiction", "title", "due_at"},
			cases * clocks, func(i int, dst []any) []any {
				c, k := i/clocks, i%clocks
				return append(dst, ids[c], fmt.Sprint("c", k), "gdpr", "Clock", now.Add(time.Duration(k*40-20)*time.Hour))
			}},
		benchTable{"evidence_items", []string{"id", "case_id", "exhibit_seq", "exhibit_number", "title", "kind", "tlp",
			"created_by", "created_at", "content_status", "size", "sha256", "object_key", "received_at", "awaiting_handover",
			"verification_failed"}, cases * items, func(i int, dst []any) []any {
			c, e := i/items, i%items
			// The custody state the ledger below gives each item, kept
			// on its row as the evidence package keeps it.
			offered := e == 1 && c%10 == 0
			return append(dst, itemIDs[i], ids[c], e+1, fmt.Sprintf("%s-%06d-%d", prefix, c, e+1), "Item", "logs", "AMBER",
				seeder.UserID, opened(c), "received", 1<<20, strings.Repeat("5e", 32), "items/"+itemIDs[i], opened(c),
				offered, false)
		}},
		benchTable{"evidence_counters", []string{"case_id", "last_seq", "last_number"}, cases, func(i int, dst []any) []any {
			return append(dst, ids[i], items, items)
		}},
		benchTable{"custody_events", []string{"id", "item_id", "seq", "type", "actor_user_id", "actor_agency_id",
			"counterparty_agency_id", "details", "occurred_at", "recorded_at", "prev_hash", "hash"},
			len(ledger), func(n int, dst []any) []any {
				ev := ledger[n]
				at := opened(ev.item / items).Add(time.Duration(ev.seq) * time.Second)
				var to any
				details := "{}"
				switch ev.kind {
				case "transfer_offered":
					to = reader.AgencyID
				case "verified":
					details = `{"result":"ok"}`
				}
				prev := strings.Repeat("0", 64)
				if ev.seq > 1 {
					prev = chain[n-1]
				}
				return append(dst, uuid.NewString(), itemIDs[ev.item], ev.seq, ev.kind, seeder.UserID, seeder.AgencyID, to,
					details, at, at, prev, chain[n])
			}},
	)
	return ids
}

// statementCounter counts the statements run through db from now on.
func statementCounter(b *testing.B, db *gorm.DB) *atomic.Int64 {
	b.Helper()
	var n atomic.Int64
	count := func(*gorm.DB) { n.Add(1) }
	cb := db.Callback()
	for name, err := range map[string]error{
		"query": cb.Query().After("gorm:query").Register("bench:count_query", count),
		"row":   cb.Row().After("gorm:row").Register("bench:count_row", count),
		"raw":   cb.Raw().After("gorm:raw").Register("bench:count_raw", count),
	} {
		if err != nil {
			b.Fatalf("register %s counter: %v", name, err)
		}
	}
	return &n
}

// percentile is the q-th percentile (nearest rank below) of d.
func percentile(d []time.Duration, q int) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[(len(s)*q)/100]
}

// reportPercentiles reports the 50th and 99th percentiles of got and of the
// baseline measured beside it, and the ratio of the 99th.
func reportPercentiles(b *testing.B, got, baseline []time.Duration) {
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	g50, g99, b50, b99 := percentile(got, 50), percentile(got, 99), percentile(baseline, 50), percentile(baseline, 99)
	b.ReportMetric(ms(g50), "p50_ms")
	b.ReportMetric(ms(g99), "p99_ms")
	b.ReportMetric(ms(b50), "pk_select_p50_ms")
	b.ReportMetric(ms(b99), "pk_select_p99_ms")
	b.ReportMetric(float64(g99)/float64(b99), "p99_x_pk_select")
}

// BenchmarkPortfolio builds the portfolio of a user who reads 200 of
// 20,000 cases (each with 10 tasks, 3 clocks and 5 evidence items) and,
// beside it in the same loop, the baseline: a primary-key SELECT of the
// same 200 cases. It reports the 50th and 99th percentiles of both and the
// ratio of the 99th, and the statements one portfolio runs. It seeds 2,000
// cases unless BEVIS_BENCH_FULL=1 (or BEVIS_BENCH_PORTFOLIO_CASES) says
// otherwise.
func BenchmarkPortfolio(b *testing.B) {
	cases := benchScale("BEVIS_BENCH_PORTFOLIO_CASES", 20000, 2000)
	readable := min(200, cases)
	for _, d := range testenv.Databases(b) {
		b.Run(d.Name, func(b *testing.B) {
			dir := access.NewDirectory(d.DB)
			seeder, reader := benchPerson(b, dir, "SEED"), benchPerson(b, dir, "READ")
			seedPortfolio(b, d.DB, seeder, reader, cases, readable, 10, 3, 5)
			s := NewStore(d.DB)
			ctx := context.Background()
			statements := statementCounter(b, d.DB)
			p, err := s.Portfolio(ctx, reader, PortfolioQuery{})
			if err != nil {
				b.Fatal(err)
			}
			ran := statements.Load()
			if len(p.Cases) != readable || len(p.Evidence) != readable {
				b.Fatalf("the reader sees %d cases (%d with evidence), want %d", len(p.Cases), len(p.Evidence), readable)
			}
			// Every tenth case has one item offered and not yet answered.
			awaiting, want := 0, 0
			for _, e := range p.Evidence {
				awaiting += e.AwaitingHandover
			}
			for i := 0; i < cases; i += cases / readable {
				if i%10 == 0 {
					want++
				}
			}
			if awaiting != want {
				b.Fatalf("%d items awaiting a handover, want %d", awaiting, want)
			}
			ids := make([]string, len(p.Cases))
			for i, k := range p.Cases {
				ids[i] = k.ID
			}
			var got, baseline []time.Duration
			var cpu time.Duration
			for b.Loop() {
				t0, c0 := time.Now(), processCPU()
				if _, err := s.Portfolio(ctx, reader, PortfolioQuery{}); err != nil {
					b.Fatal(err)
				}
				t1 := time.Now()
				cpu += processCPU() - c0
				var n []string
				if err := d.DB.WithContext(ctx).Table("cases").Where("id IN ?", ids).Pluck("id", &n).Error; err != nil || len(n) != len(ids) {
					b.Fatalf("baseline: %d rows, %v", len(n), err)
				}
				got, baseline = append(got, t1.Sub(t0)), append(baseline, time.Since(t1))
			}
			reportPercentiles(b, got, baseline)
			b.ReportMetric(float64(ran), "statements")
			b.ReportMetric(float64(cpu.Microseconds())/1000/float64(len(got)), "process_cpu_ms/op")
		})
	}
}

// BenchmarkSitrep builds the situation report of a case with 1,000,000
// timeline events and 500 tasks, and beside it in the same loop the
// baseline: a primary-key SELECT of the case. It reports the 50th and
// 99th percentiles of both and the ratio of the 99th, and the statements
// one report runs. It seeds 20,000 events unless BEVIS_BENCH_FULL=1 (or
// BEVIS_BENCH_SITREP_EVENTS) says otherwise.
func BenchmarkSitrep(b *testing.B) {
	events := benchScale("BEVIS_BENCH_SITREP_EVENTS", 1_000_000, 20000)
	for _, d := range testenv.Databases(b) {
		b.Run(d.Name, func(b *testing.B) {
			dir := access.NewDirectory(d.DB)
			lead := benchPerson(b, dir, "LEAD")
			caseID := seedPortfolio(b, d.DB, lead, lead, 1, 1, 500, 3, 5)[0]
			now := time.Now().UTC().Truncate(time.Microsecond)
			bulkInsert(b, d.DB, benchTable{"timeline_events", []string{"id", "case_id", "occurred_at", "source_timezone",
				"recorded_at", "recorded_by", "description", "techniques", "tlp"}, events, func(i int, dst []any) []any {
				at := now.Add(-time.Duration(events-i) * time.Second)
				return append(dst, uuid.NewString(), caseID, at, "UTC", at, lead.UserID, fmt.Sprint("event ", i), " T1078 ", "AMBER")
			}})
			s := NewStore(d.DB)
			ctx := context.Background()
			markings := []access.TLP{access.TLPClear, access.TLPGreen, access.TLPAmber}
			statements := statementCounter(b, d.DB)
			r, err := s.Sitrep(ctx, caseID, markings)
			if err != nil {
				b.Fatal(err)
			}
			ran := statements.Load()
			if len(r.Conditions.KeyEvents) != min(events, KeyEventsShown) || r.Conditions.EventsSince != min(events, KeyEventsCounted) {
				b.Fatalf("report: %d key events, %d counted", len(r.Conditions.KeyEvents), r.Conditions.EventsSince)
			}
			var got, baseline []time.Duration
			var cpu time.Duration
			for b.Loop() {
				t0, c0 := time.Now(), processCPU()
				if _, err := s.Sitrep(ctx, caseID, markings); err != nil {
					b.Fatal(err)
				}
				t1 := time.Now()
				cpu += processCPU() - c0
				var title string
				if err := d.DB.WithContext(ctx).Table("cases").Where("id = ?", caseID).Pluck("title", &title).Error; err != nil {
					b.Fatal(err)
				}
				got, baseline = append(got, t1.Sub(t0)), append(baseline, time.Since(t1))
			}
			reportPercentiles(b, got, baseline)
			b.ReportMetric(float64(ran), "statements")
			b.ReportMetric(float64(cpu.Microseconds())/1000/float64(len(got)), "process_cpu_ms/op")
		})
	}
}
