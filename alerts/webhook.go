package alerts

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"
)

// WebhookOptions configure where new alerts are sent. An empty URL sends
// nothing.
type WebhookOptions struct {
	URL    string
	Secret string // HMAC-SHA256 key of the signature header; empty: unsigned
	// Timeout of one attempt (default 10s); Attempts in all (default 5),
	// waiting Backoff (default 1s), doubling, between them.
	Timeout  time.Duration
	Attempts int
	Backoff  time.Duration
}

// Headers of a delivery. The signature is "sha256=" and the hex HMAC-SHA256,
// keyed with the webhook secret, of the timestamp, a dot and the body, so a
// receiver can refuse both forgeries and replays of old deliveries.
const (
	HeaderSignature = "X-Bevis-Signature"
	HeaderTimestamp = "X-Bevis-Timestamp"
)

// Sign returns the signature header value of body sent at timestamp (Unix
// seconds, as in HeaderTimestamp).
func Sign(secret string, timestamp string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(timestamp))
	mac.Write([]byte("."))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// webhookPayload is the JSON body of a delivery: the alert as stored.
type webhookPayload struct {
	Event       string    `json:"event"` // "alert.raised"
	ID          string    `json:"id"`
	Rule        string    `json:"rule"`
	UserID      string    `json:"user_id"`
	AgencyID    string    `json:"agency_id,omitempty"`
	TokenID     string    `json:"token_id,omitempty"`
	CaseIDs     []string  `json:"case_ids"`
	WindowStart time.Time `json:"window_start"`
	WindowEnd   time.Time `json:"window_end"`
	Bytes       int64     `json:"bytes"`
	Items       int64     `json:"items"`
	Cases       int64     `json:"cases"`
	Reads       int64     `json:"reads"`
	Threshold   int64     `json:"threshold"`
	Note        string    `json:"note,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
}

// webhookQueue bounds the deliveries waiting; past it new alerts are
// stored and logged but not sent.
const webhookQueue = 1024

// webhook delivers alerts on a goroutine of its own, so a slow or failing
// receiver never holds evaluation, let alone the sequencer.
type webhook struct {
	opts   WebhookOptions
	log    *slog.Logger
	client *http.Client
	queue  chan webhookPayload
	done   chan struct{}
	ctx    context.Context
	cancel context.CancelFunc
}

func startWebhook(opts WebhookOptions, log *slog.Logger) *webhook {
	if opts.URL == "" {
		return nil
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	if opts.Attempts <= 0 {
		opts.Attempts = 5
	}
	if opts.Backoff <= 0 {
		opts.Backoff = time.Second
	}
	ctx, cancel := context.WithCancel(context.Background())
	w := &webhook{opts: opts, log: log, client: &http.Client{Timeout: opts.Timeout},
		queue: make(chan webhookPayload, webhookQueue), done: make(chan struct{}), ctx: ctx, cancel: cancel}
	go w.run()
	return w
}

// stopGrace is how long stop lets queued deliveries go on.
const stopGrace = 5 * time.Second

func (w *webhook) stop() {
	if w == nil {
		return
	}
	close(w.queue)
	select {
	case <-w.done:
	case <-time.After(stopGrace):
		w.cancel()
		<-w.done
	}
	w.cancel()
}

func (w *webhook) send(a Alert) {
	if w == nil {
		return
	}
	p := webhookPayload{Event: "alert.raised", ID: a.ID, Rule: string(a.Rule), UserID: a.UserID, AgencyID: a.AgencyID,
		TokenID: a.TokenID, CaseIDs: a.CaseIDs, WindowStart: a.WindowStart, WindowEnd: a.WindowEnd, Bytes: a.Bytes,
		Items: a.Items, Cases: a.Cases, Reads: a.Reads, Threshold: a.Threshold, Note: a.Note, CreatedAt: a.CreatedAt}
	select {
	case w.queue <- p:
	default:
		w.log.Error("alert webhook queue full; alert not sent (it is stored)", "alert_id", a.ID)
	}
}

func (w *webhook) run() {
	defer close(w.done)
	for p := range w.queue {
		if err := w.deliver(p); err != nil {
			w.log.Error("alert webhook delivery failed", "alert_id", p.ID, "err", err)
		}
	}
}

// deliver posts p, retrying with backoff on network errors, 5xx, 408 and
// 429; another 4xx is the receiver refusing it and is not retried.
func (w *webhook) deliver(p webhookPayload) error {
	body, err := json.Marshal(p)
	if err != nil {
		return err
	}
	wait := w.opts.Backoff
	for attempt := 1; ; attempt++ {
		retry, err := w.post(body)
		if err == nil {
			return nil
		}
		if !retry || attempt == w.opts.Attempts {
			return fmt.Errorf("after %d attempts: %w", attempt, err)
		}
		select {
		case <-w.ctx.Done():
			return fmt.Errorf("stopped after %d attempts: %w", attempt, err)
		case <-time.After(wait):
		}
		wait *= 2
	}
}

func (w *webhook) post(body []byte) (retry bool, err error) {
	req, err := http.NewRequestWithContext(w.ctx, http.MethodPost, w.opts.URL, bytes.NewReader(body))
	if err != nil {
		return false, err
	}
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "bevis-alerts")
	req.Header.Set(HeaderTimestamp, ts)
	if w.opts.Secret != "" {
		req.Header.Set(HeaderSignature, Sign(w.opts.Secret, ts, body))
	}
	resp, err := w.client.Do(req)
	if err != nil {
		return true, err
	}
	_ = resp.Body.Close()
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return false, nil
	case resp.StatusCode >= 500, resp.StatusCode == http.StatusRequestTimeout, resp.StatusCode == http.StatusTooManyRequests:
		return true, fmt.Errorf("receiver answered %d", resp.StatusCode)
	}
	return false, fmt.Errorf("receiver refused the delivery with %d", resp.StatusCode)
}
