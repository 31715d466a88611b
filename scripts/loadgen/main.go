// Command loadgen drives a running bevis serve over HTTP the way people
// do, N requests in flight on keep-alive connections, and prints for each
// operation its throughput, nearest-rank p50 and p99 and its worst
// request: opening cases, the first page of the case list at two sizes of
// the database (and after each of a few changes, when it counts the cases
// again), adding timeline events, uploading and downloading
// evidence, and the server's memory after the run; under each operation,
// the CPU a request cost each program on the machine (cpu.go). make bench runs it
// (scripts/load.sh) against SQLite and PostgreSQL.
package main

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

type config struct {
	base, email, passwordFile   string
	open, smallList, largeList  int
	events, uploads, downloads  int
	listRequests, recounts      int
	uploadSize                  int
	writeInFlight, listInFlight int
}

func run() error {
	var c config
	flag.StringVar(&c.base, "base", "http://127.0.0.1:8080", "the server's base URL")
	flag.StringVar(&c.email, "email", "", "a user who may open cases (not an admin)")
	flag.StringVar(&c.passwordFile, "password-file", "", "a file holding their password")
	flag.IntVar(&c.open, "open", 1000, "cases to open, measured twice: first and again")
	flag.IntVar(&c.smallList, "small", 1000, "cases in the database at the first list run")
	flag.IntVar(&c.largeList, "large", 20000, "cases in the database at the second list run (the rest opened unmeasured)")
	flag.IntVar(&c.listRequests, "list-requests", 500, "case-list requests per run")
	flag.IntVar(&c.recounts, "recounts", 50, "case-list requests per run, each after a case was opened")
	flag.IntVar(&c.events, "events", 1000, "timeline events to add")
	flag.IntVar(&c.uploads, "uploads", 4, "evidence uploads")
	flag.IntVar(&c.uploadSize, "upload-mib", 64, "size of each upload in MiB")
	flag.IntVar(&c.downloads, "downloads", 8, "evidence downloads")
	flag.IntVar(&c.writeInFlight, "write-in-flight", 16, "requests in flight while writing")
	flag.IntVar(&c.listInFlight, "list-in-flight", 8, "requests in flight while listing")
	flag.Parse()
	if c.email == "" || c.passwordFile == "" {
		return errors.New("-email and -password-file are required")
	}
	pw, err := os.ReadFile(c.passwordFile)
	if err != nil {
		return err
	}
	cl := &client{base: strings.TrimRight(c.base, "/"), http: &http.Client{Transport: &http.Transport{
		MaxIdleConnsPerHost: 64, MaxConnsPerHost: 64, DisableCompression: true}, Timeout: 5 * time.Minute}}
	if err := cl.signIn(c.email, strings.TrimSpace(string(pw))); err != nil {
		return err
	}
	fmt.Printf("%-*s %8s %10s %9s %9s %9s %7s\n", nameWidth, "operation", "requests", "per second", "p50 ms", "p99 ms", "worst ms", "errors")

	var ids []string
	var idsMu sync.Mutex
	openCase := func(i int) error {
		var k struct {
			ID string `json:"id"`
		}
		err := cl.json(http.MethodPost, "/api/v1/cases", map[string]any{"title": fmt.Sprint("Load case ", i), "severity": 1 + i%4,
			"tlp": "AMBER"}, http.StatusCreated, &k)
		if err == nil {
			idsMu.Lock()
			ids = append(ids, k.ID)
			idsMu.Unlock()
		}
		return err
	}
	cl.measure("open case", c.open, c.writeInFlight, openCase).print()
	// The first requests of a server pay for its warming up (on
	// PostgreSQL, the pool's new connections): the same again shows it warm.
	cl.measure("open case, again", c.open, c.writeInFlight, func(i int) error { return openCase(c.open + i) }).print()
	if len(ids) == 0 {
		return errors.New("no case could be opened")
	}
	fill := func(to int) {
		if n := to - len(ids); n > 0 {
			r := cl.measure("(opening more cases)", n, c.writeInFlight, func(i int) error { return openCase(len(ids) + i) })
			if r.errors > 0 {
				r.print()
			}
		}
	}
	list := func(i int) error { return cl.json(http.MethodGet, "/api/v1/cases", nil, http.StatusOK, nil) }
	// The first list after cases were opened counts them again and reads
	// the page's cases (the server caches both until they change): timed
	// alone, apart from the lists that follow.
	listAt := func(n int) {
		fill(n)
		name := fmt.Sprintf("list cases at %d", len(ids))
		cl.measure(name+", 1st", 1, 1, list).print()
		cl.measure(name, c.listRequests, c.listInFlight, list).print()
		// A list after any case changed counts the cases again: one at a
		// time, each after a case was opened (untimed).
		r := &result{name: name + ", recount", durations: make([]time.Duration, c.recounts)}
		for i := range r.durations {
			err := openCase(len(ids))
			if err == nil {
				t0 := time.Now()
				err = list(i)
				r.durations[i] = time.Since(t0)
				r.elapsed += r.durations[i]
			}
			if err != nil {
				r.errors++
				r.firstErr = cmp.Or(r.firstErr, err)
			}
		}
		r.print()
	}
	listAt(c.smallList)
	listAt(c.largeList)

	cl.measure("add timeline event", c.events, c.writeInFlight, func(i int) error {
		return cl.json(http.MethodPost, "/api/v1/cases/"+ids[i%len(ids)]+"/timeline", map[string]any{
			"occurred_at": time.Now().UTC().Add(-time.Duration(i) * time.Second).Format(time.RFC3339),
			"description": fmt.Sprint("Load event ", i), "source": map[string]string{"host": "load-host"}}, http.StatusCreated, nil)
	}).print()

	if rss, err := cl.metric("process_resident_memory_bytes"); err == nil {
		fmt.Printf("server RSS before the uploads: %.0f MiB\n", rss/(1<<20))
	}
	payload := make([]byte, c.uploadSize<<20)
	_, _ = rand.Read(payload)
	var items []string
	var itemsMu sync.Mutex
	up := cl.measure("upload", c.uploads, 2, func(i int) error {
		var made struct {
			ID string `json:"id"`
		}
		err := cl.json(http.MethodPost, "/api/v1/cases/"+ids[0]+"/evidence", map[string]any{"title": fmt.Sprint("Load image ", i),
			"kind": "disk_image", "acquisition": map[string]any{"tool": "dd", "by": "loadgen",
				"at": time.Now().UTC().Format(time.RFC3339), "where": "the load test"}}, http.StatusCreated, &made)
		if err != nil {
			return err
		}
		if err := cl.send(http.MethodPut, "/api/v1/evidence/"+made.ID+"/content?filename=image.dd", bytes.NewReader(payload),
			http.StatusCreated, "application/octet-stream"); err != nil {
			return err
		}
		itemsMu.Lock()
		items = append(items, made.ID)
		itemsMu.Unlock()
		return nil
	})
	up.bytes = int64(len(up.durations)-up.errors) * int64(len(payload))
	up.print()
	if len(items) > 0 {
		down := cl.measure("download", c.downloads, 2, func(i int) error {
			return cl.send(http.MethodGet, "/api/v1/evidence/"+items[i%len(items)]+"/content", nil, http.StatusOK, "")
		})
		down.bytes = int64(len(down.durations)-down.errors) * int64(len(payload))
		down.print()
	}
	if rss, err := cl.metric("process_resident_memory_bytes"); err == nil {
		fmt.Printf("server RSS after the run: %.0f MiB\n", rss/(1<<20))
	}
	return nil
}

// result is what one operation measured.
type result struct {
	name      string
	durations []time.Duration
	errors    int
	firstErr  error
	elapsed   time.Duration
	bytes     int64
	cpu       [2]cpuSample // before and after
}

// measure runs op n times with inFlight at once, noting the machine's CPU
// before and after.
func (c *client) measure(name string, n, inFlight int, op func(i int) error) *result {
	r := &result{name: name, durations: make([]time.Duration, n)}
	var next atomic.Int64
	var mu sync.Mutex
	var wg sync.WaitGroup
	r.cpu[0] = c.sampleCPU()
	start := time.Now()
	for range min(inFlight, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				t0 := time.Now()
				err := op(i)
				r.durations[i] = time.Since(t0)
				if err != nil {
					mu.Lock()
					r.errors++
					if r.firstErr == nil {
						r.firstErr = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	r.elapsed = time.Since(start)
	r.cpu[1] = c.sampleCPU()
	return r
}

// nearestRank is the q-quantile of sorted by the nearest-rank method.
func nearestRank(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[max(int(math.Ceil(q*float64(len(sorted))))-1, 0)]
}

// nameWidth is the width of the operation column, wide enough for
// "list cases at 20000, recount".
const nameWidth = 28

func (r *result) print() {
	s := slices.Clone(r.durations)
	slices.Sort(s)
	ms := func(d time.Duration) string { return strconv.FormatFloat(float64(d.Microseconds())/1000, 'f', 1, 64) }
	rate := float64(len(s)) / r.elapsed.Seconds()
	fmt.Printf("%-*s %8d %10.1f %9s %9s %9s %7d", nameWidth, r.name, len(s), rate, ms(nearestRank(s, .5)), ms(nearestRank(s, .99)),
		ms(nearestRank(s, 1)), r.errors)
	if r.bytes > 0 {
		fmt.Printf("  %.0f MB/s", float64(r.bytes)/1e6/r.elapsed.Seconds())
	}
	fmt.Println()
	if len(s) >= 100 { // a phase of a few requests is shorter than the ticks the times come in
		printCPU(r.cpu[0], r.cpu[1], len(s))
	}
	if r.firstErr != nil {
		fmt.Println("   first error:", r.firstErr)
	}
}

// client calls the API as one person.
type client struct {
	base  string
	http  *http.Client
	token string
}

func (c *client) signIn(email, password string) error {
	var grant struct {
		AccessToken string `json:"access_token"`
	}
	if err := c.json(http.MethodPost, "/api/v1/auth/login", map[string]string{"email": email, "password": password},
		http.StatusOK, &grant); err != nil {
		return err
	}
	c.token = grant.AccessToken
	return nil
}

func (c *client) json(method, path string, in any, want int, out any) error {
	var body io.Reader
	ctype := ""
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body, ctype = bytes.NewReader(b), "application/json"
	}
	resp, err := c.do(method, path, body, ctype)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != want {
		text, _ := io.ReadAll(io.LimitReader(resp.Body, 2048))
		return fmt.Errorf("%s %s: HTTP %d: %s", method, path, resp.StatusCode, strings.TrimSpace(string(text)))
	}
	if out == nil {
		_, err = io.Copy(io.Discard, resp.Body)
		return err
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

func (c *client) send(method, path string, body io.Reader, want int, ctype string) error {
	resp, err := c.do(method, path, body, ctype)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != want {
		text, _ := io.ReadAll(io.LimitReader(resp.Body, 2048))
		return fmt.Errorf("%s %s: HTTP %d: %s", method, path, resp.StatusCode, strings.TrimSpace(string(text)))
	}
	_, err = io.Copy(io.Discard, resp.Body)
	return err
}

func (c *client) do(method, path string, body io.Reader, ctype string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(context.Background(), method, c.base+path, body)
	if err != nil {
		return nil, err
	}
	if r, ok := body.(*bytes.Reader); ok {
		req.ContentLength = int64(r.Len())
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	return c.http.Do(req)
}

// metric reads one unlabelled sample of the server's /metrics.
func (c *client) metric(name string) (float64, error) {
	resp, err := c.do(http.MethodGet, "/metrics", nil, "")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			return strconv.ParseFloat(strings.TrimSpace(v), 64)
		}
	}
	return 0, fmt.Errorf("no %s in /metrics", name)
}
