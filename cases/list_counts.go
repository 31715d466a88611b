package cases

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"golang.org/x/sync/singleflight"
	"gorm.io/gorm"

	"github.com/bevis-ir/bevis/access"
)

// countCache keeps the case list's counts per status, per access scope
// and filters, under the generation they were counted in. The database
// bumps the generation (the sum of case_list_generation, by triggers) with
// every change that can change a count, on whichever node makes it; a list
// reads it first (64 rows at most) and counts again only when it moved. The
// counts stored under a generation were read after it, so they are never
// older than it; a count that also saw a later change is stored under a
// generation no later list asks for.
type countCache struct {
	mu      sync.Mutex
	gen     int64
	entries map[string]map[Status]int
	flight  singleflight.Group // counts being counted, by generation and key
}

// maxCountEntries bounds the scopes and filters kept for one generation.
const maxCountEntries = 4096

// countsOf returns the counts per status of q's filters but the status for
// p, from the cache when nothing changed since they were counted.
// Counts of a clock state are not cached: they change with the time.
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
	return clone(hit), c.gen, true
}

// countsAt returns the counts for key under generation gen, read by the
// caller before it calls: from the cache when they are kept under gen,
// else counted (and kept, unless a later generation is kept already).
func (s *Store) countsAt(ctx context.Context, gen int64, key string, count func() (map[Status]int, error)) (map[Status]int, error) {
	c := s.counts
	c.mu.Lock()
	if c.gen == gen {
		if hit, ok := c.entries[key]; ok {
			c.mu.Unlock()
			return clone(hit), nil
		}
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
		c.mu.Lock()
		defer c.mu.Unlock()
		if gen > c.gen || c.entries == nil {
			c.gen, c.entries = gen, make(map[string]map[Status]int)
		}
		if gen == c.gen && len(c.entries) < maxCountEntries {
			c.entries[key] = clone(counts)
		}
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
