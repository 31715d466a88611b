package api

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// ticket asks for a download ticket of item as who and returns its URL.
func (w *world) ticket(t *testing.T, who, itemID string) downloadTicketJSON {
	t.Helper()
	resp, out := w.call(t, http.MethodPost, "/api/v1/evidence/"+itemID+"/download-tickets", w.bearer[who], "")
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("ticket for %s: %d %s", who, resp.StatusCode, out)
	}
	var tk downloadTicketJSON
	if err := json.Unmarshal([]byte(out), &tk); err != nil {
		t.Fatal(err)
	}
	return tk
}

func TestDownloadTicket_WorksOnceAsAPlainLinkAndIsAudited(t *testing.T) {
	t.Parallel()
	forEachDatabase(t, func(t *testing.T, w *world) {
		tk := w.ticket(t, "analyst", w.contentID)
		resp, body := w.call(t, http.MethodGet, tk.URL, "", "")
		if resp.StatusCode != http.StatusOK || body != fixtureContent {
			t.Fatalf("download by ticket: %d %q", resp.StatusCode, body)
		}
		if cd := resp.Header.Get("Content-Disposition"); cd == "" {
			t.Error("a ticketed download is not an attachment")
		}
		// On the record as the analyst's download, as any download.
		w.recordDownload(t, "analyst", w.contentID, int64(len(fixtureContent)), 1)
		if resp, out := w.call(t, http.MethodGet, tk.URL, "", ""); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("second use of a ticket: %d %s", resp.StatusCode, out)
		}
		w.recordDownload(t, "analyst", w.contentID, int64(len(fixtureContent)), 1)
	})
}

func TestDownloadTicket_ExpiresAfterAMinute(t *testing.T) {
	t.Parallel()
	forEachDatabase(t, func(t *testing.T, w *world) {
		tk := w.ticket(t, "analyst", w.contentID)
		w.deps.Sessions.SetClock(func() time.Time { return time.Now().UTC().Add(61 * time.Second) })
		resp, out := w.call(t, http.MethodGet, tk.URL, "", "")
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("expired ticket: %d %s", resp.StatusCode, out)
		}
		// Still unused, and still refused: expiry is not a use.
		w.deps.Sessions.SetClock(func() time.Time { return time.Now().UTC() })
		tk = w.ticket(t, "analyst", w.contentID)
		w.deps.Sessions.SetClock(func() time.Time { return time.Now().UTC().Add(50 * time.Second) })
		if resp, out := w.call(t, http.MethodGet, tk.URL, "", ""); resp.StatusCode != http.StatusOK {
			t.Fatalf("ticket within its minute: %d %s", resp.StatusCode, out)
		}
	})
}

func TestDownloadTicket_IsBoundToTheItem(t *testing.T) {
	t.Parallel()
	forEachDatabase(t, func(t *testing.T, w *world) {
		k, err := w.deps.Cases.Get(context.Background(), w.caseID)
		if err != nil {
			t.Fatal(err)
		}
		other := w.uploadContent(t, w.principal(t, "lead"), k.Reference, "Proxy logs", "proxy\n")
		tk := w.ticket(t, "analyst", w.contentID)
		resp, out := w.call(t, http.MethodGet, "/api/v1/evidence/"+other.ID+"/content?ticket="+tk.Ticket, "", "")
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("ticket for another item: %d %s", resp.StatusCode, out)
		}
		// The attempt on the wrong item did not use it up.
		if resp, _ := w.call(t, http.MethodGet, tk.URL, "", ""); resp.StatusCode != http.StatusOK {
			t.Fatalf("ticket on its own item after a wrong try: %d", resp.StatusCode)
		}
	})
}

func TestDownloadTicket_IsBoundToThePersonAsTheyStandWhenUsed(t *testing.T) {
	t.Parallel()
	forEachDatabase(t, func(t *testing.T, w *world) {
		ctx := context.Background()
		// Cut off from the case between issue and use: the download is refused.
		tk := w.ticket(t, "analyst", w.contentID)
		if _, err := w.deps.Membership.Exclude(ctx, w.principal(t, "lead"), w.caseID, w.user["analyst"].ID, "suspected insider"); err != nil {
			t.Fatal(err)
		}
		if resp, out := w.call(t, http.MethodGet, tk.URL, "", ""); resp.StatusCode != http.StatusNotFound {
			t.Fatalf("excluded person's ticket: %d %s", resp.StatusCode, out)
		}
		w.recordDownload(t, "analyst", w.contentID, int64(len(fixtureContent)), 0)

		// Signed out between issue and use: the ticket ends with the session.
		tk = w.ticket(t, "investigator", w.contentID)
		if resp, _ := w.call(t, http.MethodPost, "/api/v1/auth/logout", w.bearer["investigator"], ""); resp.StatusCode != http.StatusNoContent {
			t.Fatalf("logout: %d", resp.StatusCode)
		}
		if resp, out := w.call(t, http.MethodGet, tk.URL, "", ""); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("signed-out person's ticket: %d %s", resp.StatusCode, out)
		}

		// Who may not download gets no ticket.
		if resp, _ := w.call(t, http.MethodPost, "/api/v1/evidence/"+w.contentID+"/download-tickets", w.bearer["observer"], ""); resp.StatusCode != http.StatusForbidden {
			t.Fatalf("observer's ticket: %d", resp.StatusCode)
		}
		if resp, _ := w.call(t, http.MethodPost, "/api/v1/evidence/"+w.contentID+"/download-tickets", w.bearer["other_agency"], ""); resp.StatusCode != http.StatusNotFound {
			t.Fatalf("outsider's ticket: %d", resp.StatusCode)
		}
	})
}

func TestDownloadTicket_IsForSignedInPeopleNotAPITokens(t *testing.T) {
	t.Parallel()
	forEachDatabase(t, func(t *testing.T, w *world) {
		resp, out := w.call(t, http.MethodPost, "/api/v1/tokens", w.bearer["analyst"],
			`{"name":"downloads","scopes":["evidence.download"],"expires_at":"`+tomorrow()+`"}`)
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("token: %d %s", resp.StatusCode, out)
		}
		var tok struct {
			Token string `json:"token"`
		}
		if err := json.Unmarshal([]byte(out), &tok); err != nil || tok.Token == "" {
			t.Fatalf("token: %v %s", err, out)
		}
		resp, out = w.call(t, http.MethodPost, "/api/v1/evidence/"+w.contentID+"/download-tickets", tok.Token, "")
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(out, "session_required") {
			t.Fatalf("ticket for an API token: %d %s", resp.StatusCode, out)
		}
		// The token downloads with its own header instead.
		if resp, _ := w.call(t, http.MethodGet, "/api/v1/evidence/"+w.contentID+"/content", tok.Token, ""); resp.StatusCode != http.StatusOK {
			t.Fatalf("download by API token: %d", resp.StatusCode)
		}
	})
}
