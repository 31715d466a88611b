package cases

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/bevis-ir/bevis/internal/validate"
)

// Bounds of a histogram.
const (
	DefaultHistogramBuckets = 100
	MaxHistogramBuckets     = 1000
	// MaxHistogramLanes is how many lanes a histogram has: the busiest
	// ones, the last lane lumping the rest together when there are more.
	MaxHistogramLanes = 8
)

// HistogramRequest asks for the events of a case over time.
type HistogramRequest struct {
	From, To *time.Time // occurred_at in [From, To); the whole timeline's span where nil
	Buckets  int        // at most this many buckets; 0 means DefaultHistogramBuckets
	Lane     LaneKind   // the lanes are hosts (the default), logs or systems
}

// Histogram counts the current events a reader may see by time bucket, lane
// and first ATT&CK tactic. Its span is whole hours, the finest it counts.
type Histogram struct {
	From, To    time.Time     // the span counted, [From, To); zero when there are no events
	BucketWidth time.Duration // a whole number of hours
	Buckets     int           // how many buckets of BucketWidth make the span
	Lanes       []HistogramLane
	Cells       []HistogramCell // only the non-empty ones, by bucket, lane and tactic
	Events      int64           // in the span
}

// HistogramLane is one lane, busiest first.
type HistogramLane struct {
	Name   string // the host, log or system ("" for events without one); empty for Other
	Other  bool   // the lanes past the busiest ones, together
	Events int64
}

// HistogramCell is the events of one bucket, lane and first tactic ("" for none).
type HistogramCell struct {
	Bucket, Lane int
	Tactic       string
	Events       int64
}

// Histogram counts the current events of a case the reader may see, by
// time, lane and tactic, from the tally the writes of events keep: its cost
// depends on the span and the buckets asked for, not the size of the
// timeline.
func (t *Timeline) Histogram(ctx context.Context, caseID string, by Reader, req HistogramRequest) (Histogram, error) {
	var v validate.Errors
	if req.Lane == "" {
		req.Lane = LaneHost
	}
	v.Check(req.Lane == LaneHost || req.Lane == LaneLog || req.Lane == LaneSystem, "lane", "must be host, log or system")
	if req.Buckets == 0 {
		req.Buckets = DefaultHistogramBuckets
	}
	v.Check(req.Buckets >= 1 && req.Buckets <= MaxHistogramBuckets, "buckets", "must be 1 to 1000")
	v.Check(req.From == nil || req.To == nil || req.From.Before(*req.To), "to", "must be after from")
	for name, at := range map[string]*time.Time{"from": req.From, "to": req.To} {
		v.Check(at == nil || !at.Before(earliestEvent) && !at.After(latestEvent.Add(time.Hour)), name,
			"must be a time between 1601 and 9999")
	}
	if err := v.Err(); err != nil {
		return Histogram{}, err
	}
	db := t.db.WithContext(ctx)
	var first, last int64 // hours, [first, last)
	if req.From == nil || req.To == nil {
		var span []struct{ First, Last *int64 }
		err := db.Raw(`SELECT MIN(hour) AS first, MAX(hour) AS last FROM timeline_tally
			WHERE case_id = ? AND lane_kind = ? AND tlp IN ?`, caseID, string(req.Lane), by.Markings).Scan(&span).Error
		if err != nil {
			return Histogram{}, fmt.Errorf("cases: timeline histogram: %w", err)
		}
		if len(span) == 0 || span[0].First == nil {
			return Histogram{Buckets: 0, BucketWidth: time.Hour, Lanes: []HistogramLane{}, Cells: []HistogramCell{}}, nil
		}
		first, last = *span[0].First, *span[0].Last+1
	}
	if req.From != nil {
		first = hourOf(*req.From)
	}
	if req.To != nil {
		last = -floorDiv(-req.To.Unix(), hourSeconds) // the hour To falls in, counted whole
	}
	if last <= first {
		last = first + 1
	}
	width := -floorDiv(-(last - first), int64(req.Buckets)) // hours, rounded up
	buckets := -floorDiv(-(last - first), width)
	last = first + buckets*width
	out := Histogram{From: time.Unix(first*hourSeconds, 0).UTC(), To: time.Unix(last*hourSeconds, 0).UTC(),
		BucketWidth: time.Duration(width) * time.Hour, Buckets: int(buckets), Lanes: []HistogramLane{}, Cells: []HistogramCell{}}

	in := []any{caseID, string(req.Lane), by.Markings, first, last}
	const where = `WHERE case_id = ? AND lane_kind = ? AND tlp IN ? AND hour >= ? AND hour < ?`
	var lanes []struct {
		Lane   string
		Events int64
	}
	if err := db.Raw(`SELECT lane, CAST(SUM(events) AS BIGINT) AS events FROM timeline_tally `+where+`
		GROUP BY lane ORDER BY events DESC, lane LIMIT ?`, append(in, MaxHistogramLanes+1)...).Scan(&lanes).Error; err != nil {
		return Histogram{}, fmt.Errorf("cases: timeline histogram lanes: %w", err)
	}
	named := lanes
	if len(lanes) > MaxHistogramLanes {
		named = lanes[:MaxHistogramLanes-1]
	}
	laneOf := make(map[string]int, len(named))
	names := make([]string, len(named))
	for i, l := range named {
		laneOf[l.Lane] = i
		names[i] = l.Lane
		out.Lanes = append(out.Lanes, HistogramLane{Name: l.Lane, Events: l.Events})
	}
	if len(lanes) == 0 {
		return out, nil
	}
	other := len(named)
	if len(lanes) > MaxHistogramLanes {
		out.Lanes = append(out.Lanes, HistogramLane{Other: true})
	}
	// Lanes past the busiest are grouped as one (a NULL lane), so the rows
	// are bounded by buckets × lanes × tactics whatever the lanes in the span.
	var cells []struct {
		Bucket int64
		Lane   *string
		Tactic string
		Events int64
	}
	err := db.Raw(`SELECT (hour - ?) / ? AS bucket, CASE WHEN lane IN ? THEN lane END AS lane, tactic,
			CAST(SUM(events) AS BIGINT) AS events
		FROM timeline_tally `+where+` GROUP BY 1, 2, 3`,
		append([]any{first, width, names}, in...)...).Scan(&cells).Error
	if err != nil {
		return Histogram{}, fmt.Errorf("cases: timeline histogram: %w", err)
	}
	for _, c := range cells {
		lane := other
		if c.Lane != nil {
			lane = laneOf[*c.Lane]
		}
		if lane == other {
			out.Lanes[other].Events += c.Events
		}
		out.Events += c.Events
		out.Cells = append(out.Cells, HistogramCell{Bucket: int(c.Bucket), Lane: lane, Tactic: c.Tactic, Events: c.Events})
	}
	slices.SortFunc(out.Cells, func(a, b HistogramCell) int {
		return cmp.Or(cmp.Compare(a.Bucket, b.Bucket), cmp.Compare(a.Lane, b.Lane), cmp.Compare(a.Tactic, b.Tactic))
	})
	return out, nil
}
