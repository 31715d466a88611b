package cases

import (
	"context"
	"fmt"
	"reflect"
	"testing"

	"github.com/bevis-ir/bevis/access"
	"github.com/bevis-ir/bevis/internal/testenv"
)

// ttpLine is a summary flattened for comparison: tactic/technique=events first..last.
func ttpLines(s TTPSummary) []string {
	var out []string
	for _, g := range s.Tactics {
		for _, u := range g.Techniques {
			out = append(out, fmt.Sprintf("%s(%s)/%s=%d %s..%s", g.Tactic, g.Name, u.Technique, u.Events,
				u.FirstSeen.Format("01-02T15"), u.LastSeen.Format("01-02T15")))
		}
	}
	return out
}

func TestTimeline_TTPSummaryGroupsTechniquesByTacticInKillChainOrder(t *testing.T) {
	for _, d := range testenv.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			ctx := context.Background()
			f := newTimelineFixture(t, d)
			f.add(t, NewEvent{OccurredAt: at("2026-01-14T08:00:00Z"), Description: "archive sent out",
				Tactics: []string{"TA0010"}, Techniques: []string{"T1048"}})
			// An event counts under each of its tactics, with each of its techniques.
			f.add(t, NewEvent{OccurredAt: at("2026-01-10T08:00:00Z"), Description: "phishing mail opened",
				Tactics: []string{"TA0001", "TA0002"}, Techniques: []string{"T1566.001", "T1204.002"}})
			f.add(t, NewEvent{OccurredAt: at("2026-01-11T08:00:00Z"), OccurredUntil: pointer(at("2026-01-13T20:00:00Z")),
				Description: "second phishing wave", Tactics: []string{"TA0001"}, Techniques: []string{"T1566.001"}})
			wrong := f.add(t, NewEvent{OccurredAt: at("2026-01-12T08:00:00Z"), Description: "logon, technique mistaken",
				Tactics: []string{"TA0001"}, Techniques: []string{"T1133"}})
			// The correction replaces the technique: the old version counts no more, the new one once.
			if _, err := f.tl.Correct(ctx, f.caseID, wrong.ID, f.reader, NewEvent{OccurredAt: at("2026-01-12T09:00:00Z"),
				Description: "logon with svc-backup", Tactics: []string{"TA0001"}, Techniques: []string{"T1078.002"}},
				"it was a valid account"); err != nil {
				t.Fatal(err)
			}
			f.add(t, NewEvent{OccurredAt: at("2026-01-12T10:00:00Z"), Description: "tool without a tactic", Techniques: []string{"T1078.002"}})
			f.add(t, NewEvent{OccurredAt: at("2026-01-12T11:00:00Z"), Description: "a mobile tactic", Tactics: []string{"TA0027"},
				Techniques: []string{"T1078.002"}})
			f.add(t, NewEvent{OccurredAt: at("2026-01-09T08:00:00Z"), Description: "no technique", Tactics: []string{"TA0043"}})

			got, err := f.tl.TTP(ctx, f.caseID, f.reader)
			if err != nil {
				t.Fatal(err)
			}
			want := []string{
				"TA0001(Initial Access)/T1566.001=2 01-10T08..01-13T20",
				"TA0001(Initial Access)/T1078.002=1 01-12T09..01-12T09",
				"TA0001(Initial Access)/T1204.002=1 01-10T08..01-10T08",
				"TA0002(Execution)/T1204.002=1 01-10T08..01-10T08",
				"TA0002(Execution)/T1566.001=1 01-10T08..01-10T08",
				"TA0010(Exfiltration)/T1048=1 01-14T08..01-14T08",
				"TA0027()/T1078.002=1 01-12T11..01-12T11",
				"()/T1078.002=1 01-12T10..01-12T10",
			}
			if lines := ttpLines(got); !reflect.DeepEqual(lines, want) || got.Truncated {
				t.Errorf("summary (truncated %v):\n%q\nwant\n%q", got.Truncated, lines, want)
			}
			// Another case's summary holds none of these.
			other, err := NewStore(d.DB).Create(ctx, f.reader.Principal, NewCase{Title: "Another", TLP: access.TLPAmber})
			if err != nil {
				t.Fatal(err)
			}
			if s, err := f.tl.TTP(ctx, other.ID, f.reader); err != nil || len(s.Tactics) != 0 {
				t.Errorf("an empty case: %+v %v", s, err)
			}
		})
	}
}

// TestTimeline_TTPSummaryHidesWhatTheReaderMayNotSee: the technique of an
// event marked AMBER+STRICT or RED, or of a correction so marked, is not in
// the summary of a reader who may not see it.
func TestTimeline_TTPSummaryHidesWhatTheReaderMayNotSee(t *testing.T) {
	for _, d := range testenv.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			ctx := context.Background()
			f := newTimelineFixture(t, d)
			f.add(t, NewEvent{OccurredAt: at("2026-01-10T08:00:00Z"), Description: "amber", Tactics: []string{"TA0001"},
				Techniques: []string{"T1566"}, TLP: access.TLPAmber})
			f.add(t, NewEvent{OccurredAt: at("2026-01-10T09:00:00Z"), Description: "strict", Tactics: []string{"TA0001"},
				Techniques: []string{"T1199"}, TLP: access.TLPAmberStrict})
			f.add(t, NewEvent{OccurredAt: at("2026-01-10T10:00:00Z"), Description: "red", Tactics: []string{"TA0008"},
				Techniques: []string{"T1021.001"}, TLP: access.TLPRed})
			amber := f.add(t, NewEvent{OccurredAt: at("2026-01-10T11:00:00Z"), Description: "amber, to be corrected in red",
				Tactics: []string{"TA0006"}, Techniques: []string{"T1003"}, TLP: access.TLPAmber})
			if _, err := f.tl.Correct(ctx, f.caseID, amber.ID, f.reader, NewEvent{OccurredAt: at("2026-01-10T11:00:00Z"),
				Description: "informant detail", Tactics: []string{"TA0006"}, Techniques: []string{"T1003.001"}, TLP: access.TLPRed},
				"source is a human informant"); err != nil {
				t.Fatal(err)
			}
			for _, tc := range []struct {
				name     string
				markings []access.TLP
				want     []string
			}{
				{"up to AMBER", allMarkings[:3], []string{"TA0001(Initial Access)/T1566=1 01-10T08..01-10T08"}},
				{"up to AMBER+STRICT", allMarkings[:4], []string{"TA0001(Initial Access)/T1199=1 01-10T09..01-10T09",
					"TA0001(Initial Access)/T1566=1 01-10T08..01-10T08"}},
				{"up to AMBER and RED", []access.TLP{access.TLPClear, access.TLPGreen, access.TLPAmber, access.TLPRed},
					[]string{"TA0001(Initial Access)/T1566=1 01-10T08..01-10T08",
						"TA0006(Credential Access)/T1003.001=1 01-10T11..01-10T11",
						"TA0008(Lateral Movement)/T1021.001=1 01-10T10..01-10T10"}},
				{"everything", allMarkings, []string{"TA0001(Initial Access)/T1199=1 01-10T09..01-10T09",
					"TA0001(Initial Access)/T1566=1 01-10T08..01-10T08",
					"TA0006(Credential Access)/T1003.001=1 01-10T11..01-10T11",
					"TA0008(Lateral Movement)/T1021.001=1 01-10T10..01-10T10"}},
			} {
				got, err := f.tl.TTP(ctx, f.caseID, Reader{Principal: f.reader.Principal, Markings: tc.markings})
				if err != nil {
					t.Fatal(err)
				}
				if lines := ttpLines(got); !reflect.DeepEqual(lines, tc.want) {
					t.Errorf("%s: %q, want %q", tc.name, lines, tc.want)
				}
				// The summary agrees with the list each technique links to.
				for _, g := range got.Tactics {
					for _, u := range g.Techniques {
						if n := len(f.list(t, Reader{Principal: f.reader.Principal, Markings: tc.markings},
							EventFilter{Technique: u.Technique})); int64(n) != u.Events {
							t.Errorf("%s: %s counts %d events, its list %d", tc.name, u.Technique, u.Events, n)
						}
					}
				}
			}
		})
	}
}

// TestTimeline_TTPSummaryIsBounded: past MaxTTPRows pairs the least seen
// are left out, and the summary says so.
func TestTimeline_TTPSummaryIsBounded(t *testing.T) {
	for _, d := range testenv.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			f := newTimelineFixture(t, d)
			var tactics, techniques []string
			for i := range maxListItems {
				tactics, techniques = append(tactics, fmt.Sprintf("TA%04d", 100+i)), append(techniques, fmt.Sprintf("T%04d", 1000+i))
			}
			// 50 × 50 pairs seen once, and one pair seen twice, which must stay.
			f.add(t, NewEvent{OccurredAt: at("2026-01-10T08:00:00Z"), Description: "everything at once", Tactics: tactics, Techniques: techniques})
			f.add(t, NewEvent{OccurredAt: at("2026-01-10T09:00:00Z"), Description: "again", Tactics: []string{"TA0149"}, Techniques: []string{"T1049"}})
			got, err := f.tl.TTP(context.Background(), f.caseID, f.reader)
			if err != nil {
				t.Fatal(err)
			}
			pairs, kept := 0, false
			for _, g := range got.Tactics {
				pairs += len(g.Techniques)
				kept = kept || g.Tactic == "TA0149" && g.Techniques[0].Technique == "T1049" && g.Techniques[0].Events == 2
			}
			if !got.Truncated || pairs != MaxTTPRows || !kept {
				t.Errorf("truncated %v, %d pairs, most seen kept %v", got.Truncated, pairs, kept)
			}
		})
	}
}
