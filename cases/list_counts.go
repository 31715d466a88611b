package cases

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
	"gorm.io/gorm"

	"github.com/bevis-ir/bevis/access"
	bevisdb "github.com/bevis-ir/bevis/internal/db"
)

// countCache keeps the case list's counts per status, per access scope
// and filters, each under the generation it was counted in. The database
// bumps the generation (the sum of case_list_generation, by triggers) with
// every change that can change a count, on whichever node makes it; a list
// reads it with its page (64 rows at most) and counts again only when it
// moved. The counts stored under a generation were read after it, so they
// are never older than it; a count that also saw a later change is stored
// under a generation no later list asks for. Counts of an earlier
// generation stay until they are counted again: they tell the next count
// of their scope how many cases it will find (countSource).
type countCache struct {
	mu      sync.Mutex
	entries map[string]countEntry
	flight  singleflight.Group // counts being counted, by generation and key
}

type countEntry struct {
	gen    int64
	counts map[Status]int
}

// maxCountEntries bounds the scopes and filters kept.
const maxCountEntries = 4096

// source is where a count, or a page gathered rather than walked, finds
// the cases it tests.
type source struct {
	kind sourceKind
	// caseIDs are the cases found, for fromClockCases.
	caseIDs []string
}

type sourceKind int

const (
	fromScope      sourceKind = iota // p's memberships (CaseScope)
	fromAll                          // every case, in the table's order
	fromClocks                       // the cases with an open clock in the state asked for
	fromClockCases                   // those cases, read first (at most gatherMax)
)

// visibleFrom is the condition on a query of the cases table that keeps
// the cases p can see, found from src.
func (q ListQuery) visibleFrom(db *gorm.DB, p access.Principal, src source, now time.Time) any {
	switch src.kind {
	case fromAll:
		return access.CaseRowVisible(p)
	case fromClocks:
		cond, args := clockCondition(q.ClockState, now)
		return db.Where("cases.id IN (SELECT k.case_id FROM case_clocks k WHERE "+cond+")", args...).
			Where(access.CaseRowVisible(p))
	case fromClockCases:
		return db.Where("cases.id IN (SELECT id FROM ? ids)", bevisdb.IDTable(db, src.caseIDs)).Where(access.CaseRowVisible(p))
	}
	return db.Where("cases.id IN (?)", access.CaseScope(db, p))
}

// countScanShare is the share of all cases, in per cent, that a scope is
// estimated to see from which its counts test every case (fromAll) rather
// than gather the scope's cases from its memberships (fromScope).
// Gathering sorts the memberships of the user and of the agency to merge
// them and reads each case by its ID; testing reads the cases in their
// table's order, and each one the scope cannot see costs a membership
// lookup more than one it can. BenchmarkCaseCounts measures both.
const countScanShare = 50

// count counts the cases p can see in each status under q, from the
// source countSource chooses for estimate, and returns that source too.
func (s *Store) count(db *gorm.DB, p access.Principal, q ListQuery, now time.Time, estimate int) (source, map[Status]int, error) {
	src, err := s.countSource(db, p, q, now, estimate)
	if err != nil {
		return source{}, nil, err
	}
	counts, err := s.countStatuses(db, p, q, now, src)
	return src, counts, err
}

// countStatuses counts the cases p can see in each status, among those
// q's filters but the status select, finding them from src.
func (s *Store) countStatuses(db *gorm.DB, p access.Principal, q ListQuery, now time.Time, src source) (map[Status]int, error) {
	var counts []struct {
		Status string
		N      int
	}
	if err := q.filters(db.Model(&caseRow{}).Where(q.visibleFrom(db, p, src, now)), false, now).
		Select("cases.status AS status, COUNT(*) AS n").Group("cases.status").Scan(&counts).Error; err != nil {
		return nil, fmt.Errorf("cases: count: %w", err)
	}
	out := make(map[Status]int, len(Statuses))
	for _, st := range Statuses {
		out[st] = 0
	}
	for _, c := range counts {
		out[Status(c.Status)] = c.N
	}
	return out, nil
}

// countSource chooses where a count of p's cases under q finds them, which
// changes the plan, never the counts. For an open clock state, the cases
// with an open clock in it are read first: up to gatherMax (see
// defaultGatherMax), they are the source (fromClockCases), a bounded cost
// whatever p sees, and a list the planners read as small however stale
// their statistics of the clocks (PostgreSQL had planned a subquery of 20
// overdue clocks, of 10,000 when last analysed, as 10,000 and read every
// case). Then one statement reads the number of all cases, of the clocks
// in the state, and of the cases p sees: estimate, what p saw at their
// last count (-1 when unknown), when it is countScanShare of all cases or
// more; otherwise, or with none (the estimate is too low when many cases
// were opened since), the sum of p's memberships, which is at least what p
// sees, and whose reading of the indexes' entries for p costs a fraction
// of gathering p's cases. From countScanShare of all cases, every case is
// tested; the clocks are the source when they are no more than either
// other way tests.
func (s *Store) countSource(db *gorm.DB, p access.Principal, q ListQuery, now time.Time, estimate int) (source, error) {
	clocks, args := "-1", []any{p.UserID, p.AgencyID}
	if q.ClockState == ClockOverdue || q.ClockState == ClockPending {
		cond, condArgs := clockCondition(q.ClockState, now)
		var ids []string
		if err := db.Raw("SELECT DISTINCT k.case_id FROM case_clocks k WHERE "+cond+" LIMIT ?",
			append(condArgs, s.gatherMax+1)...).Scan(&ids).Error; err != nil {
			return source{}, fmt.Errorf("cases: read the clocks: %w", err)
		}
		if len(ids) <= s.gatherMax {
			return source{kind: fromClockCases, caseIDs: ids}, nil
		}
		clocks = "(SELECT COUNT(*) FROM case_clocks k WHERE " + cond + ")"
		args = append(args, condArgs...)
	}
	// The estimate, when it says to test every case; else the memberships.
	var n struct{ Seen, All, Clocks int64 }
	all := allCasesSQL(db)
	if err := db.Raw(`SELECT `+all+` AS "all",
		CASE WHEN ? * 100 >= `+all+` * `+strconv.Itoa(countScanShare)+` THEN ?
		     ELSE (SELECT COUNT(*) FROM case_user_members WHERE user_id = ?)
		          + (SELECT COUNT(*) FROM case_agency_members WHERE agency_id = ?) END AS seen, `+
		clocks+` AS clocks`, append([]any{estimate, estimate}, args...)...).Scan(&n).Error; err != nil {
		return source{}, fmt.Errorf("cases: count the memberships: %w", err)
	}
	if len(p.TokenCaseIDs) > 0 {
		n.Seen = min(n.Seen, int64(len(p.TokenCaseIDs)))
	}
	scan := n.Seen*100 >= n.All*countScanShare
	switch {
	case n.Clocks >= 0 && n.Clocks <= n.Seen && (!scan || n.Clocks*100 <= n.All*countScanShare):
		return source{kind: fromClocks}, nil
	case scan:
		return source{kind: fromAll}, nil
	}
	return source{kind: fromScope}, nil
}

// total is the number of cases counted in counts.
func total(counts map[Status]int) int {
	n := 0
	for _, c := range counts {
		n += c
	}
	return n
}

// countsOf returns the counts per status of q's filters but the status for
// p, from the cache when nothing changed since they were counted. Counts of
// a clock state change with the time: they are counted, never cached (and
// countKey leaves the clock state out).
func (s *Store) countsOf(ctx context.Context, db *gorm.DB, p access.Principal, q ListQuery,
	count func() (map[Status]int, error)) (map[Status]int, error) {
	if q.ClockState != "" {
		return count()
	}
	gen, err := generation(db)
	if err != nil {
		return nil, err
	}
	return s.countsAt(ctx, gen, countKey(p, q), count)
}

// generation reads the case list's generation.
func generation(db *gorm.DB) (int64, error) {
	var gen int64
	if err := db.Raw("SELECT " + generationSQL).Scan(&gen).Error; err != nil {
		return 0, fmt.Errorf("cases: list generation: %w", err)
	}
	return gen, nil
}

// generationSQL is the case list's generation, as an expression a walk of
// the list can read with its page (see cachedCounts).
const generationSQL = "(SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) FROM case_list_generation)"

// cachedCounts returns the counts cached for key and the generation they
// are kept under, whatever the database's generation is now. A list that
// finds them reads the generation with its page, and counts again only
// when it moved (countsAt): one statement fewer than reading it first.
func (c *countCache) cachedCounts(key string) (map[Status]int, int64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	hit, ok := c.entries[key]
	if !ok {
		return nil, 0, false
	}
	return clone(hit.counts), hit.gen, true
}

// countsAt returns the counts for key under generation gen, read by the
// caller before it calls: from the cache when they are kept under gen,
// else counted (and kept, unless a later generation is kept already).
func (s *Store) countsAt(ctx context.Context, gen int64, key string, count func() (map[Status]int, error)) (map[Status]int, error) {
	c := s.counts
	c.mu.Lock()
	if hit, ok := c.entries[key]; ok && hit.gen == gen {
		c.mu.Unlock()
		return clone(hit.counts), nil
	}
	c.mu.Unlock()
	// Lists that miss together (the first after a change, for a scope of
	// thousands of cases: hundreds of milliseconds each) count once, and
	// share the counts.
	v, err, shared := c.flight.Do(fmt.Sprint(gen, "\x00", key), func() (any, error) {
		counts, err := count()
		if err != nil {
			return nil, err
		}
		c.keep(gen, key, counts)
		return counts, nil
	})
	if err != nil && shared && ctx.Err() == nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
		// The list that counted for this one was cancelled, not this one.
		v, err = count()
	}
	if err != nil {
		return nil, err
	}
	counts, ok := v.(map[Status]int)
	if !ok {
		return nil, fmt.Errorf("cases: counts of type %T", v)
	}
	return clone(counts), ctx.Err()
}

// keep stores counts for key under gen, unless counts of a later
// generation are kept for it. When the cache is full, counts of earlier
// generations than gen make room.
func (c *countCache) keep(gen int64, key string, counts map[Status]int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = make(map[string]countEntry)
	}
	old, ok := c.entries[key]
	if ok && old.gen > gen {
		return
	}
	if !ok && len(c.entries) >= maxCountEntries {
		for k, e := range c.entries {
			if e.gen < gen {
				delete(c.entries, k)
			}
		}
		if len(c.entries) >= maxCountEntries {
			return
		}
	}
	c.entries[key] = countEntry{gen: gen, counts: clone(counts)}
}

// countKey names an access scope and the filters the counts apply.
func countKey(p access.Principal, q ListQuery) string {
	sev := make([]string, len(q.Severities))
	for i, v := range q.Severities {
		sev[i] = fmt.Sprint(int(v))
	}
	slices.Sort(sev)
	tokens := slices.Clone(p.TokenCaseIDs)
	slices.Sort(tokens)
	return strings.Join([]string{p.UserID, p.AgencyID, strings.Join(tokens, ","), strings.Join(sev, ","),
		q.AgencyID, strings.ToLower(strings.TrimSpace(q.Tag))}, "\x00")
}

func clone(m map[Status]int) map[Status]int {
	out := make(map[Status]int, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
