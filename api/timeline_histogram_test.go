package api

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// histogramLanes lists the lanes of a histogram as name=events.
func histogramLanes(t *testing.T, body string) []string {
	t.Helper()
	var out []string
	for _, l := range decodeInto[histogramJSON](t, body).Lanes {
		out = append(out, l.Name+"="+strconv.FormatInt(l.Events, 10))
	}
	return out
}

// TestTimelineAPI_HistogramFollowsMembership: on an AMBER case, an event
// marked AMBER+STRICT or RED is counted, and its host named as a lane, only
// for those who may read the event, as the listing shows it.
func TestTimelineAPI_HistogramFollowsMembership(t *testing.T) {
	t.Parallel()
	forEachDatabase(t, func(t *testing.T, w *world) {
		k, _ := markedTimeline(t, w, func(tlp string) string {
			host := map[string]string{"AMBER": "hr-fs01", "AMBER+STRICT": "insider-ws", "RED": "nato-gw"}[tlp]
			return `"source": {"host": "` + host + `"}, "tactics": ["TA0001"]`
		})
		sees := map[string][]string{
			"lead":         {"hr-fs01=1", "insider-ws=1", "nato-gw=1"},
			"analyst":      {"hr-fs01=1", "insider-ws=1", "nato-gw=1"},
			"investigator": {"hr-fs01=1"},
			"observer":     {"hr-fs01=1"},
			"outsider":     {"hr-fs01=1", "nato-gw=1"},
			"admin":        nil,
		}
		checkSeenBy(t, w, w.timeline(k)+"/histogram", sees, histogramLanes)
	})
}

// TestTimelineAPI_HistogramAnswersTheSpanAskedForAndRefusesTheRest: the
// span is whole hours, the cells name their tactic (null for none), and a
// malformed or unknown parameter is a 400 problem.
func TestTimelineAPI_HistogramAnswersTheSpanAskedForAndRefusesTheRest(t *testing.T) {
	t.Parallel()
	forEachDatabase(t, func(t *testing.T, w *world) {
		for _, ev := range []string{
			`{"occurred_at": "2026-01-14T08:20:00Z", "description": "exfiltration", "source": {"system": "zeek"}, "tactics": ["TA0010"]}`,
			`{"occurred_at": "2026-01-14T10:40:00+01:00", "description": "logon", "source": {"system": "winevtx"}}`,
		} {
			if resp, body := w.call(t, http.MethodPost, w.timeline(w.caseID), w.bearer["lead"], ev); resp.StatusCode != http.StatusCreated {
				t.Fatalf("add: %d %s", resp.StatusCode, body)
			}
		}
		resp, body := w.call(t, http.MethodGet, w.timeline(w.caseID)+"/histogram?lane=system&buckets=10"+
			"&from=2026-01-14T08:30:00Z&to=2026-01-14T10:00:00Z", w.bearer["observer"], "")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
		got := decodeInto[histogramJSON](t, body)
		if got.From == nil || *got.From != "2026-01-14T08:00:00Z" || *got.To != "2026-01-14T10:00:00Z" ||
			got.BucketSeconds != 3600 || got.Buckets != 2 || got.Events != 2 || got.Lane != "system" {
			t.Errorf("the span: %s", body)
		}
		var cells []string
		for _, c := range got.Cells {
			tactic := "null"
			if c.Tactic != nil {
				tactic = *c.Tactic
			}
			cells = append(cells, strconv.Itoa(c.Bucket)+"/"+got.Lanes[c.Lane].Name+"/"+tactic)
		}
		if strings.Join(cells, " ") != "0/zeek/TA0010 1/winevtx/null" {
			t.Errorf("cells %v: %s", cells, body)
		}
		for _, query := range []string{"?technique=T1078", "?buckets=0", "?buckets=1001", "?lane=actor", "?from=yesterday",
			"?from=2026-01-14T10:00:00Z&to=2026-01-14T09:00:00Z"} {
			resp, body := w.call(t, http.MethodGet, w.timeline(w.caseID)+"/histogram"+query, w.bearer["observer"], "")
			if resp.StatusCode != http.StatusBadRequest || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/problem+json") {
				t.Errorf("%s: %d %s", query, resp.StatusCode, body)
			}
		}
	})
}
