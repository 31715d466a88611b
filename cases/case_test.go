package cases

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/bevis-ir/bevis/access"
	"github.com/bevis-ir/bevis/internal/db"
	"github.com/bevis-ir/bevis/internal/testenv"
	"github.com/bevis-ir/bevis/internal/validate"
)

func TestCreate_StoresContentAndAllocatesReferencesPerYear(t *testing.T) {
	for _, d := range testenv.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			e := newEnv(t, d)
			aware := start.Add(-2 * time.Hour)
			k := e.create(t, e.alice, NewCase{Title: "  Health authority breach ", Summary: "Records taken", Severity: SeverityCritical,
				TLP: access.TLPRed, ClassificationLabel: "RESTRICTED", Tags: []string{"Ransomware", "apt", "apt"},
				AffectedOrganisations: []string{"Health authority"}, AffectedSystems: []string{"EHR"},
				PersonalDataBreach: true, DiscoveredAt: ptr(aware.Add(-time.Hour)), AwareAt: &aware,
				PartyAwareness: []PartyAwareness{{Party: "IT provider", AwareAt: aware}}, Jurisdictions: []string{"nis2", "gdpr"}})
			if k.Reference != "BEV-2026-0001" || k.Title != "Health authority breach" || k.Status != StatusNew || k.Version != 1 {
				t.Errorf("created %+v", k)
			}
			if !slices.Equal(k.Tags, []string{"apt", "ransomware"}) || !slices.Equal(k.Jurisdictions, []string{"gdpr", "nis2"}) {
				t.Errorf("tags %v jurisdictions %v", k.Tags, k.Jurisdictions)
			}
			if k.LeadAgencyID != e.alice.AgencyID || k.CreatedBy != e.alice.UserID || !k.AwareAt.Equal(aware) ||
				len(k.PartyAwareness) != 1 || k.PartyAwareness[0].Party != "IT provider" || !k.PersonalDataBreach {
				t.Errorf("created %+v", k)
			}
			got, err := e.store.Get(context.Background(), k.ID)
			if err != nil || got.Reference != k.Reference || len(got.Clocks) != 4 || got.Severity != SeverityCritical {
				t.Errorf("get: %+v, %v", got, err)
			}

			if k2 := e.create(t, e.bob, NewCase{}); k2.Reference != "BEV-2026-0002" || k2.Severity != SeverityMedium ||
				k2.TLP != access.TLPAmber || !slices.Equal(k2.Jurisdictions, []string{"gdpr"}) {
				t.Errorf("second case %+v", k2)
			}
			e.clock.t = time.Date(2027, 1, 1, 0, 0, 1, 0, time.UTC)
			if k3 := e.create(t, e.bob, NewCase{}); k3.Reference != "BEV-2027-0001" {
				t.Errorf("first case of 2027 is %s", k3.Reference)
			}
		})
	}
}

func TestCreate_RefusesInvalidInputAndUsesNoReference(t *testing.T) {
	for _, d := range testenv.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			e := newEnv(t, d)
			ctx := context.Background()
			for name, in := range map[string]NewCase{
				"title":        {Title: "two\nlines"},
				"severity":     {Title: "x", Severity: 5},
				"tlp":          {Title: "x", TLP: "PURPLE"},
				"future":       {Title: "x", AwareAt: ptr(start.Add(time.Hour))},
				"jurisdiction": {Title: "x", Jurisdictions: []string{"atlantis"}},
				"aware order":  {Title: "x", DiscoveredAt: ptr(start.Add(-time.Hour)), AwareAt: ptr(start.Add(-2 * time.Hour))},
				"party":        {Title: "x", PartyAwareness: []PartyAwareness{{Party: ""}}},
			} {
				var invalid *validate.Error
				if _, err := e.store.Create(ctx, e.alice, in); !errors.As(err, &invalid) {
					t.Errorf("%s: err %v, want a validation error", name, err)
				}
			}
			if k := e.create(t, e.alice, NewCase{}); k.Reference != "BEV-2026-0001" {
				t.Errorf("refused input used up references: %s", k.Reference)
			}
		})
	}
}

// A reference has at least four digits, and more past 9,999, on both
// dialects.
func TestCreate_ReferencesGrowPastFourDigits(t *testing.T) {
	for _, d := range testenv.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			e := newEnv(t, d)
			if err := d.DB.Exec("INSERT INTO case_reference_counters (year, last) VALUES (2026, 9998)").Error; err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{"BEV-2026-9999", "BEV-2026-10000"} {
				if k := e.create(t, e.alice, NewCase{}); k.Reference != want {
					t.Fatalf("reference %s, want %s", k.Reference, want)
				}
			}
			got, err := e.store.List(context.Background(), e.alice, ListQuery{Sort: "reference"})
			if err != nil || len(got.Cases) != 2 || got.Cases[0].Reference != "BEV-2026-10000" {
				t.Fatalf("listed %+v, %v", got.Cases, err)
			}
		})
	}
}

// References stay unique and gapless when many creations race, on one
// node (where they share commits in groups, see db.Serial) and across two.
func TestCreate_ConcurrentCreationsGetDistinctReferences(t *testing.T) {
	for _, d := range testenv.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			e := newEnv(t, d)
			// Another node: its own connections and write queue.
			other, err := db.Open(context.Background(), d.URL, 0, testenv.Logger(t))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = db.Close(other) })
			nodes := []*Store{e.store, NewStore(other, WithClock(e.clock.Now))}
			const n = 48
			refs := make([]string, n)
			var wg sync.WaitGroup
			errs := make(chan error, n)
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					k, err := nodes[i%2].Create(context.Background(), e.alice, NewCase{Title: fmt.Sprintf("case %d", i)})
					if err != nil {
						errs <- err
						return
					}
					refs[i] = k.Reference
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			slices.Sort(refs)
			for i, r := range refs {
				if want := fmt.Sprintf("BEV-2026-%04d", i+1); r != want {
					t.Fatalf("references %v: position %d is %s, want %s", refs, i, r, want)
				}
			}
		})
	}
}

func TestUpdate_AppliesChangesAndBumpsVersion(t *testing.T) {
	for _, d := range testenv.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			e := newEnv(t, d)
			ctx := context.Background()
			k := e.create(t, e.alice, NewCase{Title: "Old", Tags: []string{"a"}, AwareAt: ptr(start)})
			e.clock.Advance(time.Minute)
			got, err := e.store.Update(ctx, e.alice, k.ID, k.Version, Update{
				Title: Optional[string]{Set: true, Value: "New"}, Tags: Optional[[]string]{Set: true, Value: []string{"b", "c"}},
				AwareAt: Optional[*time.Time]{Set: true}, Severity: Optional[Severity]{Set: true, Value: SeverityHigh}})
			if err != nil {
				t.Fatal(err)
			}
			if got.Title != "New" || got.Version != 2 || !slices.Equal(got.Tags, []string{"b", "c"}) || got.AwareAt != nil ||
				got.Severity != SeverityHigh || !got.UpdatedAt.Equal(start.Add(time.Minute)) || got.Summary != "" {
				t.Errorf("updated %+v", got)
			}
		})
	}
}

func TestUpdate_StaleOrInvalidChangesNothing(t *testing.T) {
	for _, d := range testenv.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			e := newEnv(t, d)
			ctx := context.Background()
			k := e.create(t, e.alice, NewCase{Title: "Original", Tags: []string{"keep"}})
			title := Update{Title: Optional[string]{Set: true, Value: "Changed"}}
			if _, err := e.store.Update(ctx, e.alice, k.ID, k.Version+1, title); !errors.Is(err, ErrStale) {
				t.Errorf("future version: %v, want ErrStale", err)
			}
			bad := Update{Tags: Optional[[]string]{Set: true, Value: []string{"new"}}, Severity: Optional[Severity]{Set: true, Value: 9}}
			var invalid *validate.Error
			if _, err := e.store.Update(ctx, e.alice, k.ID, k.Version, bad); !errors.As(err, &invalid) {
				t.Errorf("invalid: %v", err)
			}
			if _, err := e.store.Update(ctx, e.alice, "no-such-case", 1, title); !errors.Is(err, ErrNotFound) {
				t.Errorf("unknown case: %v", err)
			}
			got, _ := e.store.Get(ctx, k.ID)
			if got.Title != "Original" || got.Version != 1 || !slices.Equal(got.Tags, []string{"keep"}) {
				t.Errorf("after refused updates: %+v", got)
			}
			// Of two writers holding the same version, exactly one wins.
			var wg sync.WaitGroup
			results := make([]error, 8)
			for i := range results {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, results[i] = e.store.Update(ctx, e.alice, k.ID, k.Version, Update{Summary: Optional[string]{Set: true, Value: fmt.Sprint(i)}})
				}()
			}
			wg.Wait()
			won := 0
			for _, err := range results {
				switch {
				case err == nil:
					won++
				case !errors.Is(err, ErrStale):
					t.Errorf("racing update: %v", err)
				}
			}
			if got, _ := e.store.Get(ctx, k.ID); won != 1 || got.Version != 2 {
				t.Errorf("%d writers won; version %d", won, got.Version)
			}
		})
	}
}
