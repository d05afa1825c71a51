package handlers

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"shelf/store/catalog"
	"shelf/store/search"
	"shelf/store/storetest"
)

// Shelves on PostgreSQL: a reader shelves and rates a book from the
// results, finds it in My books, and an anonymous visitor sees none of it.
func TestShelvesOnPostgres(t *testing.T) {
	db := storetest.OpenPostgres(t)
	ctx := context.Background()
	books := catalog.New(db)
	if _, err := books.Import(ctx, strings.NewReader("title,author\nThe Hobbit,J.R.R. Tolkien\nDune,Frank Herbert\n"), catalog.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	searcher, err := search.New(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := searcher.BuildIndex(ctx); err != nil {
		t.Fatal(err)
	}
	env := newTestEnvWith(t, func(d *Deps, _ *Settings) { d.DB, d.Catalog, d.Search = db, books, searcher })
	b := env.register("pg@example.org")
	p := b.get("/search?q=hobbit").wantStatus(t, http.StatusOK)
	id := itemRe.FindStringSubmatch(p.body)[1]
	b.htmx("/shelves/"+id+"/shelf", url.Values{"shelf": {"reading"}}).wantStatus(t, http.StatusOK)
	b.htmx("/shelves/"+id+"/rating", url.Values{"rating": {"5"}}).wantStatus(t, http.StatusOK)
	if got := strings.Join(pressed(b.get("/search?q=hobbit", htmxHeaders...).body), ","); got != "shelf-"+id+"-reading,shelf-"+id+"-rate-5" {
		t.Errorf("the reader's fragment: %s", got)
	}
	b.get("/my-books?q=tolkein").wantStatus(t, http.StatusOK).wantContains(t, `data-book-id="`+id+`"`, "1 book on your shelves match")
	pagedCase{"/my-books?page=4", false, id, "That page number does not exist; this is the only page."}.check(t, b)
	pagedCase{"/my-books?page=4", true, id, "That page number does not exist; this is the only page."}.check(t, b)
	pagedCase{"/my-books?shelf=read&page=4", false, "", ""}.check(t, b)
	if p := env.browser().get("/search?q=hobbit", htmxHeaders...); len(pressed(p.body)) > 0 {
		t.Errorf("an anonymous visitor sees the reader's shelf")
	}
}
