package main

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/bevis-ir/bevis/evidence"
	"github.com/bevis-ir/bevis/internal/proc"
)

// folderIngestChunk is the sealing chunk of the baseline, Bevis's own.
const folderIngestChunk = 64 << 10

// BenchmarkEvidenceAPI_IngestFolder uploads content to a bevis process on
// its default store, the local evidence folder, with one PUT …/content and
// as a tus upload of four PATCHes, beside a baseline from the same run: the
// same bytes through the three hashes in parallel and AES-256-GCM (in
// Bevis's chunk size) into a file in the same folder, with one fsync at
// the end, which is the least any store that hashes, encrypts and keeps
// what it acknowledged can do. The baseline runs before and after each
// upload. speed_x_ceiling is Bevis's throughput over the baseline's mean
// (the target is at least 0.85). cpu_x_ceiling is the
// processor time the bevis process spent over the baseline's, for the same
// bytes: the work, which unlike the time does not change with what else
// the machine runs (the client's sending is not in it).
func BenchmarkEvidenceAPI_IngestFolder(b *testing.B) {
	dataDir := b.TempDir()
	env := map[string]string{"BEVIS_DATA_DIR": dataDir, "BEVIS_LOG_LEVEL": "warn"}
	email, password := analyst(b, env)
	p := startBevis(b, bevisBinary(b), nil, env)
	c := signIn(b, p.base, email, password)
	caseID := c.createCase()
	size := benchSize(b, "BEVIS_BENCH_TRANSFER_SIZE", 256<<20)

	for _, way := range []struct {
		name string
		send func(b *testing.B, id string, seed uint64)
	}{
		{"put", func(b *testing.B, id string, seed uint64) {
			resp, err := c.do(http.MethodPut, "/api/v1/evidence/"+id+"/content", newPatternReader(seed, size), size)
			if err != nil {
				b.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode != http.StatusCreated {
				b.Fatalf("PUT content: %d %s", resp.StatusCode, body)
			}
		}},
		{"tus", func(b *testing.B, id string, seed uint64) { tusUpload(b, c, id, newPatternReader(seed, size), size, 4) }},
	} {
		b.Run(way.name, func(b *testing.B) {
			var bevis, bevisCPU, ceilingCPU time.Duration
			var ceiling [2]time.Duration // before and after the upload
			i := 0
			for b.Loop() {
				i++
				id := c.registerItem(caseID)
				// The baseline runs before and after the upload, and counts
				// half of each: what runs second shares the machine with what
				// the first left behind (its bytes being written back, the
				// server giving memory back), and a baseline always run
				// second was the slower for it.
				toCeiling := func(when int) {
					cpu := processCPU(os.Getpid())
					start := time.Now()
					hashSealToFile(b, filepath.Join(dataDir, fmt.Sprint("ceiling-", i, "-", when)), newPatternReader(uint64(i), size)) //nolint:gosec // i > 0
					ceiling[when] += time.Since(start)
					ceilingCPU += (processCPU(os.Getpid()) - cpu) / 2
				}
				toCeiling(0)
				cpu := processCPU(p.pid())
				start := time.Now()
				way.send(b, id, uint64(i)) //nolint:gosec // i > 0
				bevis += time.Since(start)
				bevisCPU += processCPU(p.pid()) - cpu
				toCeiling(1)
			}
			moved := float64(size) * float64(i) / 1e6
			b.ReportMetric(moved/bevis.Seconds(), "bevis_MB/s")
			mean := reportBaselineSides(b, moved, ceiling, "ceiling")
			b.ReportMetric(float64(mean)/float64(bevis), "speed_x_ceiling")
			if ceilingCPU > 0 {
				b.ReportMetric(float64(bevisCPU)/float64(ceilingCPU), "cpu_x_ceiling")
			}
		})
	}
}

// processCPU is the processor time (user and system) a process has used;
// 0 where /proc cannot say.
func processCPU(pid int) time.Duration {
	d, _ := proc.CPU(pid)
	return d
}

// tusUpload sends r as a tus upload in parts PATCHes of equal size.
func tusUpload(b *testing.B, c *apiClient, itemID string, r io.Reader, size int64, parts int) {
	b.Helper()
	resp, err := c.do(http.MethodPost, "/api/v1/evidence/"+itemID+"/uploads", nil, 0,
		tusHeader("Upload-Length", strconv.FormatInt(size, 10), "Idempotency-Key", uuid.NewString())...)
	if err != nil {
		b.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		b.Fatalf("create upload: %d", resp.StatusCode)
	}
	location := resp.Header.Get("Location")
	step := (size + int64(parts) - 1) / int64(parts)
	for offset := int64(0); offset < size; offset += step {
		n := min(step, size-offset)
		resp, err := c.do(http.MethodPatch, location, io.LimitReader(r, n), n, tusHeader(
			"Upload-Offset", strconv.FormatInt(offset, 10), "Content-Type", "application/offset+octet-stream")...)
		if err != nil {
			b.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusNoContent {
			b.Fatalf("PATCH at %d: %d %s", offset, resp.StatusCode, body)
		}
	}
}

// hashSealToFile is the ceiling of ingest: r through the three hashes in
// parallel and, chunk by chunk, AES-256-GCM into a new file, synced once.
func hashSealToFile(b *testing.B, path string, r io.Reader) {
	b.Helper()
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	block, err := aes.NewCipher(key)
	if err != nil {
		b.Fatal(err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		b.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		b.Fatal(err)
	}
	defer os.Remove(path)
	h := evidence.NewMultiHasher()
	defer h.Close()
	plain := make([]byte, folderIngestChunk)
	sealed := make([]byte, 0, folderIngestChunk+aead.Overhead())
	nonce := make([]byte, aead.NonceSize())
	out := bytes.NewBuffer(make([]byte, 0, 1<<20))
	for n := uint64(0); ; n++ {
		k, err := io.ReadFull(r, plain)
		if k > 0 {
			_, _ = h.Write(plain[:k])
			binary.BigEndian.PutUint64(nonce[len(nonce)-8:], n)
			out.Write(aead.Seal(sealed[:0], nonce, plain[:k], nil))
			if out.Len() >= 1<<20 {
				if _, err := out.WriteTo(f); err != nil {
					b.Fatal(err)
				}
			}
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		}
		if err != nil {
			b.Fatal(err)
		}
	}
	if _, err := out.WriteTo(f); err != nil {
		b.Fatal(err)
	}
	_ = h.Sums()
	if err := f.Sync(); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkEvidenceAPI_IngestFolderMemory measures whether a bevis process
// on the evidence folder gives memory back after uploads: each round sends
// uploads (8 of 64 MiB by default, BEVIS_BENCH_UPLOADS and
// BEVIS_BENCH_UPLOAD_SIZE) two at a time with PUT …/content, as the load run
// does, then reads the process's resident memory (VmRSS) and the Go heap in
// use (from /metrics) at once, and compares them with the same figures
// before the first upload. rss_above_idle_MiB is the growth that stays (the
// target is at most 35, which keeps the load run under 100 MiB);
// heap_above_idle_MiB is how much of it is the Go heap still in use.
func BenchmarkEvidenceAPI_IngestFolderMemory(b *testing.B) {
	if _, err := os.Stat("/proc/self/status"); err != nil {
		b.Skip("needs /proc to read a process's resident memory")
	}
	env := map[string]string{"BEVIS_DATA_DIR": b.TempDir(), "BEVIS_LOG_LEVEL": "warn"}
	email, password := analyst(b, env)
	p := startBevis(b, bevisBinary(b), nil, env)
	c := signIn(b, p.base, email, password)
	caseID := c.createCase()
	size := benchSize(b, "BEVIS_BENCH_UPLOAD_SIZE", 64<<20)
	uploads := int(benchSize(b, "BEVIS_BENCH_UPLOADS", 8))

	ids := make(chan string, uploads)
	idleRSS, idleHeap := rss(b, p.pid()), goMetric(b, c, "go_memstats_heap_inuse_bytes")
	var afterRSS, afterHeap int64
	for b.Loop() {
		for range uploads {
			ids <- c.registerItem(caseID)
		}
		var wg sync.WaitGroup
		for range 2 {
			wg.Go(func() {
				for {
					select {
					case id := <-ids:
						putFolderContent(b, c, id, size)
					default:
						return
					}
				}
			})
		}
		wg.Wait()
		afterRSS, afterHeap = rss(b, p.pid()), goMetric(b, c, "go_memstats_heap_inuse_bytes")
	}
	b.ReportMetric(float64(idleRSS)/(1<<20), "rss_idle_MiB")
	b.ReportMetric(float64(afterRSS)/(1<<20), "rss_after_MiB")
	b.ReportMetric(float64(afterRSS-idleRSS)/(1<<20), "rss_above_idle_MiB")
	b.ReportMetric(float64(afterHeap-idleHeap)/(1<<20), "heap_above_idle_MiB")
}

// putFolderContent sends size bytes as an item's content with one PUT.
func putFolderContent(b *testing.B, c *apiClient, id string, size int64) {
	resp, err := c.do(http.MethodPut, "/api/v1/evidence/"+id+"/content", newPatternReader(1, size), size)
	if err != nil {
		b.Error(err)
		return
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		b.Errorf("PUT content: %d %s", resp.StatusCode, body)
	}
}

// goMetric reads one unlabelled metric of the process from /metrics.
func goMetric(b *testing.B, c *apiClient, name string) int64 {
	b.Helper()
	resp, err := c.do(http.MethodGet, "/metrics", nil, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		b.Fatal(err)
	}
	for line := range strings.Lines(string(raw)) {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				b.Fatal(err)
			}
			return int64(f)
		}
	}
	b.Fatalf("no %s in /metrics", name)
	return 0
}
