package handlers

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkShortLink compares GET /s/{id} (a cached link: no session, no
// query, the click counted in memory) with GET /healthz (one SELECT 1),
// whole requests through the router and middleware, without the network.
//
//	go test -run '^$' -bench ShortLink -benchmem ./handlers
func BenchmarkShortLink(b *testing.B) {
	env := newTestEnvWith(b, func(d *Deps, _ *Settings) { d.Search = nil })
	env.register("reader@example.com")
	ctx := context.Background()
	uid := env.user("reader@example.com").ID
	if _, err := env.app.Links.Create(ctx, uid, "/books/1", "internal"); err != nil {
		b.Fatal(err)
	}
	if _, err := env.app.Links.Create(ctx, uid, "https://example.com/review", "external"); err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name, path, referer string
		status              int
	}{
		{"healthz", "/healthz", "", http.StatusOK},
		{"internal 302", "/s/internal", "", http.StatusFound},
		{"external from Shelf 302", "/s/external", "http://shelf.test/books/1", http.StatusFound},
		{"external interstitial", "/s/external", "", http.StatusOK},
		{"unknown 404", "/s/nothing-here", "", http.StatusNotFound},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				req := httptest.NewRequest(http.MethodGet, c.path, nil)
				if c.referer != "" {
					req.Header.Set("Referer", c.referer)
				}
				w := httptest.NewRecorder()
				env.app.ServeHTTP(w, req)
				if w.Code != c.status {
					b.Fatalf("%s: %d", c.path, w.Code)
				}
			}
		})
	}
	if err := env.app.Links.Flush(ctx); err != nil {
		b.Fatal(err)
	}
}
