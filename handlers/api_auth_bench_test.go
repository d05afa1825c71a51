package handlers

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"shelf/store/apitokens"
)

// BenchmarkAPIAuth times a request through apiAuthenticate to a handler
// that does nothing, with each kind of credential (the limit raised out of
// the way): what authentication adds to every API request.
func BenchmarkAPIAuth(b *testing.B) {
	env := newTestEnvWith(b, func(d *Deps, _ *Settings) { d.Search = nil })
	authTestRoutes(env)
	env.register("reader@example.com")
	_, secret := env.newPAT("reader@example.com", 0, apitokens.BooksRead)
	tr, r := env.exchange("Bearer " + secret)
	if r.status != http.StatusOK {
		b.Fatal(r.body)
	}
	env.app.apiLimiter = newTokenLimiter(1<<30, time.Minute)
	for _, c := range []struct{ name, header string }{
		{"anonymous", ""},
		{"pat", "Bearer " + secret},
		{"basic", basic("reader@example.com", secret)},
		{"jwt", "Bearer " + tr.AccessToken},
	} {
		b.Run(c.name, func(b *testing.B) {
			req := httptest.NewRequest(http.MethodGet, "/api/v1/auth-test/open", nil)
			if c.header != "" {
				req.Header.Set("Authorization", c.header)
			}
			b.ReportAllocs()
			for b.Loop() {
				w := httptest.NewRecorder()
				env.app.ServeHTTP(w, req)
				if w.Code != http.StatusOK {
					b.Fatalf("%d %s", w.Code, w.Body)
				}
			}
		})
	}
}
