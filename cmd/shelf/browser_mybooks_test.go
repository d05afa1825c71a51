package main

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserMyBooksTabsAndCounts: on My books, the shelf tabs follow the
// search typed and the order chosen, in place (they kept the page's old
// links), and a tab pressed keeps both. Removing a book updates the count
// and the tabs' counts in place (they stayed as loaded), and putting it
// back with the row's "Add to" buttons, which stay as the undo, restores
// them.
func TestBrowserMyBooksTabsAndCounts(t *testing.T) {
	chromium := needChromium(t)
	s := startShelfServer(t)
	const email, pw = "tabs@example.org", "violet tractor humming"
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"create-admin", "-db", s.DB, "--email", email, "--password-stdin"}, nil,
		strings.NewReader(pw+"\n"), &out, &errb); code != 0 {
		t.Fatalf("create-admin: %s", errb.String())
	}
	tab := newIncognitoTab(t, chromium.newBrowser(t))
	runStep(t, tab, "sign in", 15*time.Second,
		chromedp.Navigate(s.URL+"/login"),
		chromedp.WaitVisible(chromedp.ID("password")),
		chromedp.SendKeys(chromedp.ID("email"), email),
		chromedp.SendKeys(chromedp.ID("password"), pw),
		chromedp.Click(chromedp.CSS(`#login-form button[type=submit]`)),
	)
	waitJS(t, tab, "signed in", 10*time.Second, `location.pathname !== '/login'`)

	// Three of harry's results, one on each shelf.
	runStep(t, tab, "search", 15*time.Second,
		chromedp.Navigate(s.URL+"/search?q=harry"),
		chromedp.WaitVisible(chromedp.ID("result-list")),
	)
	waitJS(t, tab, "htmx to load", 5*time.Second, `!!window.htmx`)
	ids := evalJS[[]string](t, tab, `[...document.querySelectorAll('#result-list li.result')].slice(0, 3).map((li) => li.dataset.bookId)`)
	if len(ids) != 3 {
		t.Fatalf("results: %v", ids)
	}
	for i, shelf := range []string{"want-to-read", "reading", "read"} {
		button := fmt.Sprintf("shelf-%s-%s", ids[i], shelf)
		runStep(t, tab, "press #"+button, 10*time.Second, chromedp.Click(chromedp.ID(button)))
		waitJS(t, tab, button+" pressed", 10*time.Second, fmt.Sprintf(
			`document.getElementById(%q) && document.getElementById(%q).getAttribute('aria-pressed') === 'true'`, button, button))
	}

	runStep(t, tab, "open My books", 15*time.Second, chromedp.Navigate(s.URL+"/my-books"))
	waitJS(t, tab, "My books with three books", 10*time.Second,
		`document.querySelectorAll('#my-books-results li.result').length === 3 && document.getElementById('my-books-count').textContent === '3 books on your shelves.'`)
	waitJS(t, tab, "htmx to load", 5*time.Second, `!!window.htmx`)
	evalJS[bool](t, tab, `window.__noReload = true`)
	const tabHref = `new URL(document.getElementById('shelf-tab-want-to-read').href)`

	// Typed: the tabs follow, in place.
	runStep(t, tab, "focus the search", 5*time.Second, chromedp.Focus(chromedp.ID("my-books-q")))
	typeKeys(t, tab, "harry")
	waitJS(t, tab, "the tabs carry the query typed", 10*time.Second,
		`new URLSearchParams(location.search).get('q') === 'harry' && `+tabHref+`.searchParams.get('q') === 'harry' &&
		 new URL(document.getElementById('shelf-tab-all').href).searchParams.get('q') === 'harry' && window.__noReload === true`)
	// Sorted: they follow the order too.
	evalJS[bool](t, tab, `(() => { const s = document.getElementById('my-books-sort'); s.value = 'title';
		s.dispatchEvent(new Event('change', {bubbles: true})); return true })()`)
	waitJS(t, tab, "the tabs carry the order chosen", 10*time.Second,
		`new URLSearchParams(location.search).get('sort') === 'title' && `+tabHref+`.searchParams.get('sort') === 'title' &&
		 `+tabHref+`.searchParams.get('q') === 'harry' && window.__noReload === true`)
	if got := evalJS[string](t, tab, `document.getElementById('shelf-tab-all').getAttribute('aria-current') || ''`); got != "page" {
		t.Errorf("after typing, the All tab is not the current one: %q", got)
	}
	// A tab keeps both.
	runStep(t, tab, "press the Want to read tab", 15*time.Second, chromedp.Click(chromedp.ID("shelf-tab-want-to-read")))
	waitJS(t, tab, "Want to read, searched and sorted", 10*time.Second,
		`(() => { const p = new URLSearchParams(location.search);
		 return p.get('shelf') === 'want-to-read' && p.get('q') === 'harry' && p.get('sort') === 'title' &&
		 document.getElementById('my-books-q').value === 'harry' && document.getElementById('my-books-sort').value === 'title' &&
		 document.getElementById('shelf-tab-want-to-read').getAttribute('aria-current') === 'page' })()`)

	// Removing a book updates the counts in place; putting it back too.
	runStep(t, tab, "open My books again", 15*time.Second, chromedp.Navigate(s.URL+"/my-books"))
	waitJS(t, tab, "htmx to load", 5*time.Second, `!!window.htmx`)
	evalJS[bool](t, tab, `window.__noReload = true`)
	counts := `['all', 'want-to-read', 'reading', 'read'].map((s) => document.querySelector('#shelf-tab-' + s + ' .count').textContent).join(' ')`
	if got := evalJS[string](t, tab, counts); got != "3 1 1 1" {
		t.Fatalf("tab counts: %s", got)
	}
	reading := "shelf-" + ids[1]
	runStep(t, tab, "remove the book on Reading", 10*time.Second, chromedp.Click(chromedp.ID(reading+"-remove")))
	waitJS(t, tab, "the counts after Remove", 10*time.Second, fmt.Sprintf(
		`document.getElementById('%s-remove') === null && document.getElementById('my-books-count').textContent === '2 books on your shelves.' &&
		 %s === '2 1 0 1' && window.__noReload === true`, reading, counts))
	if n := evalJS[int64](t, tab, `document.querySelectorAll('#my-books-results li.result').length`); n != 3 {
		t.Errorf("after Remove the list has %d rows; the removed one stays, to put back", n)
	}
	runStep(t, tab, "put it back on Read", 10*time.Second, chromedp.Click(chromedp.ID(reading+"-read")))
	waitJS(t, tab, "the counts after putting it back", 10*time.Second, fmt.Sprintf(
		`document.getElementById('%s-remove') !== null && document.getElementById('my-books-count').textContent === '3 books on your shelves.' &&
		 %s === '3 1 0 2' && window.__noReload === true`, reading, counts))
}
