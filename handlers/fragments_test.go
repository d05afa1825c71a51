package handlers

import (
	"compress/gzip"
	"io"
	"net/http"
	"strings"
	"testing"

	"shelf/store/catalog"
	"shelf/store/search"
)

func TestSearchFragmentsAreCachedAndCompressed(t *testing.T) {
	ta := newTestApp(t)
	var books []catalog.Book
	for i := range 30 { // enough results for the fragment to be worth gzip
		books = append(books, catalog.Book{Title: "Harry and the Long Title Number " + strings.Repeat("x", i%5), Authors: "Writer", RatingsCount: int64(100 - i)})
	}
	ta.addBooks(books...)
	gz := []string{"HX-Request", "true", "Accept-Encoding", "gzip"}

	plain := ta.get("/search?q=harry", htmxHeaders...)
	first := ta.get("/search?q=harry", gz...)
	again := ta.get("/search?q=harry", gz...)
	if first.Header.Get("Content-Encoding") != "gzip" || !first.varies("Accept-Encoding") || !first.varies("HX-Request") {
		t.Fatalf("gzip fragment: Content-Encoding %q, Vary %q", first.Header.Get("Content-Encoding"), first.Header.Values("Vary"))
	}
	if plain.Header.Get("Content-Encoding") != "" || len(plain.Body) < minGzipBytes {
		t.Fatalf("plain fragment: Content-Encoding %q, %d bytes", plain.Header.Get("Content-Encoding"), len(plain.Body))
	}
	if got := gunzip(t, first.Body); got != plain.Body {
		t.Errorf("gzipped fragment differs from the plain one")
	}
	if again.Body != first.Body || again.Header.Get("HX-Push-Url") != "/search?q=harry" {
		t.Errorf("the same search gave another fragment, or lost HX-Push-Url %q", again.Header.Get("HX-Push-Url"))
	}
	if len(bookIDs(t, plain.Body)) != search.PerPage {
		t.Errorf("fragment has %d results", len(bookIDs(t, plain.Body)))
	}

	// New books change the results: the cached fragment must not be served.
	ta.addBooks(catalog.Book{Title: "Harry Newest", Authors: "Someone", RatingsCount: 1_000_000})
	fresh := ta.get("/search?q=harry", htmxHeaders...)
	if ids := bookIDs(t, fresh.Body); len(ids) == 0 || ids[0] != "31" {
		t.Errorf("after new books the fragment starts with %v, want book 31", ids[:min(len(ids), 1)])
	}

	// A short fragment is not worth compressing.
	small := ta.get("/search?q=zzzzzz", gz...)
	if small.Status != http.StatusOK || small.Header.Get("Content-Encoding") != "" {
		t.Errorf("tiny fragment: status %d, Content-Encoding %q", small.Status, small.Header.Get("Content-Encoding"))
	}
	// Whole pages still go through the gzip middleware.
	page := ta.get("/search?q=harry", "Accept-Encoding", "gzip")
	if page.Header.Get("Content-Encoding") != "gzip" || !strings.Contains(gunzip(t, page.Body), "<!doctype html>") {
		t.Errorf("page: Content-Encoding %q", page.Header.Get("Content-Encoding"))
	}
}

func gunzip(t *testing.T, s string) string {
	t.Helper()
	r, err := gzip.NewReader(strings.NewReader(s))
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestAcceptsGzip(t *testing.T) {
	tests := []struct {
		header string
		want   bool
	}{
		{"gzip", true}, {"GZIP", true}, {"deflate, gzip;q=0.5", true}, {"br, gzip , deflate", true},
		{"", false}, {"br", false}, {"gzip;q=0", false}, {"gzip; q=0.0", false}, {"x-gzip-not", false},
	}
	for _, tt := range tests {
		req, _ := http.NewRequest(http.MethodGet, "/", nil)
		req.Header.Set("Accept-Encoding", tt.header)
		if got := acceptsGzip(req); got != tt.want {
			t.Errorf("acceptsGzip(%q) = %v, want %v", tt.header, got, tt.want)
		}
	}
}
