package evidence

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/bevis-ir/bevis/internal/testenv"
)

// An upload outlives an outage of the store: calls made while it is down
// are ErrStoreUnavailable, and the upload goes on once it is back.
func TestS3Store_Multipart_StoreDown_IsUnavailableThenResumes(t *testing.T) {
	srv := testenv.S3(t)
	proxy := testenv.NewProxy(t, srv.Endpoint)
	cfg := s3ConfigFor(srv)
	cfg.Endpoint = proxy.Addr()
	s, err := NewS3Store(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.EnsureBucket(t.Context()); err != nil {
		t.Fatal(err)
	}
	key := newTestKey()
	data := testBytes(MinPartSize + 100)
	id := mustStart(t, s, key, PutOptions{})
	p1 := mustPutPart(t, s, key, id, 1, data[:MinPartSize])

	proxy.Down()
	down := map[string]func(ctx context.Context) error{
		"StartMultipart": func(ctx context.Context) error {
			_, err := s.StartMultipart(ctx, newTestKey(), PutOptions{})
			return err
		},
		"PutPart": func(ctx context.Context) error {
			_, err := s.PutPart(ctx, key, id, 2, streamOf(data[MinPartSize:]), 100)
			return err
		},
		"CompleteMultipart": func(ctx context.Context) error {
			_, err := s.CompleteMultipart(ctx, key, id, []Part{p1})
			return err
		},
		"AbortMultipart": func(ctx context.Context) error { return s.AbortMultipart(ctx, key, id) },
	}
	for name, op := range down {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
			defer cancel()
			if err := op(ctx); !errors.Is(err, ErrStoreUnavailable) {
				t.Fatalf("error = %v, want ErrStoreUnavailable", err)
			}
		})
	}
	proxy.Up()

	p2 := mustPutPart(t, s, key, id, 2, data[MinPartSize:])
	info := mustComplete(t, s, key, id, []Part{p1, p2})
	assertSameBytes(t, mustGet(t, s, key, info.VersionID, 0, -1), data)
	assertOneVersion(t, s, key, info)
}

func TestS3Store_AbortStaleMultiparts_AbortsUploadsStartedBeforeTheCutoff(t *testing.T) {
	s, _ := newTestS3Store(t)
	key := newTestKey()
	id := mustStart(t, s, key, PutOptions{})
	p := mustPutPart(t, s, key, id, 1, []byte("part"))

	if n, err := s.AbortStaleMultiparts(t.Context(), time.Hour); err != nil || n != 0 {
		t.Fatalf("AbortStaleMultiparts(1h) = %d, %v; want 0, nil", n, err)
	}
	if _, err := s.PutPart(t.Context(), key, id, 1, strings.NewReader("part"), 4); err != nil {
		t.Fatalf("PutPart to the young upload: %v", err)
	}
	time.Sleep(1100 * time.Millisecond) // the server dates uploads to the second
	if n, err := s.AbortStaleMultiparts(t.Context(), time.Second/10); err != nil || n != 1 {
		t.Fatalf("AbortStaleMultiparts(100ms) = %d, %v; want 1, nil", n, err)
	}
	if _, err := s.CompleteMultipart(t.Context(), key, id, []Part{p}); !errors.Is(err, ErrUploadNotFound) {
		t.Fatalf("CompleteMultipart of the aborted upload error = %v, want ErrUploadNotFound", err)
	}
}
