package handlers

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"shelf/components/paths"
	"shelf/store/catalog"
	"shelf/store/links"
	"shelf/store/storetest"
)

// newLink makes a link for email's account, as the form would.
func (env *testEnv) newLink(email, target, id string) links.Link {
	env.t.Helper()
	l, err := env.app.Links.Create(context.Background(), env.user(email).ID, target, id)
	if err != nil {
		env.t.Fatalf("create link %q: %v", id, err)
	}
	return l
}

func (env *testEnv) link(id string) links.Link {
	env.t.Helper()
	l, ok, err := env.app.Links.Get(context.Background(), id)
	if err != nil || !ok {
		env.t.Fatalf("link %q: %v %v", id, ok, err)
	}
	return l
}

func TestMyLinksNeedsAConfirmedReader(t *testing.T) {
	env := newTestEnv(t)
	for _, p := range []string{paths.MyLinks, paths.MyLinkLink("abc")} {
		if got := env.browser().get(p); got.status != http.StatusSeeOther || got.location() != paths.LoginNext(p) {
			t.Errorf("%s anonymously: %d %s", p, got.status, got.location())
		}
	}
	b := env.signUp("new@example.org")
	b.signInUnconfirmed("new@example.org")
	if got := b.get(paths.MyLinks); got.status != http.StatusSeeOther || got.location() != paths.CheckEmail {
		t.Errorf("unconfirmed: %d %s", got.status, got.location())
	}
}

func TestMyLinksList(t *testing.T) {
	env := newTestEnv(t)
	b := env.register("ann@example.org")
	home := b.get("/").wantStatus(t, http.StatusOK)
	if !strings.Contains(home.body, `<a href="/my-links" id="nav-my-links" class="nav-mine"><span class="nav-my">My </span>links</a>`) {
		t.Error("the header does not link My links")
	}
	b.get(paths.MyLinks).wantStatus(t, http.StatusOK).wantContains(t, `id="my-links-empty"`, "A short link is a short address", `id="new-link" href="/links/new"`)

	long := "https://reviews.example.com/2026/12/a-very-long-path/" + strings.Repeat("segment-", 30) + "?q=1"
	env.newLink("ann@example.org", long, "review")
	env.clock.Advance(time.Second)
	env.newLink("ann@example.org", "https://example.org/", "")
	env.register("bob@example.org")
	env.newLink("bob@example.org", "https://example.net/", "bobs")

	p := b.get(paths.MyLinks).wantStatus(t, http.StatusOK)
	p.wantContains(t,
		`readonly spellcheck="false" autocomplete="off">http://shelf.test/s/review</textarea>`, `<span class="link-host">reviews.example.com</span>`,
		`<span class="link-url">`+long, `<span class="link-badge on">Active</span>`, "0 clicks",
		`action="/my-links/review/disable"`, `action="/my-links/review/delete"`, `href="/my-links/review"`,
		`data-copy="short-review"`, `id="new-link"`)
	if strings.Contains(p.body, "bobs") {
		t.Error("another reader's link is listed")
	}
	items := regexp.MustCompile(`<li class="link-item" id="link-([^"]+)"`).FindAllStringSubmatch(p.body, -1)
	if len(items) != 2 || items[1][1] != "review" {
		t.Errorf("items %v, want the generated link, then review", items)
	}
	if p.header.Get("Cache-Control") != "no-store" {
		t.Error("a reader's links may be cached")
	}
}

func TestMyLinkPage(t *testing.T) {
	env := newTestEnv(t)
	b := env.register("ann@example.org")
	env.newLink("ann@example.org", "https://example.com/page", "Mixed")
	for range 3 {
		env.app.Links.CountClick("mixed")
	}
	if err := env.app.Links.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Ids are found in any case; the page names the link as it was made.
	p := b.get(paths.MyLinkLink("mixed")).wantStatus(t, http.StatusOK)
	today := env.clock.Now().UTC().Format("2 Jan")
	p.wantContains(t, `<h1 class="link-short" id="link-heading">shelf.test/s/<wbr>Mixed</h1>`,
		`readonly spellcheck="false" autocomplete="off">http://shelf.test/s/Mixed</textarea>`,
		`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 300 101"`, `role="img" aria-labelledby="clicks-summary"`,
		"3 clicks in 30 days, on "+today+".", `<title>`+today+`: 3 clicks</title>`,
		`<title id="link-qr-title">QR code of http://shelf.test/s/Mixed</title>`, `shape-rendering="crispEdges"`,
		`id="link-status"`, `action="/my-links/Mixed/delete"`, "3 clicks in all")
	if n := strings.Count(p.body, `<tr><th scope="row">`); n != 30 {
		t.Errorf("%d days in the table", n)
	}
	// An external link's page asks for its preview and says it is coming.
	p.wantContains(t, `id="preview-heading"`, "Preview coming")

	// A link to a page on Shelf has no preview section.
	env.newLink("ann@example.org", "/books/1", "inside")
	if p := b.get(paths.MyLinkLink("inside")).wantStatus(t, http.StatusOK); strings.Contains(p.body, `id="preview-heading"`) {
		t.Error("a preview section on a link to Shelf's own page")
	}
}

func TestMyLinkShowsThePreview(t *testing.T) {
	env := newTestEnv(t)
	fake := &fakePreviews{}
	env.app.Previews = fake
	b := env.register("ann@example.org")
	env.newLink("ann@example.org", "https://example.com/page", "ext")
	p := b.get(paths.MyLinkLink("ext")).wantStatus(t, http.StatusOK)
	p.wantContains(t, `id="preview-heading"`, `data-status="pending"`, "Preview coming")
	if len(fake.enqueued) != 1 || fake.enqueued[0] != "https://example.com/page" {
		t.Errorf("enqueued %v: a link without a preview asks for one", fake.enqueued)
	}
	// A link to Shelf's own page has no preview.
	env.newLink("ann@example.org", "/books/1", "own")
	if p := b.get(paths.MyLinkLink("own")).wantStatus(t, http.StatusOK); strings.Contains(p.body, "preview-heading") {
		t.Error("a preview of Shelf's own page")
	}
}

func TestMyLinkActions(t *testing.T) { testMyLinkActions(t, newTestEnv(t)) }

// The pages on PostgreSQL: the same actions, and another reader's link.
func TestMyLinksOnPostgres(t *testing.T) {
	db := storetest.OpenPostgres(t)
	env := newTestEnvWith(t, func(d *Deps, _ *Settings) { d.DB, d.Catalog, d.Search = db, catalog.New(db), nil })
	testMyLinkActions(t, env)
	bob := env.register("bob@example.org")
	env.newLink("ann@example.org", "https://example.com/", "anns")
	bob.get(paths.MyLinkLink("anns")).wantStatus(t, http.StatusNotFound)
	bob.htmx(paths.MyLinkDeleteLink("anns"), nil).wantStatus(t, http.StatusNotFound)
	if l := env.link("anns"); l.Deleted {
		t.Error("another reader deleted the link")
	}
}

func testMyLinkActions(t *testing.T, env *testEnv) {
	b := env.register("ann@example.org")
	env.newLink("ann@example.org", "https://example.com/", "abc")
	b.get(paths.MyLinks).wantStatus(t, http.StatusOK)

	// Without JavaScript: 303 back to the page, where the change is told.
	p := b.post(paths.MyLinkDisableLink("abc"), url.Values{"back": {paths.MyLinks}})
	if p.status != http.StatusSeeOther || p.location() != "/my-links#link-state-abc" {
		t.Fatalf("disable: %d %s", p.status, p.location())
	}
	if !env.link("abc").Disabled {
		t.Fatal("not disabled")
	}
	b.get(paths.MyLinks).wantContains(t, "Disabled http://shelf.test/s/abc", `<span class="link-badge off">Disabled</span>`, `action="/my-links/abc/enable"`)

	// With htmx: the state block, and the change in the live region.
	b.get(paths.MyLinkLink("abc"))
	p = b.htmx(paths.MyLinkEnableLink("abc"), url.Values{"back": {paths.MyLinkLink("abc")}}).wantStatus(t, http.StatusOK)
	p.wantContains(t, `<div class="link-state" id="link-state-abc">`, `id="link-toggle-abc"`, `action="/my-links/abc/disable"`,
		`<input type="hidden" name="back" value="/my-links/abc">`,
		`<p id="link-status" hx-swap-oob="innerHTML">Enabled http://shelf.test/s/abc again`)
	if strings.Contains(p.body, "<html") {
		t.Error("htmx got a whole page")
	}
	if env.link("abc").Disabled {
		t.Fatal("not enabled")
	}
	// A back that leaves Shelf is not followed.
	if p := b.post(paths.MyLinkDisableLink("abc"), url.Values{"back": {"//evil.example/"}}); p.location() != "/#link-state-abc" {
		t.Errorf("back to another site: %s", p.location())
	}

	// Delete: in place with htmx, the item told gone.
	env.newLink("ann@example.org", "https://example.com/2", "two")
	p = b.htmx(paths.MyLinkDeleteLink("two"), nil).wantStatus(t, http.StatusOK)
	p.wantContains(t, `<li class="link-item link-deleted" id="link-two">`, `autofocus`, `hx-swap-oob="innerHTML">Deleted http://shelf.test/s/two.`)
	if !env.link("two").Deleted {
		t.Fatal("not deleted")
	}
	// Without JavaScript: back to the list, which no longer has it.
	p = b.post(paths.MyLinkDeleteLink("abc"), nil)
	if p.status != http.StatusSeeOther || p.location() != paths.MyLinks {
		t.Fatalf("delete: %d %s", p.status, p.location())
	}
	list := b.get(paths.MyLinks).wantContains(t, "Deleted http://shelf.test/s/abc.", `id="my-links-empty"`)
	if strings.Contains(list.body, `id="link-abc"`) {
		t.Error("a deleted link is listed")
	}
	// Gone for good: its page, and a second delete, are 404s.
	b.get(paths.MyLinkLink("abc")).wantStatus(t, http.StatusNotFound)
	b.post(paths.MyLinkDeleteLink("abc"), nil).wantStatus(t, http.StatusNotFound)
	b.post(paths.MyLinkEnableLink("abc"), nil).wantStatus(t, http.StatusNotFound)
}

// Another reader's link is a 404 on every page and action, as an unknown
// one is, and nothing changes.
func TestMyLinksAreTheOwnersAlone(t *testing.T) {
	env := newTestEnv(t)
	env.register("ann@example.org")
	env.newLink("ann@example.org", "https://example.com/", "anns")
	bob := env.register("bob@example.org")
	for _, id := range []string{"anns", "ANNS", "nosuch"} {
		bob.get(paths.MyLinkLink(id)).wantStatus(t, http.StatusNotFound)
		for _, p := range []string{paths.MyLinkDisableLink(id), paths.MyLinkEnableLink(id), paths.MyLinkDeleteLink(id)} {
			bob.post(p, url.Values{"back": {paths.MyLinks}}).wantStatus(t, http.StatusNotFound)
			bob.htmx(p, nil).wantStatus(t, http.StatusNotFound)
		}
	}
	if l := env.link("anns"); l.Disabled || l.Deleted {
		t.Errorf("another reader changed the link: %+v", l)
	}
}

func TestMyLinkActionsNeedTheCSRFToken(t *testing.T) {
	env := newTestEnv(t)
	b := env.register("ann@example.org")
	env.newLink("ann@example.org", "https://example.com/", "abc")
	for _, p := range []string{paths.MyLinkDisableLink("abc"), paths.MyLinkDeleteLink("abc")} {
		b.post(p, url.Values{"_csrf": {"forged"}}).wantStatus(t, http.StatusForbidden)
	}
	if l := env.link("abc"); l.Disabled || l.Deleted {
		t.Errorf("changed without the token: %+v", l)
	}
}

func TestShareEntryPoints(t *testing.T) {
	env := newTestEnv(t)
	env.addBooks(catalog.Book{Title: "The Hobbit", Authors: "J.R.R. Tolkien", RatingsCount: 300})
	b := env.browser()
	b.get(paths.BookLink(1)).wantStatus(t, http.StatusOK).wantContains(t, `<a id="share-book" href="/links/new?target=%2Fbooks%2F1">Share this book</a>`)
	want := `<a id="share-search" href="/links/new?target=%2Fsearch%3Fq%3Dthe%2Bhobbit">Share this search</a>`
	b.get("/search?q=the+hobbit").wantStatus(t, http.StatusOK).wantContains(t, want)
	f := b.get("/search?q=the+hobbit", htmxHeaders...).wantStatus(t, http.StatusOK).wantContains(t, want)
	if strings.Count(f.body, "share-search") != 1 {
		t.Error("not once per page")
	}
	// Not on the home page's popular books, nor on a search that found nothing.
	for _, p := range []string{"/", "/search?q=zzqqxx"} {
		if strings.Contains(b.get(p).body, "share-search") {
			t.Errorf("%s offers to share", p)
		}
	}
}

// A link to a book's page on Shelf is named by the book, as the catalog
// has it when the page is shown, above its address; a book readers cannot
// see (staged, or gone) leaves the address, as for every other link.
func TestMyLinksNameTheirBooks(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { testMyLinksNameTheirBooks(t, newTestEnv(t)) })
	t.Run("postgres", func(t *testing.T) {
		testMyLinksNameTheirBooks(t, newTestEnvOn(t, storetest.OpenPostgres(t), &clock{t: time.Now().UTC().Truncate(time.Millisecond)}, nil))
	})
}

func testMyLinksNameTheirBooks(t *testing.T, env *testEnv) {
	env.addBooks(catalog.Book{Title: "The Hobbit", Authors: "J.R.R. Tolkien"},
		catalog.Book{Title: `<b>Dune</b> & "Sons"`, Authors: "Frank <i>Herbert</i>"},
		catalog.Book{Title: "An Old Title", Authors: "Someone"},
		catalog.Book{Title: "Not Yet Published", Authors: "Nobody"})
	b := env.register("ann@example.org")
	for id, target := range map[string]string{"hobbit": "/books/1", "dune": "/books/2?from=list#top", "renamed": "/books/3",
		"staged": "/books/4", "gone": "/books/99", "query": "/search?q=hobbit", "outside": "https://example.com/books/1"} {
		env.newLink("ann@example.org", target, id)
	}
	if _, err := env.db.Write.Exec(`UPDATE books SET title = 'A New Title' WHERE id = 3`); err != nil {
		t.Fatal(err)
	}
	if _, err := env.db.Write.Exec(`UPDATE catalog_state SET staged_from = 4`); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"hobbit":  `<span class="link-book">The Hobbit by J.R.R. Tolkien</span><span class="link-url">http://shelf.test/books/1</span>`,
		"dune":    `<span class="link-book">&lt;b&gt;Dune&lt;/b&gt; &amp; &#34;Sons&#34; by Frank &lt;i&gt;Herbert&lt;/i&gt;</span><span class="link-url">http://shelf.test/books/2?from=list#top</span>`,
		"renamed": `<span class="link-book">A New Title by Someone</span><span class="link-url">http://shelf.test/books/3</span>`,
		"staged":  `<span class="link-host">shelf.test</span><span class="link-url">http://shelf.test/books/4</span>`,
		"gone":    `<span class="link-host">shelf.test</span><span class="link-url">http://shelf.test/books/99</span>`,
		"query":   `<span class="link-host">shelf.test</span><span class="link-url">http://shelf.test/search?q=hobbit</span>`,
		"outside": `<span class="link-host">example.com</span><span class="link-url">https://example.com/books/1</span>`,
	}
	list := b.get(paths.MyLinks).wantStatus(t, http.StatusOK)
	for id, w := range want {
		if got := linkTargetIn(t, list.body, `id="link-`+id+`"`); got != `<span class="visually-hidden">Goes to </span>`+w {
			t.Errorf("My links shows %s as\n%s\nwant\n%s", id, got, w)
		}
		page := b.get(paths.MyLinkLink(id)).wantStatus(t, http.StatusOK)
		if got := linkTargetIn(t, page.body, `id="link-heading"`); got != `<span class="visually-hidden">Goes to </span>`+w {
			t.Errorf("the page of %s shows\n%s\nwant\n%s", id, got, w)
		}
	}
	if strings.Contains(list.body, "<b>Dune") || strings.Contains(list.body, "Not Yet Published") {
		t.Error("a title unescaped, or an unpublished book's title shown")
	}
}

// linkTargetIn is the inside of the first link-target paragraph after
// marker in body, without the spaces between its tags.
func linkTargetIn(t *testing.T, body, marker string) string {
	t.Helper()
	_, rest, ok := strings.Cut(body, marker)
	if !ok {
		t.Fatalf("no %s in the page", marker)
	}
	m := regexp.MustCompile(`<p class="link-target">(.*?)</p>`).FindStringSubmatch(rest)
	if m == nil {
		t.Fatalf("no link target after %s", marker)
	}
	return regexp.MustCompile(`>\s+<`).ReplaceAllString(m[1], "><")
}
