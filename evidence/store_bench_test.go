package evidence

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
)

// benchSize is large enough for the 5 MiB multipart path of the S3 tests.
const benchSize = 32 << 20

// BenchmarkFSStore_Put writes the same bytes through FSStore.Put and, side by
// side in the same loop, to a plain synced file, and reports the ratio
// (speed_x_plain_file: the store's throughput over the plain file's; 1.0 means no overhead).
func BenchmarkFSStore_Put(b *testing.B) {
	data := testBytes(benchSize)
	s := newTestFSStore(b)
	plainDir := b.TempDir()
	for _, tc := range []struct {
		name string
		size int64
	}{{"known_size", benchSize}, {"unknown_size", -1}} {
		b.Run(tc.name, func(b *testing.B) {
			var store, plain time.Duration
			i := 0
			for b.Loop() {
				i++
				start := time.Now()
				if _, err := s.Put(b.Context(), fmt.Sprintf("bench/%s/%d.bin", tc.name, i), streamOf(data), tc.size, PutOptions{}); err != nil {
					b.Fatal(err)
				}
				store += time.Since(start)

				start = time.Now()
				writePlainFile(b, filepath.Join(plainDir, fmt.Sprintf("%s-%d", tc.name, i)), data)
				plain += time.Since(start)
			}
			reportRatio(b, i, store, plain, "speed_x_plain_file")
		})
	}
}

func writePlainFile(b *testing.B, path string, data []byte) {
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := io.Copy(f, streamOf(data)); err != nil {
		b.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkS3Store_Put compares S3Store.Put with a bare minio-go PutObject of
// the same bytes and part size (speed_x_minio_put: the store's throughput
// over minio-go's; 1.0 means no overhead; the store adds a version listing
// and a HEAD per Put).
func BenchmarkS3Store_Put(b *testing.B) {
	s, srv := newTestS3Store(b)
	client := srv.Client(b)
	data := testBytes(benchSize)
	for _, tc := range []struct {
		name string
		size int64
	}{{"known_size", benchSize}, {"unknown_size", -1}} {
		b.Run(tc.name, func(b *testing.B) {
			var store, plain time.Duration
			i := 0
			for b.Loop() {
				i++
				start := time.Now()
				if _, err := s.Put(b.Context(), fmt.Sprintf("bench/%s/%d.bin", tc.name, i), streamOf(data), tc.size, PutOptions{}); err != nil {
					b.Fatal(err)
				}
				store += time.Since(start)

				start = time.Now()
				_, err := client.PutObject(b.Context(), srv.Bucket, fmt.Sprintf("plain/%s/%d.bin", tc.name, i), streamOf(data), tc.size,
					minio.PutObjectOptions{PartSize: partSize})
				if err != nil {
					b.Fatal(err)
				}
				plain += time.Since(start)
			}
			reportRatio(b, i, store, plain, "speed_x_minio_put")
		})
	}
}

// streamOf hides bytes.Reader's ReaderAt and WriterTo, as an HTTP request
// body would.
func streamOf(data []byte) io.Reader { return struct{ io.Reader }{bytes.NewReader(data)} }

// reportRatio reports the store's and the baseline's throughput and the
// ratio of the two; ns/op is the time of both together.
func reportRatio(b *testing.B, puts int, store, baseline time.Duration, unit string) {
	if store <= 0 || baseline <= 0 {
		return
	}
	written := float64(benchSize) * float64(puts) / 1e6
	b.ReportMetric(written/store.Seconds(), "store_MB/s")
	b.ReportMetric(written/baseline.Seconds(), "baseline_MB/s")
	// As a speed ratio, as targets are stated: 0.7 means 70 % of the baseline's throughput.
	b.ReportMetric(float64(baseline)/float64(store), unit)
}

// BenchmarkStore_Multipart writes the same bytes as a multipart write (parts
// of MinPartSize, as a resumable upload would store them) and, side by side,
// with Put (speed_x_put: multipart throughput over Put's; 1.0 means no
// overhead). FSStore copies the parts into the object on completion; S3
// assembles them server-side.
func BenchmarkStore_Multipart(b *testing.B) {
	data := testBytes(benchSize)
	for _, backend := range []struct {
		name string
		open func(b *testing.B) BlobStore
	}{
		{"fs", func(b *testing.B) BlobStore { return newTestFSStore(b) }},
		{"s3", func(b *testing.B) BlobStore { s, _ := newTestS3Store(b); return s }},
	} {
		b.Run(backend.name, func(b *testing.B) {
			s := backend.open(b)
			var multipart, put time.Duration
			i := 0
			for b.Loop() {
				i++
				start := time.Now()
				writeMultipart(b, s, fmt.Sprintf("bench/multipart/%d.bin", i), data)
				multipart += time.Since(start)

				start = time.Now()
				if _, err := s.Put(b.Context(), fmt.Sprintf("bench/put/%d.bin", i), streamOf(data), int64(len(data)), PutOptions{}); err != nil {
					b.Fatal(err)
				}
				put += time.Since(start)
			}
			reportRatio(b, i, multipart, put, "speed_x_put")
		})
	}
}

func writeMultipart(b *testing.B, s BlobStore, key string, data []byte) {
	ctx := b.Context()
	id, err := s.StartMultipart(ctx, key, PutOptions{})
	if err != nil {
		b.Fatal(err)
	}
	var parts []Part
	for n, off := 1, 0; off < len(data); n, off = n+1, off+MinPartSize {
		chunk := data[off:min(off+MinPartSize, len(data))]
		p, err := s.PutPart(ctx, key, id, n, streamOf(chunk), int64(len(chunk)))
		if err != nil {
			b.Fatal(err)
		}
		parts = append(parts, p)
	}
	if _, err := s.CompleteMultipart(ctx, key, id, parts); err != nil {
		b.Fatal(err)
	}
}
