package main

// Helpers for the browser tests (browser_*_test.go): every one of them
// starts with needChromium, and drives Debian's chromium with chromedp.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// chromium is Debian's chromium, found by needChromium. Browsers start only
// from it, so no browser test can skip the checks needChromium makes.
type chromium struct{ exe string }

// needChromium is the first call of every browser test. It skips the test
// under go test -short, and finds chromium: without it the test skips
// locally but fails in CI (CI=true), where a skipped browser test would hide
// a broken setup.
func needChromium(t *testing.T) chromium {
	t.Helper()
	if testing.Short() {
		t.Skip("browser test: skipped under -short")
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return chromium{p}
		}
	}
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return chromium{"/usr/bin/chromium"}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium is not installed; CI must install it (apt-get install chromium)")
	}
	t.Skip("chromium is not installed; skipping the browser test (it fails instead when CI=true)")
	return chromium{}
}

// newBrowser starts a headless chromium for the test with a fresh profile
// and returns a chromedp context for its first tab. The browser is closed
// when the test ends. Derive per-step timeouts from the returned context
// (context.WithTimeout), never from a parent of it. extra adds or overrides
// chromium flags (chromedp.Flag).
func (c chromium) newBrowser(t *testing.T, extra ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	exe := c.exe
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

// pressAndHold clicks the element sel as a person does: the mouse button
// goes down on it, a quarter of the way up from its bottom edge, stays
// down for hold, and comes up where it went down. chromedp.Click sends
// both at once at the centre; a person's press lasts about a tenth of a
// second, time enough for the page to answer what the press set off (the
// blur of the field left, say) and move things under the pointer. The page
// scrolls only if sel is out of view, as for a person, since scrolling
// would let the browser's scroll anchoring hide such a move.
func pressAndHold(t *testing.T, ctx context.Context, sel string, hold time.Duration) {
	t.Helper()
	at := evalJS[[]float64](t, ctx, fmt.Sprintf(`(() => {
		const e = document.querySelector(%q);
		e.scrollIntoView({block: "nearest"});
		const r = e.getBoundingClientRect();
		return [r.x + r.width / 2, r.y + r.height * 3 / 4];
	})()`, sel))
	mouse := func(what string, typ input.DispatchMouseEventType, buttons int64) {
		sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if _, err := chromedp.Call(sctx, input.DispatchMouseEvent, input.DispatchMouseEventParams{
			Type: typ, X: at[0], Y: at[1], Button: input.MouseButtonLeft, Buttons: buttons, ClickCount: 1}); err != nil {
			t.Fatalf("%s %s: %v", what, sel, err)
		}
	}
	mouse("press", input.DispatchMouseEventTypeMousePressed, 1)
	time.Sleep(hold)
	mouse("release", input.DispatchMouseEventTypeMouseReleased, 0)
}
