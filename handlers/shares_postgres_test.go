package handlers

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"shelf/store/catalog"
	"shelf/store/storetest"
)

// Shared shelves and share cards on PostgreSQL: a reader shares a shelf,
// a visitor reads it and its card, the reader stops sharing.
func TestSharesOnPostgres(t *testing.T) {
	db := storetest.OpenPostgres(t)
	ctx := context.Background()
	books := catalog.New(db)
	if _, err := books.Import(ctx, strings.NewReader("title,author\nThe Hobbit,J.R.R. Tolkien\n"), catalog.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	r := &fakeRenderer{}
	env := newTestEnvWith(t, func(d *Deps, _ *Settings) { d.DB, d.Catalog, d.Search, d.CardRenderer = db, books, nil, r })
	b := env.register("pg@example.org")
	b.get("/my-books?shelf=read")
	b.post("/shelves/1/shelf", url.Values{"shelf": {"read"}, "back": {"/my-books?shelf=read"}}).wantStatus(t, http.StatusSeeOther)
	key := shareRead(t, b)

	anon := env.browser()
	p := anon.get("/shared/"+key).wantStatus(t, http.StatusOK).wantContains(t, "The Hobbit", "1 book on this shelf.")
	pagedCase{"/shared/" + key + "?page=2", false, "1", "That page number does not exist; this is the only page."}.check(t, anon)
	img := strings.TrimPrefix(socialTags(t, p.body)["og:image"], "http://shelf.test")
	env.app.cards.wait()
	if p := anon.get(img); p.body != "PNG:Read" || p.header.Get("ETag") == "" {
		t.Errorf("card: %q", p.body)
	}
	book := strings.TrimPrefix(socialTags(t, anon.get("/books/1").body)["og:image"], "http://shelf.test")
	env.app.cards.wait()
	if p := anon.get(book); p.body != "PNG:The Hobbit" {
		t.Errorf("book card: %q", p.body)
	}

	env.register("other@example.org").post("/my-books/share/"+key+"/revoke", nil).wantStatus(t, http.StatusNotFound)
	b.post("/my-books/share/"+key+"/revoke", nil).wantStatus(t, http.StatusSeeOther)
	anon.get("/shared/"+key).wantStatus(t, http.StatusNotFound)
	anon.get(img).wantStatus(t, http.StatusNotFound)
}
