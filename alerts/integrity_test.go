package alerts

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/bevis-ir/bevis/internal/testenv"
)

// An integrity incident raises one alert per subject a day, to the
// webhook too; one of no case (an audit checkpoint) is an admin's alone.
func TestRaiseIntegrity_OnePerSubjectADaySentToTheWebhook(t *testing.T) {
	for _, d := range testenv.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			got := make(chan webhookPayload, 8)
			srv := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
				var p webhookPayload
				body, _ := io.ReadAll(r.Body)
				_ = json.Unmarshal(body, &p)
				got <- p
			}))
			defer srv.Close()
			e := New(d.DB, Options{Log: testenv.Discard, Webhook: WebhookOptions{URL: srv.URL}})
			defer e.Stop()
			ctx := context.Background()
			e.RaiseIntegrity(ctx, "case-1", "item-1", "agency-1", "E001: content mismatch")
			e.RaiseIntegrity(ctx, "case-1", "item-1", "", "E001: content mismatch again")
			e.RaiseIntegrity(ctx, "case-1", "item-2", "", "E002: content missing")
			e.RaiseIntegrity(ctx, "", "audit/checkpoints/42.txt", "", "foreign version of a checkpoint")

			leads, err := e.List(ctx, ListFilter{CaseIDs: []string{"case-1"}})
			if err != nil {
				t.Fatal(err)
			}
			all, err := e.List(ctx, ListFilter{AllCases: true})
			if err != nil {
				t.Fatal(err)
			}
			if len(leads) != 2 || len(all) != 3 {
				t.Fatalf("alerts: %d for the case's leads (want 2), %d for admins (want 3)", len(leads), len(all))
			}
			for _, a := range all {
				if a.Rule != RuleIntegrity || a.UserID != "" || a.Status != StatusOpen {
					t.Errorf("alert %+v", a)
				}
			}
			var notes []string
			for range 3 {
				select {
				case p := <-got:
					if p.Rule != string(RuleIntegrity) {
						t.Errorf("payload %+v", p)
					}
					notes = append(notes, p.Note)
				case <-time.After(10 * time.Second):
					t.Fatalf("deliveries so far: %q", notes)
				}
			}
			slices.Sort(notes)
			if want := []string{"E001: content mismatch", "E002: content missing", "foreign version of a checkpoint"}; !slices.Equal(notes, want) {
				t.Errorf("delivered %q, want %q", notes, want)
			}
		})
	}
}
