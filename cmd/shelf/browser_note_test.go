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

// A note typed but not saved survives a shelf button or a star pressed
// before Save note: each swaps the book's whole shelf control, and the
// typed words went with it, the note's form closed.
func TestBrowserUnsavedNoteSurvivesShelfChange(t *testing.T) {
	chromium := needChromium(t)
	s := startShelfServer(t)
	const email, pw = "notes@example.org", "violet tractor humming"
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"create-admin", "-db", s.DB, "--email", email, "--password-stdin"}, nil,
		strings.NewReader(pw+"\n"), &out, &errb); code != 0 {
		t.Fatalf("create-admin: %s", errb.String())
	}
	tab := newTab(t, chromium.newBrowser(t))
	runStep(t, tab, "sign in", 15*time.Second,
		chromedp.Navigate(s.URL+"/login"),
		chromedp.WaitVisible(chromedp.ID("password")),
		chromedp.SendKeys(chromedp.ID("email"), email),
		chromedp.SendKeys(chromedp.ID("password"), pw),
		chromedp.Click(chromedp.CSS(`#login-form button[type=submit]`)),
	)
	waitJS(t, tab, "signed in", 10*time.Second, `document.querySelector('[data-signed-in-as]') !== null`)
	runStep(t, tab, "search", 15*time.Second, chromedp.Navigate(s.URL+"/search?q=dune"))
	waitJS(t, tab, "results", 10*time.Second, `!!document.querySelector('#result-list li.result')`)
	id := evalJS[string](t, tab, `document.querySelector('#result-list li.result').dataset.bookId`)
	shelf := "shelf-" + id
	runStep(t, tab, "shelve the first result", 15*time.Second, chromedp.Click(chromedp.ID(shelf+"-want-to-read")))
	waitJS(t, tab, "shelved", 10*time.Second, fmt.Sprintf(`!!document.getElementById('%s-note')`, shelf))

	const typed = "half a thought about the desert"
	runStep(t, tab, "type a note", 10*time.Second,
		chromedp.Click(chromedp.CSS(`#`+shelf+` .shelf-note summary`)),
		chromedp.WaitVisible(chromedp.ID(shelf+"-note")),
		chromedp.SendKeys(chromedp.ID(shelf+"-note"), typed),
	)
	kept := func(after string) {
		t.Helper()
		if got := evalJS[string](t, tab, fmt.Sprintf(`(() => { const n = document.getElementById('%s-note');
			return (n.closest('details').open ? 'open: ' : 'closed: ') + n.value })()`, shelf)); got != "open: "+typed {
			t.Errorf("after %s the note form reads %q, want %q", after, got, "open: "+typed)
		}
	}
	runStep(t, tab, "press Reading", 10*time.Second, chromedp.Click(chromedp.ID(shelf+"-reading")))
	waitJS(t, tab, "on Reading", 10*time.Second, fmt.Sprintf(`document.getElementById('%s-reading').getAttribute('aria-pressed') === 'true'`, shelf))
	kept("pressing Reading")
	runStep(t, tab, "rate it", 10*time.Second, chromedp.Click(chromedp.ID(shelf+"-rate-4")))
	waitJS(t, tab, "rated", 10*time.Second, fmt.Sprintf(`document.getElementById('%s-rate-4').getAttribute('aria-pressed') === 'true'`, shelf))
	kept("a star")

	// Still unsaved until Save note, which then keeps it.
	runStep(t, tab, "save the note", 10*time.Second, chromedp.Click(chromedp.ID(shelf+"-save-note")))
	waitJS(t, tab, "saved", 10*time.Second, fmt.Sprintf(`!!document.querySelector('#%s .shelf-note-status')`, shelf))
	if !evalJS[bool](t, tab, fmt.Sprintf(`(() => { const s = document.querySelector('#%s .shelf-note-status');
		return !s.hidden && s.textContent.includes('Note saved') })()`, shelf)) {
		t.Error("after Save note, \"Note saved.\" is not shown")
	}
	runStep(t, tab, "reload", 15*time.Second, chromedp.Navigate(s.URL+"/search?q=dune"))
	waitJS(t, tab, "results", 10*time.Second, `!!document.querySelector('#result-list li.result')`)
	if got := evalJS[string](t, tab, fmt.Sprintf(`document.getElementById('%s-note').value`, shelf)); got != typed {
		t.Errorf("after saving, the note is %q, want %q", got, typed)
	}
}
