package main

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/bevis-ir/bevis/evidence"
)

// folderIngestChunk is the sealing chunk of the baseline, Bevis's own.
const folderIngestChunk = 64 << 10

// BenchmarkEvidenceAPI_IngestFolder uploads content to a bevis process on
// its default store, the local evidence folder, with one PUT …/content and
// as a tus upload of four PATCHes, beside a baseline from the same run: the
// same bytes through the three hashes in parallel and AES-256-GCM (in
// Bevis's chunk size) into a file in the same folder, with one fsync at
// the end, which is the least any store that hashes, encrypts and keeps
// what it acknowledged can do. speed_x_ceiling is Bevis's throughput over
// the baseline's (the target is at least 0.85).
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
			var bevis, ceiling time.Duration
			i := 0
			for b.Loop() {
				i++
				id := c.registerItem(caseID)
				start := time.Now()
				way.send(b, id, uint64(i)) //nolint:gosec // i > 0
				bevis += time.Since(start)

				start = time.Now()
				hashSealToFile(b, filepath.Join(dataDir, "ceiling-"+strconv.Itoa(i)), newPatternReader(uint64(i), size)) //nolint:gosec // i > 0
				ceiling += time.Since(start)
			}
			moved := float64(size) * float64(i) / 1e6
			b.ReportMetric(moved/bevis.Seconds(), "bevis_MB/s")
			b.ReportMetric(moved/ceiling.Seconds(), "ceiling_MB/s")
			b.ReportMetric(float64(ceiling)/float64(bevis), "speed_x_ceiling")
		})
	}
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
