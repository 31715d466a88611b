package evidence

import (
	"crypto/md5" //nolint:gosec // the serial baseline hashes what the MultiHasher hashes
	"crypto/sha1"
	"crypto/sha256"
	"io"
	"testing"
	"time"
)

// streamBenchSize is the stream hashed and sealed per iteration: large
// enough that start-up costs vanish and the steady state is measured.
const streamBenchSize = 256 << 20

// BenchmarkIngestPipeline measures, over the same 256 MiB stream in the
// same loop, what ingest does to every byte (the three hashes in parallel,
// then also sealing) beside baselines: a plain io.Copy to io.Discard, SHA-256
// alone, MD5 alone (the slowest of the three, so the ceiling of hashing
// them in parallel), and the three one after the other (io.MultiWriter). Each
// figure is a throughput in MB/s; the *_x_* ratios are throughput over the
// baseline's (1.0: as fast as the baseline).
func BenchmarkIngestPipeline(b *testing.B) {
	data := testBytes(streamBenchSize)
	key := testDataKey(b)
	for _, chunk := range []int{DefaultSealChunkSize, 1 << 20} {
		name := "chunk_64KiB"
		if chunk != DefaultSealChunkSize {
			name = "chunk_1MiB"
		}
		b.Run(name, func(b *testing.B) {
			var copyT, sha256T, md5T, serialT, hashT, sealT, hashSealT time.Duration
			timed := func(d *time.Duration, f func()) {
				start := time.Now()
				f()
				*d += time.Since(start)
			}
			n := 0
			for b.Loop() {
				n++
				timed(&copyT, func() { mustCopy(b, io.Discard, data) })
				timed(&sha256T, func() { mustCopy(b, sha256.New(), data) })
				timed(&md5T, func() { mustCopy(b, md5.New(), data) }) //nolint:gosec // baseline
				timed(&serialT, func() {
					mustCopy(b, io.MultiWriter(sha256.New(), sha1.New(), md5.New()), data) //nolint:gosec // baseline
				})
				timed(&hashT, func() {
					h := NewMultiHasher()
					mustCopy(b, h, data)
					_ = h.Sums()
					h.Close()
				})
				timed(&sealT, func() {
					w := mustSealWriter(b, key, chunk)
					mustCopy(b, w, data)
					if err := w.Close(); err != nil {
						b.Fatal(err)
					}
				})
				timed(&hashSealT, func() {
					h := NewMultiHasher()
					w := mustSealWriter(b, key, chunk)
					mustCopy(b, io.MultiWriter(h, w), data)
					if err := w.Close(); err != nil {
						b.Fatal(err)
					}
					_ = h.Sums()
					h.Close()
				})
			}
			mb := float64(streamBenchSize) * float64(n) / 1e6
			speed := func(d time.Duration) float64 { return mb / d.Seconds() }
			b.ReportMetric(speed(copyT), "copy_MB/s")
			b.ReportMetric(speed(sha256T), "sha256_MB/s")
			b.ReportMetric(speed(md5T), "md5_MB/s")
			b.ReportMetric(speed(serialT), "3hash_serial_MB/s")
			b.ReportMetric(speed(hashT), "3hash_MB/s")
			b.ReportMetric(speed(sealT), "seal_MB/s")
			b.ReportMetric(speed(hashSealT), "3hash_seal_MB/s")
			b.ReportMetric(float64(sha256T)/float64(hashT), "3hash_x_sha256")
			b.ReportMetric(float64(serialT)/float64(hashT), "3hash_x_serial")
			b.ReportMetric(float64(md5T)/float64(hashT), "3hash_x_md5")
			b.ReportMetric(float64(sha256T)/float64(hashSealT), "3hash_seal_x_sha256")
			b.ReportMetric(float64(copyT)/float64(hashSealT), "3hash_seal_x_copy")
		})
	}
}

// BenchmarkOpenSealed measures reading back (authenticating and
// decrypting) a sealed 256 MiB stream beside a plain io.Copy of the sealed
// bytes, in the same loop (open_x_copy: throughput over the copy's).
func BenchmarkOpenSealed(b *testing.B) {
	key := testDataKey(b)
	sealed := seal(b, key, testObject, testBytes(streamBenchSize), DefaultSealChunkSize)
	var copyT, openT time.Duration
	n := 0
	for b.Loop() {
		n++
		start := time.Now()
		mustCopy(b, io.Discard, sealed)
		copyT += time.Since(start)

		start = time.Now()
		r, err := OpenSealed(streamOf(sealed), key, testObject)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, r); err != nil {
			b.Fatal(err)
		}
		openT += time.Since(start)
	}
	mb := float64(streamBenchSize) * float64(n) / 1e6
	b.ReportMetric(mb/copyT.Seconds(), "copy_MB/s")
	b.ReportMetric(mb/openT.Seconds(), "open_MB/s")
	b.ReportMetric(float64(copyT)/float64(openT), "open_x_copy")
}

func mustCopy(b *testing.B, w io.Writer, data []byte) {
	if _, err := io.Copy(w, streamOf(data)); err != nil {
		b.Fatal(err)
	}
}

func mustSealWriter(b *testing.B, key DataKey, chunk int) *SealWriter {
	w, err := NewSealWriter(io.Discard, key, testObject, chunk)
	if err != nil {
		b.Fatal(err)
	}
	return w
}
