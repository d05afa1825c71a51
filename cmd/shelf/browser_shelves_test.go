package main

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// TestBrowserShelves shelves books from search results in a real browser.
// A visitor presses Want to read, signs in, and is back on the results with
// the book shelved. Signed in, they move a book, rate it and note it in
// place: no page load, the scroll kept, focus on the pressed button, by
// keyboard. Without JavaScript the same buttons post and come back to the
// same result. My books fits a phone and a laptop.
func TestBrowserShelves(t *testing.T) {
	chromium := needChromium(t)
	s := startShelfServer(t)
	const email, pw = "shelver@example.org", "violet tractor humming"
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"create-admin", "-db", s.DB, "--email", email, "--password-stdin"}, nil,
		strings.NewReader(pw+"\n"), &out, &errb); code != 0 {
		t.Fatalf("create-admin: %s", errb.String())
	}
	browser := chromium.newBrowser(t)

	signIn := func(t *testing.T, tab context.Context) {
		t.Helper()
		runStep(t, tab, "sign in", 15*time.Second,
			chromedp.WaitVisible(chromedp.ID("password")),
			chromedp.SendKeys(chromedp.ID("email"), email),
			chromedp.SendKeys(chromedp.ID("password"), pw),
			chromedp.Click(chromedp.CSS(`#login-form button[type=submit]`)),
		)
	}
	// pressed is the id of the pressed shelf button of the first result's control.
	const jsFirst = `document.querySelector('#result-list li.result')`
	const jsFirstID = jsFirst + `.dataset.bookId`

	t.Run("WithJavaScript", func(t *testing.T) {
		tab := newIncognitoTab(t, browser)
		runStep(t, tab, "search", 15*time.Second,
			chromedp.Navigate(s.URL+"/search?q=harry"),
			chromedp.WaitVisible(chromedp.ID("result-list")),
		)
		id := evalJS[string](t, tab, jsFirstID)
		// A visitor's button asks them to sign in, and brings them back
		// with the book on the shelf.
		runStep(t, tab, "press Want to read signed out", 15*time.Second,
			chromedp.Click(chromedp.CSS(fmt.Sprintf(`#shelf-%s button[value="want-to-read"]`, id))))
		waitJS(t, tab, "the sign-in page saying what it will do", 10*time.Second,
			`location.pathname === '/login' && document.body.textContent.includes('Sign in to put')`)
		signIn(t, tab)
		waitJS(t, tab, "back on the results, shelved", 15*time.Second, fmt.Sprintf(
			`location.pathname === '/search' && location.hash === '#title-%[1]s' &&
			 document.getElementById('title-%[1]s').getBoundingClientRect().top >= 0 &&
			 document.getElementById('shelf-%[1]s-want-to-read') && document.getElementById('shelf-%[1]s-want-to-read').getAttribute('aria-pressed') === 'true'`, id))
		waitJS(t, tab, "htmx to load", 5*time.Second, `!!window.htmx`)

		// In place now: a marker on window survives only without a page
		// load; the scroll position stays.
		evalJS[bool](t, tab, `window.__noReload = true`)
		second := evalJS[string](t, tab, `document.querySelectorAll('#result-list li.result')[1].dataset.bookId`)
		evalJS[bool](t, tab, fmt.Sprintf(`document.getElementById('shelf-%s').scrollIntoView({block: 'center'}), true`, second))
		scrollY := evalJS[float64](t, tab, `window.scrollY`)
		press := func(buttonID, state string) {
			t.Helper()
			// By keyboard: focus the button, press Enter.
			runStep(t, tab, "focus #"+buttonID, 5*time.Second, chromedp.Focus(chromedp.ID(buttonID)))
			runStep(t, tab, "press Enter on #"+buttonID, 5*time.Second, chromedp.KeyEvent("\r"))
			waitJS(t, tab, buttonID+" "+state, 10*time.Second, state)
			if got := evalJS[string](t, tab, `document.activeElement.id`); got != buttonID {
				t.Errorf("after pressing #%s focus is on %q", buttonID, got)
			}
			if !evalJS[bool](t, tab, `window.__noReload === true`) {
				t.Fatalf("pressing #%s loaded a page", buttonID)
			}
			if y := evalJS[float64](t, tab, `window.scrollY`); y != scrollY {
				t.Errorf("pressing #%s scrolled from %v to %v", buttonID, scrollY, y)
			}
		}
		pressedIs := func(id string) string {
			return fmt.Sprintf(`document.getElementById(%q) && document.getElementById(%q).getAttribute('aria-pressed') === 'true'`, id, id)
		}
		b := "shelf-" + second
		press(b+"-reading", pressedIs(b+"-reading"))
		press(b+"-rate-4", pressedIs(b+"-rate-4")+` && document.querySelectorAll('#`+b+` .star.on').length === 4`)
		press(b+"-read", pressedIs(b+"-read")+` && !(`+pressedIs(b+"-reading")+`) && document.querySelectorAll('#`+b+` .star.on').length === 4`)
		if got := evalJS[string](t, tab, `location.pathname + location.search`); got != "/search?q=harry" {
			t.Errorf("the address changed to %s", got)
		}

		// A save refused in place (here its form expired) says why. Its
		// answer is not swapped in, and the page used to stay as it was
		// without a word; the same goes for a 503 when the disk is full.
		evalJS[bool](t, tab, `window.__token = document.querySelector('meta[name="csrf-token"]').content,
			document.querySelector('meta[name="csrf-token"]').content = 'expired',
			document.querySelectorAll('input[name="_csrf"]').forEach((i) => { i.value = 'expired' }), true`)
		runStep(t, tab, "focus #"+b+"-reading", 5*time.Second, chromedp.Focus(chromedp.ID(b+"-reading")))
		runStep(t, tab, "press Enter on #"+b+"-reading", 5*time.Second, chromedp.KeyEvent("\r"))
		waitJS(t, tab, "the refusal said", 10*time.Second,
			`!document.getElementById('request-error').hidden && document.getElementById('request-error').textContent.includes('This form has expired')`)
		if !evalJS[bool](t, tab, pressedIs(b+"-read")) || !evalJS[bool](t, tab, `window.__noReload === true`) {
			t.Fatal("a refused save changed the shelf, or loaded a page")
		}
		evalJS[bool](t, tab, `document.querySelector('meta[name="csrf-token"]').content = window.__token,
			document.querySelectorAll('input[name="_csrf"]').forEach((i) => { i.value = window.__token }), true`)

		// A note, typed into its field, saved in place: "Note saved." shows
		// beside Save note (it was for screen readers only), moving nothing.
		runStep(t, tab, "open the note", 5*time.Second, chromedp.Click(chromedp.CSS(`#`+b+` .shelf-note summary`)))
		runStep(t, tab, "focus the note", 5*time.Second, chromedp.Focus(chromedp.ID(b+"-note")))
		typeKeys(t, tab, "Reread it")
		height := evalJS[float64](t, tab, `document.getElementById('`+b+`').getBoundingClientRect().height`)
		press(b+"-save-note", `document.querySelector('#`+b+` [role=status]') && document.querySelector('#`+b+` [role=status]').textContent.includes('Note saved') &&
			document.getElementById('`+b+`-note').value === 'Reread it'`)
		if got := evalJS[string](t, tab, noteStatusShown(b, "Note saved.")); got != "" {
			t.Errorf("after saving the note: %s", got)
		}
		if h := evalJS[float64](t, tab, `document.getElementById('`+b+`').getBoundingClientRect().height`); h != height {
			t.Errorf("saving the note changed the control's height from %v to %v", height, h)
		}
		// Typing again, it is no longer saved.
		runStep(t, tab, "focus the note again", 5*time.Second, chromedp.Focus(chromedp.ID(b+"-note")))
		typeKeys(t, tab, "!")
		if !evalJS[bool](t, tab, `document.querySelector('#`+b+` .shelf-note-status').getBoundingClientRect().width === 0`) {
			t.Error(`"Note saved." still shows while the note is typed in again`)
		}
		if !evalJS[bool](t, tab, `document.getElementById('request-error').hidden`) {
			t.Error("the refusal is still shown after a save that worked")
		}

		// Removing the first book moves focus to its first shelf button,
		// as the pressed Remove is gone.
		first := "shelf-" + id
		evalJS[bool](t, tab, `document.getElementById('`+first+`').scrollIntoView({block: 'center'}), true`)
		runStep(t, tab, "focus Remove", 5*time.Second, chromedp.Focus(chromedp.ID(first+"-remove")))
		runStep(t, tab, "press Enter on Remove", 5*time.Second, chromedp.KeyEvent("\r"))
		waitJS(t, tab, "the book removed, focus on its first shelf button", 10*time.Second, fmt.Sprintf(
			`document.getElementById('%[1]s-remove') === null && document.activeElement.id === '%[1]s-want-to-read' && window.__noReload === true`, first))

		// My books shows the second, and its search narrows as you type.
		runStep(t, tab, "open My books", 15*time.Second, chromedp.Click(chromedp.ID("nav-my-books")))
		waitJS(t, tab, "My books with one book", 10*time.Second,
			`location.pathname === '/my-books' && document.querySelectorAll('#my-books-results li.result').length === 1`)
		waitJS(t, tab, "htmx to load", 5*time.Second, `!!window.htmx`)
		evalJS[bool](t, tab, `window.__noReload = true`)
		title := evalJS[string](t, tab, fmt.Sprintf(`document.getElementById('title-%s').textContent`, second))
		word := strings.Fields(title)[len(strings.Fields(title))-1]
		word = strings.Trim(word, "()#,.:;!?'\"")
		runStep(t, tab, "focus the search", 5*time.Second, chromedp.Focus(chromedp.ID("my-books-q")))
		typeKeys(t, tab, strings.ToLower(word))
		waitJS(t, tab, "My books narrowed in place", 10*time.Second, fmt.Sprintf(
			`document.querySelector('#my-books-results li.result[data-book-id="%s"]') !== null && new URLSearchParams(location.search).get('q') === %q && window.__noReload === true`,
			second, strings.ToLower(word)))
	})

	t.Run("WithoutJavaScript", func(t *testing.T) {
		tab := newIncognitoTab(t, browser)
		if _, err := chromedp.Call(tab, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true}); err != nil {
			t.Fatalf("disable JavaScript: %v", err)
		}
		runStep(t, tab, "open the sign-in page", 15*time.Second, chromedp.Navigate(s.URL+"/login"))
		signIn(t, tab)
		waitJS(t, tab, "signed in", 10*time.Second, `location.pathname !== '/login'`)
		runStep(t, tab, "search", 15*time.Second,
			chromedp.Navigate(s.URL+"/search?q=dune"),
			chromedp.WaitVisible(chromedp.ID("result-list")),
		)
		if got := evalJS[string](t, tab, `typeof window.htmx`); got != "undefined" {
			t.Fatalf("htmx loaded although JavaScript is disabled")
		}
		id := evalJS[string](t, tab, jsFirstID)
		b, title := "shelf-"+id, "title-"+id
		for _, step := range []struct{ button, want string }{
			{b + "-want-to-read", b + "-want-to-read"},
			{b + "-rate-5", b + "-rate-5"},
			{b + "-reading", b + "-reading"},
		} {
			runStep(t, tab, "press #"+step.button, 15*time.Second, chromedp.Click(chromedp.ID(step.button)))
			waitJS(t, tab, "back on the same result with "+step.want+" pressed", 10*time.Second, fmt.Sprintf(
				`location.pathname === '/search' && location.search === '?q=dune' && location.hash === '#%s' &&
				 document.getElementById(%[1]q).getBoundingClientRect().top >= 0 &&
				 document.getElementById(%q) && document.getElementById(%[2]q).getAttribute('aria-pressed') === 'true'`, title, step.want))
		}
		// A note saved on the book page comes back open, saying so.
		runStep(t, tab, "open the book page", 15*time.Second,
			chromedp.Navigate(s.URL+"/books/"+id),
			chromedp.Click(chromedp.CSS(`#`+b+` .shelf-note summary`)),
			chromedp.SendKeys(chromedp.ID(b+"-note"), "Lent to Sam"),
			chromedp.Click(chromedp.ID(b+"-save-note")),
		)
		waitJS(t, tab, "back on the book page with the note saved", 10*time.Second, fmt.Sprintf(
			`location.pathname === '/books/%s' && location.hash === '#%s' && document.getElementById('%s-note').value === 'Lent to Sam'`, id, title, b))
		if got := evalJS[string](t, tab, noteStatusShown(b, "Note saved.")); got != "" {
			t.Errorf("after saving the note without JavaScript: %s", got)
		}
		runStep(t, tab, "search again", 15*time.Second,
			chromedp.Navigate(s.URL+"/search?q=dune"),
			chromedp.WaitVisible(chromedp.ID("result-list")),
		)
		runStep(t, tab, "remove", 15*time.Second, chromedp.Click(chromedp.ID(b+"-remove")))
		waitJS(t, tab, "removed", 10*time.Second, fmt.Sprintf(
			`location.hash === '#%s' && document.getElementById('%[2]s-remove') === null && document.getElementById('%[2]s-want-to-read') !== null`, title, b))
	})

	t.Run("MyBooksFits", func(t *testing.T) {
		tab := newIncognitoTab(t, browser)
		runStep(t, tab, "open the sign-in page", 15*time.Second, chromedp.Navigate(s.URL+"/login"))
		signIn(t, tab)
		waitJS(t, tab, "signed in", 10*time.Second, `location.pathname !== '/login'`)
		for _, width := range []int64{360, 1280} {
			runStep(t, tab, fmt.Sprintf("viewport %d px", width), 10*time.Second, chromedp.EmulateViewport(width, 844))
			for _, path := range []string{"/my-books", "/search?q=harry", "/books/1"} {
				runStep(t, tab, "open "+path, 15*time.Second, chromedp.Navigate(s.URL+path))
				waitJS(t, tab, path+" loaded", 10*time.Second, `document.readyState === "complete"`)
				if path == "/my-books" && !evalJS[bool](t, tab, `document.querySelectorAll('#my-books-results li.result').length >= 1`) {
					t.Errorf("My books is empty at %d px", width)
				}
				// A phone's stars are a finger wide.
				if small := evalJS[int64](t, tab, `[...document.querySelectorAll('.shelf .star')].filter((s) => {
					const r = s.getBoundingClientRect(); return r.width < 44 || r.height < 44 }).length`); width < 640 && small > 0 {
					t.Errorf("%s at %d px: %d rating stars smaller than 44 px", path, width, small)
				}
				// So are its shelf buttons (they were 33 px high), and a
				// result's five stars share a row (the fifth sat alone below).
				if small := evalJS[int64](t, tab, `[...document.querySelectorAll('.shelf .shelf-button')].filter((b) =>
					b.getBoundingClientRect().height < 44).length`); width < 640 && small > 0 {
					t.Errorf("%s at %d px: %d shelf buttons lower than 44 px", path, width, small)
				}
				// "Add a private note" too (it was 22 px high).
				if low := evalJS[string](t, tab, `[...document.querySelectorAll('.shelf-note summary')].filter((s) =>
					s.getBoundingClientRect().height < 44).map((s) => s.getBoundingClientRect().height.toFixed(1)).join(', ')`); width < 640 && low != "" {
					t.Errorf("%s at %d px: note controls lower than 44 px: %s", path, width, low)
				}
				if path == "/my-books" && !evalJS[bool](t, tab, `!!document.querySelector('.shelf-note summary')`) {
					t.Errorf("My books has no note control at %d px", width)
				}
				if split := evalJS[int64](t, tab, `[...document.querySelectorAll('.shelf-rating')].filter((f) => {
					const tops = [...f.querySelectorAll('.star')].map((s) => Math.round(s.getBoundingClientRect().top));
					return new Set(tops).size > 1 }).length`); split > 0 {
					t.Errorf("%s at %d px: %d ratings' stars on more than one row", path, width, split)
				}
				if !evalJS[bool](t, tab, `document.documentElement.scrollWidth <= window.innerWidth`) {
					t.Errorf("%s at %d px scrolls sideways: scrollWidth %d > innerWidth %d", path, width,
						evalJS[int64](t, tab, `document.documentElement.scrollWidth`), evalJS[int64](t, tab, `window.innerWidth`))
				}
			}
			// Saving a note says so beside Save note at this width too.
			runStep(t, tab, "open My books", 15*time.Second, chromedp.Navigate(s.URL+"/my-books"))
			waitJS(t, tab, "htmx to load", 10*time.Second, `!!window.htmx && !!document.querySelector('#my-books-results .shelf-note summary')`)
			b := "shelf-" + evalJS[string](t, tab, `document.querySelector('#my-books-results li.result').dataset.bookId`)
			runStep(t, tab, "open the note and save it", 10*time.Second,
				chromedp.Click(chromedp.CSS(`#`+b+` .shelf-note summary`)),
				chromedp.Click(chromedp.ID(b+"-save-note")),
			)
			waitJS(t, tab, "the note saved", 10*time.Second, `!!document.querySelector('#`+b+` .shelf-note-status')`)
			if got := evalJS[string](t, tab, noteStatusShown(b, "Note saved.")); got != "" {
				t.Errorf("My books at %d px, after saving the note: %s", width, got)
			}
			// Save note is a finger high too (it was 32 px).
			if h := evalJS[float64](t, tab, `document.getElementById('`+b+`-save-note').getBoundingClientRect().height`); width < 640 && h < 44 {
				t.Errorf("My books at %d px: Save note is %.1f px high, want 44", width, h)
			}
		}
	})
}

// noteStatusShown is a script giving what is wrong with the status of the
// note of control b: "" when it shows text beside Save note, as the
// control's one status (announced once).
func noteStatusShown(b, text string) string {
	return fmt.Sprintf(`(() => { const c = document.getElementById(%[1]q), s = c && c.querySelector('.shelf-note-status');
		if (!s) return 'no visible status';
		if (c.querySelectorAll('[role=status]').length !== 1 || s.getAttribute('role') !== 'status') return 'not the one status';
		if (s.textContent !== %[2]q) return 'the status says ' + s.textContent;
		const r = s.getBoundingClientRect(), btn = document.getElementById(%[1]q + '-save-note').getBoundingClientRect();
		if (r.width < 20 || r.height < 10 || getComputedStyle(s).visibility !== 'visible') return 'the status is hidden: ' + r.width + 'x' + r.height;
		if (r.left < btn.right || r.top < btn.top - 1 || r.bottom > btn.bottom + 1) return 'the status is not beside Save note';
		return '' })()`, b, text)
}
