package main

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// TestBrowserMyLinks makes two short links through the form, then on
// their pages: copies one (the clipboard holds it, and the live region
// says so), disables and enables it in place with focus kept on the
// button, and deletes the other from the list after confirming. My links
// and a link's page fit a phone and a laptop, a long target included.
func TestBrowserMyLinks(t *testing.T) {
	chromium := needChromium(t)
	s := startShelfServer(t)
	const email, pw = "linker@example.org", "violet tractor humming"
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"create-admin", "-db", s.DB, "--email", email, "--password-stdin"}, nil,
		strings.NewReader(pw+"\n"), &out, &errb); code != 0 {
		t.Fatalf("create-admin: %s", errb.String())
	}
	browser := chromium.newBrowser(t)
	tab := newTab(t, browser)
	origin := s.URL
	for _, name := range []string{"clipboard-read", "clipboard-write"} {
		if _, err := chromedp.Call(tab, cdpbrowser.SetPermission, cdpbrowser.SetPermissionParams{
			Permission: &cdpbrowser.PermissionDescriptor{Name: name}, Setting: cdpbrowser.PermissionSettingGranted, Origin: origin}); err != nil {
			t.Fatalf("grant %s: %v", name, err)
		}
	}
	// A headless page never has focus, which the clipboard needs.
	if _, err := chromedp.Call(tab, emulation.SetFocusEmulationEnabled, emulation.SetFocusEmulationEnabledParams{Enabled: true}); err != nil {
		t.Fatalf("focus emulation: %v", err)
	}
	signIn := func(tab context.Context) {
		t.Helper()
		runStep(t, tab, "sign in", 20*time.Second,
			chromedp.Navigate(s.URL+"/login?next=/my-links"),
			chromedp.WaitVisible(chromedp.ID("password")),
			chromedp.SendKeys(chromedp.ID("email"), email),
			chromedp.SendKeys(chromedp.ID("password"), pw),
			chromedp.Click(chromedp.CSS(`#login-form button[type=submit]`)),
		)
	}
	signIn(tab)
	waitJS(t, tab, "My links, empty", 10*time.Second, `location.pathname === '/my-links' && !!document.getElementById('my-links-empty')`)

	long := "https://reviews.example.com/" + strings.Repeat("a-rather-long-path-segment/", 12) + "?ref=" + strings.Repeat("x", 60)
	makeLink := func(target, id string) {
		t.Helper()
		runStep(t, tab, "open the form for "+id, 15*time.Second,
			chromedp.Navigate(s.URL+"/links/new?target="+url.QueryEscape(target)),
			chromedp.WaitVisible(chromedp.ID("link-id")),
			chromedp.SendKeys(chromedp.ID("link-id"), id),
			chromedp.Click(chromedp.CSS(`#link-form button[type=submit]`)),
		)
		waitJS(t, tab, "the page of "+id, 15*time.Second, `location.pathname === '/my-links/`+id+`' && !!document.getElementById('link-qr')`)
	}
	makeLink("https://example.com/gone-soon", "gone-soon")
	makeLink(long, "review")
	waitJS(t, tab, "htmx and the copy button", 5*time.Second, `!!window.htmx && !document.getElementById('copy-review').hidden`)
	// A link's page heads itself as other pages do: its h1 was smaller than its h2s.
	linkH1 := evalJS[string](t, tab, `getComputedStyle(document.getElementById('link-heading')).fontSize`)
	if got := evalJS[string](t, tab, `document.getElementById('clicks-chart').textContent`); got != "No clicks yet." {
		t.Errorf("a link without clicks shows %q for its chart", got)
	}
	if n := evalJS[int](t, tab, `document.querySelectorAll('#link-qr svg path').length`); n != 1 {
		t.Errorf("the QR code has %d paths", n)
	}

	// Copy: the clipboard holds the short link, and the live region says so.
	short := s.URL + "/s/review"
	runStep(t, tab, "press Copy", 5*time.Second, chromedp.Click(chromedp.ID("copy-review")))
	waitJS(t, tab, "Copied announced", 5*time.Second, `document.getElementById('link-status').textContent.startsWith('Copied')`)
	sctx, cancel := context.WithTimeout(tab, 5*time.Second)
	got, err := chromedp.Run(sctx, chromedp.Evaluate[string](`navigator.clipboard.readText()`, chromedp.EvalAwaitPromise))
	cancel()
	if err != nil || got != short {
		t.Errorf("the clipboard holds %q (%v), want %q", got, err, short)
	}

	// Disable, then enable, in place by keyboard: no page load, focus kept.
	evalJS[bool](t, tab, `window.__noReload = true`)
	toggle := func(state string) {
		t.Helper()
		runStep(t, tab, "focus the toggle", 5*time.Second, chromedp.Focus(chromedp.ID("link-toggle-review")))
		runStep(t, tab, "press Enter", 5*time.Second, chromedp.KeyEvent("\r"))
		waitJS(t, tab, "the link "+state, 10*time.Second,
			`document.querySelector('#link-state-review .link-badge').textContent === '`+state+`' &&
			 document.getElementById('link-status').textContent.includes('`+map[string]string{"Disabled": "Disabled ", "Active": "Enabled "}[state]+`')`)
		if got := evalJS[string](t, tab, `document.activeElement.id`); got != "link-toggle-review" {
			t.Errorf("after pressing the toggle (%s) focus is on %q", state, got)
		}
		if !evalJS[bool](t, tab, `window.__noReload === true`) {
			t.Fatal("the toggle loaded a page")
		}
	}
	toggle("Disabled")
	toggle("Active")

	// Delete from the list, after confirming.
	runStep(t, tab, "open My links", 15*time.Second, chromedp.Click(chromedp.ID("nav-my-links")))
	waitJS(t, tab, "two links listed", 10*time.Second, `location.pathname === '/my-links' && document.querySelectorAll('#my-links-list > li').length === 2 && !!window.htmx`)
	if h1 := evalJS[string](t, tab, `getComputedStyle(document.querySelector('main h1')).fontSize`); h1 != linkH1 {
		t.Errorf("a link's page heading is %s, My links' %s", linkH1, h1)
	}
	evalJS[bool](t, tab, `window.__noReload = true`)
	if evalJS[bool](t, tab, `document.getElementById('link-delete-confirm-gone-soon').checkVisibility()`) {
		t.Fatal("the confirmation shows before Delete is pressed")
	}
	runStep(t, tab, "press Delete", 5*time.Second, chromedp.Click(chromedp.ID("link-delete-gone-soon")))
	waitJS(t, tab, "the confirmation", 5*time.Second, `document.getElementById('link-delete-confirm-gone-soon').checkVisibility()`)
	if got := evalJS[int](t, tab, `document.querySelectorAll('#my-links-list > li:not(.link-deleted)').length`); got != 2 {
		t.Fatalf("%d links before confirming", got)
	}
	runStep(t, tab, "confirm", 5*time.Second, chromedp.Click(chromedp.ID("link-delete-confirm-gone-soon")))
	waitJS(t, tab, "the link deleted in place, focus on the note", 10*time.Second,
		`!!document.getElementById('link-deleted-gone-soon') && document.activeElement.id === 'link-deleted-gone-soon' &&
		 document.getElementById('link-status').textContent.startsWith('Deleted') && window.__noReload === true`)
	runStep(t, tab, "reload", 10*time.Second, chromedp.Reload())
	waitJS(t, tab, "one link left", 10*time.Second, `document.querySelectorAll('#my-links-list > li').length === 1 && !!document.getElementById('link-review')`)

	assertPagesFit(t, tab, s.URL, []string{"/my-links", "/my-links/review"})

	// Without JavaScript: the link is a read-only field to copy from, and
	// the same buttons post, the change told on the page they return to.
	noJS := newIncognitoTab(t, browser)
	if _, err := chromedp.Call(noJS, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true}); err != nil {
		t.Fatalf("disable JavaScript: %v", err)
	}
	signIn(noJS)
	waitJS(t, noJS, "signed in", 10*time.Second, `location.pathname === '/my-links'`)
	runStep(t, noJS, "open the link's page", 15*time.Second, chromedp.Navigate(s.URL+"/my-links/review"), chromedp.WaitVisible(chromedp.ID("short-review")))
	if !evalJS[bool](t, noJS, `document.getElementById('short-review').readOnly && document.getElementById('short-review').value === '`+short+`' &&
		!document.getElementById('copy-review').checkVisibility()`) {
		t.Error("without JavaScript the link is not a read-only field, or Copy shows")
	}
	runStep(t, noJS, "disable", 10*time.Second, chromedp.Click(chromedp.ID("link-toggle-review")))
	waitJS(t, noJS, "disabled, and told so", 10*time.Second, `location.pathname === '/my-links/review' &&
		document.querySelector('#link-state-review .link-badge').textContent === 'Disabled' && document.getElementById('link-status').textContent.startsWith('Disabled')`)
	runStep(t, noJS, "press Delete", 5*time.Second, chromedp.Click(chromedp.ID("link-delete-review")))
	runStep(t, noJS, "confirm", 10*time.Second, chromedp.Click(chromedp.ID("link-delete-confirm-review")))
	waitJS(t, noJS, "deleted, back on My links", 10*time.Second, `location.pathname === '/my-links' &&
		document.getElementById('link-status').textContent.startsWith('Deleted') && !!document.getElementById('my-links-empty')`)
}

// TestBrowserMyLinksCopyFieldsShowTheWholeLink opens My links and a link's
// page from a phone to a laptop: each short link's copy field shows the
// whole address, the longest id included, and the page does not scroll
// sideways. At 320 px the field showed only the address's start. On a
// phone the Copy button is a finger's height.
func TestBrowserMyLinksCopyFieldsShowTheWholeLink(t *testing.T) {
	chromium := needChromium(t)
	s := startShelfServer(t)
	const email, pw = "linker@example.org", "violet tractor humming"
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"create-admin", "-db", s.DB, "--email", email, "--password-stdin"}, nil,
		strings.NewReader(pw+"\n"), &out, &errb); code != 0 {
		t.Fatalf("create-admin: %s", errb.String())
	}
	tab := newTab(t, chromium.newBrowser(t))
	runStep(t, tab, "sign in", 20*time.Second,
		chromedp.Navigate(s.URL+"/login?next=/my-links"),
		chromedp.WaitVisible(chromedp.ID("password")),
		chromedp.SendKeys(chromedp.ID("email"), email),
		chromedp.SendKeys(chromedp.ID("password"), pw),
		chromedp.Click(chromedp.CSS(`#login-form button[type=submit]`)),
	)
	waitJS(t, tab, "My links", 10*time.Second, `location.pathname === '/my-links'`)
	longest := strings.Repeat("a-long-id-", 3) + "ok" // links.MaxIDLen
	for _, id := range []string{"review", longest} {
		runStep(t, tab, "make "+id, 15*time.Second,
			chromedp.Navigate(s.URL+"/links/new?target="+url.QueryEscape("https://example.com/"+id)),
			chromedp.WaitVisible(chromedp.ID("link-id")),
			chromedp.SendKeys(chromedp.ID("link-id"), id),
			chromedp.Click(chromedp.CSS(`#link-form button[type=submit]`)),
		)
		waitJS(t, tab, "the page of "+id, 15*time.Second, `location.pathname === '/my-links/`+id+`'`)
	}

	phone := []chromedp.EmulateViewportOption{chromedp.EmulateMobile, chromedp.EmulateScale(3), chromedp.EmulateTouch}
	for _, width := range []int64{320, 360, 390, 768, 1280} {
		runStep(t, tab, fmt.Sprintf("a phone %d px wide", width), 10*time.Second, chromedp.EmulateViewport(width, 844, phone...))
		for _, path := range []string{"/my-links", "/my-links/" + longest} {
			runStep(t, tab, "open "+path, 15*time.Second, chromedp.Navigate(s.URL+path))
			waitJS(t, tab, path+" with its Copy buttons", 10*time.Second,
				`document.readyState === "complete" && !!document.querySelector('[data-copy]:not([hidden])')`)
			// The fields whose text is cut off, on either side.
			clipped := evalJS[[]string](t, tab, `[...document.querySelectorAll('.short-url')]
				.filter((f) => f.scrollWidth > f.clientWidth || f.scrollHeight > f.clientHeight)
				.map((f) => f.id + ": " + f.scrollWidth + "x" + f.scrollHeight + " px of text in " + f.clientWidth + "x" + f.clientHeight)`)
			if len(clipped) > 0 {
				t.Errorf("%s %d px wide cuts off short links: %v", path, width, clipped)
			}
			if w, inner := evalJS[int64](t, tab, `document.documentElement.scrollWidth`), evalJS[int64](t, tab, `window.innerWidth`); w > inner {
				t.Errorf("%s %d px wide scrolls sideways: %d px wide", path, width, w)
			}
			if small := evalJS[[]string](t, tab, `[...document.querySelectorAll('[data-copy]')]
				.filter((b) => b.getBoundingClientRect().height < 44).map((b) => b.id + ": " + b.getBoundingClientRect().height + " px")`); len(small) > 0 {
				t.Errorf("%s %d px wide has Copy buttons under 44 px high: %v", path, width, small)
			}
		}
	}
}
