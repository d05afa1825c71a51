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

// Details a phone showed wrong, checked from a phone's width to a laptop's:
// the search box's hint was cut off ("Search by title or auth…"), a
// result's Read button wrapped below the other two, My books' shelf tabs
// and "Remove from my books" were under 44 px high, a short link's page
// left an empty line under its heading and a blank chart for a link
// without clicks, and the token form's checkboxes sat above their text.
func TestBrowserPhoneDetails(t *testing.T) {
	chromium := needChromium(t)
	s := startShelfServer(t)
	const email, pw = "details@example.org", "violet tractor humming"
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"create-admin", "-db", s.DB, "--email", email, "--password-stdin"}, nil,
		strings.NewReader(pw+"\n"), &out, &errb); code != 0 {
		t.Fatalf("create-admin: %s", errb.String())
	}
	tab := newTab(t, chromium.newBrowser(t))
	open := func(path string) {
		t.Helper()
		runStep(t, tab, "open "+path, 15*time.Second, chromedp.Navigate(s.URL+path))
		waitJS(t, tab, path+" loaded", 10*time.Second, `document.readyState === "complete"`)
	}

	// Signed out first: the search box on the home page.
	for _, width := range []int64{360, 390, 1280} {
		runStep(t, tab, fmt.Sprintf("%d px wide", width), 10*time.Second, chromedp.EmulateViewport(width, 844))
		open("/")
		// The placeholder's text, in the box's font, fits inside its padding.
		if over := evalJS[int64](t, tab, placeholderOverflow("search-input")); over > 0 {
			t.Errorf("at %d px the search box's placeholder is %d px wider than the box", width, over)
		}
		if !evalJS[bool](t, tab, `(() => { const f = document.querySelector('form[role=search]').getBoundingClientRect();
			const b = document.querySelector('form[role=search] button[type=submit]').getBoundingClientRect();
			return b.right <= f.right + 0.5 && f.right <= innerWidth })()`) {
			t.Errorf("at %d px the Search button or the search form sticks out", width)
		}
	}

	runStep(t, tab, "sign in", 15*time.Second,
		chromedp.Navigate(s.URL+"/login"),
		chromedp.WaitVisible(chromedp.ID("password")),
		chromedp.SendKeys(chromedp.ID("email"), email),
		chromedp.SendKeys(chromedp.ID("password"), pw),
		chromedp.Click(chromedp.CSS(`#login-form button[type=submit]`)),
	)
	waitJS(t, tab, "signed in", 10*time.Second, `document.querySelector('[data-signed-in-as]') !== null`)
	// One book on a shelf, for My books.
	open("/search?q=harry")
	id := evalJS[string](t, tab, `document.querySelector('#result-list li.result').dataset.bookId`)
	runStep(t, tab, "shelve the first result", 15*time.Second, chromedp.Click(chromedp.ID("shelf-"+id+"-want-to-read")))
	waitJS(t, tab, "shelved", 10*time.Second, fmt.Sprintf(`!!document.getElementById('shelf-%s-remove')`, id))
	// A short link without clicks.
	runStep(t, tab, "make a short link", 15*time.Second,
		chromedp.Navigate(s.URL+"/links/new?target="+url.QueryEscape(s.URL+"/books/1")),
		chromedp.WaitVisible(chromedp.ID("link-id")),
		chromedp.SendKeys(chromedp.ID("link-id"), "quiet"),
		chromedp.Click(chromedp.CSS(`#link-form button[type=submit]`)),
	)
	waitJS(t, tab, "the link's page", 15*time.Second, `location.pathname === '/my-links/quiet' && !!document.getElementById('link-qr')`)

	for _, width := range []int64{360, 390, 1280} {
		phone := width < 640
		runStep(t, tab, fmt.Sprintf("%d px wide", width), 10*time.Second, chromedp.EmulateViewport(width, 844))

		// A result not on a shelf: its three shelf buttons share one row,
		// each a finger high on a phone.
		open("/search?q=harry")
		if rows := evalJS[int64](t, tab, `[...document.querySelectorAll('#result-list .shelf-choice')].filter((f) =>
			f.querySelectorAll('.shelf-button').length === 3 && !f.closest('.shelved')).filter((f) =>
			new Set([...f.querySelectorAll('.shelf-button')].map((b) => b.offsetTop)).size > 1).length`); rows > 0 {
			t.Errorf("at %d px %d results' shelf buttons take more than one row", width, rows)
		}
		if n := evalJS[int64](t, tab, `document.querySelectorAll('#result-list .shelf:not(.shelved) .shelf-button').length`); n < 3 {
			t.Fatalf("at %d px only %d shelf buttons of results not on a shelf", width, n)
		}
		if low := evalJS[int64](t, tab, `[...document.querySelectorAll('#result-list .shelf-button')].filter((b) =>
			b.getBoundingClientRect().height < 44).length`); phone && low > 0 {
			t.Errorf("at %d px %d shelf buttons lower than 44 px", width, low)
		}
		if !evalJS[bool](t, tab, `document.documentElement.scrollWidth <= window.innerWidth`) {
			t.Errorf("the results at %d px scroll sideways", width)
		}

		// My books: the shelf tabs and Remove are a finger high on a phone.
		open("/my-books")
		if got := evalJS[string](t, tab, `[...document.querySelectorAll('.shelf-tabs a, .shelf-remove button')].filter((e) =>
			e.getBoundingClientRect().height < 44).map((e) => e.textContent.trim() + ' ' + e.getBoundingClientRect().height.toFixed(1)).join(', ')`); phone && got != "" {
			t.Errorf("at %d px on My books lower than 44 px: %s", width, got)
		}
		if n := evalJS[int64](t, tab, `document.querySelectorAll('.shelf-tabs a').length + document.querySelectorAll('.shelf-remove button').length`); n < 5 {
			t.Fatalf("My books has %d tabs and Remove buttons", n)
		}
		if over := evalJS[int64](t, tab, placeholderOverflow("my-books-q")); over > 0 {
			t.Errorf("at %d px My books' search placeholder is %d px wider than the box", width, over)
		}

		// A link's page: no empty line under its heading while nothing is
		// announced, and a sentence rather than a blank chart.
		open("/my-links/quiet")
		if gap := evalJS[float64](t, tab, `(() => { const h = document.getElementById('link-heading');
			return document.querySelector('.my-link .link-target').getBoundingClientRect().top - h.getBoundingClientRect().bottom -
				parseFloat(getComputedStyle(h).marginBottom) })()`); gap > 1 {
			t.Errorf("at %d px an empty %.1f px more under the link's heading than its margin", width, gap)
		}
		if !evalJS[bool](t, tab, `(() => { const s = document.getElementById('link-status');
			return !!s && s.getAttribute('role') === 'status' && s.textContent === '' })()`) {
			t.Errorf("at %d px the link's page has no empty live region", width)
		}
		if got := evalJS[string](t, tab, `(() => { const c = document.getElementById('clicks-chart'), svg = c && c.querySelector('svg');
			return (svg && svg.getBoundingClientRect().height > 0 ? 'a chart ' : '') + (c ? c.innerText.trim() : 'nothing') })()`); got != "No clicks yet." {
			t.Errorf("at %d px a link without clicks shows %q", width, got)
		}

		// The token form: each checkbox's middle on its text's first line's.
		open("/account/tokens")
		if got := evalJS[string](t, tab, `[...document.querySelectorAll('#token-scopes-field label')].map((l) => {
			const b = l.querySelector('input').getBoundingClientRect(), text = l.querySelector('span');
			return (b.top + b.height / 2) - (text.getBoundingClientRect().top + parseFloat(getComputedStyle(text).lineHeight) / 2) }).filter((d) => Math.abs(d) > 1).map((d) => d.toFixed(1)).join(', ')`); got != "" {
			t.Errorf("at %d px the scopes' checkboxes sit off their text's middle by %s px", width, got)
		}
	}
}

// placeholderOverflow is a script giving how many pixels the placeholder of
// the search box with the id overflows it. A search box keeps room for its
// clear button, so the text is measured as the box's value (which fires no
// input event), then the box is emptied again.
func placeholderOverflow(id string) string {
	return `(() => { const i = document.getElementById('` + id + `'), v = i.value;
		i.value = i.placeholder; const over = i.scrollWidth - i.clientWidth; i.value = v; return over })()`
}
