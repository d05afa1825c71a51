package main

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// keyGap is the pause between typed keys, a quick typist's.
const keyGap = 50 * time.Millisecond

// settle is how long the test waits after results appear to prove that no
// further request or answer follows.
const settle = 700 * time.Millisecond

// JavaScript snippets over the markup contract of the search page.
const (
	jsResultCount     = `document.querySelectorAll('#result-list li.result').length`
	jsResultText      = `(document.getElementById('result-list') || {textContent: ''}).textContent`
	jsFirstTitle      = `((document.querySelector('#result-list li.result a') || {textContent: ''}).textContent)`
	jsInputValue      = `document.getElementById('search-input').value`
	jsQueryParam      = `new URLSearchParams(location.search).get('q')`
	jsResultCountText = `(document.getElementById('result-count') || {textContent: ''}).textContent`
	jsBookIDs         = `[...document.querySelectorAll('#result-list li.result')].map(li => li.dataset.bookId)`
)

// TestBrowserSearch drives the search page in headless chromium: search as
// you type with one history entry per query, the URL following the query, history
// back and reload restoring results, "more results" appending, and the form
// working without JavaScript. The steps are subtests on one browser, so one
// broken behaviour does not hide the others.
func TestBrowserSearch(t *testing.T) {
	chromium := needChromium(t)
	base, logs := startShelf(t)
	browser := chromium.newBrowser(t)

	// openAndType loads the home page and types q as a person would.
	openAndType := func(t *testing.T, tab context.Context, q, want string) {
		t.Helper()
		runStep(t, tab, "open the home page", 15*time.Second,
			chromedp.Navigate(base+"/"),
			chromedp.WaitVisible(chromedp.ID("search-input")),
		)
		waitJS(t, tab, "htmx to load", 5*time.Second, `!!window.htmx`)
		typeSlowly(t, tab, q)
		waitJS(t, tab, "results for "+q, 10*time.Second,
			fmt.Sprintf(`%s.includes(%q) && %s === %q`, jsResultText, want, jsQueryParam, q))
	}

	t.Run("TypingMakesOneEntry", func(t *testing.T) {
		tab := newTab(t, browser)
		// Typing a word key by key asks at most once per key (every answer
		// but the last is only on screen until the next key's); the
		// results for the word replace #results, the URL follows, and the
		// word is one history entry, not one per key.
		runStep(t, tab, "open the home page", 15*time.Second,
			chromedp.Navigate(base+"/"),
			chromedp.WaitVisible(chromedp.ID("search-input")),
		)
		waitJS(t, tab, "htmx to load", 5*time.Second, `!!window.htmx`)
		entries := evalJS[int](t, tab, `history.length`)
		before := requestLines(logs, "/search", true)
		typeSlowly(t, tab, "harry")
		waitJS(t, tab, "results for harry", 10*time.Second,
			fmt.Sprintf(`%s.includes('Harry') && %s === 'harry'`, jsResultText, jsQueryParam))
		time.Sleep(settle)
		if got := newLines(before, requestLines(logs, "/search", true)); len(got) < 1 || len(got) > len("harry") {
			t.Errorf("typing %q with %v between keys made %d HTMX search requests, want 1 to %d:\n%s",
				"harry", keyGap, len(got), len("harry"), strings.Join(got, "\n"))
		}
		if got := evalJS[int](t, tab, `history.length`); got != entries+1 {
			t.Errorf("typing %q made %d history entries, want 1", "harry", got-entries)
		}
		assertLocation(t, tab, "/search", "harry")
		harryFirst := evalJS[string](t, tab, jsFirstTitle)
		if !strings.Contains(harryFirst, "Harry") {
			t.Errorf("first result for harry is %q", harryFirst)
		}
		if c := evalJS[string](t, tab, jsResultCountText); strings.TrimSpace(c) == "" {
			t.Errorf("#result-count is empty after a search with results")
		}
		if !evalJS[bool](t, tab, `!!document.getElementById('search-indicator')`) {
			t.Errorf("no #search-indicator loading indicator on the page")
		}
	})

	t.Run("CountSaysNothingMatchedAsTyped", func(t *testing.T) {
		tab := newTab(t, browser)
		// Every result for a misspelling is a similar spelling, and the
		// count, updated in place as the query is typed, says so.
		openAndType(t, tab, "harry poter", "Harry")
		waitJS(t, tab, "the count saying nothing matched as typed", 5*time.Second,
			fmt.Sprintf(`/^No books match “harry poter” as typed; [0-9,]+ books have similar spellings\.$/.test(%s)`, jsResultCountText))
	})

	t.Run("HistoryBackRestoresPreviousQuery", func(t *testing.T) {
		tab := newTab(t, browser)
		// A second query, typed over the first like a person would (select
		// all, type); history back shows the first query's results again,
		// with its text in the box.
		openAndType(t, tab, "harry", "Harry")
		first := evalJS[string](t, tab, jsFirstTitle)
		// The count's live region must be updated in place, not replaced:
		// screen readers announce changes to a live region already there.
		_ = evalJS[bool](t, tab, `(document.getElementById('result-count').dataset.marker = 'kept', true)`)
		_ = evalJS[bool](t, tab, `(document.getElementById('search-input').select(), true)`)
		typeSlowly(t, tab, "tolkien")
		waitJS(t, tab, "results for tolkien", 10*time.Second,
			fmt.Sprintf(`%s.includes('Tolkien') && %s === 'tolkien'`, jsResultText, jsQueryParam))
		assertLocation(t, tab, "/search", "tolkien")
		if !evalJS[bool](t, tab, `document.getElementById('result-count').dataset.marker === 'kept' &&
			document.getElementById('result-count').getAttribute('aria-live') === 'polite' &&
			document.getElementById('result-count').textContent.includes('tolkien')`) {
			t.Errorf("the result count was replaced or not updated: %q", evalJS[string](t, tab, jsResultCountText))
		}

		historyBack(t, tab)
		err := pollJS(tab, 5*time.Second,
			fmt.Sprintf(`%s === 'harry' && %s === %q && %s === 'harry'`, jsQueryParam, jsFirstTitle, first, jsInputValue))
		if err != nil {
			t.Errorf("after typing harry, then tolkien, history back shows %s, not harry's results (first %q) with \"harry\" in the box (%v). "+
				"Each query (not each key) should be its own history entry, restored with its query in the box.", describePage(tab), first, err)
		}
	})

	t.Run("BackFromBookPage", func(t *testing.T) {
		tab := newTab(t, browser)
		// Opening a result and coming back shows the same results and query.
		openAndType(t, tab, "harry", "Harry")
		first := evalJS[string](t, tab, jsFirstTitle)
		runStep(t, tab, "open the first result", 15*time.Second,
			chromedp.Click(chromedp.CSS("#result-list li.result a")),
			chromedp.WaitVisible(chromedp.CSS("article.book")),
		)
		historyBack(t, tab)
		waitJS(t, tab, "harry's results after coming back", 10*time.Second,
			fmt.Sprintf(`%s === 'harry' && %s === %q && %s === 'harry'`, jsQueryParam, jsFirstTitle, first, jsInputValue))
	})

	t.Run("BackWithoutBFCacheGetsWholePage", func(t *testing.T) {
		// Without the back-forward cache, going back re-requests
		// /search?q=harry, the URL htmx fetched the fragment from. The
		// browser must get the whole page (Vary: HX-Request keeps the
		// cached fragment out), not the bare fragment.
		noBFCache := chromium.newBrowser(t, chromedp.Flag("disable-features",
			"Translate,OptimizationHints,MediaRouter,AutofillServerCommunication,BackForwardCache"))
		tab := newTab(t, noBFCache)
		openAndType(t, tab, "harry", "Harry")
		first := evalJS[string](t, tab, jsFirstTitle)
		runStep(t, tab, "open the first result", 15*time.Second,
			chromedp.Click(chromedp.CSS("#result-list li.result a")),
			chromedp.WaitVisible(chromedp.CSS("article.book")),
		)
		historyBack(t, tab)
		waitJS(t, tab, "the whole search page with harry's results after coming back", 10*time.Second,
			fmt.Sprintf(`!!document.querySelector('header.site-header') && !!document.getElementById('search-form') && %s === 'harry' && %s === %q && %s === 'harry'`,
				jsQueryParam, jsFirstTitle, first, jsInputValue))
	})

	t.Run("ReloadRendersSameResults", func(t *testing.T) {
		tab := newTab(t, browser)
		// Reload renders the whole page on the server with the same results.
		openAndType(t, tab, "harry", "Harry")
		first := evalJS[string](t, tab, jsFirstTitle)
		pagesBefore := requestLines(logs, "/search", false)
		runStep(t, tab, "reload", 15*time.Second,
			chromedp.Reload(),
			chromedp.WaitVisible(chromedp.ID("result-list")),
		)
		if got := evalJS[string](t, tab, jsFirstTitle); got != first {
			t.Errorf("after reload the first result is %q, want %q", got, first)
		}
		if got := evalJS[string](t, tab, jsInputValue); got != "harry" {
			t.Errorf("after reload the search box holds %q, want %q", got, "harry")
		}
		if got := newLines(pagesBefore, requestLines(logs, "/search", false)); len(got) != 1 {
			t.Errorf("reload made %d full-page (non-HTMX) requests to /search, want 1", len(got))
		}
	})

	t.Run("MoreResultsAppends", func(t *testing.T) {
		tab := newTab(t, browser)
		// "More results" appends the next page: more items, none repeated,
		// the first page left in place, one control at the end.
		runStep(t, tab, "open a query with several pages", 15*time.Second,
			chromedp.Navigate(base+"/search?q=the"),
			chromedp.WaitVisible(chromedp.ID("more-results")),
		)
		waitJS(t, tab, "htmx to load", 5*time.Second, `!!window.htmx`)
		firstPage := evalJS[[]string](t, tab, jsBookIDs)
		if len(firstPage) == 0 {
			t.Fatal(`no results for "the"`)
		}
		moreBefore := requestLines(logs, "/search", true)
		runStep(t, tab, "click more results", 5*time.Second, chromedp.Click(chromedp.ID("more-results")))
		waitJS(t, tab, "the next page to be appended", 10*time.Second, fmt.Sprintf(`%s > %d`, jsResultCount, len(firstPage)))
		ids := evalJS[[]string](t, tab, jsBookIDs)
		seen := map[string]bool{}
		for i, id := range ids {
			if id == "" {
				t.Errorf("result %d has no data-book-id", i)
			}
			if seen[id] {
				t.Errorf("book %s appears twice after \"more results\"", id)
			}
			seen[id] = true
			if i < len(firstPage) && firstPage[i] != id {
				t.Errorf("result %d changed from book %s to %s: the first page must stay in place", i, firstPage[i], id)
			}
		}
		if got := newLines(moreBefore, requestLines(logs, "/search", true)); len(got) != 1 {
			t.Errorf("\"more results\" made %d HTMX requests, want 1:\n%s", len(got), strings.Join(got, "\n"))
		}
		if n := evalJS[int](t, tab, `document.querySelectorAll('#more-results').length`); n > 1 {
			t.Errorf("%d #more-results controls after appending; the old one must be replaced", n)
		}
		// Keyboard focus moves to the first new result, where reading goes
		// on; htmx moves it when the swap settles, just after the items land.
		want := ids[len(firstPage)]
		jsFocused := `(document.activeElement.closest('li.result') || {dataset: {}}).dataset.bookId || ''`
		if err := pollJS(tab, 2*time.Second, fmt.Sprintf(`%s === %q`, jsFocused, want)); err != nil {
			t.Errorf("focus is on book %q after \"more results\", want the first new result, book %s",
				evalJS[string](t, tab, jsFocused), want)
		}
	})

	t.Run("FormWorksWithoutJavaScript", func(t *testing.T) {
		// Without JavaScript the same form submits as a plain GET and the
		// server renders the results page.
		noJS := newIncognitoTab(t, browser)
		if _, err := chromedp.Call(noJS, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true}); err != nil {
			t.Fatalf("disable JavaScript: %v", err)
		}
		runStep(t, noJS, "open the home page without JavaScript", 15*time.Second,
			chromedp.Navigate(base+"/"),
			chromedp.WaitVisible(chromedp.ID("search-input")),
		)
		if got := evalJS[string](t, noJS, `typeof window.htmx`); got != "undefined" {
			t.Fatalf("htmx loaded although JavaScript is disabled (typeof htmx = %s)", got)
		}
		htmxBefore := requestLines(logs, "/search", true)
		sctx, cancel := context.WithTimeout(noJS, 15*time.Second)
		resp, err := chromedp.RunResponse(sctx, chromedp.SendKeys(chromedp.ID("search-input"), "dune\n"))
		cancel()
		if err != nil {
			t.Fatalf("submit the search form without JavaScript: %v", err)
		}
		if resp.Status != 200 {
			t.Errorf("no-JavaScript search answered %d %s", resp.Status, resp.StatusText)
		}
		assertLocation(t, noJS, "/search", "dune")
		runStep(t, noJS, "server-rendered results", 5*time.Second, chromedp.WaitVisible(chromedp.ID("result-list")))
		if got := evalJS[string](t, noJS, jsResultText); !strings.Contains(got, "Dune") {
			t.Errorf("no-JavaScript results for \"dune\" do not mention Dune: %.200q", got)
		}
		if got := evalJS[string](t, noJS, jsInputValue); got != "dune" {
			t.Errorf("no-JavaScript results page shows %q in the search box, want %q", got, "dune")
		}
		if got := newLines(htmxBefore, requestLines(logs, "/search", true)); len(got) != 0 {
			t.Errorf("the no-JavaScript tab made HTMX requests:\n%s", strings.Join(got, "\n"))
		}
	})
}

// typeSlowly focuses the search box and types s one key at a time, keyGap
// apart, as a person would.
func typeSlowly(t *testing.T, ctx context.Context, s string) {
	t.Helper()
	runStep(t, ctx, "focus the search box", 5*time.Second, chromedp.Focus(chromedp.ID("search-input")))
	for _, r := range s {
		runStep(t, ctx, fmt.Sprintf("type %q", r), 5*time.Second, chromedp.KeyEvent(string(r)))
		time.Sleep(keyGap)
	}
}

// assertLocation checks the page's URL path and its q parameter.
func assertLocation(t *testing.T, ctx context.Context, path, q string) {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	loc, err := chromedp.Run(sctx, chromedp.Location())
	if err != nil {
		t.Fatalf("read location: %v", err)
	}
	u, err := url.Parse(loc)
	if err != nil {
		t.Fatalf("parse location %q: %v", loc, err)
	}
	if u.Path != path || u.Query().Get("q") != q {
		t.Errorf("location is %s, want %s?q=%s", loc, path, url.QueryEscape(q))
	}
}

// newLines returns the lines of after beyond those in before (logs only
// grow, so that is the tail).
func newLines(before, after []string) []string {
	if len(after) <= len(before) {
		return nil
	}
	return after[len(before):]
}
