package api

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bevis-ir/bevis/alerts"
	"github.com/bevis-ir/bevis/internal/testenv"
)

// withHardLimit rebuilds w's app around an alert engine enforcing a
// download hard limit of limit bytes per hour.
func (w *world) withHardLimit(t *testing.T, limit int64) {
	t.Helper()
	engine := alerts.New(w.deps.DB, alerts.Options{Window: time.Hour, HardLimit: limit, Log: testenv.Logger(t)})
	t.Cleanup(engine.Stop)
	w.deps.Alerts = engine
	var err error
	if w.app, err = New(w.deps); err != nil {
		t.Fatal(err)
	}
}

// heldBytes is what the user holds against the hard limit now.
func (w *world) heldBytes(t *testing.T, who string) int64 {
	t.Helper()
	var held int64
	err := w.deps.DB.Raw(`SELECT COALESCE(SUM(COALESCE(sent, reserved)), 0) FROM download_reservations WHERE user_id = ?`,
		w.user[who].ID).Scan(&held).Error
	if err != nil {
		t.Fatal(err)
	}
	return held
}

// Downloads asked for at once cannot together pass the limit: each
// reserves its bytes before its first byte is sent.
func TestHardLimit_ParallelDownloadsNeverPassTheLimit(t *testing.T) {
	t.Parallel()
	forEachDatabase(t, func(t *testing.T, w *world) {
		size := int64(len(fixtureContent))
		limit := 3*size + size/2
		w.withHardLimit(t, limit)
		var granted, refused, sent atomic.Int64
		var wg sync.WaitGroup
		for range 24 {
			wg.Go(func() {
				req, err := http.NewRequest(http.MethodGet, "/api/v1/evidence/"+w.contentID+"/content", nil)
				if err != nil {
					t.Error(err)
					return
				}
				req.Header.Set("Authorization", "Bearer "+w.bearer["investigator"])
				resp, err := w.app.Test(req, -1)
				if err != nil {
					t.Error(err)
					return
				}
				n, _ := io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
				switch resp.StatusCode {
				case http.StatusOK:
					granted.Add(1)
					sent.Add(n)
				case http.StatusTooManyRequests:
					refused.Add(1)
				default:
					t.Errorf("download: %d", resp.StatusCode)
				}
			})
		}
		wg.Wait()
		if granted.Load() != 3 || refused.Load() != 21 || sent.Load() > limit {
			t.Errorf("24 parallel downloads of %d bytes against a limit of %d: %d granted (%d bytes), %d refused; want 3 granted",
				size, limit, granted.Load(), sent.Load(), refused.Load())
		}
		if held := w.heldBytes(t, "investigator"); held != 3*size {
			t.Errorf("held %d bytes after the downloads, want %d", held, 3*size)
		}
	})
}

// A download counts what it sends: a range its length, a download the
// client cut short what went out before it did, not the whole content.
func TestHardLimit_ADownloadCountsWhatItSends(t *testing.T) {
	t.Parallel()
	forEachDatabase(t, func(t *testing.T, w *world) {
		k, err := w.deps.Cases.Get(t.Context(), w.caseID)
		if err != nil {
			t.Fatal(err)
		}
		const size = 16 << 20
		big := w.uploadContent(t, w.principal(t, "lead"), k.Reference, "Memory dump", strings.Repeat("memory page ", size/12+1)[:size])
		const limit = 28 << 20 // room for a whole download and what the kernel buffers of one cut short (some MiB), not for two whole ones
		w.withHardLimit(t, limit)
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		go func() { _ = w.app.Listener(ln) }()
		t.Cleanup(func() { _ = w.app.Shutdown() })
		path := "/api/v1/evidence/" + big.ID + "/content"

		// The client reads the headers and a little, then goes away.
		conn, err := net.DialTimeout("tcp", ln.Addr().String(), 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if tcp, ok := conn.(*net.TCPConn); ok {
			_ = tcp.SetReadBuffer(16 << 10)
		}
		fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: bevis.test\r\nAuthorization: Bearer %s\r\n\r\n", path, w.bearer["investigator"])
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("download: %v %v", resp, err)
		}
		if _, err := io.CopyN(io.Discard, resp.Body, 64<<10); err != nil {
			t.Fatal(err)
		}
		_ = conn.Close()
		deadline := time.Now().Add(15 * time.Second)
		for w.heldBytes(t, "investigator") == size && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		cut := w.heldBytes(t, "investigator")
		t.Logf("a download cut short after 64 KiB of %d counts %d bytes", size, cut)
		if cut >= size || cut < 64<<10 {
			t.Fatalf("a download cut short after 64 KiB holds %d bytes, want what went out (less than %d)", cut, size)
		}

		// The whole content again fits under the limit only because the
		// download cut short gave back what it did not send.
		get := func(rangeSpec string) (int, int) {
			t.Helper()
			resp, body := w.call(t, http.MethodGet, path, w.bearer["investigator"], "", "Range", rangeSpec)
			return resp.StatusCode, len(body)
		}
		if status, n := get(""); status != http.StatusOK || n != size {
			t.Fatalf("a whole download after one cut short: %d, %d bytes", status, n)
		}
		left := limit - w.heldBytes(t, "investigator")
		if status, n := get(fmt.Sprintf("bytes=0-%d", left-1)); status != http.StatusPartialContent || int64(n) != left {
			t.Fatalf("a range of the %d bytes left: %d, %d bytes", left, status, n)
		}
		if held := w.heldBytes(t, "investigator"); held != limit {
			t.Errorf("held %d bytes, want exactly the limit %d", held, limit)
		}
		if status, _ := get("bytes=0-0"); status != http.StatusTooManyRequests {
			t.Errorf("one byte past the limit: %d, want 429", status)
		}
	})
}
