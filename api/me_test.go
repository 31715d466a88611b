package api

import (
	"net/http"
	"testing"
)

// A person sets the time zone they read times in; it is kept on them,
// checked against the IANA names, changed only by them (not by a token of
// theirs), and recorded on the audit log.
func TestPatchMe_SetsTheTimeZoneOfThePerson(t *testing.T) {
	t.Parallel()
	forEachDatabase(t, func(t *testing.T, w *world) {
		resp, body := w.call(t, http.MethodPatch, "/api/v1/me", w.bearer["analyst"], `{"time_zone":"Europe/Oslo"}`)
		if resp.StatusCode != 200 {
			t.Fatalf("set: %d %s", resp.StatusCode, body)
		}
		var me meJSON
		mustDecode(t, body, &me)
		if me.User.TimeZone != "Europe/Oslo" || me.User.ID != w.user["analyst"].ID {
			t.Fatalf("answer: %s", body)
		}
		_, body = w.call(t, http.MethodGet, "/api/v1/me", w.bearer["analyst"], "")
		mustDecode(t, body, &me)
		if me.User.TimeZone != "Europe/Oslo" {
			t.Errorf("read back: %q", me.User.TimeZone)
		}
		// Someone else's zone is not touched.
		_, body = w.call(t, http.MethodGet, "/api/v1/me", w.bearer["lead"], "")
		mustDecode(t, body, &me)
		if me.User.TimeZone != "" {
			t.Errorf("the lead's zone: %q", me.User.TimeZone)
		}

		for _, bad := range []string{`{"time_zone":"Mars/Olympus_Mons"}`, `{"time_zone":"Local"}`, `{"time_zone":"../../etc/passwd"}`,
			`{"time_zone":"/usr/share/zoneinfo/UTC"}`, `{"time_zone":"Europe/Oslo","name":"Mallory"}`, `{"time_zone":7}`} {
			resp, body := w.call(t, http.MethodPatch, "/api/v1/me", w.bearer["analyst"], bad)
			if resp.StatusCode != 400 {
				t.Errorf("%s: %d %s", bad, resp.StatusCode, body)
			}
		}
		var zone string
		if err := w.deps.DB.Raw(`SELECT time_zone FROM users WHERE id = ?`, w.user["analyst"].ID).Scan(&zone).Error; err != nil || zone != "Europe/Oslo" {
			t.Errorf("after refused changes the zone is %q (%v)", zone, err)
		}

		// Back to the browser's zone.
		if resp, body := w.call(t, http.MethodPatch, "/api/v1/me", w.bearer["analyst"], `{"time_zone":""}`); resp.StatusCode != 200 {
			t.Fatalf("clear: %d %s", resp.StatusCode, body)
		}

		tok := newAPIToken(t, w, "analyst", `{"name":"script","scopes":["self.read"],"expires_at":"`+tomorrow()+`"}`)
		if resp, body := w.call(t, http.MethodPatch, "/api/v1/me", tok.Token, `{"time_zone":"UTC"}`); resp.StatusCode != 403 {
			t.Errorf("a token changed its owner's settings: %d %s", resp.StatusCode, body)
		}

		var changes int
		if err := w.deps.DB.Raw(`SELECT COUNT(*) FROM audit_entries WHERE action = 'users.time_zone' AND resource_id = ?`,
			w.user["analyst"].ID).Scan(&changes).Error; err != nil || changes != 2 {
			t.Errorf("%d time zone changes on the audit log, want 2 (%v)", changes, err)
		}
	})
}
