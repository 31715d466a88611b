package api

import (
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/bevis-ir/bevis/access"
	"github.com/bevis-ir/bevis/cases"
	"github.com/bevis-ir/bevis/internal/validate"
)

type histogramJSON struct {
	From          *string             `json:"from"` // null when the caller may see no events
	To            *string             `json:"to"`
	BucketSeconds int64               `json:"bucket_seconds"`
	Buckets       int                 `json:"buckets"`
	Lane          string              `json:"lane"`
	Events        int64               `json:"events"`
	Lanes         []histogramLaneJSON `json:"lanes"`
	Cells         []histogramCellJSON `json:"cells"`
}

type histogramLaneJSON struct {
	Name   string `json:"name"`
	Other  bool   `json:"other"`
	Events int64  `json:"events"`
}

type histogramCellJSON struct {
	Bucket int     `json:"bucket"`
	Lane   int     `json:"lane"`
	Tactic *string `json:"tactic"`
	Events int64   `json:"events"`
}

// histogramQuery lists the query parameters of the histogram; any other is refused.
var histogramQuery = map[string]bool{"from": true, "to": true, "buckets": true, "lane": true}

// timelineHistogram answers the case's events over time, by lane and
// tactic, over the events the caller may see: the whole timeline for the
// time axis, whatever its size.
func (s *server) timelineHistogram(c *fiber.Ctx) error {
	reader, err := s.timelineReader(c, access.ActionCaseRead)
	if err != nil {
		return err
	}
	var v validate.Errors
	c.Context().QueryArgs().VisitAll(func(key, _ []byte) {
		if !histogramQuery[string(key)] {
			v.Add(string(key), "is not a parameter of the histogram")
		}
	})
	req := cases.HistogramRequest{From: queryTime(c, &v, "from"), To: queryTime(c, &v, "to"), Lane: cases.LaneKind(c.Query("lane"))}
	if raw := c.Query("buckets"); raw != "" {
		n, err := strconv.Atoi(raw)
		v.Check(err == nil && n >= 1 && n <= cases.MaxHistogramBuckets, "buckets", "must be a whole number from 1 to 1000")
		req.Buckets = n
	}
	if err := v.Err(); err != nil {
		return err
	}
	h, err := s.Timeline.Histogram(c.UserContext(), c.Params("id"), reader, req)
	if err != nil {
		return err
	}
	if req.Lane == "" {
		req.Lane = cases.LaneHost
	}
	out := histogramJSON{BucketSeconds: int64(h.BucketWidth.Seconds()), Buckets: h.Buckets, Lane: string(req.Lane),
		Events: h.Events, Lanes: make([]histogramLaneJSON, len(h.Lanes)), Cells: make([]histogramCellJSON, len(h.Cells))}
	if !h.From.IsZero() {
		from, to := timestamp(h.From), timestamp(h.To)
		out.From, out.To = &from, &to
	}
	for i, l := range h.Lanes {
		out.Lanes[i] = histogramLaneJSON{Name: l.Name, Other: l.Other, Events: l.Events}
	}
	for i, cell := range h.Cells {
		out.Cells[i] = histogramCellJSON{Bucket: cell.Bucket, Lane: cell.Lane, Tactic: orNull(cell.Tactic), Events: cell.Events}
	}
	return c.JSON(out)
}
