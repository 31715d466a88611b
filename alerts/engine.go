package alerts

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"gorm.io/gorm"

	"github.com/bevis-ir/bevis/audit"
)

// Options are the thresholds of the rules. A zero threshold turns its rule
// off.
type Options struct {
	Window      time.Duration // of the evidence rules and the hard limit (default 1h)
	MaxBytes    int64         // evidence bytes downloaded per Window
	MaxItems    int64         // distinct evidence items downloaded per Window
	MaxCases    int64         // cases downloaded from per Window
	ReadsWindow time.Duration // of the bulk-read rule (default 10m)
	MaxReads    int64         // reads of case data per ReadsWindow

	// Unusual hours: a read of case data at an hour of the day (UTC) that
	// holds less than RareHourShare of the user's last HourHistory entries
	// on cases, once they have at least MinHistory. 0 turns the rule off.
	MinHistory    int     // default 20 when RareHourShare is set
	RareHourShare float64 // like 0.02
	HourHistory   int     // default 2000

	HardLimit   int64         // bytes per Window past which downloads are refused (0: off)
	ApprovalTTL time.Duration // how long a lead's approval lifts the hard limit (default 8h)

	Webhook WebhookOptions
	Log     *slog.Logger
}

// queueSize bounds the batches waiting for evaluation: past it Observe
// drops a batch (and logs it) rather than hold the sequencer.
const queueSize = 256

// Engine evaluates the rules over sealed audit entries and enforces the
// hard limit.
type Engine struct {
	*Store
	db      *gorm.DB
	opts    Options
	log     *slog.Logger
	queue   chan []audit.Recorded
	done    chan struct{}
	hook    *webhook
	dropped atomic.Int64
	stop    sync.Once
}

// New starts an engine over the audit log in db. Stop it when done.
func New(db *gorm.DB, opts Options) *Engine {
	if opts.Window <= 0 {
		opts.Window = time.Hour
	}
	if opts.ReadsWindow <= 0 {
		opts.ReadsWindow = 10 * time.Minute
	}
	if opts.MinHistory <= 0 {
		opts.MinHistory = 20
	}
	if opts.HourHistory <= 0 {
		opts.HourHistory = 2000
	}
	if opts.ApprovalTTL <= 0 {
		opts.ApprovalTTL = 8 * time.Hour
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	e := &Engine{Store: NewStore(db), db: db, opts: opts, log: opts.Log,
		queue: make(chan []audit.Recorded, queueSize), done: make(chan struct{})}
	e.hook = startWebhook(opts.Webhook, opts.Log)
	go e.run()
	return e
}

// ApprovalTTL is how long an approval lifts the hard limit.
func (e *Engine) ApprovalTTL() time.Duration { return e.opts.ApprovalTTL }

// Observe takes a batch of sealed entries for evaluation; it is meant as
// audit.SequencerOptions.OnSealed and never blocks. When the queue is full
// the batch is dropped and logged: windows are recomputed from the audit
// tables, so the actor's next entries still count what it held.
func (e *Engine) Observe(batch []audit.Recorded) {
	if len(batch) == 0 {
		return
	}
	select {
	case e.queue <- batch:
	default:
		n := e.dropped.Add(1)
		e.log.Warn("alert evaluation queue full; batch dropped", "entries", len(batch), "dropped_batches", n)
	}
}

// Stop evaluates what is queued, then stops, leaving the webhook a few
// seconds to deliver what it holds. Observe must not be called after.
func (e *Engine) Stop() {
	e.stop.Do(func() {
		close(e.queue)
		<-e.done
		e.hook.stop()
	})
}

func (e *Engine) run() {
	defer close(e.done)
	for batch := range e.queue {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		if err := e.evaluate(ctx, batch); err != nil {
			e.log.Error("alert evaluation failed", "err", err)
		}
		cancel()
	}
}

// activity is one user's entries on case data in a batch.
type activity struct {
	agencyID, tokenID string
	last              time.Time
	reads             []audit.Recorded
	downloads         bool
}

// evaluate runs the rules for every user with reads of case data in batch.
func (e *Engine) evaluate(ctx context.Context, batch []audit.Recorded) error {
	users := map[string]*activity{}
	var order []string
	for _, r := range batch {
		if r.Actor.UserID == "" || r.CaseID == "" || r.Outcome != audit.Success || !isRead(r.Action) {
			continue
		}
		a := users[r.Actor.UserID]
		if a == nil {
			a = &activity{}
			users[r.Actor.UserID] = a
			order = append(order, r.Actor.UserID)
		}
		a.agencyID, a.tokenID = r.Actor.AgencyID, r.Actor.TokenID
		a.last = later(a.last, r.At)
		a.reads = append(a.reads, r)
		a.downloads = a.downloads || r.Action == actionDownload
	}
	for _, user := range order {
		if err := e.evaluateUser(ctx, user, users[user]); err != nil {
			return err
		}
	}
	return nil
}

func (e *Engine) evaluateUser(ctx context.Context, user string, a *activity) error {
	o := e.opts
	base := Alert{UserID: user, AgencyID: a.agencyID, TokenID: a.tokenID}
	if a.downloads && (o.MaxBytes > 0 || o.MaxItems > 0 || o.MaxCases > 0) {
		from := a.last.Add(-o.Window)
		w, err := e.window(ctx, user, from, a.last)
		if err != nil {
			return err
		}
		for _, check := range []struct {
			rule      Rule
			got, over int64
		}{{RuleEvidenceBytes, w.bytes, o.MaxBytes}, {RuleEvidenceItems, w.items, o.MaxItems}, {RuleManyCases, w.cases, o.MaxCases}} {
			if check.over <= 0 || check.got <= check.over {
				continue
			}
			al := base
			al.Rule, al.WindowStart, al.WindowEnd, al.Threshold = check.rule, from, a.last, check.over
			al.Bytes, al.Items, al.Cases, al.Reads, al.CaseIDs = w.bytes, w.items, w.cases, w.reads, w.downloadCases
			if err := e.raise(ctx, al, "", o.Window); err != nil {
				return err
			}
		}
	}
	if o.MaxReads > 0 {
		from := a.last.Add(-o.ReadsWindow)
		w, err := e.window(ctx, user, from, a.last)
		if err != nil {
			return err
		}
		if w.reads > o.MaxReads {
			al := base
			al.Rule, al.WindowStart, al.WindowEnd, al.Threshold = RuleBulkReads, from, a.last, o.MaxReads
			al.Bytes, al.Items, al.Cases, al.Reads, al.CaseIDs = w.bytes, w.items, w.cases, w.reads, w.readCases
			if err := e.raise(ctx, al, "", o.ReadsWindow); err != nil {
				return err
			}
		}
	}
	if o.RareHourShare > 0 {
		return e.checkHours(ctx, base, a)
	}
	return nil
}

// raise stores an alert and, when it is new, sends it to the webhook.
func (e *Engine) raise(ctx context.Context, a Alert, scope string, window time.Duration) error {
	stored, err := e.Store.raise(ctx, &a, scope, window)
	if err != nil || !stored {
		return err
	}
	e.log.Warn("exfiltration alert", "alert_id", a.ID, "rule", string(a.Rule), "user_id", a.UserID,
		"agency_id", a.AgencyID, "cases", a.CaseIDs)
	e.hook.send(a)
	return nil
}

// figures are one user's reads of case data within a window.
type figures struct {
	bytes, items, cases, reads int64
	downloadCases, readCases   []string
}

const actionDownload = "evidence.download"

// readSuffixes name the actions that read case data, like case.read,
// evidence.read, evidence.download or audit.export.
var readSuffixes = []string{".get", ".head", ".read", ".download", ".export", ".list"}

func isRead(action string) bool {
	for _, s := range readSuffixes {
		if len(action) > len(s) && action[len(action)-len(s):] == s {
			return true
		}
	}
	return false
}

// window sums the user's successful reads of case data in (from, to], per
// case, from the sealed chain (indexed by user) joined to its entries.
func (e *Engine) window(ctx context.Context, user string, from, to time.Time) (figures, error) {
	var rows []struct {
		CaseID    string
		Bytes     int64
		Items     int64
		Downloads int64
		Reads     int64
	}
	err := e.db.WithContext(ctx).Raw(`
		SELECT e.case_id AS case_id,
		       COALESCE(SUM(CASE WHEN e.action = ? AND e.range_length > 0 THEN e.range_length ELSE 0 END), 0) AS bytes,
		       COUNT(DISTINCT CASE WHEN e.action = ? THEN e.resource_id END) AS items,
		       SUM(CASE WHEN e.action = ? THEN 1 ELSE 0 END) AS downloads,
		       COUNT(*) AS reads
		FROM audit_chain c JOIN audit_entries e ON e.id = c.entry_id
		WHERE c.user_id = ? AND c.at > ? AND c.at <= ? AND e.case_id <> '' AND e.outcome = ?
		  AND (e.action LIKE ? OR e.action LIKE ? OR e.action LIKE ? OR e.action LIKE ?)
		GROUP BY e.case_id`,
		actionDownload, actionDownload, actionDownload, user, from.UTC(), to.UTC(), string(audit.Success),
		"%"+readSuffixes[0], "%"+readSuffixes[1], "%"+readSuffixes[2], "%"+readSuffixes[3]).Scan(&rows).Error
	if err != nil {
		return figures{}, fmt.Errorf("alerts: window: %w", err)
	}
	var f figures
	for _, r := range rows {
		f.bytes += r.Bytes
		f.items += r.Items // an item belongs to one case
		f.reads += r.Reads
		f.readCases = append(f.readCases, r.CaseID)
		if r.Downloads > 0 {
			f.cases++
			f.downloadCases = append(f.downloadCases, r.CaseID)
		}
	}
	return f, nil
}

// checkHours raises an unusual-hour alert for each hour (UTC) of the
// batch's reads that is rare in the user's history of entries on cases
// sealed before them. The histogram learns each user's own working hours,
// whatever their time zone.
func (e *Engine) checkHours(ctx context.Context, base Alert, a *activity) error {
	byHour := map[int][]audit.Recorded{}
	var hours []int
	for _, r := range a.reads {
		h := r.At.UTC().Hour()
		if byHour[h] == nil {
			hours = append(hours, h)
		}
		byHour[h] = append(byHour[h], r)
	}
	for _, hour := range hours {
		reads := byHour[hour]
		var past []time.Time
		err := e.db.WithContext(ctx).Raw(`SELECT at FROM audit_chain WHERE user_id = ? AND seq < ? AND case_id <> ''
			ORDER BY seq DESC LIMIT ?`, base.UserID, reads[0].Seq, e.opts.HourHistory).Scan(&past).Error
		if err != nil {
			return fmt.Errorf("alerts: hour history: %w", err)
		}
		if len(past) < e.opts.MinHistory {
			continue
		}
		seen := 0
		for _, t := range past {
			if t.UTC().Hour() == hour {
				seen++
			}
		}
		if float64(seen) >= e.opts.RareHourShare*float64(len(past)) {
			continue
		}
		start := reads[0].At.UTC().Truncate(time.Hour)
		al := base
		al.Rule, al.WindowStart, al.WindowEnd = RuleUnusualHour, start, start.Add(time.Hour)
		al.Reads = int64(len(reads))
		al.Note = fmt.Sprintf("%02d:00-%02d:59 UTC holds %d of the user's last %d entries on cases",
			hour, hour, seen, len(past))
		for _, r := range reads {
			al.CaseIDs = append(al.CaseIDs, r.CaseID)
		}
		if err := e.raise(ctx, al, "", time.Hour); err != nil {
			return err
		}
	}
	return nil
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
