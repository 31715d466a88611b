package evidence

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/bevis-ir/bevis/access"
)

// Reverifier is the scheduled re-verification: every item's content is
// re-read once per interval, the item whose last check is oldest first,
// and the work is spread so that each item is checked before its interval
// is over without a burst when many come due together (a large upload, a
// new installation, a node that was down).
//
// Each item has a deadline, its last check (or its receipt) plus the
// interval. A round, run every `every`, looks a quarter of the interval
// ahead and takes as many of the items with the earliest deadlines as the
// pace those deadlines need: the most, over horizons from one round to a
// quarter interval, of the items due within the horizon divided by its
// length (items overdue are due within one round). So items coming due
// together are spread over the quarter before their deadline, and an item is
// checked at the earliest a quarter of the interval early. It keeps no
// state: a restart, or several nodes running it, changes nothing but who
// does the work.
type Reverifier struct {
	content  *Content
	interval time.Duration
	every    time.Duration
	now      func() time.Time
}

// maxPerRound bounds the items one round re-reads (after a long outage,
// catching up takes several rounds rather than one endless one).
const maxPerRound = 100

// NewReverifier returns the re-verification of content's items every
// interval, in rounds run every `every`.
func NewReverifier(content *Content, interval, every time.Duration) *Reverifier {
	return &Reverifier{content: content, interval: interval, every: max(every, time.Second),
		now: func() time.Time { return time.Now().UTC() }}
}

// Round re-verifies this round's share of the items, recording each
// result on the item's custody record (and reporting every incident). It
// returns the verifications done. An item whose data key cannot be had is
// skipped (its error is joined to the returned one); a storage outage ends
// the round, to be tried again next round.
func (r *Reverifier) Round(ctx context.Context) ([]Verification, error) {
	// The content of items disposed of is not checked but deleted, once
	// the store's retention allows it.
	_, sweepErr := r.content.SweepDisposed(ctx, maxPerRound)
	done, err := r.verifyDue(ctx)
	return done, errors.Join(sweepErr, err)
}

func (r *Reverifier) verifyDue(ctx context.Context) ([]Verification, error) {
	now := r.now()
	n, err := r.share(ctx, now)
	if err != nil || n == 0 {
		return nil, err
	}
	due, err := r.content.due(ctx, now.Add(r.horizon()-r.interval), n)
	if err != nil {
		return nil, err
	}
	var done []Verification
	var keyErrs error
	for _, it := range due {
		v, err := r.content.Verify(ctx, access.Principal{}, it)
		switch {
		case errors.Is(err, ErrCannotCheckKey):
			keyErrs = errors.Join(keyErrs, err)
		case err != nil:
			return done, errors.Join(keyErrs, err)
		default:
			done = append(done, v)
		}
	}
	return done, keyErrs
}

// horizon is how far ahead a round looks: a quarter of the interval.
func (r *Reverifier) horizon() time.Duration { return max(r.interval/4, r.every) }

// share is how many items this round takes: the pace the deadlines within
// the horizon need, times the round's length, rounded up.
func (r *Reverifier) share(ctx context.Context, now time.Time) (int, error) {
	h := r.horizon()
	var spans []time.Duration
	for s := h; s > r.every; s /= 2 {
		spans = append(spans, s)
	}
	spans = append(spans, r.every)
	before := make([]time.Time, len(spans))
	for i, s := range spans {
		before[i] = now.Add(s - r.interval) // last checked before this: due within s
	}
	counts, err := r.content.dueCounts(ctx, before)
	if err != nil {
		return 0, err
	}
	pace := 0.0 // items per round
	for i, s := range spans {
		pace = max(pace, float64(counts[i])*float64(r.every)/float64(s))
	}
	return min(int(math.Ceil(pace)), maxPerRound), nil
}

// lastCheck is an item's last verification, or its receipt when it was
// never verified: what its next check is due from.
const lastCheck = `COALESCE((SELECT MAX(e.recorded_at) FROM custody_events e WHERE e.item_id = i.id AND e.type = 'verified'),
		i.received_at)`

// due lists up to limit received items last checked before `before`,
// oldest check first.
func (c *Content) due(ctx context.Context, before time.Time, limit int) ([]Item, error) {
	var rows []itemRow
	err := c.db.WithContext(ctx).Raw(`SELECT i.* FROM evidence_items i
		WHERE i.content_status = 'received' AND `+notDisposed+` AND `+lastCheck+` < ?
		ORDER BY `+lastCheck+`, i.id LIMIT ?`, before.UTC(), limit).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("evidence: items due for verification: %w", err)
	}
	out := make([]Item, len(rows))
	for i, row := range rows {
		out[i] = row.item()
	}
	return out, nil
}

// dueCounts counts, for each time in before, the received items last
// checked before it, in one pass.
func (c *Content) dueCounts(ctx context.Context, before []time.Time) ([]int64, error) {
	sql, args := "SELECT ", []any{}
	for i, b := range before {
		if i > 0 {
			sql += ", "
		}
		sql += fmt.Sprintf("COALESCE(SUM(CASE WHEN t.last_check < ? THEN 1 ELSE 0 END), 0) AS c%d", i)
		args = append(args, b.UTC())
	}
	sql += " FROM (SELECT " + lastCheck + " AS last_check FROM evidence_items i WHERE i.content_status = 'received' AND " + notDisposed + ") t"
	rows, err := c.db.WithContext(ctx).Raw(sql, args...).Rows()
	if err != nil {
		return nil, fmt.Errorf("evidence: items due for verification: %w", err)
	}
	defer rows.Close()
	counts := make([]int64, len(before))
	ptrs := make([]any, len(before))
	for i := range counts {
		ptrs[i] = &counts[i]
	}
	if rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return nil, fmt.Errorf("evidence: items due for verification: %w", err)
		}
	}
	return counts, rows.Err()
}
