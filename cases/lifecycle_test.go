package cases

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/bevis-ir/bevis/access"
	"github.com/bevis-ir/bevis/internal/testenv"
)

func TestTransition_FollowsTheLifecycleAndRecordsWhoAndWhen(t *testing.T) {
	for _, d := range testenv.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			e := newEnv(t, d)
			ctx := context.Background()
			k := e.create(t, e.alice, NewCase{})
			steps := []struct {
				to     Status
				govern bool
				after  time.Duration // time spent in the phase being left
			}{
				{StatusTriage, false, time.Hour},
				{StatusInvestigating, false, 2 * time.Hour},
				{StatusContainment, false, 3 * time.Hour},
				{StatusInvestigating, false, 4 * time.Hour}, // back for new facts
				{StatusContainment, false, 5 * time.Hour},
				{StatusEradication, false, time.Hour},
				{StatusRecovery, false, time.Hour},
				{StatusClosed, true, time.Hour},
				{StatusInvestigating, true, 24 * time.Hour}, // reopened
			}
			for _, s := range steps {
				e.clock.Advance(s.after)
				var err error
				if k, err = e.store.Transition(ctx, e.alice, k.ID, k.Version, Move{To: s.to, Reason: "because", MayGovern: s.govern}); err != nil {
					t.Fatalf("to %s: %v", s.to, err)
				}
				if k.Status != s.to || !k.StatusChangedAt.Equal(e.clock.Now()) {
					t.Fatalf("to %s: case %s since %s", s.to, k.Status, k.StatusChangedAt)
				}
			}
			e.clock.Advance(30 * time.Minute)
			h, err := e.store.History(ctx, k.ID)
			if err != nil {
				t.Fatal(err)
			}
			if len(h.Transitions) != len(steps)+1 || h.Transitions[0].From != "" || h.Transitions[0].To != StatusNew ||
				h.Transitions[1].ByUser != e.alice.UserID || h.Transitions[1].ByAgency != e.alice.AgencyID || h.Transitions[1].Reason != "because" {
				t.Fatalf("transitions %+v", h.Transitions)
			}
			want := map[Status]time.Duration{StatusNew: time.Hour, StatusTriage: 2 * time.Hour,
				StatusInvestigating: 3*time.Hour + 5*time.Hour + 30*time.Minute, StatusContainment: 4*time.Hour + time.Hour,
				StatusEradication: time.Hour, StatusRecovery: time.Hour, StatusClosed: 24 * time.Hour}
			for st, d := range want {
				if h.TimeIn[st] != d {
					t.Errorf("time in %s: %s, want %s", st, h.TimeIn[st], d)
				}
			}
			last := h.Phases[len(h.Phases)-1]
			if last.Status != StatusInvestigating || last.LeftAt != nil || last.Duration != 30*time.Minute {
				t.Errorf("current phase %+v", last)
			}
		})
	}
}

func TestTransition_RefusesWhatTheLifecycleDoesNotAllowAndChangesNothing(t *testing.T) {
	for _, d := range testenv.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			e := newEnv(t, d)
			ctx := context.Background()
			k := e.create(t, e.alice, NewCase{})
			for _, to := range []Status{StatusNew, StatusContainment, StatusRecovery, "bogus"} {
				_, err := e.store.Transition(ctx, e.alice, k.ID, k.Version, Move{To: to, MayGovern: true})
				if err == nil {
					t.Errorf("new → %s allowed", to)
				}
			}
			var te *TransitionError
			_, err := e.store.Transition(ctx, e.alice, k.ID, k.Version, Move{To: StatusEradication})
			if !errors.As(err, &te) || !errors.Is(err, ErrInvalidTransition) || te.From != StatusNew || len(te.Allowed) != 2 {
				t.Errorf("new → eradication: %v", err)
			}
			if _, err := e.store.Transition(ctx, e.alice, k.ID, k.Version, Move{To: StatusClosed}); !errors.Is(err, ErrLeadOnly) ||
				!errors.Is(err, access.ErrForbidden) {
				t.Errorf("closing without govern: %v", err)
			}
			if _, err := e.store.Transition(ctx, e.alice, k.ID, k.Version+3, Move{To: StatusTriage}); !errors.Is(err, ErrStale) {
				t.Errorf("stale: %v", err)
			}
			got, _ := e.store.Get(ctx, k.ID)
			h, _ := e.store.History(ctx, k.ID)
			if got.Status != StatusNew || got.Version != k.Version || len(h.Transitions) != 1 {
				t.Errorf("refused transitions changed the case: %s v%d, %d transitions", got.Status, got.Version, len(h.Transitions))
			}
		})
	}
}
