package handlers

import (
	"context"
	"net/http"
	"testing"

	"shelf/store/catalog"
	"shelf/store/search"
	"shelf/store/storetest"
)

// The API on PostgreSQL: searches answer 503 until the index is built,
// then shelves and books are written as on SQLite.
func TestAPIOnPostgres(t *testing.T) {
	db := storetest.OpenPostgres(t)
	searcher, err := search.New(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	env := newTestEnvWith(t, func(d *Deps, _ *Settings) { d.DB, d.Catalog, d.Search = db, catalog.New(db), searcher })
	r := callAPI(t, env, "", apiRequest{method: http.MethodGet, path: "/api/v1/books?q=harry"})
	if r.status != http.StatusServiceUnavailable || r.header.Get("Retry-After") == "" {
		t.Fatalf("search before the index: %d %s", r.status, r.body)
	}
	env.addBooks(apiTestBooks()...) // builds the index
	t.Run("shelves", func(t *testing.T) { testAPIShelvesWrite(t, env) })
	t.Run("books", func(t *testing.T) { testAPIBooksWrite(t, env) })
	t.Run("links", func(t *testing.T) { testAPILinks(t, env) })
}
