package handlers

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"shelf/store/catalog"
	"shelf/store/shelves"
)

// shareURLRe finds the public address in the sharing panel's read-only
// field, a text area that wraps it whole on a phone.
var shareURLRe = regexp.MustCompile(`<textarea id="share-url" rows="1" readonly spellcheck="false" autocomplete="off">http://shelf\.test/shared/([a-z2-7]{26})</textarea>`)

// shareRead shares ann's Read shelf from My books and returns its key.
func shareRead(t *testing.T, b *browser) string {
	t.Helper()
	b.get("/my-books?shelf=read").wantStatus(t, http.StatusOK).wantContains(t, `id="share-shelf"`)
	p := b.post("/my-books/share", url.Values{"shelf": {"read"}}).wantStatus(t, http.StatusSeeOther)
	if p.location() != "/my-books?shelf=read#share-shelf" {
		t.Fatalf("after sharing: %q", p.location())
	}
	p = b.get("/my-books?shelf=read").wantStatus(t, http.StatusOK)
	m := shareURLRe.FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("no public address on My books:\n%s", p.body)
	}
	p.wantContains(t, `id="share-stop"`, `action="/my-books/share/`+m[1]+`/revoke"`,
		`data-copy="share-url" data-copy-status="share-status" hidden>Copy`, `<p id="share-status" class="share-status" role="status"></p>`,
		`id="share-short-link" href="/links/new?target=%2Fshared%2F`+m[1]+`"`)
	return m[1]
}

// readShelfEnv: ann has books 1 and 2 on Read, rated and noted, and book 3
// on Want to read.
func readShelfEnv(t *testing.T) (*testEnv, *browser) {
	t.Helper()
	env, ann := shelfEnv(t)
	ctx := context.Background()
	id := env.user("ann@example.org").ID
	for _, e := range []shelves.Entry{
		{BookID: 1, Shelf: shelves.Read, Rating: 4, Note: "ann's secret note"},
		{BookID: 2, Shelf: shelves.Read},
		{BookID: 3, Shelf: shelves.WantToRead, Rating: 2, Note: "another secret"},
	} {
		if _, err := env.app.Shelves.Import(ctx, id, []shelves.Entry{e}); err != nil {
			t.Fatal(err)
		}
	}
	return env, ann
}

func TestShareShelf(t *testing.T) {
	env, ann := readShelfEnv(t)
	// Only one shelf at a time is shared: "All" offers nothing.
	if p := ann.get("/my-books"); strings.Contains(p.body, `id="share-shelf"`) {
		t.Error("My books' All tab offers to share")
	}
	ann.get("/my-books?shelf=read").wantContains(t, `id="share-shelf-button"`)
	key := shareRead(t, ann)
	if again := shareRead(t, ann); again != key {
		t.Errorf("sharing again made a new key: %s, then %s", key, again)
	}
	// Want to read is not shared by sharing Read.
	ann.get("/my-books?shelf=want-to-read").wantContains(t, `id="share-shelf-button"`)

	check := func(who string, b *browser, owner bool) {
		t.Helper()
		p := b.get("/shared/"+key).wantStatus(t, http.StatusOK)
		p.wantContains(t, `<h1 id="shared-shelf-name">Read</h1>`, "2 books on this shelf.", "The Hobbit", "Dune", "Rated 4 out of 5", "Not rated")
		private := []string{"secret", "Emma", `method="post" action="/shelves`, `id="shelf-1-`, "share-stop"}
		if !owner { // ann's own header names her
			private = append(private, "ann@example.org")
		}
		for _, private := range private {
			if strings.Contains(p.body, private) || strings.Contains(p.body, html.EscapeString(private)) {
				t.Errorf("%s sees %q on the shared page:\n%s", who, private, p.body)
			}
		}
		if p.header.Get("Cache-Control") != "no-store" {
			t.Errorf("shared page's Cache-Control: %q", p.header.Get("Cache-Control"))
		}
	}
	check("a visitor signed out", env.browser(), false)
	bob := env.register("bob@example.org")
	check("another reader", bob, false)
	check("ann", ann, true)

	// Bob cannot stop ann's share, with his own token or none.
	bob.post("/my-books/share/"+key+"/revoke", nil).wantStatus(t, http.StatusNotFound)
	env.browser().post("/my-books/share/"+key+"/revoke", nil)
	env.browser().get("/shared/"+key).wantStatus(t, http.StatusOK)

	// Ann can, and the page is gone at once, with its card.
	p := ann.post("/my-books/share/"+key+"/revoke", nil).wantStatus(t, http.StatusSeeOther)
	if p.location() != "/my-books?shelf=read#share-shelf" {
		t.Errorf("after stopping: %q", p.location())
	}
	env.browser().get("/shared/"+key).wantStatus(t, http.StatusNotFound)
	env.browser().get("/cards/shared/"+key+".png").wantStatus(t, http.StatusNotFound)
	ann.get("/my-books?shelf=read").wantContains(t, `id="share-shelf-button"`)
	ann.post("/my-books/share/"+key+"/revoke", nil).wantStatus(t, http.StatusNotFound)
	if fresh := shareRead(t, ann); fresh == key {
		t.Error("sharing again revived the old key")
	}
}

func TestShareShelfRefusals(t *testing.T) {
	env, ann := readShelfEnv(t)
	// CSRF: a forged token and none.
	if p := ann.post("/my-books/share", url.Values{"shelf": {"read"}, "_csrf": {"forged"}}); p.status != http.StatusForbidden {
		t.Errorf("share with a forged token: %d", p.status)
	}
	req, _ := http.NewRequest(http.MethodPost, env.srv.URL+"/my-books/share", strings.NewReader("shelf=read"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if p := ann.do(req); p.status != http.StatusForbidden {
		t.Errorf("share without a token: %d", p.status)
	}
	// A shelf that is not one.
	ann.post("/my-books/share", url.Values{"shelf": {"favourites"}}).wantStatus(t, http.StatusBadRequest)
	// Signed out, and unconfirmed.
	anon := env.browser()
	anon.get("/login")
	if p := anon.post("/my-books/share", url.Values{"shelf": {"read"}}); p.status != http.StatusSeeOther || !strings.HasPrefix(p.location(), "/login") {
		t.Errorf("signed out: %d %q", p.status, p.location())
	}
	uncon := env.signUp("carol@example.org").signInUnconfirmed("carol@example.org")
	if p := uncon.post("/my-books/share", url.Values{"shelf": {"read"}}); p.status != http.StatusSeeOther || p.location() != "/check-email" {
		t.Errorf("unconfirmed: %d %q", p.status, p.location())
	}
	if m := shareURLRe.FindStringSubmatch(ann.get("/my-books?shelf=read").body); m != nil {
		t.Errorf("a refused request shared the shelf: %s", m[1])
	}
	var n int
	if err := env.db.Read.QueryRow(`SELECT count(*) FROM shelf_shares`).Scan(&n); err != nil || n != 0 {
		t.Errorf("shares after refusals: %d, %v", n, err)
	}
	// Keys that are not a share's.
	for _, bad := range []string{"nope", strings.Repeat("a", 26), "%2e%2e", strings.Repeat("a", 300)} {
		env.browser().get("/shared/"+bad).wantStatus(t, http.StatusNotFound)
	}
}

func TestSharedShelfPages(t *testing.T) {
	env, ann := shelfEnv(t)
	env.addBooks(manyBooks(25)...) // ids 4..28
	ctx := context.Background()
	id := env.user("ann@example.org").ID
	for b := int64(4); b <= 28; b++ {
		if _, err := env.app.Shelves.Put(ctx, id, b, shelves.Reading); err != nil {
			t.Fatal(err)
		}
		env.clock.Advance(1e9)
	}
	ann.get("/my-books?shelf=reading")
	ann.post("/my-books/share", url.Values{"shelf": {"reading"}}).wantStatus(t, http.StatusSeeOther)
	key := shareURLRe.FindStringSubmatch(ann.get("/my-books?shelf=reading").body)[1]
	anon := env.browser()
	p := anon.get("/shared/"+key).wantStatus(t, http.StatusOK).wantContains(t, "25 books on this shelf.", `id="shared-next" rel="next" href="/shared/`+key+`?page=2"`,
		`<span id="shared-page">Page 1 of 2</span>`)
	if got := resultOrder(p.body); !strings.HasPrefix(got, "28,27") || strings.Count(got, ",") != 19 {
		t.Errorf("page 1: %s", got)
	}
	p = anon.get("/shared/"+key+"?page=2").wantStatus(t, http.StatusOK).wantContains(t, `id="shared-prev"`, `<span id="shared-page">Page 2 of 2</span>`)
	if got := resultOrder(p.body); got != "8,7,6,5,4" {
		t.Errorf("page 2: %s", got)
	}
	anon.get("/shared/"+key+"?page=-3").wantStatus(t, http.StatusOK).wantContains(t, `id="shared-next"`)

	// A page past the last shows the last, and says so, as search does.
	first, last := "28,27,26,25,24,23,22,21,20,19,18,17,16,15,14,13,12,11,10,9", "8,7,6,5,4"
	const (
		lastNote  = "That page number does not exist; this is the last page, page 2."
		firstNote = "That page number does not exist; this is page 1."
	)
	shared := "/shared/" + key
	for _, tc := range []pagedCase{
		{shared, false, first, ""},
		{shared + "?page=2", false, last, ""},
		{shared + "?page=3", false, last, lastNote},
		{shared + "?page=99999", false, last, lastNote},
		{shared + "?page=99999999999999999999", false, last, lastNote},
		{shared + "?page=0", false, first, firstNote},
		{shared + "?page=-3", false, first, firstNote},
		{shared + "?page=x", false, first, firstNote},
		// htmx asks for nothing here: it gets the same page, the last once.
		{shared + "?page=3", true, last, lastNote},
	} {
		tc.check(t, anon)
	}
	anon.get(shared+"?page=3").wantContains(t, `id="shared-prev" rel="prev" href="/shared/`+key+`"`, "25 books on this shelf.", "Page 2 of 2")
}

// A page past a shared shelf's only page shows it; an empty shelf stays
// empty on every page.
func TestSharedShelfOnePage(t *testing.T) {
	env, ann := readShelfEnv(t)
	key := shareRead(t, ann)
	anon := env.browser()
	for _, page := range []string{"2", "99999"} {
		pagedCase{"/shared/" + key + "?page=" + page, false, "2,1", "That page number does not exist; this is the only page."}.check(t, anon)
	}
	// Its reader empties it.
	for _, id := range []string{"1", "2"} {
		ann.post("/shelves/"+id+"/remove", url.Values{"back": {"/my-books"}}).wantStatus(t, http.StatusSeeOther)
	}
	for _, page := range []string{"", "?page=2", "?page=0"} {
		pagedCase{"/shared/" + key + page, false, "", ""}.check(t, anon)
		anon.get("/shared/"+key+page).wantContains(t, `id="shared-shelf-empty"`, "0 books on this shelf.")
	}
}

// The shared page's tags name the shelf and its card, at the base URL.
func TestSharedShelfSocialMeta(t *testing.T) {
	env, ann := readShelfEnv(t)
	key := shareRead(t, ann)
	p := env.browser().get("/shared/"+key, "X-Forwarded-Host", "evil.example")
	req, _ := http.NewRequest(http.MethodGet, env.srv.URL+"/shared/"+key, nil)
	req.Host = "evil.example"
	forged := env.browser().do(req)
	for _, p := range []page{p, forged} {
		tags := socialTags(t, p.body)
		if tags["og:url"] != "http://shelf.test/shared/"+key || !strings.HasPrefix(tags["og:image"], "http://shelf.test/cards/shared/"+key+".png?v=") ||
			tags["og:title"] != "Read, a shared shelf" || !strings.Contains(tags["og:description"], "2 books") || strings.Contains(p.body, "evil.example") {
			t.Errorf("tags %v", tags)
		}
	}
	// A book added to the shelf changes its card; a rating does not.
	v1 := socialTags(t, env.browser().get("/shared/"+key).body)["og:image"]
	if _, err := env.app.Shelves.SetRating(context.Background(), env.user("ann@example.org").ID, 2, 5); err != nil {
		t.Fatal(err)
	}
	if v := socialTags(t, env.browser().get("/shared/"+key).body)["og:image"]; v != v1 {
		t.Errorf("a rating changed the card: %s, then %s", v1, v)
	}
	if _, err := env.app.Shelves.Put(context.Background(), env.user("ann@example.org").ID, 3, shelves.Read); err != nil {
		t.Fatal(err)
	}
	if v := socialTags(t, env.browser().get("/shared/"+key).body)["og:image"]; v == v1 {
		t.Error("a book added left the card as it was")
	}
}

var metaTagRe = regexp.MustCompile(`<meta (?:property|name)="((?:og|twitter):[a-z:_]+)" content="([^"]*)"`)

// socialTags returns the page's og: and twitter: tags, unescaped.
func socialTags(t *testing.T, body string) map[string]string {
	t.Helper()
	tags := map[string]string{}
	for _, m := range metaTagRe.FindAllStringSubmatch(body, -1) {
		tags[m[1]] = html.UnescapeString(m[2])
	}
	if len(tags) == 0 {
		t.Fatalf("no social tags:\n%s", body)
	}
	return tags
}

var _ = catalog.Book{}

// Sharing a shelf and stopping say so, once, in a status message a screen
// reader announces: the panel's Notice was never set, so after either
// button the page reloaded without a word of what had happened.
func TestShareShelfSaysWhatItDid(t *testing.T) {
	_, ann := readShelfEnv(t)
	const shared = `<p class="flash ok" role="status">Read is shared. Anyone with the link below can see it.</p>`
	p := ann.post("/my-books/share", url.Values{"shelf": {"read"}}).wantStatus(t, http.StatusSeeOther)
	p = ann.get(p.location()).wantStatus(t, http.StatusOK).wantContains(t, shared)
	m := shareURLRe.FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("no public address on My books:\n%s", p.body)
	}
	if p := ann.get("/my-books?shelf=read"); strings.Contains(p.body, `role="status">Read is shared`) {
		t.Error("the notice shows again on the next visit")
	}

	const stopped = `<p class="flash ok" role="status">You stopped sharing Read. Its link no longer works.</p>`
	p = ann.post("/my-books/share/"+m[1]+"/revoke", nil).wantStatus(t, http.StatusSeeOther)
	ann.get(p.location()).wantStatus(t, http.StatusOK).wantContains(t, stopped, `id="share-shelf-button"`)
	if p := ann.get("/my-books?shelf=read"); strings.Contains(p.body, "You stopped sharing") {
		t.Error("the notice shows again on the next visit")
	}
}
