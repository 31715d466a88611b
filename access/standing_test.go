package access

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/bevis-ir/bevis/internal/testenv"
)

// standingWorld: two agencies; an AMBER case of agency A led by lead, with
// A an investigator, and excluded (of A) shut out; a RED case led by lead
// alone; an outsider of agency B and an admin of agency A. Every person has
// an open session, whose access token is in tokens.
type standingWorld struct {
	s             *Sessions
	a             *Authorizer
	amber, red    string
	tokens        map[string]string
	queries       *testenv.Queries
	standingReads func() int
}

func newStandingWorld(t *testing.T, d testenv.Database) *standingWorld {
	t.Helper()
	ctx := context.Background()
	dir := NewDirectory(d.DB)
	agencyA, err := dir.CreateAgency(ctx, NewAgency{Code: "AG-A", Name: "Agency A", Kind: "cert"})
	if err != nil {
		t.Fatal(err)
	}
	agencyB, err := dir.CreateAgency(ctx, NewAgency{Code: "AG-B", Name: "Agency B", Kind: "police"})
	if err != nil {
		t.Fatal(err)
	}
	w := &standingWorld{s: newTestSessions(t, d), a: NewAuthorizer(d.DB), amber: newID(), red: newID(),
		tokens: map[string]string{}}
	users := map[string]User{}
	for name, n := range map[string]NewUser{
		"lead":     {AgencyID: agencyA.ID, SystemRole: RoleMember},
		"peer":     {AgencyID: agencyA.ID, SystemRole: RoleMember},
		"excluded": {AgencyID: agencyA.ID, SystemRole: RoleMember},
		"outsider": {AgencyID: agencyB.ID, SystemRole: RoleMember},
		"admin":    {AgencyID: agencyA.ID, SystemRole: RoleAdmin},
	} {
		n.Email, n.Name = name+"@bevis.test", name
		u, err := dir.CreateUser(ctx, n)
		if err != nil {
			t.Fatal(err)
		}
		users[name] = u
		g, err := w.s.open(ctx, u, methodPassword, "192.0.2.1", "")
		if err != nil {
			t.Fatal(err)
		}
		w.tokens[name] = g.AccessToken
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	lead := Principal{UserID: users["lead"].ID, AgencyID: agencyA.ID}
	for i, c := range []struct{ id, tlp string }{{w.amber, "AMBER"}, {w.red, "RED"}} {
		if err := d.DB.Exec(`INSERT INTO cases (id, reference, title, tlp, lead_agency_id, created_by, created_at, updated_at, status_changed_at)
			VALUES (?, ?, 'Breach', ?, ?, ?, ?, ?, ?)`, c.id, []string{"BEV-1", "BEV-2"}[i], c.tlp, agencyA.ID, lead.UserID, now, now, now).Error; err != nil {
			t.Fatal(err)
		}
		if err := AddCreator(d.DB, c.id, lead, now); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.DB.Create(&caseExclusionRow{CaseID: w.amber, UserID: users["excluded"].ID, Reason: "conflict of interest",
		ExcludedBy: lead.UserID, ExcludedAt: now}).Error; err != nil {
		t.Fatal(err)
	}
	w.queries = testenv.RecordQueries(t, d.DB)
	w.standingReads = func() int { return len(w.queries.With("FROM cases c", "case_exclusions")) }
	return w
}

// TestAuthenticateOnCase_AnswersTheFirstQuestionAsAReadWould: the standing
// read with the session decides exactly what reading it apart decides, for
// every kind of caller and case (excluded, RED, no such case, an admin),
// and saves that read.
func TestAuthenticateOnCase_AnswersTheFirstQuestionAsAReadWould(t *testing.T) {
	for _, d := range testenv.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			w := newStandingWorld(t, d)
			for name, token := range w.tokens {
				for _, caseID := range []string{w.amber, w.red, newID()} {
					p, ctx, err := w.s.AuthenticateOnCase(context.Background(), token, "192.0.2.1", caseID)
					if err != nil {
						t.Fatal(err)
					}
					w.queries.Reset()
					got, gotErr := w.a.CaseRole(ctx, p, caseID)
					if n := w.standingReads(); n != 0 {
						t.Errorf("%s on %s: the first question read the standing %d times, want none", name, caseID, n)
					}
					want, wantErr := w.a.CaseRole(context.Background(), p, caseID)
					if got != want || !errors.Is(gotErr, wantErr) {
						t.Errorf("%s on %s: %q, %v with the session; %q, %v read apart", name, caseID, got, gotErr, want, wantErr)
					}
				}
			}
			// The cases above cover each rule; check that they did.
			p, ctx, err := w.s.AuthenticateOnCase(context.Background(), w.tokens["peer"], "", w.amber)
			if err != nil {
				t.Fatal(err)
			}
			if role, err := w.a.CaseRole(ctx, p, w.amber); role != CaseInvestigator || err != nil {
				t.Errorf("peer on the AMBER case: %q, %v; want investigator by their agency", role, err)
			}
			for _, name := range []string{"excluded", "outsider", "admin"} {
				p, ctx, err := w.s.AuthenticateOnCase(context.Background(), w.tokens[name], "", w.amber)
				if err != nil {
					t.Fatal(err)
				}
				if err := w.a.Authorize(ctx, p, ActionCaseRead, Resource{CaseID: w.amber}); !errors.Is(err, ErrNotFound) {
					t.Errorf("%s reading the AMBER case: %v, want not found", name, err)
				}
			}
		})
	}
}

// TestAuthenticateOnCase_LaterQuestionsReadAnew: only the request's first
// question uses the standing read with the session; after it (the handler
// may have changed the case) every question reads the database, and a
// first question about someone else or another case uses it up unread.
func TestAuthenticateOnCase_LaterQuestionsReadAnew(t *testing.T) {
	for _, d := range testenv.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			w := newStandingWorld(t, d)
			p, ctx, err := w.s.AuthenticateOnCase(context.Background(), w.tokens["lead"], "", w.amber)
			if err != nil {
				t.Fatal(err)
			}
			w.queries.Reset()
			if err := w.a.Authorize(ctx, p, ActionCaseGovern, Resource{CaseID: w.amber}); err != nil {
				t.Fatal(err)
			}
			// The request demotes its caller; the next question sees it.
			if err := d.DB.Exec(`UPDATE case_user_members SET role = 'observer' WHERE case_id = ? AND user_id = ?`,
				w.amber, p.UserID).Error; err != nil {
				t.Fatal(err)
			}
			if err := w.a.Authorize(ctx, p, ActionCaseGovern, Resource{CaseID: w.amber}); !errors.Is(err, ErrForbidden) {
				t.Errorf("governing after being made an observer: %v, want forbidden", err)
			}
			if n := w.standingReads(); n != 1 {
				t.Errorf("two questions read the standing %d times, want once (the second)", n)
			}

			// Another case first, then this one: both read.
			p, ctx, err = w.s.AuthenticateOnCase(context.Background(), w.tokens["lead"], "", w.amber)
			if err != nil {
				t.Fatal(err)
			}
			w.queries.Reset()
			if _, err := w.a.CaseRole(ctx, p, w.red); err != nil {
				t.Fatal(err)
			}
			if role, err := w.a.CaseRole(ctx, p, w.amber); role != CaseObserver || err != nil {
				t.Errorf("after a question about another case: %q, %v; want observer", role, err)
			}
			// Someone else first, then the caller.
			p, ctx, err = w.s.AuthenticateOnCase(context.Background(), w.tokens["lead"], "", w.amber)
			if err != nil {
				t.Fatal(err)
			}
			other := Principal{UserID: "someone else", AgencyID: p.AgencyID}
			if _, err := w.a.CaseRole(ctx, other, w.amber); err != nil {
				t.Fatal(err)
			}
			if _, err := w.a.CaseRole(ctx, p, w.amber); err != nil {
				t.Fatal(err)
			}
			if n := w.standingReads(); n != 4 {
				t.Errorf("questions about another case or caller first: %d readings, want 4", n)
			}
		})
	}
}

// TestAuthenticateOnCase_ReadsNothingForWhatIsNotAnID: a case ID that Bevis
// could not have given (a path parameter is the caller's to choose) adds
// nothing to the read of the session, and authentication is as without it.
func TestAuthenticateOnCase_ReadsNothingForWhatIsNotAnID(t *testing.T) {
	for _, d := range testenv.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			w := newStandingWorld(t, d)
			for _, id := range []string{"", "case-0", "\x00", "not-a-uuid-but-exactly-36-characters", w.amber + "x",
				"{" + w.amber[1:35] + "}", "\xff\xfe" + w.amber[2:]} {
				w.queries.Reset()
				p, ctx, err := w.s.AuthenticateOnCase(context.Background(), w.tokens["lead"], "", id)
				if err != nil || p.UserID == "" {
					t.Fatalf("%q: %+v, %v", id, p, err)
				}
				if ctx.Value(standingKey{}) != nil {
					t.Errorf("%q: the context carries a standing", id)
				}
				if n := len(w.queries.With("cases c")); n != 0 {
					t.Errorf("%q: authentication read a case", id)
				}
			}
		})
	}
}
