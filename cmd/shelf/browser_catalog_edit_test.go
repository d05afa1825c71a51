package main

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// TestBrowserCatalogEdit: an admin adds a book on a phone and on a
// computer. Typing a wrong ISBN shows its message beside the field without
// a page load; fixing it clears the message; the book saved is found by
// search at once. The form and the book's admin view fit both screens.
func TestBrowserCatalogEdit(t *testing.T) {
	chromium := needChromium(t)
	s := startShelfServer(t)
	const email, pw = "librarian@example.org", "violet tractor humming"
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"create-admin", "-db", s.DB, "--email", email, "--password-stdin"}, nil,
		strings.NewReader(pw+"\n"), &out, &errb); code != 0 {
		t.Fatalf("create-admin: %s", errb.String())
	}
	tab := newTab(t, chromium.newBrowser(t))
	runStep(t, tab, "sign in", 15*time.Second,
		chromedp.Navigate(s.URL+"/login"),
		chromedp.SendKeys(chromedp.ID("email"), email),
		chromedp.SendKeys(chromedp.ID("password"), pw),
		chromedp.Click(chromedp.CSS(`#login-form button[type=submit]`)),
	)
	waitJS(t, tab, "signed in", 10*time.Second, `location.pathname === '/' || location.pathname === '/account'`)

	for _, c := range []struct {
		width                 int64
		phone                 bool
		title, bad, fix, word string
	}{
		{360, true, "Quokka Meadow Atlas", "978-0-306-40615-8", "7", "quokka"},
		{1280, false, "Wombat Harbour Almanac", "0-8044-2957-1", "X", "wombat"},
	} {
		var opts []chromedp.EmulateViewportOption
		if c.phone {
			opts = []chromedp.EmulateViewportOption{chromedp.EmulateMobile, chromedp.EmulateScale(3), chromedp.EmulateTouch}
		}
		runStep(t, tab, fmt.Sprintf("a screen %d px wide", c.width), 10*time.Second, chromedp.EmulateViewport(c.width, 844, opts...))
		runStep(t, tab, "open the form", 15*time.Second,
			chromedp.Navigate(s.URL+"/admin/books/new"),
			chromedp.WaitVisible(chromedp.ID("book-title")),
		)
		evalJS[bool](t, tab, `window.__noReload = true`)
		runStep(t, tab, "focus the title", 5*time.Second, chromedp.Focus(chromedp.ID("book-title")))
		typeKeys(t, tab, c.title)
		runStep(t, tab, "focus the authors", 5*time.Second, chromedp.Focus(chromedp.ID("book-authors")))
		typeKeys(t, tab, "Ada Penrose")
		runStep(t, tab, "focus the ISBN", 5*time.Second, chromedp.Focus(chromedp.ID("book-isbn")))
		typeKeys(t, tab, c.bad)
		waitJS(t, tab, "the ISBN's message beside the field", 5*time.Second,
			`document.getElementById('book-isbn-error').textContent.includes('check digit') &&
			 document.getElementById('book-isbn').getAttribute('aria-invalid') === 'true'`)
		assertFits(t, tab, c.width)

		runStep(t, tab, "delete the last digit", 5*time.Second, chromedp.KeyEvent(kb.Backspace))
		typeKeys(t, tab, c.fix)
		waitJS(t, tab, "the message to clear once the ISBN is fixed", 5*time.Second,
			`document.getElementById('book-isbn-error').textContent.trim() === '' &&
			 document.getElementById('book-isbn').getAttribute('aria-invalid') !== 'true'`)
		if !evalJS[bool](t, tab, `window.__noReload === true`) {
			t.Fatal("checking the field reloaded the page")
		}

		runStep(t, tab, "save", 15*time.Second, chromedp.Click(chromedp.CSS(`#book-form button[type=submit]`)))
		waitJS(t, tab, "the book's admin view", 15*time.Second,
			`location.pathname.startsWith('/admin/books/') && document.getElementById('book-history') !== null &&
			 document.body.textContent.includes('Book added.')`)
		id := evalJS[string](t, tab, `location.pathname.split('/').pop()`)
		assertFits(t, tab, c.width)

		runStep(t, tab, "search for it", 15*time.Second, chromedp.Navigate(s.URL+"/search?q="+c.word))
		waitJS(t, tab, "the book in the results", 10*time.Second,
			fmt.Sprintf(`document.querySelector('#result-list [data-book-id="%s"]') !== null`, id))
		assertFits(t, tab, c.width)
	}
}

// assertFits fails when the page scrolls sideways at width.
func assertFits(t *testing.T, tab context.Context, width int64) {
	t.Helper()
	if w := evalJS[int64](t, tab, `Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)`); w > width {
		t.Errorf("%s is %d px wide on a screen %d px wide", evalJS[string](t, tab, `location.pathname`), w, width)
	}
	if !evalJS[bool](t, tab, `document.documentElement.scrollWidth <= window.innerWidth`) {
		t.Errorf("%s scrolls sideways at %d px", evalJS[string](t, tab, `location.pathname`), width)
	}
}
