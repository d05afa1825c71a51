package main

// Helpers for the end-to-end tests: start the real server (serveCommand, the
// same code `shelf serve` runs) on a temporary database. The browser helpers
// are in browser_helpers_test.go.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// seedCSV is imported when the server did not import its bundled catalog on
// first start (the import slice may not have landed yet).
const seedCSV = "../../../shared/data/seed-tutorial-books.csv"

// syncBuffer collects the server's log lines; the server writes from many
// goroutines while the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Lines returns the log lines that contain every one of substrs.
func (s *syncBuffer) Lines(substrs ...string) []string {
	var out []string
	for line := range strings.Lines(s.String()) {
		ok := true
		for _, sub := range substrs {
			if !strings.Contains(line, sub) {
				ok = false
				break
			}
		}
		if ok {
			out = append(out, strings.TrimRight(line, "\n"))
		}
	}
	return out
}

// Count returns how many log lines contain every one of substrs.
func (s *syncBuffer) Count(substrs ...string) int { return len(s.Lines(substrs...)) }

// requestLines returns the server's request log lines for route, counting
// only HTMX requests when htmx is true and only plain ones when false.
func requestLines(logs *syncBuffer, route string, htmx bool) []string {
	return logs.Lines("msg=request", " route="+route+" ", fmt.Sprintf("htmx=%t", htmx))
}

// shelfServer is one running instance of the real server.
type shelfServer struct {
	URL  string // http://127.0.0.1:PORT, also the configured base URL
	DB   string
	Logs *syncBuffer
	stop func()
}

// startShelf starts the real server on a fresh temporary database and stops
// it when the test ends. env adds or overrides SHELF_* settings
// ("SHELF_SMTP_ADDR=…"). The catalog is the bundled one, imported on first
// start; if the server imports nothing, the tutorial seed CSV is imported
// and the server restarted, so the tests always search real books.
func startShelf(t *testing.T, env ...string) (baseURL string, logs *syncBuffer) {
	t.Helper()
	s := startShelfServer(t, env...)
	return s.URL, s.Logs
}

func startShelfServer(t *testing.T, env ...string) *shelfServer {
	t.Helper()
	db := filepath.Join(t.TempDir(), "shelf.db")
	logs := &syncBuffer{}
	s := launchShelf(t, db, logs, env)
	if n := catalogSize(t, db); n == 0 {
		t.Logf("the server imported no bundled catalog; importing %s", seedCSV)
		s.stop()
		var out bytes.Buffer
		if code := run(context.Background(), []string{"import", "-db", db, seedCSV}, []string{"SHELF_DB=" + db},
			strings.NewReader(""), &out, &out); code != 0 {
			t.Fatalf("shelf import %s: exit %d\n%s", seedCSV, code, out.String())
		}
		s = launchShelf(t, db, logs, env)
		if catalogSize(t, db) == 0 {
			t.Fatal("the catalog is still empty after importing the seed CSV")
		}
	}
	return s
}

// launchShelf runs serveCommand in a goroutine and waits for /healthz. The
// port is chosen up front so the base URL (used in absolute links, e.g. in
// mail) is the address the server really listens on.
func launchShelf(t *testing.T, db string, logs *syncBuffer, extraEnv []string) *shelfServer {
	t.Helper()
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		addr := freeLocalAddr(t)
		environ := append([]string{
			"SHELF_DB=" + db,
			"SHELF_ADDR=" + addr,
			"SHELF_BASE_URL=http://" + addr,
		}, extraEnv...)
		ctx, cancel := context.WithCancel(context.Background())
		ready := make(chan string, 1)
		done := make(chan error, 1)
		go func() {
			done <- serveCommand(ctx, nil, environ, logs, func(a string) { ready <- a })
		}()
		select {
		case got := <-ready:
			s := &shelfServer{URL: "http://" + got, DB: db, Logs: logs}
			var once sync.Once
			s.stop = func() {
				once.Do(func() {
					cancel()
					select {
					case err := <-done:
						if err != nil {
							t.Errorf("server stopped with an error: %v", err)
						}
					case <-time.After(15 * time.Second):
						t.Errorf("server did not stop within 15 s")
					}
				})
			}
			t.Cleanup(func() {
				s.stop()
				if t.Failed() {
					t.Logf("server log (last 40 lines):\n%s", tailLines(logs.String(), 40))
				}
			})
			waitHealthy(t, s.URL)
			return s
		case err := <-done:
			cancel()
			lastErr = err
			if err != nil && strings.Contains(err.Error(), "address already in use") {
				continue // another process took the port between pick and listen
			}
			t.Fatalf("server exited before listening: %v\n%s", err, logs.String())
		case <-time.After(2 * time.Minute):
			cancel()
			t.Fatalf("server did not start within 2 minutes\n%s", tailLines(logs.String(), 40))
		}
	}
	t.Fatalf("could not start the server: %v", lastErr)
	return nil
}

func freeLocalAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func waitHealthy(t *testing.T, baseURL string) {
	t.Helper()
	waitForOK(t, baseURL+"/healthz", 30*time.Second)
}

// waitForOK polls url until it answers 200, failing the test after within.
func waitForOK(t *testing.T, url string, within time.Duration) {
	t.Helper()
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(within)
	for {
		resp, err := client.Get(url)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
			err = errors.New(resp.Status)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not answer 200 within %v: %v", url, within, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// catalogSize opens the database beside the running server (WAL allows it).
func catalogSize(t *testing.T, db string) int64 {
	t.Helper()
	ctx := context.Background()
	h, c, err := openCatalog(ctx, db)
	if err != nil {
		t.Fatalf("open %s: %v", db, err)
	}
	defer h.Close()
	n, err := c.Count(ctx)
	if err != nil {
		t.Fatalf("count books: %v", err)
	}
	return n
}

func tailLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
