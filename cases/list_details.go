package cases

import (
	"fmt"
	"sync"
	"time"

	"gorm.io/gorm"
)

// detailCache keeps the cases the list showed lately, as stored (with
// their tags and clock rows), under their version. Every change to a case,
// its tags or its clocks claims the next version (claimVersion: the
// version is the API's ETag), and the list's walk reads each case's
// version with its position, so an entry is shown only while its version
// is the one in the database, whichever node changed it. A page of cases
// seen before costs the walk alone: reading and decoding 23 columns of 51
// cases, their tags and clocks was three quarters of a first page.
//
// It holds two generations of at most detailCacheSize cases: when the
// newer one is full it becomes the older one, and a case found only in the
// older one moves to the newer. The cases shown most stay; the memory is
// bounded (a case is about a kilobyte).
type detailCache struct {
	mu         sync.Mutex
	cur, older map[string]caseDetails
}

const detailCacheSize = 4096

func (c *detailCache) get(id string, version int64) (caseDetails, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if d, ok := c.cur[id]; ok {
		return d, d.k.Version == version
	}
	d, ok := c.older[id]
	if !ok || d.k.Version != version {
		return caseDetails{}, false
	}
	c.putLocked(d)
	return d, true
}

func (c *detailCache) put(d caseDetails) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.putLocked(d)
}

func (c *detailCache) putLocked(d caseDetails) {
	if c.cur == nil || len(c.cur) >= detailCacheSize {
		c.older, c.cur = c.cur, make(map[string]caseDetails, detailCacheSize)
	}
	c.cur[d.k.ID] = d
}

// walk runs the page's walk (tx, ordered and limited), reading of each
// case its ID and version, and its sort key where that changes with the
// version (updated_at, status_changed_at, severity), for the cursor: a
// case's created_at and reference never change, so the cursor takes them
// from the case shown (cursorAfter), and the walk of the default order
// decodes no time (on SQLite that was 40% of the walk). With
// withGeneration each row also brings the case list's generation, read in
// the same statement as the page.
func walk(tx *gorm.DB, key string, withGeneration bool) (rows []caseRow, gen int64, err error) {
	cols := []string{"cases.id", "cases.version"}
	if changingSortKey(&caseRow{}, key) != nil {
		cols = append(cols, "cases."+sortColumns[key])
	}
	if withGeneration {
		cols = append(cols, generationSQL)
	}
	found, err := tx.Select(cols).Rows()
	if err != nil {
		return nil, 0, fmt.Errorf("cases: list: %w", err)
	}
	defer func() { _ = found.Close() }()
	for found.Next() {
		var r caseRow
		dest := []any{&r.ID, &r.Version}
		if f := changingSortKey(&r, key); f != nil {
			dest = append(dest, f)
		}
		if withGeneration {
			dest = append(dest, &gen)
		}
		if err := found.Scan(dest...); err != nil {
			return nil, 0, fmt.Errorf("cases: list: %w", err)
		}
		rows = append(rows, r)
	}
	if err := found.Err(); err != nil {
		return nil, 0, fmt.Errorf("cases: list: %w", err)
	}
	return rows, gen, nil
}

// changingSortKey is the field of r that holds sort key key if that
// changes with the case's version, or nil (created_at, reference).
func changingSortKey(r *caseRow, key string) any {
	switch key {
	case "updated_at":
		return &r.UpdatedAt
	case "status_changed_at":
		return &r.StatusChangedAt
	case "severity":
		return &r.Severity
	}
	return nil
}

// cursorAfter is the cursor after last, the last case the walk found, of
// those shown: its sort key as the walk read it, or (created_at and
// reference, which never change) as the case shows it.
func cursorAfter(key string, last caseRow, shown []Case) string {
	if changingSortKey(&last, key) == nil {
		for _, k := range shown {
			if k.ID == last.ID {
				last.CreatedAt, last.Reference = k.CreatedAt, k.Reference
			}
		}
	}
	return encodeCursor(key, last)
}

// listed returns the cases of a page the walk found, in its order: from
// the cache where their version is cached, the others read in three
// statements whatever their number and cached. A case read at a later
// version than the walk saw is shown as read. A case gone since the walk
// is left out. Clock states are those at now, the time the page's clock
// filter applied.
func (s *Store) listed(db *gorm.DB, walked []caseRow, now time.Time) ([]Case, error) {
	found := make([]caseDetails, len(walked))
	var missing []string
	at := make(map[string]int)
	for i, r := range walked {
		if d, ok := s.details.get(r.ID, r.Version); ok {
			found[i] = d
			continue
		}
		missing = append(missing, r.ID)
		at[r.ID] = i
	}
	if len(missing) > 0 {
		var rows []caseRow
		if err := db.Where("id IN ?", missing).Find(&rows).Error; err != nil {
			return nil, fmt.Errorf("cases: list: %w", err)
		}
		ds, err := loadDetails(db, rows)
		if err != nil {
			return nil, err
		}
		for _, d := range ds {
			found[at[d.k.ID]] = d
			s.details.put(d)
		}
	}
	out := make([]Case, 0, len(found))
	for _, d := range found {
		if d.k.ID != "" {
			out = append(out, s.render(d, now))
		}
	}
	return out, nil
}
