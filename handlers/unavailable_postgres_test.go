package handlers

import (
	"context"
	"database/sql"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"shelf/store"
	"shelf/store/catalog"
	"shelf/store/storetest"
)

// While PostgreSQL refuses connections to Shelf's database (taken out of
// service for a restore, say), a page that needs the database answers 503
// with Retry-After, never 500; a page that only reads says it cannot load,
// not that it cannot save.
func TestDatabaseRefusingConnectionsOnPostgres(t *testing.T) {
	dbURL := storetest.PostgresURL(t)
	db, err := store.Open(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	env := newTestEnvOn(t, db, &clock{t: time.Now()}, nil)
	env.addBooks(catalog.Book{Title: "The Hobbit", Authors: "J.R.R. Tolkien"})
	b := env.browser()
	b.get("/books/1").wantStatus(t, http.StatusOK)
	b.get("/login")

	refuseConnections(t, dbURL)
	for _, path := range []string{"/books/1", "/books/2"} {
		p := b.get(path).wantStatus(t, http.StatusServiceUnavailable).wantContains(t, "load this page")
		if p.header.Get("Retry-After") == "" {
			t.Errorf("%s: 503 without Retry-After", path)
		}
	}
	wantUnavailable(t, b.post("/login", url.Values{"email": {"a@example.org"}, "password": {"wrong guess"}}))
}

// refuseConnections makes the server refuse new connections to the
// database at dbURL and ends the open ones.
func refuseConnections(t *testing.T, dbURL string) {
	t.Helper()
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	name := strings.TrimPrefix(u.Path, "/")
	u.Path = "/postgres"
	admin, err := sql.Open("pgx", u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	for _, q := range []string{`ALTER DATABASE ` + name + ` ALLOW_CONNECTIONS false`,
		`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '` + name + `'`} {
		if _, err := admin.ExecContext(context.Background(), q); err != nil {
			t.Fatal(err)
		}
	}
}
