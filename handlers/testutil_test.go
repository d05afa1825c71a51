package handlers

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"shelf/store"
	"shelf/store/catalog"
	"shelf/store/search"
)

// testApp is the whole app on a fresh, empty database behind a real HTTP
// server. Reuse it for any handler test: newTestApp(t), maybe addBooks,
// then get.
type testApp struct {
	t      testing.TB
	App    *App
	DB     *store.DB
	Server *httptest.Server
	// Client keeps cookies and does not follow redirects.
	Client *http.Client

	added int // books added so far, for unique dedupe keys
}

func newTestApp(t testing.TB) *testApp {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "shelf.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	searcher, err := search.New(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	base, _ := url.Parse("http://shelf.test")
	app, err := New(Deps{DB: db, Catalog: catalog.New(db), Search: searcher, Logger: slog.New(slog.DiscardHandler)}, Settings{BaseURL: base})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(app)
	t.Cleanup(srv.Close)
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
	return &testApp{t: t, App: app, DB: db, Server: srv, Client: client}
}

// addBooks inserts books (on a fresh database their IDs are 1, 2, … in
// order) and refreshes the search vocabulary, as an import would.
func (ta *testApp) addBooks(books ...catalog.Book) {
	ta.t.Helper()
	ctx := context.Background()
	err := ta.DB.InTx(ctx, func(tx *sql.Tx) error {
		st, err := tx.PrepareContext(ctx, `INSERT INTO books (title, authors, year, isbn13, language, average_rating, ratings_count, dedupe_key)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`)
		if err != nil {
			return err
		}
		defer st.Close()
		for _, b := range books {
			ta.added++
			if _, err := st.ExecContext(ctx, b.Title, b.Authors, b.Year, b.ISBN13, b.Language, b.AverageRating, b.RatingsCount,
				fmt.Sprintf("test:%d", ta.added)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		ta.t.Fatalf("add books: %v", err)
	}
	if err := ta.App.Search.RefreshTerms(ctx); err != nil {
		ta.t.Fatalf("add books: %v", err)
	}
}

// testResponse is a response with its body read.
type testResponse struct {
	Status int
	Header http.Header
	Body   string
}

// get fetches path (with query) from the server; headers are name, value
// pairs.
func (ta *testApp) get(path string, headers ...string) testResponse {
	ta.t.Helper()
	req, err := http.NewRequest(http.MethodGet, ta.Server.URL+path, nil)
	if err != nil {
		ta.t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return ta.do(req)
}

// do sends req with the test client.
func (ta *testApp) do(req *http.Request) testResponse {
	ta.t.Helper()
	resp, err := ta.Client.Do(req)
	if err != nil {
		ta.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		ta.t.Fatal(err)
	}
	return testResponse{Status: resp.StatusCode, Header: resp.Header, Body: string(body)}
}

// htmxHeaders mark a request as htmx sends it.
var htmxHeaders = []string{"HX-Request", "true"}

// varies reports whether the response's Vary header names h.
func (r testResponse) varies(h string) bool {
	for _, v := range r.Header.Values("Vary") {
		for _, f := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(f), h) {
				return true
			}
		}
	}
	return false
}
