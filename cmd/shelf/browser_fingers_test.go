package main

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// On a phone every button, and each link or disclosure that stands alone
// as a control, is a finger high (44 px). Signed out, a result's Want to
// read, Reading and Read were 33 px (signed in, 44), "Share this search"
// 19 px and every plain button 43.2 px; on My links Disable was 35 px, and
// "Clicks and QR code" and Delete 24 px. Links that stand alone as actions
// were 19 px: "← Search the catalog" on a book, "Change your password",
// "Where you're signed in", "Set up an authenticator app" and "Create a
// token" on the account page, "← My links" on a link's page and "Search the
// catalog on Shelf" on a shared shelf. A link in running text stays inline.
func TestBrowserPhoneControlsFitAFinger(t *testing.T) {
	chromium := needChromium(t)
	s := startShelfServer(t)
	const email, pw = "fingers@example.org", "violet tractor humming"
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"create-admin", "-db", s.DB, "--email", email, "--password-stdin"}, nil,
		strings.NewReader(pw+"\n"), &out, &errb); code != 0 {
		t.Fatalf("create-admin: %s", errb.String())
	}
	tab := newTab(t, chromium.newBrowser(t))
	phone := []chromedp.EmulateViewportOption{chromedp.EmulateMobile, chromedp.EmulateScale(3), chromedp.EmulateTouch}
	// low lists the shown elements the selector matches that are under 44 px high.
	low := func(sel string) string {
		return evalJS[string](t, tab, `[...document.querySelectorAll(`+fmt.Sprintf("%q", sel)+`)].filter((e) => {
			const r = e.getBoundingClientRect(); return r.width > 0 && r.height < 44 })
			.map((e) => e.textContent.trim().replace(/\s+/g, ' ').slice(0, 40) + ' ' + e.getBoundingClientRect().height.toFixed(1)).join('; ')`)
	}
	check := func(path, sel string, min int) {
		t.Helper()
		runStep(t, tab, "open "+path, 15*time.Second, chromedp.Navigate(s.URL+path))
		waitJS(t, tab, path+" loaded", 10*time.Second, `document.readyState === "complete"`)
		if n := evalJS[int](t, tab, `[...document.querySelectorAll(`+fmt.Sprintf("%q", sel)+`)].filter((e) => e.getBoundingClientRect().width > 0).length`); n < min {
			t.Fatalf("%s shows %d of %s, want at least %d", path, n, sel, min)
		}
		if got := low(sel); got != "" {
			t.Errorf("%s on a phone: under 44 px high: %s", path, got)
		}
	}
	const buttons = `button:not(.link):not(.star), .button`
	widths := []int64{320, 390}

	for _, width := range widths {
		runStep(t, tab, fmt.Sprintf("a phone %d px wide", width), 10*time.Second, chromedp.EmulateViewport(width, 844, phone...))
		check("/search?q=harry", buttons+`, #share-search`, 30)
		check("/login", buttons+`, #magic-request`, 2)
		check("/books/1", buttons+`, #back-to-search, #share-book`, 2)
	}

	runStep(t, tab, "sign in", 15*time.Second,
		chromedp.Navigate(s.URL+"/login"),
		chromedp.WaitVisible(chromedp.ID("password")),
		chromedp.SendKeys(chromedp.ID("email"), email),
		chromedp.SendKeys(chromedp.ID("password"), pw),
		chromedp.Click(chromedp.CSS(`#login-form button[type=submit]`)),
	)
	waitJS(t, tab, "signed in", 10*time.Second, `document.querySelector('[data-signed-in-as]') !== null`)
	runStep(t, tab, "make a short link", 15*time.Second,
		chromedp.Navigate(s.URL+"/links/new?target="+url.QueryEscape(s.URL+"/books/1")),
		chromedp.WaitVisible(chromedp.ID("link-id")),
		chromedp.SendKeys(chromedp.ID("link-id"), "finger"),
		chromedp.Click(chromedp.CSS(`#link-form button[type=submit]`)),
	)
	waitJS(t, tab, "the link's page", 15*time.Second, `location.pathname === '/my-links/finger'`)
	runStep(t, tab, "share Read", 15*time.Second,
		chromedp.Navigate(s.URL+"/my-books?shelf=read"),
		chromedp.WaitVisible(chromedp.ID("share-shelf-button")),
		chromedp.Click(chromedp.ID("share-shelf-button")),
	)
	waitJS(t, tab, "shared", 10*time.Second, `!!document.getElementById('share-url')`)
	shared := strings.TrimPrefix(evalJS[string](t, tab, `document.getElementById('share-url').value`), s.URL)

	for _, width := range widths {
		runStep(t, tab, fmt.Sprintf("a phone %d px wide", width), 10*time.Second, chromedp.EmulateViewport(width, 844, phone...))
		check("/my-links", buttons+`, .link-open, .link-delete summary`, 5)
		check("/my-links/finger", buttons+`, .link-delete summary, #back-to-links`, 4)
		check("/my-books?shelf=read", buttons+`, #share-copy`, 5)
		check(shared, `#shared-search-catalog`, 1)
		check("/account", `#change-password, #sessions-link, #two-factor-setup, #api-token-create`, 4)
		// A link in running text stays in its line.
		if got := evalJS[string](t, tab, `getComputedStyle(document.getElementById('add-book')).display`); got != "inline" {
			t.Errorf("the account page's Add a book, in a sentence, is displayed %s", got)
		}
	}
}
