package handlers

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"shelf/store/catalog"
	"shelf/store/search"
	"shelf/store/storetest"
)

// On PostgreSQL, until the search index is built, /healthz and searches
// answer 503 (never an empty page of results); then both answer.
func TestSearchBeforeIndexOnPostgres(t *testing.T) {
	db := storetest.OpenPostgres(t)
	ctx := context.Background()
	books := catalog.New(db)
	if _, err := books.Import(ctx, strings.NewReader("title,author\nThe Hobbit,J.R.R. Tolkien\n"), catalog.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	searcher, err := search.New(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	env := newTestEnvWith(t, func(d *Deps, _ *Settings) { d.DB, d.Catalog, d.Search = db, books, searcher })
	b := env.browser()
	b.get("/healthz").wantStatus(t, http.StatusServiceUnavailable).wantContains(t, "search index")
	p := b.get("/search?q=hobbit").wantStatus(t, http.StatusServiceUnavailable).wantContains(t, "Search is starting")
	if p.header.Get("Retry-After") == "" {
		t.Error("no Retry-After on the 503")
	}
	b.get("/search?q=hobbit", htmxHeaders...).wantStatus(t, http.StatusServiceUnavailable)
	b.get("/books/1").wantStatus(t, http.StatusOK)

	if _, err := searcher.BuildIndex(ctx); err != nil {
		t.Fatal(err)
	}
	b.get("/healthz").wantStatus(t, http.StatusOK)
	b.get("/search?q=hobbit").wantStatus(t, http.StatusOK).wantContains(t, `data-book-id="1"`)
}
