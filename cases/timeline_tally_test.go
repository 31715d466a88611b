package cases

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bevis-ir/bevis/internal/testenv"
)

// tallyRows reads the tallies of a case as text lines, for comparison.
func tallyRows(t *testing.T, f timelineFixture) (hist, ttp []string) {
	t.Helper()
	var h []struct {
		LaneKind, Lane, Tactic string
		TLP                    string `gorm:"column:tlp"`
		Hour, Events           int64
	}
	if err := f.tl.db.Raw(`SELECT lane_kind, hour, lane, tactic, tlp, events FROM timeline_tally WHERE case_id = ?`,
		f.caseID).Scan(&h).Error; err != nil {
		t.Fatal(err)
	}
	for _, r := range h {
		hist = append(hist, fmt.Sprintf("%s %d %q %s %s = %d", r.LaneKind, r.Hour, r.Lane, r.Tactic, r.TLP, r.Events))
	}
	var p []struct {
		TLP                 string `gorm:"column:tlp"`
		Tactic, Technique   string
		Day, Events         int64
		FirstSeen, LastSeen dbTime
	}
	if err := f.tl.db.Raw(`SELECT tlp, tactic, technique, day, events, first_seen, last_seen FROM timeline_ttp_tally
		WHERE case_id = ?`, f.caseID).Scan(&p).Error; err != nil {
		t.Fatal(err)
	}
	for _, r := range p {
		ttp = append(ttp, fmt.Sprintf("%s %s/%s %d = %d %s..%s", r.TLP, r.Tactic, r.Technique, r.Day, r.Events,
			r.FirstSeen.Format(time.RFC3339Nano), r.LastSeen.Format(time.RFC3339Nano)))
	}
	slices.Sort(hist)
	slices.Sort(ttp)
	return hist, ttp
}

// recountedRows are the tallies recomputed in Go from every version of
// every event of the case: what tallyRows must hold.
func recountedRows(t *testing.T, f timelineFixture) (hist, ttp []string) {
	t.Helper()
	var rows []eventRow
	if err := f.tl.db.Where("case_id = ?", f.caseID).Find(&rows).Error; err != nil {
		t.Fatal(err)
	}
	superseded := map[string]bool{}
	for _, r := range rows {
		if r.Supersedes != nil {
			superseded[*r.Supersedes] = true
		}
	}
	counts := map[string]int64{}
	type seen struct {
		events      int64
		first, last time.Time
	}
	pairs := map[string]*seen{}
	for _, r := range rows {
		if superseded[r.ID] {
			continue
		}
		at, end := r.OccurredAt.UTC(), r.OccurredAt.UTC()
		if r.OccurredUntil != nil {
			end = r.OccurredUntil.UTC()
		}
		hour := at.Truncate(time.Hour).Unix() / 3600 // exact before 1970 too
		tactic := ""
		if f := strings.Fields(r.Tactics); len(f) > 0 {
			tactic = f[0]
		}
		for kind, lane := range map[string]string{"host": r.SourceHost, "log": r.SourceLog, "system": r.SourceSystem} {
			if l := []rune(lane); len(l) > 200 {
				lane = string(l[:200])
			}
			counts[fmt.Sprintf("%s %d %q %s %s", kind, hour, lane, tactic, r.TLP)]++
		}
		tactics := strings.Fields(r.Tactics)
		if len(tactics) == 0 {
			tactics = []string{""}
		}
		day := at.Truncate(24*time.Hour).Unix() / 86400
		for _, te := range strings.Fields(r.Techniques) {
			for _, ta := range tactics {
				k := fmt.Sprintf("%s %s/%s %d", r.TLP, ta, te, day)
				s := pairs[k]
				if s == nil {
					s = &seen{first: at, last: end}
					pairs[k] = s
				}
				s.events++
				if at.Before(s.first) {
					s.first = at
				}
				if end.After(s.last) {
					s.last = end
				}
			}
		}
	}
	for k, n := range counts {
		hist = append(hist, fmt.Sprintf("%s = %d", k, n))
	}
	for k, s := range pairs {
		ttp = append(ttp, fmt.Sprintf("%s = %d %s..%s", k, s.events, s.first.Format(time.RFC3339Nano), s.last.Format(time.RFC3339Nano)))
	}
	slices.Sort(hist)
	slices.Sort(ttp)
	return hist, ttp
}

func checkTally(t *testing.T, f timelineFixture, after string) {
	t.Helper()
	gotHist, gotTTP := tallyRows(t, f)
	wantHist, wantTTP := recountedRows(t, f)
	if !slices.Equal(gotHist, wantHist) {
		t.Fatalf("after %s, the histogram tally:\n%s\nwant, from the events:\n%s", after,
			strings.Join(gotHist, "\n"), strings.Join(wantHist, "\n"))
	}
	if !slices.Equal(gotTTP, wantTTP) {
		t.Fatalf("after %s, the TTP tally:\n%s\nwant, from the events:\n%s", after,
			strings.Join(gotTTP, "\n"), strings.Join(wantTTP, "\n"))
	}
}

// randomEvent is an event of a small world, so that groups are shared,
// emptied and refilled: 4 hosts (one without), 3 days, 5 tactics, 6 techniques.
func randomEvent(rng *rand.Rand) NewEvent {
	pick := func(from []string, most int) []string {
		var out []string
		for range rng.IntN(most + 1) {
			out = append(out, from[rng.IntN(len(from))])
		}
		return out
	}
	start := benchStart.Add(time.Duration(rng.Int64N(int64(72 * time.Hour)))).Truncate(time.Microsecond)
	// Some fall exactly on an hour, the edge of a bucket.
	if rng.IntN(5) == 0 {
		start = start.Truncate(time.Hour)
	}
	in := NewEvent{OccurredAt: start, Description: "random event",
		Source: EventSource{Host: []string{"", "hr-fs01", "hr-ws12", "dc01"}[rng.IntN(4)],
			Log: []string{"", "Security.evtx", "auth.log"}[rng.IntN(3)]},
		Tactics:    pick([]string{"TA0001", "TA0002", "TA0008", "TA0010", "TA0040"}, 2),
		Techniques: pick([]string{"T1078", "T1078.002", "T1566.001", "T1048", "T1021", "T1486"}, 2),
		TLP:        allMarkings[rng.IntN(len(allMarkings))]}
	if rng.IntN(3) == 0 {
		until := start.Add(time.Duration(rng.Int64N(int64(30 * time.Hour))))
		in.OccurredUntil = &until
	}
	return in
}

// TestTimeline_TallyEqualsTheEventsAfterAnyWrites: after a random sequence
// of adds, corrections (which may change the marking, the time, the host and
// the techniques), imports and rejected imports, the tallies equal what the
// current events say, on both databases.
// TestTimeline_AddOfTheLargestEventTallies: an event with as many tactics
// and techniques as it may have (2,500 TTP pairs, on PostgreSQL 20,000
// parameters of one statement) is added and counted exactly, twice over.
func TestTimeline_AddOfTheLargestEventTallies(t *testing.T) {
	for _, d := range testenv.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			f := newTimelineFixture(t, d)
			in := NewEvent{OccurredAt: at("2026-01-15T09:30:00Z"), Description: "Everything at once"}
			for i := range maxListItems {
				in.Tactics = append(in.Tactics, fmt.Sprintf("TA%04d", i+1))
				in.Techniques = append(in.Techniques, fmt.Sprintf("T%04d", 1000+i))
			}
			f.add(t, in)
			f.add(t, in)
			checkTally(t, f, "two of the largest events")
			_, ttp := tallyRows(t, f)
			if len(ttp) != maxListItems*maxListItems {
				t.Errorf("%d TTP groups, want %d", len(ttp), maxListItems*maxListItems)
			}
		})
	}
}

func TestTimeline_TallyEqualsTheEventsAfterAnyWrites(t *testing.T) {
	for _, d := range testenv.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			ctx := context.Background()
			f := newTimelineFixture(t, d)
			seed := uint64(time.Now().UnixNano())
			t.Logf("seed %d", seed)
			rng := rand.New(rand.NewPCG(seed, 13))
			var current []string
			for step := range 120 {
				var did string
				switch op := rng.IntN(10); {
				case op < 5 || len(current) == 0:
					ev := f.add(t, randomEvent(rng))
					current, did = append(current, ev.ID), "an add"
				case op < 9:
					i := rng.IntN(len(current))
					ev, err := f.tl.Correct(ctx, f.caseID, current[i], f.reader, randomEvent(rng), "random correction")
					if err != nil {
						t.Fatal(err)
					}
					current[i], did = ev.ID, "a correction"
				default:
					var b strings.Builder
					rows := 1 + rng.IntN(40)
					for k := range rows {
						e := genEvent(rng.IntN(300_000))
						e.host = []string{"hr-fs01", "dc01", "web01", strings.Repeat("ø", 250)}[k%4]
						b.WriteString(e.jsonLine())
					}
					reject := rng.IntN(4) == 0
					if reject {
						b.WriteString("{not json\n")
					}
					tlp := allMarkings[rng.IntN(len(allMarkings))]
					rec, err := f.tl.Import(ctx, f.caseID, f.reader, ImportRequest{Format: FormatJSONLine, TLP: tlp},
						strings.NewReader(b.String()))
					var rejected *ImportRejectedError
					switch {
					case reject && !errors.As(err, &rejected):
						t.Fatalf("an import with a malformed row: %v", err)
					case !reject && (err != nil || rec.EventsImported != int64(rows)):
						t.Fatalf("import: %v (%d events)", err, rec.EventsImported)
					}
					did = fmt.Sprintf("an import of %d rows (rejected %v)", rows, reject)
				}
				if step%10 == 9 {
					checkTally(t, f, fmt.Sprintf("step %d, %s", step, did))
				}
			}
			checkTally(t, f, "the last step")
		})
	}
}
