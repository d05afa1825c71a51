package handlers

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"shelf/store"
	"shelf/store/catalog"
	"shelf/store/search"
)

// BenchmarkSearchHandler measures whole requests (routing, middleware,
// search on the in-memory index, rendering, gzip) against a generated
// catalog of 20,000 books, without the network.
func BenchmarkSearchHandler(b *testing.B) {
	env := newBenchSearchEnv(b)
	env.app.Search.SetResultCache(0) // every request searches, as a cold query does
	h := env.app.Handler()
	for _, q := range []string{"", "harry", "harry pot", "stephen king", "garcia marquez", "tolkein", "arry", "zzqqxx"} {
		target := "/search?q=" + url.QueryEscape(q)
		for _, htmx := range []bool{true, false} {
			name := fmt.Sprintf("%q", q)
			if !htmx {
				name += " page"
			}
			b.Run(name, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					req := httptest.NewRequest(http.MethodGet, target, nil)
					req.Header.Set("Accept-Encoding", "gzip")
					if htmx {
						req.Header.Set("HX-Request", "true")
					}
					rec := httptest.NewRecorder()
					h.ServeHTTP(rec, req)
					if rec.Code != http.StatusOK {
						b.Fatalf("%s: %d", target, rec.Code)
					}
				}
			})
		}
	}
}

// BenchmarkAPISearch compares GET /api/v1/books with the search fragment
// (an HTMX GET /search) for the same queries over BenchmarkSearchHandler's
// catalog: cold (the result cache off, so every request searches, and
// renders or encodes) and warm (every cache on, as for popular queries).
//
//	go test -run '^$' -bench APISearch -benchmem ./handlers
func BenchmarkAPISearch(b *testing.B) {
	env := newBenchSearchEnv(b)
	h := env.app.Handler()
	for _, cache := range []string{"cold", "warm"} {
		if cache == "cold" {
			env.app.Search.SetResultCache(0)
		} else {
			env.app.Search.SetResultCache(search.DefaultResultCache)
		}
		for _, q := range []string{"", "harry", "harry pot", "stephen king", "tolkein", "zzqqxx"} {
			for _, kind := range []string{"fragment", "api"} {
				target := "/search?q=" + url.QueryEscape(q)
				if kind == "api" {
					target = "/api/v1/books?q=" + url.QueryEscape(q)
				}
				b.Run(fmt.Sprintf("%s/%q/%s", cache, q, kind), func(b *testing.B) {
					b.ReportAllocs()
					for b.Loop() {
						req := httptest.NewRequest(http.MethodGet, target, nil)
						req.Header.Set("Accept-Encoding", "gzip")
						if kind == "fragment" {
							req.Header.Set("HX-Request", "true")
						}
						rec := httptest.NewRecorder()
						h.ServeHTTP(rec, req)
						if rec.Code != http.StatusOK {
							b.Fatalf("%s: %d", target, rec.Code)
						}
					}
				})
			}
		}
	}
}

// newBenchSearchEnv is an App over a generated catalog of 20,000 books,
// with the in-memory search index built.
func newBenchSearchEnv(b *testing.B) *testEnv {
	words := strings.Fields(`the of and love night house girl life world war dark secret story lost city heart
		shadow moon king queen blood fire water stone garden summer winter river road home child harry potter
		hobbit rings lord chamber secrets dune messiah foundation galaxy guide murder mystery game hunger`)
	first := strings.Fields(`john mary james stephen jane agatha gabriel frank neil terry ursula isaac`)
	last := strings.Fields(`smith rowling tolkien king austen christie garcía márquez herbert gaiman pratchett`)
	rng := rand.New(rand.NewPCG(1, 1))
	books := make([]catalog.Book, 20_000)
	for i := range books {
		t := make([]string, 1+rng.IntN(4))
		for j := range t {
			t[j] = words[rng.IntN(len(words))]
		}
		books[i] = catalog.Book{Title: strings.Join(t, " ") + fmt.Sprint(" ", i%7), Authors: first[rng.IntN(len(first))] + " " + last[rng.IntN(len(last))],
			Year: 1900 + rng.IntN(120), RatingsCount: int64(rng.ExpFloat64() * 10000)}
	}
	env := newTestEnv(b)
	env.addBooks(books...)
	if _, err := env.app.Search.BuildIndex(context.Background()); err != nil {
		b.Fatal(err)
	}
	return env
}

// BenchmarkColdMixHandler is BenchmarkSearchHandler over an existing
// database and a file of queries (one a line), sent as HTMX requests in a
// cycle longer than the caches: what an uncached search request costs,
// without the network. It needs SHELF_BENCH_DB (a Shelf database file,
// such as the load test's 1M one) and SHELF_BENCH_QUERIES.
//
//	SHELF_BENCH_DB=/tmp/shelf-loadtest/shelf-1000000.db SHELF_BENCH_QUERIES=queries.txt \
//	  go test -run '^$' -bench ColdMixHandler -benchmem ./handlers
func BenchmarkColdMixHandler(b *testing.B) {
	dbPath, qPath := os.Getenv("SHELF_BENCH_DB"), os.Getenv("SHELF_BENCH_QUERIES")
	if dbPath == "" || qPath == "" {
		b.Skip("set SHELF_BENCH_DB and SHELF_BENCH_QUERIES")
	}
	raw, err := os.ReadFile(qPath)
	if err != nil {
		b.Fatal(err)
	}
	var targets []string
	for _, q := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		targets = append(targets, "/search?q="+url.QueryEscape(q))
	}
	db, err := store.Open(context.Background(), dbPath)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	env := newTestEnvOn(b, db, &clock{t: time.Now().UTC()}, nil)
	if _, err := env.app.Search.BuildIndex(context.Background()); err != nil {
		b.Fatal(err)
	}
	h := env.app.Handler()
	for _, t := range targets { // the words' expansions, as a running server has them
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, t, nil))
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		req := httptest.NewRequest(http.MethodGet, targets[i%len(targets)], nil)
		req.Header.Set("Accept-Encoding", "gzip")
		req.Header.Set("HX-Request", "true")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("%s: %d", targets[i%len(targets)], rec.Code)
		}
		i++
	}
}
