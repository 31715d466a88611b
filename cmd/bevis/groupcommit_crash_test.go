package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// A server killed while 16 requests open cases, so while writers share a
// group commit on SQLite (see db.GroupCommit), keeps every case it
// acknowledged, and every case it keeps is whole: with its audit entry, its
// members, its first transition. Nothing of a group that had not committed
// is kept in part.
func TestServe_KilledWhileOpeningCasesKeepsEveryAcknowledgedCaseWhole(t *testing.T) {
	env := crashEnv(t, nil)
	email, password := analyst(t, env)
	bin, binEnv := testBinary()
	p := startBevis(t, bin, binEnv, env)
	c := signIn(t, p.base, email, password)

	var mu sync.Mutex
	var acked []string
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				body := `{"title":"Health authority breach","tlp":"AMBER"}`
				resp, err := c.do(http.MethodPost, "/api/v1/cases", strings.NewReader(body), int64(len(body)),
					"Content-Type", "application/json")
				if err != nil {
					return // killed
				}
				var k struct {
					ID string `json:"id"`
				}
				err = json.NewDecoder(resp.Body).Decode(&k)
				_ = resp.Body.Close()
				if resp.StatusCode != http.StatusCreated || err != nil || k.ID == "" {
					continue // cut off by the kill, or refused: not acknowledged
				}
				mu.Lock()
				acked = append(acked, k.ID)
				mu.Unlock()
			}
		}()
	}
	deadline := time.Now().Add(time.Minute)
	for {
		mu.Lock()
		n := len(acked)
		mu.Unlock()
		if n >= 300 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d cases opened in a minute", n)
		}
		time.Sleep(5 * time.Millisecond)
	}
	p.kill()
	close(stop)
	wg.Wait()

	conn := openDatabase(t, env)
	var kept []string
	if err := conn.Raw("SELECT id FROM cases").Scan(&kept).Error; err != nil {
		t.Fatal(err)
	}
	have := make(map[string]bool, len(kept))
	for _, id := range kept {
		have[id] = true
	}
	for _, id := range acked {
		if !have[id] {
			t.Fatalf("case %s was acknowledged (201) but is not in the database after the kill", id)
		}
	}
	for what, query := range map[string]string{
		"without their audit entry": "SELECT COUNT(*) FROM cases c WHERE NOT EXISTS (SELECT 1 FROM audit_entries e" +
			" WHERE e.action = 'cases.post' AND e.resource_id = c.id)",
		"without their lead": "SELECT COUNT(*) FROM cases c WHERE NOT EXISTS (SELECT 1 FROM case_user_members m" +
			" WHERE m.case_id = c.id)",
		"without their first transition": "SELECT COUNT(*) FROM cases c WHERE NOT EXISTS (SELECT 1 FROM case_transitions s" +
			" WHERE s.case_id = c.id)",
		"audit entries of cases not kept": "SELECT COUNT(*) FROM audit_entries e WHERE e.action = 'cases.post'" +
			" AND NOT EXISTS (SELECT 1 FROM cases c WHERE c.id = e.resource_id)",
	} {
		var n int64
		if err := conn.Raw(query).Scan(&n).Error; err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("%d cases %s after the kill", n, what)
		}
	}
	t.Logf("%d cases acknowledged, %d kept", len(acked), len(kept))
}
