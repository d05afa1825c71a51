package main

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// TestBrowserShareShelf shares a shelf from My books and opens its public
// page in another browser context (no cookies: a visitor), at phone and
// laptop widths, then stops sharing it.
func TestBrowserShareShelf(t *testing.T) {
	chromium := needChromium(t)
	s := startShelfServer(t)
	const email, pw = "sharer@example.org", "violet tractor humming"
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"create-admin", "-db", s.DB, "--email", email, "--password-stdin"}, nil,
		strings.NewReader(pw+"\n"), &out, &errb); code != 0 {
		t.Fatalf("create-admin: %s", errb.String())
	}
	browser := chromium.newBrowser(t)
	tab := newIncognitoTab(t, browser)
	runStep(t, tab, "sign in", 15*time.Second,
		chromedp.Navigate(s.URL+"/login"),
		chromedp.WaitVisible(chromedp.ID("password")),
		chromedp.SendKeys(chromedp.ID("email"), email),
		chromedp.SendKeys(chromedp.ID("password"), pw),
		chromedp.Click(chromedp.CSS(`#login-form button[type=submit]`)),
	)
	waitJS(t, tab, "signed in", 10*time.Second, `location.pathname !== '/login'`)
	runStep(t, tab, "search", 15*time.Second, chromedp.Navigate(s.URL+"/search?q=harry"), chromedp.WaitVisible(chromedp.ID("result-list")))
	id := evalJS[string](t, tab, `document.querySelector('#result-list li.result').dataset.bookId`)
	title := evalJS[string](t, tab, `document.querySelector('#result-list li.result .title').textContent.trim()`)
	runStep(t, tab, "press Read", 10*time.Second, chromedp.Click(chromedp.ID("shelf-"+id+"-read")))
	waitJS(t, tab, "shelved", 10*time.Second, fmt.Sprintf(`document.getElementById('shelf-%s-read').getAttribute('aria-pressed') === 'true'`, id))

	fits := func(tab context.Context, what string, width int64) {
		t.Helper()
		if !evalJS[bool](t, tab, `document.documentElement.scrollWidth <= window.innerWidth`) {
			t.Errorf("%s at %d px scrolls sideways: scrollWidth %d > innerWidth %d", what, width,
				evalJS[int64](t, tab, `document.documentElement.scrollWidth`), evalJS[int64](t, tab, `window.innerWidth`))
		}
	}

	// Share it at 360 px.
	runStep(t, tab, "phone width", 5*time.Second, chromedp.EmulateViewport(360, 800))
	runStep(t, tab, "open Read on My books", 15*time.Second, chromedp.Navigate(s.URL+"/my-books?shelf=read"), chromedp.WaitVisible(chromedp.ID("share-shelf-button")))
	fits(tab, "My books before sharing", 360)
	runStep(t, tab, "share", 10*time.Second, chromedp.Click(chromedp.ID("share-shelf-button")))
	waitJS(t, tab, "the public address", 10*time.Second, `document.getElementById('share-url') && location.hash === '#share-shelf'`)
	shared := evalJS[string](t, tab, `document.getElementById('share-url').value`)
	if !strings.HasPrefix(shared, s.URL+"/shared/") {
		t.Fatalf("public address %q", shared)
	}
	path := strings.TrimPrefix(shared, s.URL)
	if got := evalJS[string](t, tab, `document.getElementById('share-short-link').getAttribute('href')`); got != "/links/new?target="+strings.ReplaceAll(path, "/", "%2F") {
		t.Errorf("short link button: %q", got)
	}
	for _, width := range []int64{360, 1280} {
		runStep(t, tab, fmt.Sprintf("My books at %d px", width), 10*time.Second, chromedp.EmulateViewport(width, 800), chromedp.Reload())
		waitJS(t, tab, "reloaded", 10*time.Second, `document.readyState === 'complete' && !!document.getElementById('share-stop')`)
		fits(tab, "My books, shared", width)
		if !evalJS[bool](t, tab, `(() => { const r = document.getElementById('share-stop').getBoundingClientRect(); return r.width > 0 && r.right <= window.innerWidth })()`) {
			t.Errorf("Stop sharing is off screen at %d px", width)
		}
	}

	// The public address shows whole in its field, from a small phone to a
	// laptop, with a Copy button a finger high on a phone. At 360 px the
	// field, one line, showed "http://127.0.0.1:PORT/shared/dqat" and no
	// more, and there was nothing to copy it with.
	for _, name := range []string{"clipboard-read", "clipboard-write"} {
		if _, err := chromedp.Call(tab, cdpbrowser.SetPermission, cdpbrowser.SetPermissionParams{
			Permission: &cdpbrowser.PermissionDescriptor{Name: name}, Setting: cdpbrowser.PermissionSettingGranted,
			Origin: s.URL, BrowserContextID: chromedp.FromContext(tab).BrowserContextID}); err != nil {
			t.Fatalf("grant %s: %v", name, err)
		}
	}
	// A headless page never has focus, which the clipboard needs.
	if _, err := chromedp.Call(tab, emulation.SetFocusEmulationEnabled, emulation.SetFocusEmulationEnabledParams{Enabled: true}); err != nil {
		t.Fatalf("focus emulation: %v", err)
	}
	phone := []chromedp.EmulateViewportOption{chromedp.EmulateMobile, chromedp.EmulateScale(3), chromedp.EmulateTouch}
	for _, width := range []int64{320, 360, 390, 768, 1280} {
		runStep(t, tab, fmt.Sprintf("a phone %d px wide", width), 10*time.Second, chromedp.EmulateViewport(width, 844, phone...), chromedp.Reload())
		waitJS(t, tab, "reloaded", 10*time.Second, `document.readyState === 'complete' && !!document.getElementById('share-url')`)
		fits(tab, "My books, shared, on a phone", width)
		if got := evalJS[string](t, tab, `document.getElementById('share-url').value`); got != shared {
			t.Errorf("at %d px the share field holds %q, want %q", width, got, shared)
		}
		if clipped := evalJS[string](t, tab, `(() => { const f = document.getElementById('share-url');
			return f.scrollWidth > f.clientWidth || f.scrollHeight > f.clientHeight ?
				f.scrollWidth + "x" + f.scrollHeight + " px of text in " + f.clientWidth + "x" + f.clientHeight : "" })()`); clipped != "" {
			t.Errorf("at %d px the share field cuts off the address: %s", width, clipped)
		}
		copyButton := evalJS[string](t, tab, `(() => { const b = document.querySelector('#share-shelf [data-copy="share-url"]');
			if (!b) return "none"; const r = b.getBoundingClientRect();
			return r.width === 0 ? "hidden" : r.height < 44 ? r.height + " px high" : r.right > window.innerWidth ? "off screen" : "" })()`)
		if copyButton != "" {
			t.Errorf("at %d px the share field's Copy button: %s", width, copyButton)
		}
	}
	if !t.Failed() {
		runStep(t, tab, "press Copy", 5*time.Second, chromedp.Click(chromedp.CSS(`#share-shelf [data-copy="share-url"]`)))
		waitJS(t, tab, "Copied announced", 5*time.Second, `document.getElementById('share-status').textContent.startsWith('Copied')`)
		sctx, cancel := context.WithTimeout(tab, 5*time.Second)
		got, err := chromedp.Run(sctx, chromedp.Evaluate[string](`navigator.clipboard.readText()`, chromedp.EvalAwaitPromise))
		cancel()
		if err != nil || got != shared {
			t.Errorf("the clipboard holds %q (%v), want %q", got, err, shared)
		}

		// Where the browser refuses to copy, the address is selected to
		// copy by hand, and the status says what is selected: it said "the
		// link", words from My links.
		if _, err := chromedp.Call(tab, cdpbrowser.SetPermission, cdpbrowser.SetPermissionParams{
			Permission: &cdpbrowser.PermissionDescriptor{Name: "clipboard-write"}, Setting: cdpbrowser.PermissionSettingDenied,
			Origin: s.URL, BrowserContextID: chromedp.FromContext(tab).BrowserContextID}); err != nil {
			t.Fatalf("deny clipboard-write: %v", err)
		}
		runStep(t, tab, "press Copy, refused", 5*time.Second, chromedp.Click(chromedp.CSS(`#share-shelf [data-copy="share-url"]`)))
		waitJS(t, tab, "refusal announced", 5*time.Second, `document.getElementById('share-status').textContent.startsWith('Copying did not work')`)
		if got := evalJS[string](t, tab, `document.getElementById('share-status').textContent`); !strings.Contains(got, "the address is selected") {
			t.Errorf("after a refused copy the status says %q", got)
		}
		if sel := evalJS[string](t, tab, `(() => { const f = document.getElementById('share-url'); return f.value.substring(f.selectionStart, f.selectionEnd) })()`); sel != shared {
			t.Errorf("after a refused copy %q is selected, want the address %q", sel, shared)
		}
	}

	// A visitor opens it, in a browser context of its own.
	visitor := newIncognitoTab(t, browser)
	for _, width := range []int64{360, 1280} {
		runStep(t, visitor, fmt.Sprintf("public page at %d px", width), 15*time.Second, chromedp.EmulateViewport(width, 800),
			chromedp.Navigate(shared), chromedp.WaitVisible(chromedp.ID("shared-shelf-name")))
		fits(visitor, "the public page", width)
	}
	if got := evalJS[string](t, visitor, `document.querySelector('.shared-books .title').textContent`); got != title {
		t.Errorf("public page lists %q, want %q", got, title)
	}
	if n := evalJS[int64](t, visitor, `document.querySelectorAll('form[method=post], button, textarea, select').length`); n != 0 {
		t.Errorf("the public page has %d controls", n)
	}
	if evalJS[bool](t, visitor, `document.body.textContent.includes('`+email+`')`) {
		t.Error("the public page shows the reader's address")
	}
	img := evalJS[string](t, visitor, `document.querySelector('meta[property="og:image"]').content`)
	if !strings.HasPrefix(img, s.URL+"/cards/shared/") {
		t.Errorf("og:image %q", img)
	}

	// Stopping kills the address at once.
	runStep(t, tab, "stop sharing", 10*time.Second, chromedp.Click(chromedp.ID("share-stop")))
	waitJS(t, tab, "not shared", 10*time.Second, `!!document.getElementById('share-shelf-button')`)
	runStep(t, visitor, "reload the public page", 15*time.Second, chromedp.Reload())
	waitJS(t, visitor, "a 404", 10*time.Second, `document.readyState === 'complete' && !document.getElementById('shared-shelf-name') && document.querySelector('[data-status]') !== null`)
}
