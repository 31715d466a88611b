package alerts

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/bevis-ir/bevis/audit"
	"github.com/bevis-ir/bevis/internal/testenv"
	"github.com/bevis-ir/bevis/internal/validate"
)

// pipeline is the real audit path: a writer, a sequencer sealing into the
// chain and handing each sealed batch to the engine.
type pipeline struct {
	writer *audit.Writer
	engine *Engine
	stop   func()
}

func newPipeline(t *testing.T, db *gorm.DB, opts Options) *pipeline {
	t.Helper()
	pemData, err := audit.GenerateKeyPEM()
	if err != nil {
		t.Fatal(err)
	}
	signer, err := audit.ParseSigner(pemData)
	if err != nil {
		t.Fatal(err)
	}
	engine := New(db, opts)
	seq, err := audit.NewSequencer(db, audit.SequencerOptions{Signer: signer, Log: testenv.Logger(t),
		Interval: 20 * time.Millisecond, LeaderRetry: 20 * time.Millisecond, OnSealed: engine.Observe})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = seq.Run(ctx) }()
	// The last round at stop is the leader's: a sequencer stopped before it
	// ever led seals nothing, and the engine would see nothing.
	for deadline := time.Now().Add(10 * time.Second); !seq.Leading(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			cancel()
			t.Fatal("the sequencer did not take the lead")
		}
	}
	p := &pipeline{writer: audit.NewWriter(db, audit.WriterOptions{}), engine: engine}
	var once sync.Once
	p.stop = func() {
		once.Do(func() {
			p.writer.Close()
			cancel()
			<-done // the sequencer's last round seals everything recorded
			engine.Stop()
		})
	}
	t.Cleanup(p.stop)
	return p
}

func (p *pipeline) record(t *testing.T, e audit.Entry) {
	t.Helper()
	if e.Outcome == "" {
		e.Outcome = audit.Success
	}
	if err := p.writer.Record(context.Background(), e); err != nil {
		t.Fatal(err)
	}
}

func download(user, caseID, item string, n int64) audit.Entry {
	return audit.Entry{Actor: audit.Actor{UserID: user, AgencyID: "agency-1"}, Action: "evidence.download",
		ResourceType: "evidence_item", ResourceID: item, CaseID: caseID, Outcome: audit.Success, Range: &audit.ByteRange{Offset: 0, Length: n}}
}

func read(user, caseID string, at time.Time) audit.Entry {
	return audit.Entry{At: at, Actor: audit.Actor{UserID: user}, Action: "case.read", ResourceType: "case",
		ResourceID: caseID, CaseID: caseID}
}

// rulesOf lists the rules of every alert raised for user.
func rulesOf(t *testing.T, s *Store, user string) []Rule {
	t.Helper()
	all, err := s.List(context.Background(), ListFilter{AllCases: true, Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	var out []Rule
	for _, a := range all {
		if a.UserID == user {
			out = append(out, a.Rule)
		}
	}
	slices.Sort(out)
	return out
}

func TestEngine_RaisesEachRuleOnceAboveItsThresholdAndNeverBelow(t *testing.T) {
	for _, d := range testenv.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			p := newPipeline(t, d.DB, Options{MaxBytes: 1000, MaxItems: 3, MaxCases: 2, MaxReads: 10, Log: testenv.Discard})
			// Each scenario is one user; the ones above a threshold go on
			// well past it, over several batches, and still raise one alert.
			scenarios := []struct {
				user    string
				entries []audit.Entry
				want    []Rule
			}{
				{"bytes-above", repeat(6, func(i int) audit.Entry { return download("bytes-above", "c1", "i1", 400) }), []Rule{RuleEvidenceBytes}},
				{"bytes-below", []audit.Entry{download("bytes-below", "c1", "i1", 500), download("bytes-below", "c1", "i2", 500)}, nil},
				{"items-above", repeat(8, func(i int) audit.Entry { return download("items-above", "c1", "item-"+string(rune('a'+i)), 1) }),
					[]Rule{RuleEvidenceItems}},
				{"items-below", repeat(6, func(i int) audit.Entry { return download("items-below", "c1", "item-"+string(rune('a'+i%3)), 1) }), nil},
				{"cases-above", repeat(6, func(i int) audit.Entry {
					return download("cases-above", "case-"+string(rune('a'+i%3)), "item-"+string(rune('a'+i%3)), 1)
				}), []Rule{RuleManyCases}},
				{"cases-below", repeat(2, func(i int) audit.Entry { return download("cases-below", "case-"+string(rune('a'+i)), "x", 1) }), nil},
				{"reads-above", repeat(25, func(int) audit.Entry { return read("reads-above", "c1", time.Time{}) }), []Rule{RuleBulkReads}},
				{"reads-below", repeat(10, func(int) audit.Entry { return read("reads-below", "c1", time.Time{}) }), nil},
			}
			for _, sc := range scenarios {
				for i, e := range sc.entries {
					p.record(t, e)
					if i%3 == 2 {
						time.Sleep(30 * time.Millisecond) // let the sequencer seal a batch now and then
					}
				}
			}
			p.stop()
			for _, sc := range scenarios {
				if got := rulesOf(t, p.engine.Store, sc.user); !slices.Equal(got, sc.want) {
					t.Errorf("%s: alerts %v, want %v", sc.user, got, sc.want)
				}
			}
			all, err := p.engine.List(context.Background(), ListFilter{CaseIDs: []string{"case-c"}})
			if err != nil {
				t.Fatal(err)
			}
			if len(all) != 1 || all[0].Rule != RuleManyCases || all[0].Cases != 3 || len(all[0].CaseIDs) != 3 {
				t.Errorf("alerts of case-c: %+v, want the cross-case alert over 3 cases", all)
			}
		})
	}
}

func repeat(n int, f func(int) audit.Entry) []audit.Entry {
	out := make([]audit.Entry, n)
	for i := range out {
		out[i] = f(i)
	}
	return out
}

func TestEngine_RaisesUnusualHourOnlyForAnHourTheUserRarelyWorks(t *testing.T) {
	for _, d := range testenv.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			p := newPipeline(t, d.DB, Options{RareHourShare: 0.02, MinHistory: 20, Log: testenv.Discard})
			day := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -30)
			for i := range 30 {
				at := day.AddDate(0, 0, i).Add(10 * time.Hour)
				p.record(t, read("day-worker", "c1", at))
				p.record(t, read("night-worker", "c1", at.Add(-7*time.Hour))) // 03:00 is usual for them
				p.record(t, read("newcomer", "c1", at))
				if i == 10 { // too little history yet: no alert for the newcomer's night
					p.record(t, read("newcomer", "c1", at.Add(-7*time.Hour)))
				}
			}
			night := day.AddDate(0, 0, 30).Add(3 * time.Hour)
			for range 3 {
				p.record(t, read("day-worker", "c1", night))
				p.record(t, read("night-worker", "c1", night))
			}
			p.stop()
			for user, want := range map[string][]Rule{"day-worker": {RuleUnusualHour}, "night-worker": nil, "newcomer": nil} {
				if got := rulesOf(t, p.engine.Store, user); !slices.Equal(got, want) {
					t.Errorf("%s: alerts %v, want %v", user, got, want)
				}
			}
		})
	}
}

func TestReserveDownload_RefusesPastTheHardLimitUntilALeadApproves(t *testing.T) {
	for _, d := range testenv.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			ctx := context.Background()
			e := New(d.DB, Options{HardLimit: 1000, Window: time.Hour, Log: testenv.Discard})
			defer e.Stop()
			actor := audit.Actor{UserID: "u1", AgencyID: "a1"}
			reserve := func(caseID string, n int64) (*Reservation, error) {
				return e.ReserveDownload(ctx, actor, caseID, "i1", n)
			}
			// Under way or settled, downloads count; another user's do not.
			first, err := reserve("c1", 300)
			if err != nil || first == nil {
				t.Fatalf("first download: %v, %v", first, err)
			}
			if err := first.Settle(ctx, 300); err != nil {
				t.Fatal(err)
			}
			if _, err := reserve("c1", 300); err != nil {
				t.Fatal(err)
			}
			if _, err := e.ReserveDownload(ctx, audit.Actor{UserID: "u2"}, "c1", "i1", 900); err != nil {
				t.Fatal(err)
			}
			last, err := reserve("c1", 400)
			if err != nil {
				t.Fatalf("600 held + 400 is the limit: %v", err)
			}
			var throttled *ThrottledError
			if _, err := reserve("c1", 1); !errors.As(err, &throttled) {
				t.Fatalf("past the limit: %v, want a ThrottledError", err)
			}
			if throttled.Used != 1000 || throttled.Limit != 1000 || throttled.AlertID == "" ||
				throttled.RetryAfter <= 0 || throttled.RetryAfter > time.Hour {
				t.Errorf("refusal %+v", throttled)
			}
			// A download cut short gives back what it did not send, once.
			if err := last.Settle(ctx, 100); err != nil {
				t.Fatal(err)
			}
			if err := last.Settle(ctx, 400); err != nil {
				t.Fatal(err)
			}
			if _, err := reserve("c1", 300); err != nil {
				t.Fatalf("after 300 bytes given back: %v", err)
			}
			first = nil
			if err := first.Settle(ctx, 10); err != nil { // the hard limit off: nothing to settle
				t.Fatal(err)
			}
			alertID := throttled.AlertID
			if _, err := reserve("c1", 1); !errors.As(err, &throttled) || throttled.AlertID != "" {
				t.Fatalf("a second refusal: %v (alert %q), want refused without a new alert", err, throttled.AlertID)
			}
			if got := rulesOf(t, e.Store, "u1"); !slices.Equal(got, []Rule{RuleHardLimit}) {
				t.Fatalf("alerts %v, want one hard-limit alert", got)
			}
			a, err := e.Approve(ctx, alertID, "lead-1", "The imaging was planned", time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			if a.Status != StatusApproved || a.ApprovedBy != "lead-1" || a.ApprovedUntil == nil {
				t.Errorf("approved alert %+v", a)
			}
			if _, err := reserve("c1", 5000); err != nil {
				t.Errorf("after approval: %v", err)
			}
			if _, err := reserve("c2", 5000); !errors.As(err, &throttled) {
				t.Errorf("on another case: %v, want still refused", err)
			}
			off := New(d.DB, Options{Log: testenv.Discard})
			defer off.Stop()
			if r, err := off.ReserveDownload(ctx, actor, "c1", "i1", 1<<40); err != nil || r != nil {
				t.Errorf("hard limit off: %v, %v", r, err)
			}
		})
	}
}

// Downloads asked for at once cannot together pass the limit: each user's
// reservations are made one at a time.
func TestReserveDownload_ParallelDownloadsNeverPassTheLimit(t *testing.T) {
	for _, d := range testenv.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			e := New(d.DB, Options{HardLimit: 1000, Window: time.Hour, Log: testenv.Discard})
			defer e.Stop()
			var granted atomic.Int64
			var wg sync.WaitGroup
			for range 40 {
				wg.Go(func() {
					r, err := e.ReserveDownload(context.Background(), audit.Actor{UserID: "u1"}, "c1", "i1", 100)
					var throttled *ThrottledError
					switch {
					case err == nil && r != nil:
						granted.Add(100)
					case !errors.As(err, &throttled):
						t.Errorf("reserve: %v", err)
					}
				})
			}
			wg.Wait()
			if got := granted.Load(); got != 1000 {
				t.Errorf("40 parallel downloads of 100 bytes against a limit of 1000 were granted %d bytes, want 1000", got)
			}
		})
	}
}

func TestWebhook_DeliversSignedAlertAfterAFailure(t *testing.T) {
	d := testenv.SQLite(t)
	type delivery struct {
		body            []byte
		signature, when string
	}
	got := make(chan delivery, 4)
	var mu sync.Mutex
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls++
		n := calls
		mu.Unlock()
		if n == 1 {
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		body, _ := io.ReadAll(r.Body)
		got <- delivery{body, r.Header.Get(HeaderSignature), r.Header.Get(HeaderTimestamp)}
	}))
	defer srv.Close()
	const secret = "webhook-secret"
	e := New(d.DB, Options{HardLimit: 10, Log: testenv.Discard,
		Webhook: WebhookOptions{URL: srv.URL, Secret: secret, Backoff: 10 * time.Millisecond, Timeout: time.Second}})
	defer e.Stop()
	if _, err := e.ReserveDownload(context.Background(), audit.Actor{UserID: "u1"}, "c1", "i1", 11); err == nil {
		t.Fatal("want a refusal")
	}
	select {
	case dl := <-got:
		if want := Sign(secret, dl.when, dl.body); dl.signature != want {
			t.Errorf("signature %q, want %q", dl.signature, want)
		}
		if Sign("another secret", dl.when, dl.body) == dl.signature {
			t.Error("the signature does not depend on the secret")
		}
		var p webhookPayload
		if err := json.Unmarshal(dl.body, &p); err != nil {
			t.Fatal(err)
		}
		if p.Event != "alert.raised" || p.Rule != string(RuleHardLimit) || p.UserID != "u1" || !slices.Equal(p.CaseIDs, []string{"c1"}) {
			t.Errorf("payload %+v", p)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no delivery")
	}
}

// A receiver that never answers holds neither Observe nor the refusal.
func TestWebhook_SlowReceiverBlocksNothing(t *testing.T) {
	d := testenv.SQLite(t)
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { <-release }))
	defer srv.Close()
	defer close(release)
	e := New(d.DB, Options{HardLimit: 10, Log: testenv.Discard,
		Webhook: WebhookOptions{URL: srv.URL, Timeout: 200 * time.Millisecond, Attempts: 2, Backoff: 10 * time.Millisecond}})
	start := time.Now()
	for i := range 3 {
		_, _ = e.ReserveDownload(context.Background(), audit.Actor{UserID: "u1"}, "case-"+string(rune('a'+i)), "i1", 11)
	}
	for range 2 * queueSize {
		e.Observe([]audit.Recorded{{Entry: read("u1", "c1", time.Now()), Seq: 1}})
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("refusals and Observe took %s with a stuck webhook", took)
	}
	e.Stop()
}

// One alert per user, rule and window: windows overlapping an alert's are
// folded into it, the next window raises again, and other users, rules
// and scopes are apart.
func TestRaise_OneAlertPerUserRuleAndWindow(t *testing.T) {
	for _, d := range testenv.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			ctx := context.Background()
			s := NewStore(d.DB)
			end := time.Now().UTC().Truncate(time.Second)
			raise := func(user string, rule Rule, scope string, windowEnd time.Time) bool {
				t.Helper()
				a := Alert{Rule: rule, UserID: user, CaseIDs: []string{"c1", "c1", "c2"},
					WindowStart: windowEnd.Add(-time.Hour), WindowEnd: windowEnd}
				stored, err := s.raise(ctx, &a, scope, time.Hour)
				if err != nil {
					t.Fatal(err)
				}
				return stored
			}
			steps := []struct {
				user  string
				rule  Rule
				scope string
				end   time.Time
				want  bool
			}{
				{"u1", RuleBulkReads, "", end, true},
				{"u1", RuleBulkReads, "", end, false},                         // the same window
				{"u1", RuleBulkReads, "", end.Add(59 * time.Minute), false},   // overlapping it
				{"u1", RuleBulkReads, "", end.Add(time.Hour), true},           // the next window
				{"u1", RuleEvidenceBytes, "", end, true},                      // another rule
				{"u2", RuleBulkReads, "", end, true},                          // another user
				{"u1", RuleHardLimit, "c1", end, true},                        // scoped to a case
				{"u1", RuleHardLimit, "c2", end, true},                        // another case
				{"u1", RuleHardLimit, "c1", end.Add(10 * time.Minute), false}, // same case, overlapping
			}
			for i, st := range steps {
				if got := raise(st.user, st.rule, st.scope, st.end); got != st.want {
					t.Errorf("step %d (%s %s %s): stored %v, want %v", i, st.user, st.rule, st.scope, got, st.want)
				}
			}
			all, err := s.List(ctx, ListFilter{AllCases: true})
			if err != nil {
				t.Fatal(err)
			}
			if len(all) != 6 || !slices.Equal(all[0].CaseIDs, []string{"c1", "c2"}) {
				t.Errorf("%d alerts, first with cases %v; want 6, each on c1 and c2", len(all), all[0].CaseIDs)
			}
			if list, _ := s.List(ctx, ListFilter{CaseIDs: []string{"c3"}}); len(list) != 0 {
				t.Errorf("alerts of an untouched case: %d", len(list))
			}
			if list, _ := s.List(ctx, ListFilter{}); len(list) != 0 {
				t.Errorf("no cases and not all: %d alerts, want none", len(list))
			}
			a, err := s.Acknowledge(ctx, all[0].ID, "admin-1")
			if err != nil || a.Status != StatusAcknowledged || a.AcknowledgedBy != "admin-1" {
				t.Errorf("acknowledge: %+v %v", a, err)
			}
			if _, err := s.Acknowledge(ctx, "no-such-alert", "admin-1"); !errors.Is(err, ErrNotFound) {
				t.Errorf("acknowledge a missing alert: %v", err)
			}
			if _, err := s.Approve(ctx, "no-such-alert", "lead-1", "Planned", time.Hour); !errors.Is(err, ErrNotFound) {
				t.Errorf("approve a missing alert: %v", err)
			}
			// An approval without a reason, or with one too long, changes nothing.
			for _, reason := range []string{"", " \n ", strings.Repeat("x", MaxApprovalReason+1), "bad\x00"} {
				var invalid *validate.Error
				if _, err := s.Approve(ctx, all[1].ID, "lead-1", reason, time.Hour); !errors.As(err, &invalid) {
					t.Errorf("approve with reason %.20q: %v, want a validation error", reason, err)
				}
			}
			if a, err := s.Get(ctx, all[1].ID); err != nil || a.Status != StatusOpen || a.ApprovalReason != "" {
				t.Errorf("after refused approvals: %+v %v", a, err)
			}
			a, err = s.Approve(ctx, all[1].ID, "lead-1", "  Planned imaging \n", time.Hour)
			if err != nil || a.Status != StatusApproved || a.ApprovalReason != "Planned imaging" {
				t.Errorf("approve: %+v %v", a, err)
			}
		})
	}
}
