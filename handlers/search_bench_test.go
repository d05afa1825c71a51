package handlers

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"shelf/store/catalog"
)

// BenchmarkSearchHandler measures whole requests (routing, middleware,
// search on the in-memory index, rendering, gzip) against a generated
// catalog of 20,000 books, without the network.
func BenchmarkSearchHandler(b *testing.B) {
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
