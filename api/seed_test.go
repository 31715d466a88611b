package api

import (
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/bevis-ir/bevis/internal/db"
	"github.com/bevis-ir/bevis/internal/testenv"
)

// The world takes seconds to make (a few hundred writes, each committed
// with its audit entry) and nearly every test starts from it, so each test
// process makes it once per dialect, as a seed, and hands every test a copy:
// its database and evidence folder copied, its people's sessions kept, and
// fresh access tokens issued on them.

// dialects are the databases every API test runs on.
var dialects = []string{db.SQLite, db.Postgres}

type seed struct {
	ok       bool
	database string // the SQLite file or the PostgreSQL database to copy
	storeDir string
	secrets  worldSecrets
	w        *world // the fixture's IDs, people and refresh tokens
}

var seeds = map[string]*struct {
	once sync.Once
	seed seed
}{db.SQLite: {}, db.Postgres: {}}

// seededWorld returns a fresh copy of the seed world of a dialect.
func seededWorld(t testing.TB, dialect string) *world {
	t.Helper()
	if dialect == db.Postgres {
		testenv.RequirePostgres(t)
	}
	s := seedOf(t, dialect)
	var d testenv.Database
	if dialect == db.SQLite {
		d = testenv.SQLiteFrom(t, s.database)
	} else {
		d = testenv.PostgresFrom(t, s.database)
	}
	storeDir := t.TempDir()
	if err := copyTree(s.storeDir, storeDir); err != nil {
		t.Fatalf("copy the seed's evidence folder: %v", err)
	}
	fresh := openWorld(t, d, s.secrets, storeDir)
	w := *s.w
	w.app, w.deps, w.tokens, w.signingKey, w.store, w.storeDir =
		fresh.app, fresh.deps, fresh.tokens, fresh.signingKey, fresh.store, fresh.storeDir
	w.agency, w.user, w.refresh, w.session = maps.Clone(s.w.agency), maps.Clone(s.w.user), maps.Clone(s.w.refresh), maps.Clone(s.w.session)
	w.bearer = map[string]string{}
	now := time.Now()
	for name, u := range w.user {
		w.bearer[name] = w.issue(t, u.ID, w.session[name], now)
	}
	// An expired token of a real member in a live session, signed with the
	// real key: expiry is the only thing wrong with it.
	w.bearer["expired"] = w.issue(t, w.user["investigator"].ID, w.session["investigator"], now.Add(-time.Hour))
	return &w
}

func (w *world) issue(t testing.TB, userID, sessionID string, now time.Time) string {
	t.Helper()
	tok, _, err := w.tokens.Issue(userID, sessionID, now)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// seedOf makes the seed of a dialect in the first test that asks for it.
func seedOf(t testing.TB, dialect string) seed {
	t.Helper()
	entry := seeds[dialect]
	entry.once.Do(func() {
		st := &seedTB{TB: t}
		defer st.cleanup()
		s := seed{secrets: newWorldSecrets(t), storeDir: st.TempDir()}
		build := func(d testenv.Database) error {
			w := openWorld(st, d, s.secrets, s.storeDir)
			w.populate(st, d)
			s.w = w
			st.cleanup() // stop what the world runs, so its database can be copied
			return nil
		}
		var err error
		if dialect == db.SQLite {
			s.database, err = testenv.SeedSQLite(build)
		} else {
			s.database, err = testenv.SeedPostgres(build)
		}
		if err != nil {
			t.Fatalf("seed world on %s: %v", dialect, err)
		}
		s.ok = true
		entry.seed = s
	})
	if !entry.seed.ok {
		t.Fatalf("the seed world on %s failed in an earlier test", dialect)
	}
	return entry.seed
}

// seedTB is the test that first asks for a seed, except that what the seed
// world leaves behind outlives it: its folders stay until the process ends
// and its clean-ups run when the seed is made, not when the test ends.
type seedTB struct {
	testing.TB
	cleanups []func()
}

func (s *seedTB) Cleanup(f func()) { s.cleanups = append(s.cleanups, f) }

func (s *seedTB) cleanup() {
	for i := len(s.cleanups) - 1; i >= 0; i-- {
		s.cleanups[i]()
	}
	s.cleanups = nil
}

func (s *seedTB) TempDir() string {
	s.Helper()
	dir, err := os.MkdirTemp("", "bevis-api-seed-")
	if err != nil {
		s.Fatal(err)
	}
	return dir
}

// copyTree copies the files under from to to, keeping their modes.
func copyTree(from, to string) error {
	return filepath.WalkDir(from, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(from, path)
		if err != nil {
			return err
		}
		target := filepath.Join(to, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		if d.IsDir() {
			return os.MkdirAll(target, info.Mode().Perm())
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, info.Mode().Perm())
	})
}
