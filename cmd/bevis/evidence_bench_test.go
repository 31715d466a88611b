package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/bevis-ir/bevis/internal/testenv"
)

// The evidence benchmarks run a real `bevis serve` (built with go build,
// as deployed) on SQLite and the test S3 server, and talk to it over TCP
// as a client would, beside the same transfers made directly with
// minio-go to the same server in the same run. Sizes (bytes, or with a
// KiB/MiB/GiB suffix):
//
//	BEVIS_BENCH_TRANSFER_SIZE  one ingest or download (default 256MiB)
//	BEVIS_BENCH_UPLOAD_SIZE    the upload whose memory is watched (default 4GiB)

// builtBevis is the binary the benchmarks run, built once per test binary
// and removed by TestMain.
var builtBevis struct {
	once      sync.Once
	dir, path string
	err       error
}

func bevisBinary(tb testing.TB) string {
	tb.Helper()
	builtBevis.once.Do(func() {
		builtBevis.dir, builtBevis.err = os.MkdirTemp("", "bevis-bench-")
		if builtBevis.err != nil {
			return
		}
		builtBevis.path = filepath.Join(builtBevis.dir, "bevis")
		out, err := exec.Command("go", "build", "-trimpath", "-o", builtBevis.path, ".").CombinedOutput()
		if err != nil {
			builtBevis.err = fmt.Errorf("go build: %w\n%s", err, out)
		}
	})
	if builtBevis.err != nil {
		tb.Fatal(builtBevis.err)
	}
	return builtBevis.path
}

func removeBuiltBevis() {
	if builtBevis.dir != "" {
		_ = os.RemoveAll(builtBevis.dir)
	}
}

// benchSize reads a size from the environment.
func benchSize(tb testing.TB, name string, def int64) int64 {
	tb.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	unit := int64(1)
	for suffix, u := range map[string]int64{"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30} {
		if n, ok := strings.CutSuffix(v, suffix); ok {
			v, unit = n, u
		}
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n <= 0 {
		tb.Fatalf("%s=%q: want a positive number of bytes, like 512MiB", name, os.Getenv(name))
	}
	return n * unit
}

// benchWorld is a bevis process on the test S3 server, an analyst signed
// in with a case, and a plain minio-go client of the same server.
type benchWorld struct {
	p      *bevisProcess
	c      *apiClient
	caseID string
	srv    testenv.S3Server
	minio  *minio.Client
}

// benchPartSize is Bevis's default part size, given to minio-go too.
const benchPartSize = 16 << 20

func newBenchWorld(b *testing.B) *benchWorld {
	b.Helper()
	srv := testenv.S3(b)
	env := map[string]string{
		"BEVIS_DATA_DIR": b.TempDir(), "BEVIS_S3_ENDPOINT": srv.Endpoint, "BEVIS_S3_BUCKET": srv.Bucket,
		"BEVIS_S3_ACCESS_KEY": srv.AccessKey, "BEVIS_S3_SECRET_KEY": srv.SecretKey, "BEVIS_S3_REGION": srv.Region,
		"BEVIS_S3_TLS": "false", "BEVIS_S3_PART_SIZE": strconv.Itoa(benchPartSize),
		"BEVIS_EVIDENCE_RETENTION": "1h", "BEVIS_LOG_LEVEL": "warn",
		"BEVIS_ALLOW_WEAK_STORE": "true", // the test server's root credentials: the lock probe finds them weak
	}
	email, password := analyst(b, env)
	p := startBevis(b, bevisBinary(b), nil, env)
	c := signIn(b, p.base, email, password)
	return &benchWorld{p: p, c: c, caseID: c.createCase(), srv: srv, minio: srv.Client(b)}
}

// putContent uploads body as a new item's content in one request.
func (w *benchWorld) putContent(b *testing.B, body io.Reader, size int64) itemState {
	b.Helper()
	id := w.c.registerItem(w.caseID)
	resp, err := w.c.do(http.MethodPut, "/api/v1/evidence/"+id+"/content", body, size)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var it itemState
	if resp.StatusCode != http.StatusCreated || json.Unmarshal(raw, &it) != nil || it.ContentStatus != "received" {
		b.Fatalf("PUT content: %d %s", resp.StatusCode, raw)
	}
	return it
}

func (w *benchWorld) putDirect(b *testing.B, key string, body io.Reader, size int64) {
	b.Helper()
	_, err := w.minio.PutObject(context.Background(), w.srv.Bucket, key, body, size, minio.PutObjectOptions{PartSize: benchPartSize})
	if err != nil {
		b.Fatal(err)
	}
}

// drain reads r to its end in 1 MiB reads, the same for both sides (a
// minio.Object answers each Read through a goroutine, so small reads would
// slow the baseline down).
func drain(b *testing.B, r io.Reader, want int64) {
	b.Helper()
	n, err := io.CopyBuffer(struct{ io.Writer }{io.Discard}, r, make([]byte, 1<<20))
	if err != nil || n != want {
		b.Fatalf("read %d bytes of %d: %v", n, want, err)
	}
}

// reportTransfer reports Bevis's and the baseline's throughput and the
// ratio of the two (as targets are stated: 0.7 means 70 % of the
// baseline's throughput); ns/op is the time of a whole round, baselines
// included.
func reportTransfer(b *testing.B, size int64, n int, bevis, baseline time.Duration, unit string) {
	if bevis <= 0 || baseline <= 0 {
		return
	}
	moved := float64(size) * float64(n) / 1e6
	b.ReportMetric(moved/bevis.Seconds(), "bevis_MB/s")
	b.ReportMetric(moved/baseline.Seconds(), "minio_MB/s")
	b.ReportMetric(float64(baseline)/float64(bevis), unit)
}

// BenchmarkEvidenceAPI_Ingest uploads content with PUT …/content (hashed
// three ways, sealed, stored as S3 parts) and, side by side, PutObjects
// the same bytes with the same part size (speed_x_minio_put: Bevis's
// throughput over minio-go's; the target is at least 0.85). The PutObject
// runs before and after each upload and counts half of each, as the
// folder's baseline does (BenchmarkEvidenceAPI_IngestFolder): what runs
// second shares the machine with what the first left behind.
func BenchmarkEvidenceAPI_Ingest(b *testing.B) {
	w := newBenchWorld(b)
	size := benchSize(b, "BEVIS_BENCH_TRANSFER_SIZE", 256<<20)
	var bevis time.Duration
	var direct [2]time.Duration // before and after the upload
	i := 0
	for b.Loop() {
		i++
		putDirect := func(when int) {
			start := time.Now()
			w.putDirect(b, fmt.Sprintf("direct/ingest/%d-%d", i, when), newPatternReader(uint64(i), size), size) //nolint:gosec // i > 0
			direct[when] += time.Since(start)
		}
		putDirect(0)
		start := time.Now()
		w.putContent(b, newPatternReader(uint64(i), size), size) //nolint:gosec // i > 0
		bevis += time.Since(start)
		putDirect(1)
	}
	mean := reportBaselineSides(b, float64(size)*float64(i)/1e6, direct, "minio")
	reportTransfer(b, size, i, bevis, mean, "speed_x_minio_put")
}

// reportBaselineSides reports a baseline run before and after each upload:
// its throughput on each side (name_before_MB/s, name_after_MB/s) for moved
// MB, and returns the mean of its two times, which the upload is compared
// with.
func reportBaselineSides(b *testing.B, moved float64, sides [2]time.Duration, name string) time.Duration {
	b.ReportMetric(moved/sides[0].Seconds(), name+"_before_MB/s")
	b.ReportMetric(moved/sides[1].Seconds(), name+"_after_MB/s")
	return (sides[0] + sides[1]) / 2
}

// BenchmarkEvidenceAPI_Download downloads an item's content with GET
// …/content (every chunk authenticated and decrypted) and, side by side,
// GetObjects the same bytes stored directly (speed_x_minio_get; the target
// is at least 0.7).
func BenchmarkEvidenceAPI_Download(b *testing.B) {
	w := newBenchWorld(b)
	size := benchSize(b, "BEVIS_BENCH_TRANSFER_SIZE", 256<<20)
	it := w.putContent(b, newPatternReader(1, size), size)
	w.putDirect(b, "direct/download", newPatternReader(1, size), size)
	ctx := context.Background()
	var bevis, direct time.Duration
	i := 0
	for b.Loop() {
		i++
		start := time.Now()
		resp, err := w.c.do(http.MethodGet, "/api/v1/evidence/"+it.ID+"/content", nil, 0)
		if err != nil || resp.StatusCode != http.StatusOK {
			b.Fatalf("GET content: %v %v", resp, err)
		}
		drain(b, resp.Body, size)
		_ = resp.Body.Close()
		bevis += time.Since(start)

		start = time.Now()
		obj, err := w.minio.GetObject(ctx, w.srv.Bucket, "direct/download", minio.GetObjectOptions{})
		if err != nil {
			b.Fatal(err)
		}
		drain(b, obj, size)
		_ = obj.Close()
		direct += time.Since(start)
	}
	reportTransfer(b, size, i, bevis, direct, "speed_x_minio_get")
}

// BenchmarkEvidenceAPI_IngestMemory streams one large upload (4 GiB by
// default, BEVIS_BENCH_UPLOAD_SIZE) into a fresh bevis process while
// sampling its resident memory (VmRSS), and reports the peak growth over
// the memory it had before the upload (rss_growth_MiB; the target is less
// than 64). The bytes are made as they are sent and hashed on the way, and
// the SHA-256 Bevis records must be the client's.
func BenchmarkEvidenceAPI_IngestMemory(b *testing.B) {
	if _, err := os.Stat("/proc/self/status"); err != nil {
		b.Skip("needs /proc to read a process's resident memory")
	}
	w := newBenchWorld(b)
	size := benchSize(b, "BEVIS_BENCH_UPLOAD_SIZE", 4<<30)
	var growth, before int64
	var took time.Duration
	i := 0
	for b.Loop() {
		i++
		rssBefore := rss(b, w.p.pid())
		var peak atomic.Int64
		stop := make(chan struct{})
		sampled := make(chan struct{})
		go func() {
			defer close(sampled)
			tick := time.NewTicker(10 * time.Millisecond)
			defer tick.Stop()
			for {
				if v := rss(b, w.p.pid()); v > peak.Load() {
					peak.Store(v)
				}
				select {
				case <-stop:
					return
				case <-tick.C:
				}
			}
		}()
		h := sha256.New()
		start := time.Now()
		it := w.putContent(b, io.TeeReader(newPatternReader(uint64(i), size), h), size) //nolint:gosec // i > 0
		took += time.Since(start)
		close(stop)
		<-sampled
		if want := hex.EncodeToString(h.Sum(nil)); it.Hashes == nil || it.Hashes.SHA256 != want {
			b.Fatalf("Bevis recorded %+v, the client hashed %s", it.Hashes, want)
		}
		growth, before = max(growth, peak.Load()-rssBefore), rssBefore
	}
	b.ReportMetric(float64(size)/(1<<20), "upload_MiB")
	b.ReportMetric(float64(before)/(1<<20), "rss_before_MiB")
	b.ReportMetric(float64(growth)/(1<<20), "rss_growth_MiB")
	b.ReportMetric(float64(size)*float64(i)/1e6/took.Seconds(), "bevis_MB/s")
}

// rss reads a process's resident memory in bytes from /proc.
func rss(tb testing.TB, pid int) int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		tb.Error(err)
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := bytes.CutPrefix(sc.Bytes(), []byte("VmRSS:")); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(string(rest), "kB")), 10, 64)
			if err != nil {
				tb.Error(err)
			}
			return kb << 10
		}
	}
	tb.Errorf("no VmRSS in /proc/%d/status", pid)
	return 0
}
