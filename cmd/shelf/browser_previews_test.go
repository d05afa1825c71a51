package main

// Page previews end to end: the server captures a local page (admitted by
// SHELF_PREVIEW_ALLOW) with Debian's chromium, and a browser watching the
// preview sees "Preview coming" swapped for the thumbnail by htmx, on a
// phone and on a desktop; a page on a refused address (a canary) is
// refused, says why, and is never fetched.

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"shelf/components/paths"
	"shelf/store/netguard"
)

func TestBrowserPreviews(t *testing.T) {
	c := needChromium(t)
	var canaryHits atomic.Int64
	canary := serveLocal(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		canaryHits.Add(1)
		fmt.Fprint(w, "<title>canary</title>")
	}))
	page := serveLocal(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(1500 * time.Millisecond) // so the reader sees the preview coming first
		fmt.Fprintf(w, `<!doctype html><title>A review worth reading</title>
			<meta name="description" content="Of a book, at length, with a long unbroken word: %s">
			<body style="margin:0;background:#2a6"><h1 style="font-size:80px">Review</h1><img src="%s/spy.png">`,
			strings.Repeat("x", 120), canary)
	}))
	allow, err := netguard.ParseAllowlist(strings.TrimPrefix(page, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	base, q, logs := previewServer(t, previewConfig{Allow: allow, Chromium: c.exe})
	ready, err := q.Enqueue(context.Background(), page+"/review")
	if err != nil {
		t.Fatal(err)
	}
	refused, err := q.Enqueue(context.Background(), canary+"/admin")
	if err != nil {
		t.Fatal(err)
	}

	browser := c.newBrowser(t)
	for i, width := range []int64{1280, 360} {
		tab := newIncognitoTab(t, browser)
		runStep(t, tab, "open the preview", 15*time.Second,
			chromedp.EmulateViewport(width, 800),
			chromedp.Navigate(base+paths.PreviewFragmentLink(ready.Key)))
		if i == 0 {
			if got := evalJS[string](t, tab, `document.querySelector('.link-preview').dataset.status`); got != "pending" {
				t.Errorf("first look: status %q, want pending", got)
			}
		}
		waitJS(t, tab, "the thumbnail swapped in", 20*time.Second,
			`(() => { const i = document.querySelector('.link-preview[data-status=ready] img');
				return !!i && i.complete && i.naturalWidth === 640 && i.naturalHeight === 400 && i.alt === 'A review worth reading'; })()`)
		if got := evalJS[string](t, tab, `document.querySelector('.link-preview-description').textContent`); !strings.HasPrefix(got, "Of a book, at length") {
			t.Errorf("description %q", got)
		}
		if w := evalJS[int64](t, tab, `document.documentElement.scrollWidth - window.innerWidth`); w > 0 {
			t.Errorf("at %d px the preview scrolls sideways by %d px", width, w)
		}
	}

	tab := newIncognitoTab(t, browser)
	runStep(t, tab, "open the refused preview", 15*time.Second,
		chromedp.Navigate(base+paths.PreviewFragmentLink(refused.Key)))
	waitJS(t, tab, "the refusal", 20*time.Second,
		`(() => { const p = document.querySelector('.link-preview[data-status=failed]');
			return !!p && p.textContent.includes('refused: loopback address 127.0.0.1'); })()`)
	if n := canaryHits.Load(); n != 0 {
		t.Errorf("the canary was reached %d times", n)
	}
	if logs.Count("connection refused by the guard", canary) == 0 {
		t.Errorf("no refusal of %s logged", canary)
	}
}

// serveLocal serves h on a loopback port for the test and returns its URL.
func serveLocal(t *testing.T, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return "http://127.0.0.1:" + strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}
