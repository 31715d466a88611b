package cases

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/bevis-ir/bevis/access"
	"github.com/bevis-ir/bevis/internal/testenv"
)

// TestListCounts_CachedUntilAnythingTheyCountChanges lists as two nodes
// (two stores on one database): a repeated list counts nothing again, and
// every change that moves a count, made by either node or by any writer,
// shows in the next list of both.
func TestListCounts_CachedUntilAnythingTheyCountChanges(t *testing.T) {
	for _, d := range testenv.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			e := newEnv(t, d)
			other := NewStore(d.DB) // a second node
			ctx := context.Background()
			var ids []string
			for range 3 {
				ids = append(ids, e.create(t, e.alice, NewCase{Title: "Counted"}).ID)
			}
			queries := testenv.RecordQueries(t, d.DB)
			want := func(what string, s *Store, p access.Principal, q ListQuery, status Status, n int) {
				t.Helper()
				page, err := s.List(ctx, p, q)
				if err != nil {
					t.Fatal(err)
				}
				if page.Counts[status] != n {
					t.Fatalf("%s: %d %s cases counted, want %d (%v)", what, page.Counts[status], status, n, page.Counts)
				}
			}
			for _, s := range []*Store{e.store, other} {
				want("first list", s, e.alice, ListQuery{}, StatusNew, 3)
			}
			queries.Reset()
			want("again", e.store, e.alice, ListQuery{}, StatusNew, 3)
			if n := len(queries.With("COUNT(*)")); n != 0 {
				t.Fatalf("a list with nothing changed counted again (%d statements)", n)
			}
			// Its counts cached, a list reads the generation with its page.
			if gen, walks := queries.With("case_list_generation"), queries.With("case_list_generation", "ORDER BY"); len(gen) != 1 || len(walks) != 1 {
				t.Fatalf("a list with its counts cached read the generation in %d statements, %d of them its walk; want the walk alone",
					len(gen), len(walks))
			}
			now := time.Now().UTC()
			steps := []struct {
				what   string
				sql    string
				args   []any
				p      access.Principal
				q      ListQuery
				status Status
				n      int
			}{
				{"a case moves on", "UPDATE cases SET status = 'triage' WHERE id = ?", []any{ids[0]}, e.alice, ListQuery{}, StatusTriage, 1},
				{"bob's agency joins a case", "INSERT INTO case_agency_members (case_id, agency_id, role, added_by, added_at) VALUES (?, ?, 'analyst', ?, ?)",
					[]any{ids[1], e.bob.AgencyID, e.alice.UserID, now}, e.bob, ListQuery{}, StatusNew, 1},
				{"bob is cut off from it", "INSERT INTO case_exclusions (case_id, user_id, reason, excluded_by, excluded_at) VALUES (?, ?, 'suspect', ?, ?)",
					[]any{ids[1], e.bob.UserID, e.alice.UserID, now}, e.bob, ListQuery{}, StatusNew, 0},
				{"a case is tagged", "INSERT INTO case_tags (case_id, tag) VALUES (?, 'ransomware')", []any{ids[2]},
					e.alice, ListQuery{Tag: "ransomware"}, StatusNew, 1},
				{"a case becomes AMBER+STRICT", "UPDATE cases SET tlp = 'AMBER+STRICT' WHERE id = ?", []any{ids[2]},
					e.alice, ListQuery{Tag: "ransomware"}, StatusNew, 1},
				{"a case gets another severity", "UPDATE cases SET severity = 4 WHERE id = ?", []any{ids[2]},
					e.alice, ListQuery{Severities: []Severity{SeverityCritical}}, StatusNew, 1},
				{"alice becomes an admin", "UPDATE users SET system_role = 'admin' WHERE id = ?", []any{e.alice.UserID},
					e.alice, ListQuery{}, StatusNew, 0},
			}
			for _, st := range steps {
				// Both nodes have the counts of before cached.
				for _, s := range []*Store{e.store, other} {
					if _, err := s.List(ctx, st.p, st.q); err != nil {
						t.Fatal(err)
					}
				}
				if err := d.DB.Exec(st.sql, st.args...).Error; err != nil {
					t.Fatalf("%s: %v", st.what, err)
				}
				for _, s := range []*Store{e.store, other} {
					want(st.what, s, st.p, st.q, st.status, st.n)
				}
			}
		})
	}
}

// TestListCounts_ListsThatMissTogetherCountOnce has eight lists of one scope
// miss the cache at once: one counts, the others wait for its counts; and a
// list whose counting leader is cancelled counts for itself.
func TestListCounts_ListsThatMissTogetherCountOnce(t *testing.T) {
	d := testenv.SQLite(t)
	e := newEnv(t, d)
	e.create(t, e.alice, NewCase{Title: "Counted"})
	db := d.DB.WithContext(context.Background())
	var counted atomic.Int32
	release := make(chan struct{})
	count := func() (map[Status]int, error) {
		counted.Add(1)
		<-release
		return map[Status]int{StatusNew: 1}, nil
	}
	var wg sync.WaitGroup
	results := make(chan map[Status]int, 8)
	for range 8 {
		wg.Go(func() {
			c, err := e.store.countsOf(context.Background(), db, e.alice, ListQuery{}, count)
			if err != nil {
				t.Error(err)
			}
			results <- c
		})
	}
	// Generous time for all eight to reach the count, which holds the first.
	time.Sleep(500 * time.Millisecond)
	close(release)
	wg.Wait()
	close(results)
	if n := counted.Load(); n != 1 {
		t.Fatalf("%d lists counted, want 1", n)
	}
	var seen []map[Status]int
	for c := range results {
		if c[StatusNew] != 1 {
			t.Fatalf("counts %v, want 1 new", c)
		}
		c[StatusNew] = 99 // each list has its own map
		seen = append(seen, c)
	}
	if len(seen) != 8 || seen[0][StatusNew] != 99 || seen[1][StatusNew] != 99 {
		t.Fatalf("%d results", len(seen))
	}

	// A new generation; the leader is cancelled while it counts.
	e.create(t, e.alice, NewCase{Title: "Counted too"})
	leaderCtx, cancel := context.WithCancel(context.Background())
	inLeader := make(chan struct{})
	leader := func() (map[Status]int, error) {
		close(inLeader)
		<-leaderCtx.Done()
		return nil, leaderCtx.Err()
	}
	done := make(chan error, 1)
	go func() {
		_, err := e.store.countsOf(leaderCtx, d.DB.WithContext(leaderCtx), e.alice, ListQuery{}, leader)
		done <- err
	}()
	<-inLeader
	follower := make(chan map[Status]int, 1)
	go func() {
		c, err := e.store.countsOf(context.Background(), db, e.alice, ListQuery{}, func() (map[Status]int, error) {
			return map[Status]int{StatusNew: 2}, nil
		})
		if err != nil {
			t.Error(err)
		}
		follower <- c
	}()
	time.Sleep(200 * time.Millisecond) // the follower joins the leader's count
	cancel()
	if err := <-done; err == nil {
		t.Fatal("the cancelled leader got counts")
	}
	if c := <-follower; c[StatusNew] != 2 {
		t.Fatalf("the follower of a cancelled leader got %v, want its own count", c)
	}
}

// TestListGeneration_BumpedOncePerTransactionAndRow: on PostgreSQL a
// transaction moves the generation once for each of its 64 rows it touches,
// however many changes it makes there (a case's creation: its row, lead,
// agency and tags, once); a change undone with its savepoint undoes its
// bump, so the transaction's next change bumps again.
func TestListGeneration_BumpedOncePerTransactionAndRow(t *testing.T) {
	d := testenv.Postgres(t)
	e := newEnv(t, d)
	gen := func() int64 {
		t.Helper()
		g, err := generation(d.DB)
		if err != nil {
			t.Fatal(err)
		}
		return g
	}
	before := gen()
	k := e.create(t, e.alice, NewCase{Tags: []string{"a", "b"}})
	if got := gen() - before; got != 1 {
		t.Fatalf("a creation moved the generation by %d, want 1", got)
	}
	// Another case of another of the 64 rows.
	var other Case
	for range 100 {
		other = e.create(t, e.alice, NewCase{})
		var same bool
		if err := d.DB.Raw("SELECT abs(hashtext(?)) % 64 = abs(hashtext(?)) % 64", k.ID, other.ID).Row().Scan(&same); err != nil {
			t.Fatal(err)
		}
		if !same {
			break
		}
	}
	steps := []struct {
		what string
		sql  []string
		want int64
	}{
		{"two cases' tags, each twice", []string{
			"INSERT INTO case_tags (case_id, tag) VALUES ('" + k.ID + "', 'c'), ('" + k.ID + "', 'd')",
			"INSERT INTO case_tags (case_id, tag) VALUES ('" + other.ID + "', 'c'), ('" + other.ID + "', 'd')"}, 2},
		{"a tag undone with its savepoint, then another", []string{
			"SAVEPOINT undone",
			"INSERT INTO case_tags (case_id, tag) VALUES ('" + k.ID + "', 'e')",
			"ROLLBACK TO SAVEPOINT undone",
			"INSERT INTO case_tags (case_id, tag) VALUES ('" + k.ID + "', 'f')"}, 1},
	}
	for _, st := range steps {
		before := gen()
		err := d.DB.Transaction(func(tx *gorm.DB) error {
			for _, sql := range st.sql {
				if err := tx.Exec(sql).Error; err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if got := gen() - before; got != st.want {
			t.Errorf("%s: the generation moved by %d, want %d", st.what, got, st.want)
		}
	}
}

// TestCountCache_KeepsEachScopesLatestCounts: counts stay under their own
// generation when others are counted under a later one (they are the next
// count's estimate), an earlier generation's counts never replace a later
// one's, and a full cache makes room with the counts of earlier
// generations only.
func TestCountCache_KeepsEachScopesLatestCounts(t *testing.T) {
	c := &countCache{}
	c.keep(5, "a", map[Status]int{StatusNew: 1})
	c.keep(6, "b", map[Status]int{StatusNew: 2})
	if counts, gen, ok := c.cachedCounts("a"); !ok || gen != 5 || counts[StatusNew] != 1 {
		t.Fatalf("scope a after b was counted later: %v under %d (%v), want 1 under 5", counts, gen, ok)
	}
	c.keep(4, "b", map[Status]int{StatusNew: 9})
	if counts, gen, _ := c.cachedCounts("b"); gen != 6 || counts[StatusNew] != 2 {
		t.Fatalf("an earlier count replaced a later one: %v under %d", counts, gen)
	}
	for i := len(c.entries); i < maxCountEntries; i++ {
		c.keep(7, fmt.Sprint("full", i), map[Status]int{})
	}
	c.keep(7, "c", map[Status]int{StatusNew: 3})
	if _, _, ok := c.cachedCounts("a"); ok {
		t.Fatal("a full cache kept counts of an earlier generation instead of the new ones")
	}
	if counts, gen, ok := c.cachedCounts("c"); !ok || gen != 7 || counts[StatusNew] != 3 {
		t.Fatalf("the new counts were not kept: %v under %d (%v)", counts, gen, ok)
	}
	if len(c.entries) != maxCountEntries-1 {
		t.Fatalf("%d entries kept, want %d", len(c.entries), maxCountEntries-1)
	}
	c.keep(7, "d", map[Status]int{})
	c.keep(7, "e", map[Status]int{})
	if len(c.entries) != maxCountEntries {
		t.Fatalf("%d entries kept, want at most %d", len(c.entries), maxCountEntries)
	}
}
