package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Short links in a real browser: a taken custom id is said so in place
// with two free ids, picking one fills the field, the link is made at
// phone and desktop widths without sideways scrolling, and a visitor in
// another browser sees where it goes before leaving Shelf.
func TestBrowserShortLinks(t *testing.T) {
	chromium := needChromium(t)
	s := startShelfServer(t)
	const email, pw = "a-reader-with-a-long-address@a-long-domain-name.example.org", "violet tractor humming"
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"create-admin", "-db", s.DB, "--email", email, "--password-stdin"}, nil,
		strings.NewReader(pw+"\n"), &out, &errb); code != 0 {
		t.Fatalf("create-admin: %s", errb.String())
	}
	browser := chromium.newBrowser(t)
	tab := newTab(t, browser)
	runStep(t, tab, "sign in", 15*time.Second,
		chromedp.Navigate(s.URL+"/login"),
		chromedp.SendKeys(chromedp.ID("email"), email),
		chromedp.SendKeys(chromedp.ID("password"), pw),
		chromedp.Click(chromedp.CSS(`#login-form button[type=submit]`)),
	)
	waitJS(t, tab, "signed in", 10*time.Second, `location.pathname === '/' || location.pathname === '/account'`)

	const target = "https://bücher.example/reviews/2026/a-very-long-path-that-goes-on-and-on-and-on?with=a&query=string"
	var alt string
	for i, width := range []int64{1280, 1280, 360} {
		var opts []chromedp.EmulateViewportOption
		if width == 360 {
			opts = []chromedp.EmulateViewportOption{chromedp.EmulateMobile, chromedp.EmulateScale(3), chromedp.EmulateTouch}
		}
		runStep(t, tab, "open the form", 15*time.Second,
			chromedp.EmulateViewport(width, 844, opts...),
			chromedp.Navigate(s.URL+"/links/new"),
			chromedp.WaitVisible(chromedp.ID("link-id")),
			chromedp.SendKeys(chromedp.ID("link-target"), target),
			chromedp.SendKeys(chromedp.ID("link-id"), "Tolkien-Review"),
		)
		if i == 0 { // the first time, the id is free
			runStep(t, tab, "create the first link", 10*time.Second, chromedp.Click(chromedp.CSS(`#link-form button[type=submit]`)))
			waitJS(t, tab, "the first link's page", 10*time.Second, `location.pathname === '/my-links/Tolkien-Review'`)
			if !evalJS[bool](t, tab, `document.documentElement.scrollWidth <= window.innerWidth`) {
				t.Fatalf("the link's page scrolls sideways at %d px", width)
			}
			continue
		}
		waitJS(t, tab, `"taken" with two alternatives in place`, 10*time.Second,
			`document.getElementById('link-id-error').textContent.includes('is taken') && document.querySelectorAll('.link-alternative').length === 2`)
		if got := evalJS[string](t, tab, `location.pathname`); got != "/links/new" {
			t.Fatalf("the check left the page: %s", got)
		}
		alt = evalJS[string](t, tab, `document.querySelectorAll('.link-alternative')[1].dataset.id`)
		if want := map[int]string{1: "Tolkien-Review-books", 2: "Tolkien-Review-3"}[i]; alt != want {
			t.Fatalf("second alternative %q, want %q", alt, want)
		}
		if !evalJS[bool](t, tab, `document.documentElement.scrollWidth <= window.innerWidth`) {
			t.Fatalf("the form with alternatives scrolls sideways at %d px", width)
		}
		// Pressed as a person does: the press takes the focus from the id
		// field, whose check, sent on that blur, used to replace the
		// choices under the pointer and lose the click.
		evalJS[bool](t, tab, `window.samePage = true`)
		pressAndHold(t, tab, `.link-alternative:nth-of-type(2)`, 300*time.Millisecond)
		waitJS(t, tab, "the alternative in the field", 10*time.Second,
			`window.samePage === true && document.getElementById('link-id').value === '`+alt+`' && document.getElementById('link-id-error').textContent.trim() === ''`)
		runStep(t, tab, "create the link", 10*time.Second, chromedp.Click(chromedp.CSS(`#link-form button[type=submit]`)))
		waitJS(t, tab, "the new link's page", 10*time.Second, `location.pathname === '/my-links/`+alt+`'`)
		if !evalJS[bool](t, tab, `document.documentElement.scrollWidth <= window.innerWidth`) {
			t.Fatalf("the link's page scrolls sideways at %d px", width)
		}
	}

	visitor := newIncognitoTab(t, browser)
	runStep(t, visitor, "follow the short link", 15*time.Second,
		chromedp.EmulateViewport(360, 844, chromedp.EmulateMobile, chromedp.EmulateScale(3), chromedp.EmulateTouch),
		chromedp.Navigate(s.URL+"/s/"+strings.ToLower(alt)),
		chromedp.WaitVisible(chromedp.ID("link-continue")),
	)
	heading := evalJS[string](t, visitor, `document.querySelector('h1').textContent`)
	if !strings.Contains(heading, "You are leaving Shelf for bücher.example") {
		t.Fatalf("interstitial heading %q", heading)
	}
	if got := evalJS[string](t, visitor, `document.getElementById('link-host-ascii').textContent`); got != "xn--bcher-kva.example" {
		t.Fatalf("punycode host %q", got)
	}
	if got := evalJS[string](t, visitor, `document.getElementById('link-continue').rel`); got != "noopener noreferrer" {
		t.Fatalf("rel %q", got)
	}
	if !evalJS[bool](t, visitor, `document.documentElement.scrollWidth <= window.innerWidth`) {
		t.Fatal("the interstitial scrolls sideways on a phone")
	}
}
