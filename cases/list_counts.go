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
	var gen int64
	if err := db.Raw("SELECT SUM(n) FROM case_list_generation").Scan(&gen).Error; err != nil {
		return nil, fmt.Errorf("cases: list generation: %w", err)
	}
	key := countKey(p, q)
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
