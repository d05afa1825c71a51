package handlers

import (
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"shelf/store/catalog"
	"shelf/store/search"
)

var searchBooks = []catalog.Book{
	{Title: "Harry Potter and the Sorcerer's Stone", Authors: "J.K. Rowling", Year: 1997, ISBN13: "9780439554930", Language: "eng", AverageRating: 4.44, RatingsCount: 4602479}, // 1
	{Title: "Harry Potter and the Chamber of Secrets", Authors: "J.K. Rowling", Year: 1998, RatingsCount: 1779331},                                                              // 2
	{Title: "The Hobbit", Authors: "J.R.R. Tolkien", Year: 1937, RatingsCount: 2071616},                                                                                         // 3
	{Title: "One Hundred Years of Solitude", Authors: "Gabriel García Márquez", Year: 1967, RatingsCount: 517000},                                                               // 4
	{Title: "The Odyssey", Authors: "Homer", Year: -720, RatingsCount: 670326},                                                                                                  // 5
	{Title: "<script>alert(1)</script> & Co", Authors: "Mallory <b>Bold</b>", RatingsCount: 3},                                                                                  // 6
}

func newSearchEnv(t testing.TB) *testEnv {
	env := newTestEnv(t)
	env.addBooks(searchBooks...)
	return env
}

var bookIDRe = regexp.MustCompile(`<li class="result" data-book-id="(\d+)"><a href="/books/(\d+)"`)

// bookIDs lists the result ids in document order, checking each links to
// its book.
func bookIDs(t testing.TB, body string) []string {
	t.Helper()
	var out []string
	for _, m := range bookIDRe.FindAllStringSubmatch(body, -1) {
		if m[1] != m[2] {
			t.Errorf("result %s links to /books/%s", m[1], m[2])
		}
		out = append(out, m[1])
	}
	if n := strings.Count(body, `class="result"`); n != len(out) {
		t.Errorf("%d results, %d in the expected markup", n, len(out))
	}
	return out
}

func TestSearchPageAndFragment(t *testing.T) {
	b := newSearchEnv(t).browser()
	whole := b.get("/search?q=harry")
	frag := b.get("/search?q=harry", htmxHeaders...)
	restore := b.get("/search?q=harry", "HX-Request", "true", "HX-History-Restore-Request", "true")
	for name, r := range map[string]page{"page": whole, "fragment": frag, "history restore": restore} {
		if r.status != http.StatusOK || !r.varies("HX-Request") {
			t.Errorf("%s: status %d, Vary %q", name, r.status, r.header.Values("Vary"))
		}
		if got := bookIDs(t, r.body); !slices.Equal(got, []string{"1", "2"}) {
			t.Errorf("%s: results %v, want [1 2]", name, got)
		}
		// The page holds the live region; the fragment updates its text out
		// of band, so the region is never replaced (and is announced).
		count := `<p id="result-count" class="search-status" aria-live="polite" aria-atomic="true">2 books match “harry”.</p>`
		if name == "fragment" {
			count = `<p id="result-count" hx-swap-oob="innerHTML">2 books match “harry”.</p>`
		}
		if !strings.Contains(r.body, count) {
			t.Errorf("%s: no result count %s", name, count)
		}
		if n := strings.Count(r.body, `id="result-count"`); n != 1 {
			t.Errorf("%s: %d result counts, want 1", name, n)
		}
	}
	for name, r := range map[string]page{"page": whole, "history restore": restore} {
		for _, want := range []string{"<!doctype html>", `<div id="results">`, `id="search-form"`, `<footer`} {
			if !strings.Contains(strings.ToLower(r.body), strings.ToLower(want)) {
				t.Errorf("%s lacks %s", name, want)
			}
		}
	}
	for _, unwanted := range []string{"<html", "<head", `id="search-form"`, `id="results"`} {
		if strings.Contains(frag.body, unwanted) {
			t.Errorf("fragment contains %s", unwanted)
		}
	}
	if got := frag.header.Get("HX-Push-Url"); got != "/search?q=harry" {
		t.Errorf("HX-Push-Url %q", got)
	}
}

// A search that nothing matches as typed says so: every result is a
// similar spelling. It used to say "2 books match “harry poter”", though
// no book has the word "poter".
func TestSearchCountNothingAsTyped(t *testing.T) {
	b := newSearchEnv(t).browser()
	const want = "No books match “harry poter” as typed; 2 books have similar spellings."
	for name, r := range map[string]page{
		"page":     b.get("/search?q=harry+poter"),
		"fragment": b.get("/search?q=harry+poter", htmxHeaders...),
	} {
		if got := bookIDs(t, r.body); !slices.Equal(got, []string{"1", "2"}) {
			t.Errorf("%s: results %v, want [1 2]", name, got)
		}
		count := `<p id="result-count" class="search-status" aria-live="polite" aria-atomic="true">` + want + `</p>`
		if name == "fragment" {
			count = `<p id="result-count" hx-swap-oob="innerHTML">` + want + `</p>`
		}
		if !strings.Contains(r.body, count) {
			t.Errorf("%s: no result count %s", name, count)
		}
	}
	// With a match as typed, the count is as before.
	if r := b.get("/search?q=harry+pot"); !strings.Contains(r.body, ">2 books match “harry pot”.</p>") {
		t.Errorf("harry pot: the count changed")
	}
}

func TestSearchMarkupContract(t *testing.T) {
	b := newSearchEnv(t).browser()
	body := b.get("/search?q=harry+pot").body
	for _, want := range []string{
		`<form id="search-form" class="search-form" method="get" action="/search" role="search" hx-get="/search" ` +
			`hx-trigger="submit, input changed from:#search-input" hx-target="#results" hx-swap="innerHTML" ` +
			`hx-sync="this:replace" hx-push-url="true" hx-indicator="#search-indicator">`,
		`<input type="search" id="search-input" name="q" value="harry pot"`,
		`<span id="search-indicator" class="htmx-indicator spinner" aria-hidden="true">`,
		`<ol class="results" id="result-list">`,
		`<mark>Harry</mark> <mark>Potter</mark> and the Sorcerer&#39;s Stone`,
		`by <span class="authors">J.K. Rowling</span> <span class="details">· 1997 · ★ 4.44 (4,602,479 ratings)</span>`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %s", want)
		}
	}
	if strings.Contains(body, "style=") || regexp.MustCompile(`<script(?:[^>]*)>[^<]`).MatchString(body) {
		t.Error("inline style or script (the CSP forbids them)")
	}
	home := b.get("/")
	if home.status != http.StatusOK || !strings.Contains(home.body, `value=""`) || !strings.Contains(home.body, "The most popular of 6 books.") {
		t.Errorf("home: %d %s", home.status, home.body)
	}
	if got := bookIDs(t, home.body); !slices.Equal(got, []string{"1", "3", "2", "5", "4", "6"}) {
		t.Errorf("home lists %v, want the most popular first", got)
	}
	if r := b.get("/search?q=", htmxHeaders...); r.header.Get("HX-Push-Url") != "/" {
		t.Errorf("empty query pushes the URL %q, want /", r.header.Get("HX-Push-Url"))
	}
	if r := b.get("/search?q=%20%20hobbit%20%20", htmxHeaders...); r.header.Get("HX-Push-Url") != "/search?q=hobbit" {
		t.Errorf("URL pushed as %q", r.header.Get("HX-Push-Url"))
	}
}

func TestSearchEscapes(t *testing.T) {
	b := newSearchEnv(t).browser()
	for _, r := range []page{
		b.get("/search?q=" + url.QueryEscape(`<script>alert(1)</script>`)),
		b.get("/search?q="+url.QueryEscape(`<script>alert(1)</script>`), htmxHeaders...),
		b.get("/search?q=" + url.QueryEscape(`"><img src=x onerror=alert(1)>`)),
	} {
		if r.status != http.StatusOK {
			t.Errorf("status %d", r.status)
		}
		for _, raw := range []string{"<script>alert", "<img", "<b>Bold"} {
			if strings.Contains(r.body, raw) {
				t.Errorf("raw %q in the output", raw)
			}
		}
	}
	r := b.get("/search?q=" + url.QueryEscape(`<script>alert(1)</script>`))
	for _, want := range []string{`value="&lt;script&gt;alert(1)&lt;/script&gt;"`, `&lt;<mark>script</mark>&gt;<mark>alert</mark>(<mark>1</mark>)`, `Mallory &lt;b&gt;Bold&lt;/b&gt;`} {
		if !strings.Contains(r.body, want) {
			t.Errorf("output lacks %s", want)
		}
	}
}

func TestSearchOddInput(t *testing.T) {
	b := newSearchEnv(t).browser()
	queries := []string{`"`, `*`, `NEAR(`, `OR`, `AND`, `NOT`, `-`, `^`, `:`, `(`, `harry OR potter`, `title:harry`,
		"\x00", "\x1b", "a\x7fb", "\xff\xfe", strings.Repeat("x", 10<<10), strings.Repeat("harry ", 2000), "😀", "e\u0301"}
	pages := []string{"", "1", "2", "0", "-1", "abc", "1.5", "1e3", "99999999999999999999999", "-99999999999999999999999", "51", " 2"}
	for _, q := range queries {
		for _, p := range pages {
			path := "/search?q=" + url.QueryEscape(q) + "&page=" + url.QueryEscape(p)
			for _, h := range [][]string{nil, htmxHeaders} {
				if r := b.get(path, h...); r.status != http.StatusOK {
					t.Errorf("GET %.60s (htmx %v): %d", path, h != nil, r.status)
				}
			}
		}
	}
	for _, raw := range []string{"q=%zz", "q=%", "q=a&q=b", "page=2", "q=harry&page=&page=3", "q=" + strings.Repeat("%C3%A9", 5000)} {
		if r := b.get("/search?" + raw); r.status != http.StatusOK {
			t.Errorf("GET /search?%.40s: %d", raw, r.status)
		}
	}
	r := b.get("/search?q=" + strings.Repeat("x", 300))
	if !strings.Contains(r.body, "Your search was long") {
		t.Error("no note about the shortened query")
	}
	r = b.get("/search?q=harry&page=abc")
	if !strings.Contains(r.body, "That page number does not exist; this is page 1.") || len(bookIDs(t, r.body)) != 2 {
		t.Error("a non-numeric page is not explained and clamped to 1")
	}
}

func TestSearchNoResults(t *testing.T) {
	b := newSearchEnv(t).browser()
	r := b.get("/search?q=hubbut")
	for _, want := range []string{`No books match “hubbut”.`, `Did you mean <a id="did-you-mean" href="/search?q=hobbit">hobbit</a>?`} {
		if !strings.Contains(r.body, want) {
			t.Errorf("no-results page lacks %s", want)
		}
	}
	if strings.Contains(r.body, `id="result-list"`) {
		t.Error("empty result list rendered")
	}
	r = b.get("/search?q=zzzzzzzz", htmxHeaders...)
	if !strings.Contains(r.body, `id="no-results"`) || strings.Contains(r.body, "Did you mean") {
		t.Errorf("no suggestion expected: %s", r.body)
	}
	empty := newTestEnv(t).browser()
	if r := empty.get("/"); r.status != http.StatusOK || !strings.Contains(r.body, "The catalog is empty.") {
		t.Errorf("empty catalog: %d", r.status)
	}
	if r := empty.get("/search?q=harry"); r.status != http.StatusOK || !strings.Contains(r.body, "No books match") {
		t.Errorf("empty catalog search: %d", r.status)
	}
}

var moreRe = regexp.MustCompile(`<li class="more-item"><a id="more-results" class="button more" href="([^"]+)" hx-get="([^"]+)" hx-target="closest li" hx-swap="outerHTML"`)

func TestSearchMoreResults(t *testing.T) {
	env := newTestEnv(t)
	b := env.browser()
	var books []catalog.Book
	for i := range 45 {
		books = append(books, catalog.Book{Title: fmt.Sprintf("Alpha Book %d", i), Authors: "Writer", RatingsCount: int64(100 - i)})
	}
	env.addBooks(books...)

	first := b.get("/search?q=alpha")
	seen := bookIDs(t, first.body)
	next := moreRe.FindStringSubmatch(first.body)
	if len(seen) != search.PerPage || next == nil || next[1] != "/search?q=alpha&amp;page=2" || next[1] != next[2] {
		t.Fatalf("first page: %d results, more control %q", len(seen), next)
	}
	for page := 2; ; page++ {
		path := strings.ReplaceAll(next[2], "&amp;", "&")
		frag := b.get(path, htmxHeaders...)
		if strings.Contains(frag.body, "<html") || strings.Contains(frag.body, "result-count") || strings.Contains(frag.body, "<ol") {
			t.Fatalf("page %d fragment is more than list items: %s", page, frag.body)
		}
		ids := bookIDs(t, frag.body)
		for _, id := range ids {
			if slices.Contains(seen, id) {
				t.Fatalf("page %d repeats book %s", page, id)
			}
		}
		seen = append(seen, ids...)
		next = moreRe.FindStringSubmatch(frag.body)
		if next == nil {
			break
		}
		if want := fmt.Sprintf("/search?q=alpha&amp;page=%d", page+1); next[2] != want {
			t.Fatalf("page %d: next is %s, want %s", page, next[2], want)
		}
	}
	want := make([]string, 45)
	for i := range want {
		want[i] = fmt.Sprint(i + 1)
	}
	if !slices.Equal(seen, want) {
		t.Errorf("all pages: %v", seen)
	}
	// Without JavaScript the link is a whole page, numbered on.
	p2 := b.get("/search?q=alpha&page=2")
	if !strings.Contains(p2.body, fmt.Sprintf(`<ol class="results" id="result-list" start="%d">`, search.PerPage+1)) || !strings.Contains(p2.body, "<!doctype html>") {
		t.Error("page 2 without htmx is not a numbered full page")
	}

	// A page number past the last (typed into the address, or an old
	// link) shows the last page and says so; "More results" past the last
	// (the list shrank meanwhile) adds nothing, rather than repeating it.
	lastIDs := want[40:]
	for _, page := range []string{"6", "99999", "101"} {
		r := b.get("/search?q=alpha&page=" + page)
		if got := bookIDs(t, r.body); r.status != http.StatusOK || !slices.Equal(got, lastIDs) ||
			!strings.Contains(r.body, "That page number does not exist; this is the last page, page 5.") ||
			!strings.Contains(r.body, "45 books match “alpha”.") || strings.Contains(r.body, "No more results") {
			t.Errorf("page %s: %d, results %v; want the last page (%v), explained", page, r.status, got, lastIDs)
		}
		if r := b.get("/search?q=alpha&page="+page, htmxHeaders...); r.status != http.StatusOK || strings.TrimSpace(r.body) != "" {
			t.Errorf("More results for page %s: %d %q; want nothing", page, r.status, r.body)
		}
	}
	if r := b.get("/search?q=book+44&page=3"); !slices.Equal(bookIDs(t, r.body), []string{"45"}) ||
		!strings.Contains(r.body, "That page number does not exist; this is the only page.") {
		t.Error("a page past a query's only page does not show it, explained")
	}
}

func TestBookPage(t *testing.T) {
	env := newSearchEnv(t)
	b := env.browser()
	r := b.get("/books/1", "Referer", env.srv.URL+"/search?q=harry+pot&page=2")
	for _, want := range []string{
		`<h1 id="book-title">Harry Potter and the Sorcerer&#39;s Stone</h1>`, "by J.K. Rowling", "1997", "9780439554930", "<dd>English</dd>", "4.44 out of 5", "4,602,479",
		`href="/search?q=harry+pot"`, "Back to search",
	} {
		if !strings.Contains(r.body, want) {
			t.Errorf("book page lacks %s", want)
		}
	}
	if r := b.get("/books/5"); !strings.Contains(r.body, "720 BC") || !strings.Contains(r.body, `id="back-to-search" href="/"`) ||
		!strings.Contains(r.body, "Search the catalog") || strings.Contains(r.body, "Back to search") {
		t.Error("BC year or default back link missing")
	}
	if r := b.get("/books/6", "Referer", "https://evil.example/search?q=x"); !strings.Contains(r.body, `href="/"`) || strings.Contains(r.body, "<script>") {
		t.Error("foreign referer used as back link, or title not escaped")
	}
	for _, id := range []string{"0", "-1", "7", "abc", "1.5", "01", "+1", "1e3", "16777216", "99999999999999999999999", "%00", "1%2F2"} {
		r := b.get("/books/" + id)
		if r.status != http.StatusNotFound || !strings.Contains(r.body, "Page not found") {
			t.Errorf("/books/%s: %d", id, r.status)
		}
	}
}

func FuzzSearchHandler(f *testing.F) {
	for _, q := range []string{"", "harry", `"`, "NEAR(", "\xff", "<script>", strings.Repeat("a", 1000)} {
		f.Add(q, "1", false)
		f.Add(q, "-3", true)
	}
	f.Add("harry", "99999999999999999999", true)
	h := newSearchEnv(f).app.Handler()
	f.Fuzz(func(t *testing.T, q, page string, htmx bool) {
		req, err := http.NewRequest(http.MethodGet, "/search?"+url.Values{"q": {q}, "page": {page}}.Encode(), nil)
		if err != nil {
			t.Skip()
		}
		if htmx {
			req.Header.Set("HX-Request", "true")
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			t.Fatalf("q=%q page=%q: %d", q, page, rec.Code)
		}
	})
}

// With nothing found there are no pages: a page number out of range
// (?page=0, text) said "this is page 1" above "No books match", while a
// number past the end said nothing, as My books and a shared shelf do.
func TestSearchNoResultsNoPageNote(t *testing.T) {
	b := newSearchEnv(t).browser()
	for _, page := range []string{"0", "-1", "abc", "5"} {
		r := b.get("/search?q=hubbut&page=" + page)
		if r.status != http.StatusOK || !strings.Contains(r.body, `No books match “hubbut”.`) {
			t.Errorf("page %s: %d, want the no-results page", page, r.status)
		}
		if strings.Contains(r.body, "That page number does not exist") {
			t.Errorf("page %s of a search with no results has a page note", page)
		}
	}
}

var (
	searchBackRe     = regexp.MustCompile(`(?s)<nav class="pager search-back" id="search-back" aria-label="Earlier results">(.*?)</nav>`)
	searchBackLinkRe = regexp.MustCompile(`<a class="button secondary" id="([a-z-]+)"(?: rel="prev")? href="([^"]+)"`)
)

// A page of results past the first, shown whole (without JavaScript
// "More results" is a link to one, or an address), leads back: to the
// page before and, from the third on, to the first. It used to offer
// only "More results". The first page, the search box's fragment and
// "More results" answers with htmx (appended to the list) carry none.
func TestSearchWholePagesLeadBack(t *testing.T) {
	env := newTestEnv(t)
	b := env.browser()
	var books []catalog.Book
	for i := range 45 {
		books = append(books, catalog.Book{Title: fmt.Sprintf("Alpha Book %d", i), Authors: "Writer", RatingsCount: int64(100 - i)})
	}
	env.addBooks(books...)
	for _, tc := range []struct {
		path  string
		links string // id=href, in order
	}{
		{"/search?q=alpha", ""},
		{"/search?q=alpha&page=2", "previous-results=/search?q=alpha"},
		{"/search?q=alpha&page=3", "first-results=/search?q=alpha previous-results=/search?q=alpha&page=2"},
		{"/search?q=alpha&page=5", "first-results=/search?q=alpha previous-results=/search?q=alpha&page=4"},
		// Past the last: the last page, page 5, leads back from there.
		{"/search?q=alpha&page=99", "first-results=/search?q=alpha previous-results=/search?q=alpha&page=4"},
		{"/search?q=alpha&page=0", ""},
	} {
		p := b.get(tc.path).wantStatus(t, http.StatusOK)
		m := searchBackRe.FindStringSubmatch(p.body)
		var links []string
		if m != nil {
			for _, l := range searchBackLinkRe.FindAllStringSubmatch(m[1], -1) {
				links = append(links, l[1]+"="+html.UnescapeString(l[2]))
			}
		}
		if got := strings.Join(links, " "); got != tc.links || (m != nil) != (tc.links != "") {
			t.Errorf("%s: leads back to %q, want %q", tc.path, got, tc.links)
		}
		if m != nil && strings.Index(p.body, `id="search-back"`) > strings.Index(p.body, `id="result-list"`) {
			t.Errorf("%s: the way back is after the list", tc.path)
		}
	}
	p := b.get("/search?q=alpha&page=3").wantStatus(t, http.StatusOK)
	p.wantContains(t, `<a class="button secondary" id="previous-results" rel="prev" href="/search?q=alpha&amp;page=2">Previous results</a>`,
		`<a class="button secondary" id="first-results" href="/search?q=alpha">First page</a>`)
	for _, path := range []string{"/search?q=alpha", "/search?q=alpha&page=2", "/search?q=alpha&page=3"} {
		if p := b.get(path, htmxHeaders...).wantStatus(t, http.StatusOK); strings.Contains(p.body, "search-back") {
			t.Errorf("%s (htmx): the fragment leads back:\n%s", path, p.body)
		}
	}
}
