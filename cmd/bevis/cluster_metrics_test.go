package main

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/bevis-ir/bevis/internal/testenv"
)

// TestServe_MetricsShowLeadersLeasesAndTheAuditBacklog, and the pool of
// BEVIS_DATABASE_CONNECTIONS, every one of them opened before the node
// was ready (db.Warm).
func TestServe_MetricsShowLeadersLeasesAndTheAuditBacklog(t *testing.T) {
	env := map[string]string{"BEVIS_DATA_DIR": t.TempDir(), "BEVIS_DATABASE_URL": testenv.PostgresURL(t),
		"BEVIS_LOG_LEVEL": "warn", "BEVIS_DATABASE_CONNECTIONS": "20"}
	s := startServe(t, env)
	s.waitReady(t, 30*time.Second)
	want := []*regexp.Regexp{
		regexp.MustCompile(`(?m)^bevis_node_info\{node="[^"]+"\} 1$`),
		regexp.MustCompile(`(?m)^bevis_leader\{job="audit_sequencer"\} 1$`),
		regexp.MustCompile(`(?m)^bevis_leader\{job="evidence_verification"\} 1$`),
		regexp.MustCompile(`(?m)^bevis_leader\{job="expiry"\} 1$`),
		regexp.MustCompile(`(?m)^bevis_lease_holder\{holder="[^"]+",lease="evidence_verification"\} \d`),
		regexp.MustCompile(`(?m)^bevis_lease_holder\{holder="[^"]+",lease="expiry"\} \d`),
		regexp.MustCompile(`(?m)^bevis_audit_unsealed_entries \d+$`),
		regexp.MustCompile(`(?m)^bevis_audit_oldest_unsealed_age_seconds \d`),
		regexp.MustCompile(`(?m)^bevis_db_write_queue_depth \d+$`),
		regexp.MustCompile(`(?m)^bevis_db_write_queue_wait_seconds_count [1-9]\d*$`),
		regexp.MustCompile(`(?m)^go_sql_max_open_connections\{db_name="bevis"\} 20$`),
		regexp.MustCompile(`(?m)^go_sql_open_connections\{db_name="bevis"\} 20$`),
	}
	deadline := time.Now().Add(15 * time.Second) // the sequencer leads within its first round
	for {
		_, body := get(t, s.base+"/metrics")
		var missing []string
		for _, re := range want {
			if !re.MatchString(body) {
				missing = append(missing, re.String())
			}
		}
		if len(missing) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/metrics lacks %s:\n%s", strings.Join(missing, ", "), grepMetrics(body))
		}
		time.Sleep(200 * time.Millisecond)
	}
	s.stop(t)
}

// grepMetrics keeps Bevis's own series, for failure messages.
func grepMetrics(body string) string {
	var out []string
	for _, line := range strings.Split(body, "\n") {
		if strings.HasPrefix(line, "bevis_") && !strings.HasPrefix(line, "bevis_http") {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}
