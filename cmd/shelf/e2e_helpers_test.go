package main

// Helpers for the end-to-end tests: start the real server (serveCommand, the
// same code `shelf serve` runs) on a temporary database, and drive Debian's
// chromium with chromedp.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
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
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := client.Get(baseURL + "/healthz")
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
			err = errors.New(resp.Status)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s/healthz did not answer 200: %v", baseURL, err)
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

// chromiumPath finds Debian's chromium. Without it the browser tests skip
// locally but fail in CI (CI=true), where a skipped browser test would hide
// a broken setup.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium is not installed; CI must install it (apt-get install chromium)")
	}
	t.Skip("chromium is not installed; skipping the browser test (it fails instead when CI=true)")
	return ""
}

// newBrowser starts a headless chromium for the test with a fresh profile
// and returns a chromedp context for its first tab. The browser is closed
// when the test ends. Derive per-step timeouts from the returned context
// (context.WithTimeout), never from a parent of it. extra adds or overrides
// chromium flags (chromedp.Flag).
func newBrowser(t *testing.T, extra ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	exe := chromiumPath(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-features", "Translate,OptimizationHints,MediaRouter,AutofillServerCommunication"),
		chromedp.WindowSize(1280, 900),
		chromedp.UserDataDir(t.TempDir()),
	)
	opts = append(opts, extra...)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(allocCtx, chromedp.WithErrorf(t.Logf))
	t.Cleanup(func() {
		cancelCtx()
		cancelAlloc()
	})
	// Start the browser on a context without a deadline: the browser lives
	// as long as the context of the first run.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium (%s): %v", exe, err)
	}
	return ctx
}

// newIncognitoTab opens a tab in a separate browser context (its own
// cookies and storage) of the browser behind parent.
func newIncognitoTab(t *testing.T, parent context.Context) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(parent, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("open tab: %v", err)
	}
	return ctx
}

// step runs actions with a timeout and fails the test with what, naming the
// step, when they do not complete.
func runStep(t *testing.T, ctx context.Context, what string, timeout time.Duration, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := chromedp.Do(sctx, actions...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// eval evaluates a JavaScript expression in the page and returns its value.
func evalJS[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	v, err := chromedp.Run(sctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// waitJS polls a JavaScript expression until it is truthy, failing the test
// with what after timeout. Navigations while it waits (which destroy the
// page's JavaScript context) are retried, not failures.
func waitJS(t *testing.T, ctx context.Context, what string, timeout time.Duration, expr string) {
	t.Helper()
	if err := pollJS(ctx, timeout, expr); err != nil {
		t.Fatalf("waiting for %s (%s): %v; the page is %s", what, expr, err, describePage(ctx))
	}
}

// pollJS is waitJS returning the error instead of failing the test. It
// evaluates the expression every 20 ms rather than using chromedp.Poll,
// whose in-page wait does not survive a back-forward-cache restore.
func pollJS(ctx context.Context, timeout time.Duration, expr string) error {
	deadline := time.Now().Add(timeout)
	for {
		sctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		ok, err := chromedp.Run(sctx, chromedp.Evaluate[bool]("!!("+expr+")"))
		cancel()
		if err == nil && ok {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if time.Now().After(deadline) {
			if err == nil {
				err = errors.New("still false")
			}
			return err
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// describePage says where the tab is, for failure messages.
func describePage(ctx context.Context) string {
	sctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	s, err := chromedp.Run(sctx, chromedp.EvaluateAsDevTools[string](`location.href + " titled " + JSON.stringify(document.title) +
		", search box " + JSON.stringify((document.getElementById('search-input') || {}).value) +
		", " + document.querySelectorAll('#result-list li.result').length + " results"`))
	if err != nil {
		return fmt.Sprintf("unknown (%v)", err)
	}
	return s
}

// newTab opens a tab (with its own history) in the browser behind parent,
// closed when the test ends.
func newTab(t *testing.T, parent context.Context) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(parent)
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("open tab: %v", err)
	}
	return ctx
}

// historyBack goes one entry back in the tab's history, like the browser's
// back button, without waiting for a load event: a back-forward-cache
// restore or a same-document entry fires none. Follow it with waitJS.
func historyBack(t *testing.T, ctx context.Context) {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	h, err := chromedp.Call(sctx, page.GetNavigationHistory, cdp.Empty{})
	if err != nil {
		t.Fatalf("read history: %v", err)
	}
	if h.CurrentIndex < 1 {
		t.Fatalf("no history entry to go back to")
	}
	prev := h.Entries[h.CurrentIndex-1]
	if _, err := chromedp.Call(sctx, page.NavigateToHistoryEntry, page.NavigateToHistoryEntryParams{EntryID: prev.ID}); err != nil {
		t.Fatalf("history back to %s: %v", prev.URL, err)
	}
}
