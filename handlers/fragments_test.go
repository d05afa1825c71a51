package handlers

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	kgzip "github.com/klauspost/compress/gzip"

	"shelf/store/catalog"
	"shelf/store/search"
)

func TestSearchFragmentsAreCachedAndCompressed(t *testing.T) {
	env := newTestEnv(t)
	b := env.browser()
	var books []catalog.Book
	for i := range 30 { // enough results for the fragment to be worth gzip
		books = append(books, catalog.Book{Title: "Harry and the Long Title Number " + strings.Repeat("x", i%5), Authors: "Writer", RatingsCount: int64(100 - i)})
	}
	env.addBooks(books...)
	gz := []string{"HX-Request", "true", "Accept-Encoding", "gzip"}

	plain := b.get("/search?q=harry", htmxHeaders...)
	first := b.get("/search?q=harry", gz...)
	again := b.get("/search?q=harry", gz...)
	if first.header.Get("Content-Encoding") != "gzip" || !first.varies("Accept-Encoding") || !first.varies("HX-Request") {
		t.Fatalf("gzip fragment: Content-Encoding %q, Vary %q", first.header.Get("Content-Encoding"), first.header.Values("Vary"))
	}
	if plain.header.Get("Content-Encoding") != "" || len(plain.body) < minGzipBytes {
		t.Fatalf("plain fragment: Content-Encoding %q, %d bytes", plain.header.Get("Content-Encoding"), len(plain.body))
	}
	if got := gunzip(t, first.body); got != plain.body {
		t.Errorf("gzipped fragment differs from the plain one")
	}
	if again.body != first.body || again.header.Get("HX-Push-Url") != "/search?q=harry" {
		t.Errorf("the same search gave another fragment, or lost HX-Push-Url %q", again.header.Get("HX-Push-Url"))
	}
	if len(bookIDs(t, plain.body)) != search.PerPage {
		t.Errorf("fragment has %d results", len(bookIDs(t, plain.body)))
	}

	// New books change the results: the cached fragment must not be served.
	env.addBooks(catalog.Book{Title: "Harry Newest", Authors: "Someone", RatingsCount: 1_000_000})
	fresh := b.get("/search?q=harry", htmxHeaders...)
	if ids := bookIDs(t, fresh.body); len(ids) == 0 || ids[0] != "31" {
		t.Errorf("after new books the fragment starts with %v, want book 31", ids[:min(len(ids), 1)])
	}

	// A short fragment is not worth compressing.
	small := b.get("/search?q=zzzzzz", gz...)
	if small.status != http.StatusOK || small.header.Get("Content-Encoding") != "" {
		t.Errorf("tiny fragment: status %d, Content-Encoding %q", small.status, small.header.Get("Content-Encoding"))
	}
	// Whole pages still go through the gzip middleware.
	page := b.get("/search?q=harry", "Accept-Encoding", "gzip")
	if page.header.Get("Content-Encoding") != "gzip" || !strings.Contains(gunzip(t, page.body), "<!doctype html>") {
		t.Errorf("page: Content-Encoding %q", page.header.Get("Content-Encoding"))
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

// Search fragments are compressed with a code trained on a sample page
// (fragmentGzip). On the bundled catalog's real pages it must compress
// about as well as fitting a code to each page: were the components to
// change so that the sample no longer looked like them, this fails.
func TestFragmentGzipFitsRealPages(t *testing.T) {
	b := bundledCatalogBrowser(t)
	var ours, general int
	for _, q := range realPageQueries {
		page := b.get("/search?q="+url.QueryEscape(q), htmxHeaders...)
		if page.status != http.StatusOK || len(page.body) < minGzipBytes {
			t.Fatalf("%s: status %d, %d bytes", q, page.status, len(page.body))
		}
		gz := b.get("/search?q="+url.QueryEscape(q), "HX-Request", "true", "Accept-Encoding", "gzip")
		if got := gunzip(t, gz.body); got != page.body {
			t.Fatalf("%s: the gzipped fragment differs from the plain one", q)
		}
		var w bytes.Buffer
		zw, _ := kgzip.NewWriterLevel(&w, kgzip.BestSpeed)
		zw.Write([]byte(page.body))
		zw.Close()
		ours += len(gz.body)
		general += w.Len()
	}
	t.Logf("%d bytes gzipped with the trained code, %d with a code fitted to each page", ours, general)
	if ours > general*105/100 {
		t.Errorf("the trained code made %d bytes where a fitted one made %d: retrain it on a sample like today's pages (sampleResults)", ours, general)
	}
}

// realPageQueries are searches whose fragments are like the pages people
// see, for TestFragmentGzipFitsRealPages and BenchmarkFragmentGzip.
var realPageQueries = strings.Fields("harry the stand fire games help love tolkien king austen murakami pride dune war hunger poirot márquez 1984 a")

// bundledCatalogBrowser is a browser on an app with the bundled catalog
// imported and indexed.
func bundledCatalogBrowser(t testing.TB) *browser {
	t.Helper()
	env := newTestEnv(t)
	ctx := context.Background()
	if _, err := catalog.New(env.db).ImportBundled(ctx); err != nil {
		t.Fatal(err)
	}
	if err := env.app.Search.RefreshTerms(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := env.app.Search.BuildIndex(ctx); err != nil {
		t.Fatal(err)
	}
	return env.browser()
}

// BenchmarkFragmentGzip compresses the fragments of realPageQueries, one
// after another, as search requests do: what compressing costs on real
// pages (the trainedgzip package's benchmark uses made-up ones).
func BenchmarkFragmentGzip(b *testing.B) {
	br := bundledCatalogBrowser(b)
	var pages [][]byte
	n := 0
	for _, q := range realPageQueries {
		page := br.get("/search?q="+url.QueryEscape(q), htmxHeaders...)
		pages = append(pages, []byte(page.body))
		n += len(page.body)
	}
	b.SetBytes(int64(n))
	var out []byte
	for b.Loop() {
		for _, p := range pages {
			out = fragmentGzip().Append(out[:0], p)
		}
	}
}
