package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/bevis-ir/bevis/internal/db"
	"github.com/bevis-ir/bevis/internal/testenv"
)

// The crash tests run `bevis serve` as a child process on SQLite, once
// with the evidence folder and once with S3 (skipped, loudly, without a
// test S3 server outside CI). Parts are the smallest S3 allows, so a few
// MiB make several parts, and the upload lease is short, so a retry after
// the kill is not held off for the default 30 s.
const (
	crashPartSize = 5 << 20
	crashLease    = 2 * time.Second
)

type crashBackend struct {
	name string
	env  func(t *testing.T) (map[string]string, *testenv.S3Server)
	// syncsPerRequest: the folder records a request's bytes once they are
	// synced, at the request's end or evidence.DefaultSyncInterval after
	// they arrived, not as each part is stored.
	syncsPerRequest bool
}

var crashBackends = []crashBackend{
	{"folder", func(*testing.T) (map[string]string, *testenv.S3Server) { return nil, nil }, true},
	{"s3", func(t *testing.T) (map[string]string, *testenv.S3Server) {
		srv := testenv.S3(t)
		return map[string]string{
			"BEVIS_S3_ENDPOINT": srv.Endpoint, "BEVIS_S3_BUCKET": srv.Bucket, "BEVIS_S3_ACCESS_KEY": srv.AccessKey,
			"BEVIS_S3_SECRET_KEY": srv.SecretKey, "BEVIS_S3_REGION": srv.Region, "BEVIS_S3_TLS": "false",
			"BEVIS_ALLOW_WEAK_STORE": "true", // the test server's root credentials: the lock probe finds them weak
		}, &srv
	}, false},
}

func crashEnv(t *testing.T, extra map[string]string) map[string]string {
	env := map[string]string{
		"BEVIS_DATA_DIR":           t.TempDir(),
		"BEVIS_S3_PART_SIZE":       strconv.Itoa(crashPartSize),
		"BEVIS_UPLOAD_LEASE":       crashLease.String(),
		"BEVIS_EVIDENCE_RETENTION": "1h",
		"BEVIS_LOG_LEVEL":          "warn",
	}
	for k, v := range extra {
		env[k] = v
	}
	return env
}

// openDatabase opens the database of env directly, as an operator would,
// to see what Bevis recorded whatever its API says.
func openDatabase(t *testing.T, env map[string]string) *gorm.DB {
	t.Helper()
	cfg, _, err := loadConfig("test", nil, func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := db.Open(context.Background(), cfg.DatabaseURL, 0, testenv.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close(conn) })
	return conn
}

type uploadState struct {
	Status   string
	Received int64
}

func uploadOf(t *testing.T, conn *gorm.DB, itemID string) uploadState {
	t.Helper()
	var st uploadState
	if err := conn.Raw(`SELECT status, received FROM evidence_uploads WHERE item_id = ? ORDER BY created_at DESC LIMIT 1`,
		itemID).Scan(&st).Error; err != nil {
		t.Fatal(err)
	}
	return st
}

func contentStatus(t *testing.T, conn *gorm.DB, itemID string) string {
	t.Helper()
	var status string
	if err := conn.Raw(`SELECT content_status FROM evidence_items WHERE id = ?`, itemID).Scan(&status).Error; err != nil {
		t.Fatal(err)
	}
	return status
}

func tusHeader(extra ...string) []string {
	return append([]string{"Tus-Resumable", "1.0.0"}, extra...)
}

// headOffset asks a tus upload how far it is stored.
func (c *apiClient) headOffset(location string) int64 {
	c.tb.Helper()
	resp, err := c.do(http.MethodHead, location, nil, 0, tusHeader()...)
	if err != nil {
		c.tb.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		c.tb.Fatalf("HEAD %s: %d", location, resp.StatusCode)
	}
	n, err := strconv.ParseInt(resp.Header.Get("Upload-Offset"), 10, 64)
	if err != nil {
		c.tb.Fatalf("HEAD %s: Upload-Offset %q", location, resp.Header.Get("Upload-Offset"))
	}
	return n
}

func TestServe_KilledMidPatchResumesAfterRestart(t *testing.T) {
	for _, backend := range crashBackends {
		t.Run(backend.name, func(t *testing.T) {
			s3env, _ := backend.env(t)
			env := crashEnv(t, s3env)
			email, password := analyst(t, env)
			bin, binEnv := testBinary()
			first := startBevis(t, bin, binEnv, env)
			c := signIn(t, first.base, email, password)
			itemID := c.registerItem(c.createCase())

			data, _ := io.ReadAll(newPatternReader(1, 24<<20))
			sum := sha256.Sum256(data)
			resp, err := c.do(http.MethodPost, "/api/v1/evidence/"+itemID+"/uploads", nil, 0,
				tusHeader("Upload-Length", strconv.Itoa(len(data)))...)
			if err != nil {
				t.Fatal(err)
			}
			_ = resp.Body.Close()
			location := resp.Header.Get("Location")
			if resp.StatusCode != http.StatusCreated || !strings.HasPrefix(location, "/api/v1/uploads/") {
				t.Fatalf("create upload: %d, Location %q", resp.StatusCode, location)
			}

			// One PATCH for all the bytes, of which 16 MiB arrive before the
			// process is killed with the request still open; on the folder,
			// 6 MiB more arrive once those are recorded, and are written but
			// not synced at the kill.
			body, feed := io.Pipe()
			patched := make(chan error, 1)
			go func() {
				resp, err := c.do(http.MethodPatch, location, body, int64(len(data)), tusHeader(
					"Upload-Offset", "0", "Content-Type", "application/offset+octet-stream")...)
				if err == nil {
					_ = resp.Body.Close()
					err = fmt.Errorf("the PATCH was answered %d", resp.StatusCode)
				}
				patched <- err
			}()
			more := make(chan struct{})
			go func() {
				_, _ = feed.Write(data[:16<<20])
				<-more
				_, _ = feed.Write(data[16<<20 : 22<<20])
			}()
			deadline := time.Now().Add(20 * time.Second)
			for c.headOffset(location) < 2*crashPartSize {
				if time.Now().After(deadline) {
					t.Fatalf("fewer than two parts stored within 20 s (offset %d)", c.headOffset(location))
				}
				time.Sleep(20 * time.Millisecond)
			}
			recorded := c.headOffset(location)
			if backend.syncsPerRequest {
				close(more)
				waitUnsyncedPart(t, filepath.Join(env["BEVIS_DATA_DIR"], "evidence", "_uploads"), deadline)
			}
			first.kill()
			_ = feed.CloseWithError(io.ErrClosedPipe)
			if !backend.syncsPerRequest {
				close(more)
			}
			if err := <-patched; err == nil || strings.Contains(err.Error(), "answered") {
				t.Fatalf("the PATCH in flight at the kill: %v", err)
			}

			conn := openDatabase(t, env)
			if got := contentStatus(t, conn, itemID); got == "received" {
				t.Fatal("the item is marked received after a kill mid-upload")
			}
			stored := uploadOf(t, conn, itemID)
			if stored.Status != "active" || stored.Received < 2*crashPartSize || stored.Received%(64<<10) != 0 {
				t.Fatalf("upload after the kill: %+v, want active at a 64 KiB boundary past two parts", stored)
			}
			if backend.syncsPerRequest && stored.Received != recorded {
				t.Fatalf("upload after the kill: %+v; the bytes past %d were never synced, and must not count as received",
					stored, recorded)
			}

			second := startBevis(t, bin, binEnv, env)
			c = signIn(t, second.base, email, password)
			if it := c.item(itemID); it.ContentStatus == "received" {
				t.Fatalf("after the restart the item is %+v", it)
			}
			offset := c.headOffset(location)
			if offset != stored.Received {
				t.Fatalf("HEAD after the restart: offset %d, the database says %d", offset, stored.Received)
			}
			// The dead process's lease runs out within crashLease; until then
			// the upload is busy (423), and Bevis answers before reading the
			// body, so the client may see the connection reset under its
			// body instead: a tus client retries either way, and so does this.
			deadline = time.Now().Add(3 * crashLease)
			for {
				resp, err := c.do(http.MethodPatch, location, bytes.NewReader(data[offset:]), int64(len(data))-offset, tusHeader(
					"Upload-Offset", strconv.FormatInt(offset, 10), "Content-Type", "application/offset+octet-stream")...)
				busy := err != nil || resp.StatusCode == http.StatusLocked
				if busy && time.Now().Before(deadline) {
					if resp != nil {
						_ = resp.Body.Close()
					}
					time.Sleep(200 * time.Millisecond)
					continue
				}
				if err != nil {
					t.Fatal(err)
				}
				_ = resp.Body.Close()
				if resp.StatusCode != http.StatusNoContent || resp.Header.Get("Upload-Offset") != strconv.Itoa(len(data)) {
					t.Fatalf("PATCH of the rest: %d, Upload-Offset %q", resp.StatusCode, resp.Header.Get("Upload-Offset"))
				}
				break
			}
			checkReceived(t, c, itemID, data, sum)
		})
	}
}

// waitUnsyncedPart waits until a part's worth of bytes is written to a
// file of the folder's uploads that no part names yet (a part being
// written: "tmp-…"), so not synced.
func waitUnsyncedPart(t *testing.T, uploads string, deadline time.Time) {
	t.Helper()
	for {
		files, _ := filepath.Glob(filepath.Join(uploads, "*", "tmp-*"))
		for _, f := range files {
			if fi, err := os.Stat(f); err == nil && fi.Size() >= crashPartSize {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no part being written in %s within 20 s", uploads)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// checkReceived checks the item is received with the SHA-256 of data, and
// that its download is data.
func checkReceived(t *testing.T, c *apiClient, itemID string, data []byte, sum [32]byte) {
	t.Helper()
	it := c.item(itemID)
	if it.ContentStatus != "received" || it.Hashes == nil || it.Hashes.SHA256 != hex.EncodeToString(sum[:]) ||
		it.Size == nil || *it.Size != int64(len(data)) {
		t.Fatalf("item %+v, want received with SHA-256 %x and %d bytes", it, sum, len(data))
	}
	resp, err := c.do(http.MethodGet, "/api/v1/evidence/"+itemID+"/content", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	h := sha256.New()
	if _, err := io.Copy(h, resp.Body); err != nil || resp.StatusCode != http.StatusOK || !bytes.Equal(h.Sum(nil), sum[:]) {
		t.Fatalf("download: %d, %v, SHA-256 %x", resp.StatusCode, err, h.Sum(nil))
	}
}

func TestServe_ClientGoneMidPutLeavesNothingReceivedAndARetryWorks(t *testing.T) {
	for _, backend := range crashBackends {
		t.Run(backend.name, func(t *testing.T) {
			s3env, srv := backend.env(t)
			env := crashEnv(t, s3env)
			email, password := analyst(t, env)
			bin, binEnv := testBinary()
			p := startBevis(t, bin, binEnv, env)
			c := signIn(t, p.base, email, password)
			itemID := c.registerItem(c.createCase())
			data, _ := io.ReadAll(newPatternReader(2, 16<<20))
			sum := sha256.Sum256(data)
			conn := openDatabase(t, env)

			// A raw connection, to cut the body short exactly as a client that
			// goes away does: headers announce 16 MiB, 12 MiB follow.
			sock, err := net.Dial("tcp", strings.TrimPrefix(p.base, "http://"))
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(sock, "PUT /api/v1/evidence/%s/content HTTP/1.1\r\nHost: bevis\r\nAuthorization: Bearer %s\r\n"+
				"Content-Type: application/octet-stream\r\nContent-Length: %d\r\n\r\n", itemID, c.token, len(data))
			if _, err := sock.Write(data[:12<<20]); err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(20 * time.Second)
			for uploadOf(t, conn, itemID).Received < 2*crashPartSize { // parts were stored before the client left
				if time.Now().After(deadline) {
					t.Fatalf("fewer than two parts stored within 20 s: %+v", uploadOf(t, conn, itemID))
				}
				time.Sleep(20 * time.Millisecond)
			}
			_ = sock.Close()

			for uploadOf(t, conn, itemID).Status == "active" {
				if time.Now().After(deadline) {
					t.Fatalf("the cut upload is still active after 20 s: %+v", uploadOf(t, conn, itemID))
				}
				time.Sleep(20 * time.Millisecond)
			}
			if st := uploadOf(t, conn, itemID); st.Status != "aborted" {
				t.Errorf("the cut upload is %+v, want aborted", st)
			}
			if got := contentStatus(t, conn, itemID); got == "received" {
				t.Fatal("the item is marked received after the client went away")
			}
			if it := c.item(itemID); it.ContentStatus == "received" || it.Hashes != nil {
				t.Fatalf("the API shows %+v after the client went away", it)
			}
			if srv != nil {
				waitNoIncompleteUploads(t, *srv, deadline)
			}

			resp, err := c.do(http.MethodPut, "/api/v1/evidence/"+itemID+"/content", bytes.NewReader(data), int64(len(data)))
			if err != nil {
				t.Fatal(err)
			}
			_ = resp.Body.Close()
			if resp.StatusCode != http.StatusCreated {
				t.Fatalf("the retried PUT: %d", resp.StatusCode)
			}
			checkReceived(t, c, itemID, data, sum)
		})
	}
}

// waitNoIncompleteUploads waits until the S3 server holds no multipart
// upload: the cut request's parts were thrown away, not left to linger.
func waitNoIncompleteUploads(t *testing.T, srv testenv.S3Server, deadline time.Time) {
	t.Helper()
	client := srv.Client(t)
	for {
		left := 0
		for u := range client.ListIncompleteUploads(context.Background(), srv.Bucket, "", true) {
			if u.Err != nil {
				t.Fatal(u.Err)
			}
			left++
		}
		if left == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d multipart upload(s) left in the bucket after the client went away", left)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
