package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/bevis-ir/bevis/access"
	"github.com/bevis-ir/bevis/audit"
	"github.com/bevis-ir/bevis/evidence"
	"github.com/bevis-ir/bevis/internal/testenv"
)

// The cluster test runs three `bevis serve` processes on one PostgreSQL
// database and one S3 bucket, each reaching the database through a proxy
// of its own that the test can cut, as an operator would run them behind
// a load balancer: writes spread over the nodes while the audit leader is
// killed and a node's database connections are cut, a tus upload resumed
// on another node, scheduled re-verification counted per item, and a node
// with the wrong keys refused.
const clusterVerifyInterval = 4 * time.Second

type clusterNode struct {
	env   map[string]string
	proxy *testenv.Proxy
	mu    sync.Mutex
	proc  *bevisProcess
}

func (n *clusterNode) base() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.proc.base
}

// clusterStats counts what the writers saw.
type clusterStats struct {
	mu        sync.Mutex
	status    map[int]int
	transport int      // requests a node did not answer (killed)
	created   []string // cases answered 2xx
	inDoubt   int      // creates given up on: still running when retried
}

func (s *clusterStats) add(status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.status[status]++
}

func TestCluster_ThreeNodesOnePostgresOneBucket(t *testing.T) {
	start := time.Now()
	srv := testenv.S3(t)
	dbURL := testenv.PostgresURL(t)
	keys := sharedKeyFiles(t)
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	env := func(proxy *testenv.Proxy) map[string]string {
		nu := *u
		nu.Host = proxy.Addr()
		e := map[string]string{
			"BEVIS_DATA_DIR": t.TempDir(), "BEVIS_DATABASE_URL": nu.String(),
			"BEVIS_S3_ENDPOINT": srv.Endpoint, "BEVIS_S3_BUCKET": srv.Bucket, "BEVIS_S3_ACCESS_KEY": srv.AccessKey,
			"BEVIS_S3_SECRET_KEY": srv.SecretKey, "BEVIS_S3_REGION": srv.Region, "BEVIS_S3_TLS": "false",
			"BEVIS_S3_PART_SIZE": strconv.Itoa(crashPartSize), "BEVIS_UPLOAD_LEASE": crashLease.String(),
			"BEVIS_EVIDENCE_RETENTION": "1h", "BEVIS_VERIFY_INTERVAL": clusterVerifyInterval.String(),
			"BEVIS_LOG_LEVEL": "warn", "BEVIS_STARTUP_TIMEOUT": "20s",
			// Four nodes of 32 would take more than the test server's
			// max_connections (100), as the README's sizing says.
			"BEVIS_DATABASE_CONNECTIONS": "8",
			// The test MinIO's root keys may do anything; the lock probe has tests of its own.
			"BEVIS_ALLOW_WEAK_STORE": "true",
		}
		for k, v := range keys {
			e[k] = v
		}
		return e
	}
	email, password := analyst(t, map[string]string{"BEVIS_DATABASE_URL": dbURL})
	bin, binEnv := testBinary()

	// Evidence received through a first node, which then goes away, so
	// that it is due for re-verification when the three start together.
	setupProxy := testenv.NewProxy(t, u.Host)
	setup := startBevis(t, bin, binEnv, env(setupProxy))
	c := signIn(t, setup.base, email, password)
	caseID := c.createCase()
	var items []string
	for i := range 4 {
		id := c.registerItem(caseID)
		data, _ := io.ReadAll(newPatternReader(uint64(10+i), 3<<20))
		resp, err := c.do(http.MethodPut, "/api/v1/evidence/"+id+"/content", bytes.NewReader(data), int64(len(data)))
		if err != nil || resp.StatusCode != http.StatusCreated {
			t.Fatalf("PUT content: %v %v", resp, err)
		}
		_ = resp.Body.Close()
		items = append(items, id)
	}
	setup.kill()
	time.Sleep(clusterVerifyInterval)

	nodes := make([]*clusterNode, 3)
	for i := range nodes {
		proxy := testenv.NewProxy(t, u.Host)
		nodes[i] = &clusterNode{env: env(proxy), proxy: proxy}
		nodes[i].proc = launchBevis(t, bin, binEnv, nodes[i].env)
	}
	for _, n := range nodes {
		n.proc.waitReady(30 * time.Second)
	}
	t.Logf("three nodes ready %.1fs into the test", time.Since(start).Seconds())

	// Writers spread creates over the nodes for the rest of the test.
	stats := &clusterStats{status: map[int]int{}}
	writeCtx, stopWriters := context.WithCancel(context.Background())
	var writers sync.WaitGroup
	for w := range 4 {
		writers.Go(func() { writeCases(writeCtx, c.token, nodes, w, stats) })
	}

	// kill -9 of the audit leader; another node takes the lead.
	leader := -1
	deadline := time.Now().Add(15 * time.Second)
	for leader < 0 {
		for i, n := range nodes {
			if metric(t, n.base(), `bevis_leader{job="audit_sequencer"}`) == 1 {
				leader = i
			}
		}
		if leader < 0 && time.Now().After(deadline) {
			t.Fatal("no node leads the audit sequencer")
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(time.Second) // writes under way
	nodes[leader].proc.kill()
	killed := time.Now()
	var failover time.Duration
	for failover == 0 {
		for i, n := range nodes {
			if i != leader && metric(t, n.base(), `bevis_leader{job="audit_sequencer"}`) == 1 {
				failover = time.Since(killed)
			}
		}
		if failover == 0 && time.Since(killed) > 20*time.Second {
			t.Fatal("no node took over the audit sequencer within 20 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	restarted := launchBevis(t, bin, binEnv, nodes[leader].env)
	restarted.waitReady(30 * time.Second)
	nodes[leader].mu.Lock()
	nodes[leader].proc = restarted
	nodes[leader].mu.Unlock()

	// A tus upload begun on one node and finished on another.
	c.base = nodes[(leader+1)%3].base()
	tusItem := c.registerItem(caseID)
	resumeOnAnotherNode(t, c, nodes, tusItem)
	items = append(items, tusItem)

	// One node's database connections cut for two seconds: its callers
	// get 503s, never 401 or 500, and it serves again afterwards.
	cut := nodes[(leader+1)%3]
	cut.proxy.Down()
	time.Sleep(2 * time.Second)
	cut.proxy.Up()
	time.Sleep(2 * time.Second)
	stopWriters()
	writers.Wait()

	// Verification rounds go on through all of it; give them one more.
	time.Sleep(clusterVerifyInterval)

	conn := openDatabase(t, map[string]string{"BEVIS_DATABASE_URL": dbURL})
	checkOneVerificationPerInterval(t, conn, items)

	// Nothing answered 2xx was lost, and the audit chain seals it all.
	deadline = time.Now().Add(20 * time.Second)
	for metric(t, nodes[0].base(), "bevis_audit_unsealed_entries") != 0 {
		if time.Now().After(deadline) {
			t.Fatal("audit entries still unsealed 20 s after the writes")
		}
		time.Sleep(200 * time.Millisecond)
	}
	var lost []string
	for _, id := range stats.created {
		var n int64
		if err := conn.Raw(`SELECT count(*) FROM cases k JOIN audit_entries e ON e.resource_id = k.id AND e.action = 'cases.post'
			JOIN audit_chain ch ON ch.entry_id = e.id WHERE k.id = ?`, id).Scan(&n).Error; err != nil {
			t.Fatal(err)
		}
		if n != 1 {
			lost = append(lost, id)
		}
	}
	if len(lost) > 0 {
		t.Errorf("%d of %d cases answered 2xx are missing or not sealed: %v", len(lost), len(stats.created), lost)
	}
	pub := filepath.Join(t.TempDir(), "audit.pub")
	if err := os.WriteFile(pub, auditPublicKey(t, keys["BEVIS_AUDIT_KEY_FILE"]), 0o600); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	if err := run(context.Background(), []string{"audit", "verify", "--database-url", dbURL, "--key", pub},
		func(string) string { return "" }, &out, io.Discard); err != nil {
		t.Errorf("audit verify after the kill: %v\n%s", err, out.String())
	}

	// A node with keys of its own is refused.
	stranger := env(testenv.NewProxy(t, u.Host))
	delete(stranger, "BEVIS_TOKEN_KEYS_FILE")
	if code, _, stderr := runMain(t, envList(stranger), "serve", "--listen", freeAddr(t)); code != 2 ||
		!strings.Contains(stderr, "BEVIS_TOKEN_KEYS_FILE") {
		t.Errorf("a node with its own token key: exit %d\n%s", code, stderr)
	}

	stats.mu.Lock()
	defer stats.mu.Unlock()
	t.Logf("audit leader failover %.2fs; %d creates answered 2xx; answers by status %v; %d requests to the killed node unanswered; %d creates in doubt; %.1fs in all",
		failover.Seconds(), len(stats.created), stats.status, stats.transport, stats.inDoubt, time.Since(start).Seconds())
	for status := range stats.status {
		if status != http.StatusCreated && status != http.StatusServiceUnavailable && status != http.StatusConflict {
			t.Errorf("the writers got %d %d times: only 201, 503 and 409 (a retry while the first runs) may be seen",
				status, stats.status[status])
		}
	}
	if stats.status[http.StatusServiceUnavailable] == 0 {
		t.Error("no 503 while a node's database was cut: the cut did not reach the writers")
	}
}

// writeCases creates cases round-robin over the nodes until ctx ends, each
// with an Idempotency-Key, retried on another node when a node does not
// answer or answers 503, as a client behind a load balancer would.
func writeCases(ctx context.Context, token string, nodes []*clusterNode, w int, stats *clusterStats) {
	next := w
	for n := 0; ctx.Err() == nil; n++ {
		key := uuid.NewString()
		body := fmt.Sprintf(`{"title":"Spread write %d-%d","tlp":"AMBER"}`, w, n)
		for attempt := 0; attempt < 6 && ctx.Err() == nil; attempt++ {
			next++
			req, _ := http.NewRequestWithContext(context.WithoutCancel(ctx), http.MethodPost,
				nodes[next%len(nodes)].base()+"/api/v1/cases", strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+token)
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Idempotency-Key", key)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				stats.mu.Lock()
				stats.transport++
				stats.mu.Unlock()
				time.Sleep(100 * time.Millisecond)
				continue
			}
			raw, _ := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			stats.add(resp.StatusCode)
			if resp.StatusCode == http.StatusCreated {
				id := caseIDOf.FindStringSubmatch(string(raw))
				stats.mu.Lock()
				if id != nil && !slices.Contains(stats.created, id[1]) {
					stats.created = append(stats.created, id[1])
				}
				stats.mu.Unlock()
				break
			}
			if resp.StatusCode == http.StatusConflict {
				stats.mu.Lock()
				stats.inDoubt++
				stats.mu.Unlock()
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}

var caseIDOf = regexp.MustCompile(`"id":"([^"]+)"`)

// resumeOnAnotherNode sends the first 7 MiB of an 11 MiB upload to one
// node and the rest to another, then downloads it from the third.
func resumeOnAnotherNode(t *testing.T, c *apiClient, nodes []*clusterNode, itemID string) {
	t.Helper()
	data, _ := io.ReadAll(newPatternReader(99, 11<<20))
	sum := sha256.Sum256(data)
	on := func(i int) *apiClient { return &apiClient{tb: t, base: nodes[i].base(), token: c.token} }
	resp, err := on(0).do(http.MethodPost, "/api/v1/evidence/"+itemID+"/uploads", nil, 0,
		tusHeader("Upload-Length", strconv.Itoa(len(data)), "Idempotency-Key", uuid.NewString())...)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	location := resp.Header.Get("Location")
	if _, err := http.ParseTime(resp.Header.Get("Upload-Expires")); resp.StatusCode != http.StatusCreated || err != nil {
		t.Fatalf("create upload: %d, Upload-Expires %q", resp.StatusCode, resp.Header.Get("Upload-Expires"))
	}
	patch := func(node int, offset int64, chunk []byte) {
		resp, err := on(node).do(http.MethodPatch, location, bytes.NewReader(chunk), int64(len(chunk)), tusHeader(
			"Upload-Offset", strconv.FormatInt(offset, 10), "Content-Type", "application/offset+octet-stream")...)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusNoContent {
			t.Fatalf("PATCH at %d on node %d: %d", offset, node, resp.StatusCode)
		}
	}
	patch(0, 0, data[:7<<20])
	offset := on(1).headOffset(location)
	if offset <= 0 || offset > 7<<20 {
		t.Fatalf("HEAD on another node: offset %d", offset)
	}
	patch(1, offset, data[offset:])
	checkReceived(t, on(2), itemID, data, sum)
}

// checkOneVerificationPerInterval checks that the cluster verified each
// item at least once, and never twice within the interval: one node at a
// time does the rounds.
func checkOneVerificationPerInterval(t *testing.T, conn *gorm.DB, items []string) {
	t.Helper()
	for _, id := range items {
		var at []time.Time
		if err := conn.Raw(`SELECT recorded_at FROM custody_events WHERE item_id = ? AND type = 'verified' ORDER BY recorded_at`, id).
			Scan(&at).Error; err != nil {
			t.Fatal(err)
		}
		if len(at) == 0 {
			t.Errorf("item %s was never re-verified", id)
		}
		// The scheduler checks an item up to a quarter interval early, to
		// spread the work (evidence.Reverifier); two nodes checking it would
		// do so within a round of each other.
		for i := 1; i < len(at); i++ {
			if gap := at[i].Sub(at[i-1]); gap < clusterVerifyInterval/2 {
				t.Errorf("item %s verified twice %.2fs apart (interval %s): %d checks in all", id, gap.Seconds(),
					clusterVerifyInterval, len(at))
				break
			}
		}
	}
}

// sharedKeyFiles writes the master, token and audit key files every node
// is given.
func sharedKeyFiles(t *testing.T) map[string]string {
	t.Helper()
	dir := t.TempDir()
	master, err := evidence.NewMasterKeyLine(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	token, err := access.GenerateSigningKeyPEM()
	if err != nil {
		t.Fatal(err)
	}
	auditKey, err := audit.GenerateKeyPEM()
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{}
	for env, f := range map[string]struct {
		name string
		data []byte
	}{
		"BEVIS_MASTER_KEY_FILE": {"master-keys", []byte(master)},
		"BEVIS_TOKEN_KEYS_FILE": {"token-signing-keys.pem", token},
		"BEVIS_AUDIT_KEY_FILE":  {"audit-checkpoint-key.pem", auditKey},
	} {
		path := filepath.Join(dir, f.name)
		if err := os.WriteFile(path, f.data, 0o600); err != nil {
			t.Fatal(err)
		}
		files[env] = path
	}
	return files
}

func auditPublicKey(t *testing.T, keyFile string) []byte {
	t.Helper()
	pemData, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := audit.ParseSigner(pemData)
	if err != nil {
		t.Fatal(err)
	}
	return signer.PublicKeyPEM()
}

// metric reads one sample of base's /metrics, -1 when absent or when the
// node does not answer.
func metric(t *testing.T, base, series string) float64 {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err == nil {
				return f
			}
		}
	}
	return -1
}
