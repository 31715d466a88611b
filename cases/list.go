package cases

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/bevis-ir/bevis/access"
	bevisdb "github.com/bevis-ir/bevis/internal/db"
	"github.com/bevis-ir/bevis/internal/validate"
)

// MaxListLimit is the most cases one page of the list holds.
const MaxListLimit = 200

// ListQuery filters and orders the case list. Empty fields do not filter.
type ListQuery struct {
	Statuses   []Status
	Severities []Severity
	AgencyID   string     // cases this agency is a member of (in any role)
	Tag        string     // cases carrying this tag
	ClockState ClockState // cases with at least one clock in this state
	// Sort is a key of SortKeys, with a leading "-" for descending; the
	// default is "-created_at". Ties are broken by ID.
	Sort   string
	Cursor string // from the previous page's NextCursor
	Limit  int    // 1 to MaxListLimit; default 50
}

// SortKeys are the keys the list can be ordered by.
var SortKeys = []string{"created_at", "updated_at", "severity", "reference", "status_changed_at"}

// defaultGatherMax is the most cases a page is chosen among by gathering
// them from the caller's memberships and sorting them (see gathers); past
// it the page walks the index of its order. It is also the most cases
// with an open clock of a state that a count and a page are found from
// without weighing other ways (countSource).
const defaultGatherMax = 1000

// sortColumns maps sort keys to columns; only these reach ORDER BY.
var sortColumns = map[string]string{
	"created_at": "created_at", "updated_at": "updated_at", "severity": "severity",
	"reference": "reference", "status_changed_at": "status_changed_at",
}

// Page is one page of the case list.
type Page struct {
	Cases      []Case
	NextCursor string // "" on the last page
	// Counts is the number of visible cases in each status among those the
	// other filters select (the status filter is not applied to it), for
	// the leadership view.
	Counts map[Status]int
}

// cursor is the position after the last case of a page.
type cursor struct {
	Sort  string `json:"s"`
	Value any    `json:"v"`
	ID    string `json:"id"`
}

// List returns a page of the cases p can see. It runs a fixed number of
// statements whatever the page size: the walk, which reads the counts'
// generation with the page when p's counts are cached (the counts after it
// when it moved; the generation and the counts before it when they are
// not cached; for a clock state, the counts before it), each count after
// the statement that chooses where it finds its cases (countSource), and
// for the cases of the page not seen at their version before, their rows,
// tags and clocks (listed). The page
// costs what the page holds (and the cases p cannot see that lie between
// its rows): every sort key has an index ending in the ID, walked in the
// requested order (TestListPlans).
func (s *Store) List(ctx context.Context, p access.Principal, q ListQuery) (Page, error) {
	key, desc, err := q.validate()
	if err != nil {
		return Page{}, err
	}
	if q.Limit == 0 {
		q.Limit = 50
	}
	col := sortColumns[key]
	db := s.db.WithContext(ctx)
	now := s.clock()

	// The page walks the index of its order and tests each case with
	// CaseRowVisible, stopping at a page and one, unless p chooses among few
	// cases of many (gathers) or few cases have a clock in the state asked
	// for; the counts start from p's memberships, those clocks or every
	// case, whichever tests fewest (countSource), so neither reads every
	// case in Bevis for a user who sees few of them.
	//
	// The counts come first: they are cached until a case changes, and they
	// say how many cases the page is chosen among. Counts cached under an
	// earlier generation serve for that choice and for the count's own (they
	// change the plan, never the page or the counts); the walk reads the
	// generation with the page, and they are counted again after it when it
	// moved. Counts of a clock state are not cached: they change with the
	// time.
	var out Page
	count := func(estimate int) func() (map[Status]int, error) {
		return func() (map[Status]int, error) {
			_, counts, err := s.count(db, p, q, now, estimate)
			return counts, err
		}
	}
	countsKey, cachedGen, cached, src := "", int64(0), false, source{}
	if q.ClockState != "" {
		if src, out.Counts, err = s.count(db, p, q, now, -1); err != nil {
			return Page{}, err
		}
	} else {
		countsKey = countKey(p, q)
		out.Counts, cachedGen, cached = s.counts.cachedCounts(countsKey)
		if !cached {
			if out.Counts, err = s.countsOf(ctx, db, p, q, count(-1)); err != nil {
				return Page{}, err
			}
		}
	}
	among := 0
	for st, n := range out.Counts {
		if len(q.Statuses) == 0 || slices.Contains(q.Statuses, st) {
			among += n
		}
	}

	dir := "ASC"
	if desc {
		dir = "DESC"
	}
	var visible any = access.CaseRowVisible(p)
	if src.kind == fromClocks || src.kind == fromClockCases {
		// Fewer cases have a clock in that state than p sees: gather
		// them from the clocks, test each and sort them.
		visible = q.visibleFrom(db, p, src, now)
	} else {
		gather, err := s.gathers(db, among, q.Limit)
		if err != nil {
			return Page{}, err
		}
		if gather {
			// Few cases to choose among, of many: gather them from p's
			// memberships and sort them (SQLite reads them by ID).
			visible = q.visibleFrom(db, p, source{kind: fromScope}, now)
		}
	}
	page := q.filters(db.Model(&caseRow{}).Where(visible), true, now)
	if q.Cursor != "" {
		c, err := decodeCursor(q.Cursor, key)
		if err != nil {
			return Page{}, err
		}
		op := ">"
		if desc {
			op = "<"
		}
		page = page.Where(fmt.Sprintf("(cases.%[1]s %[2]s ? OR (cases.%[1]s = ? AND cases.id %[2]s ?))", col, op), c.Value, c.Value, c.ID)
	}
	rows, gen, err := walk(page.Order(fmt.Sprintf("cases.%s %s, cases.id %s", col, dir, dir)).Limit(q.Limit+1), key, cached)
	if err != nil {
		return Page{}, err
	}
	if cached {
		if len(rows) == 0 { // no row brought the generation
			if gen, err = generation(db); err != nil {
				return Page{}, err
			}
		}
		if gen != cachedGen {
			if out.Counts, err = s.countsAt(ctx, gen, countsKey, count(total(out.Counts))); err != nil {
				return Page{}, err
			}
		}
	}
	more := len(rows) > q.Limit
	if more {
		rows = rows[:q.Limit]
	}
	if out.Cases, err = s.listed(db, rows, now); err != nil {
		return Page{}, err
	}
	if more {
		out.NextCursor = cursorAfter(key, rows[len(rows)-1], out.Cases)
	}
	return out, nil
}

// gathers reports whether a page of limit cases, chosen among among cases,
// is found cheaper by gathering them from the caller's memberships and
// sorting them than by walking the order's index through all cases, testing
// each: the walk tests about (limit + 1) × all / among cases, gathering
// among, so it gathers when among² ≤ (limit + 1) × all, and never more than
// gatherMax cases. All is allCases's estimate.
func (s *Store) gathers(db *gorm.DB, among, limit int) (bool, error) {
	if among > s.gatherMax {
		return false, nil
	}
	if among <= limit+1 {
		return true, nil // the walk tests at least as many
	}
	all, err := allCases(db)
	if err != nil {
		return false, err
	}
	return int64(among)*int64(among) <= int64(limit+1)*all, nil
}

// allCases estimates the number of cases in Bevis without a scan: SQLite's
// largest rowid of cases (which are never deleted), PostgreSQL's planner's
// count (an exact count before the table was first analysed).
func allCases(db *gorm.DB) (int64, error) {
	var all int64
	if err := db.Raw("SELECT " + allCasesSQL(db)).Scan(&all).Error; err != nil {
		return 0, fmt.Errorf("cases: count the cases: %w", err)
	}
	return all, nil
}

// allCasesSQL is allCases's estimate as an expression.
func allCasesSQL(db *gorm.DB) string {
	if bevisdb.Dialect(db) == bevisdb.Postgres {
		return "(SELECT CASE WHEN reltuples < 0 THEN (SELECT COUNT(*) FROM cases) ELSE reltuples::bigint END FROM pg_class WHERE oid = 'cases'::regclass)"
	}
	return "(SELECT COALESCE(MAX(rowid), 0) FROM cases)"
}

// filters narrows tx, a query of the cases table, to q's filters: all of
// them, or all but the status (for the counts, which are per status).
func (q ListQuery) filters(tx *gorm.DB, withStatus bool, now time.Time) *gorm.DB {
	if withStatus && len(q.Statuses) > 0 {
		tx = tx.Where("cases.status IN ?", q.Statuses)
	}
	if len(q.Severities) > 0 {
		tx = tx.Where("cases.severity IN ?", q.Severities)
	}
	if q.AgencyID != "" {
		tx = tx.Where("EXISTS (SELECT 1 FROM case_agency_members am WHERE am.case_id = cases.id AND am.agency_id = ?)", q.AgencyID)
	}
	if q.Tag != "" {
		tx = tx.Where("EXISTS (SELECT 1 FROM case_tags t WHERE t.case_id = cases.id AND t.tag = ?)", strings.ToLower(strings.TrimSpace(q.Tag)))
	}
	if q.ClockState != "" {
		tx = clockFilter(tx, q.ClockState, now)
	}
	return tx
}

func (q ListQuery) validate() (key string, desc bool, err error) {
	var v validate.Errors
	for _, st := range q.Statuses {
		v.Check(st.Valid(), "status", "must be new, triage, investigating, containment, eradication, recovery or closed")
	}
	for _, sv := range q.Severities {
		v.Check(sv.Valid(), "severity", "must be 1 to 4")
	}
	v.Check(q.ClockState == "" || q.ClockState.Valid(), "clock_state", "must be pending, met or overdue")
	v.Check(q.Limit >= 0 && q.Limit <= MaxListLimit, "limit", fmt.Sprintf("must be 1 to %d", MaxListLimit))
	key = q.Sort
	if key == "" {
		key = "-created_at"
	}
	key, desc = strings.CutPrefix(key, "-")
	_, ok := sortColumns[key]
	v.Check(ok, "sort", "must be one of "+strings.Join(SortKeys, ", ")+", with a leading - for descending")
	return key, desc, v.Err()
}

func encodeCursor(key string, last caseRow) string {
	var v any
	switch key {
	case "created_at":
		v = last.CreatedAt.UTC().Format(time.RFC3339Nano)
	case "updated_at":
		v = last.UpdatedAt.UTC().Format(time.RFC3339Nano)
	case "status_changed_at":
		v = last.StatusChangedAt.UTC().Format(time.RFC3339Nano)
	case "severity":
		v = last.Severity
	case "reference":
		v = last.Reference
	}
	b, _ := json.Marshal(cursor{Sort: key, Value: v, ID: last.ID})
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeCursor reads a cursor made for sort key key, converting its value
// to what the column holds.
func decodeCursor(s, key string) (cursor, error) {
	bad := validate.Field("cursor", "is not a cursor of this list and sort order; start again without it")
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return cursor{}, bad
	}
	var c cursor
	if err := json.Unmarshal(raw, &c); err != nil || c.Sort != key || c.ID == "" {
		return cursor{}, bad
	}
	switch v := c.Value.(type) {
	case string:
		if strings.HasSuffix(key, "_at") {
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				return cursor{}, bad
			}
			c.Value = t.UTC()
		}
	case float64:
		if key != "severity" {
			return cursor{}, bad
		}
		c.Value = int(v)
	default:
		return cursor{}, bad
	}
	if key == "severity" {
		if _, ok := c.Value.(int); !ok {
			return cursor{}, bad
		}
	}
	return c, nil
}
