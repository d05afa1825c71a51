package handlers

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"shelf/store/catalog"
)

// foreignDestinations are values of next and back that would leave Shelf.
var foreignDestinations = []string{"https://evil.example/x", "//evil.example/x", "/\\evil.example/x", "javascript:alert(1)", "JaVaScRiPt:alert(1)", "/\t/evil.example"}

// leaves reports whether a response sends the browser, or links it, to
// one of foreignDestinations.
func leaves(p page) bool {
	for _, s := range []string{p.location(), p.header.Get("HX-Redirect"), p.header.Get("HX-Location"), p.body} {
		l := strings.ToLower(s)
		if strings.Contains(l, "evil.example") || strings.Contains(l, "javascript:") {
			return true
		}
	}
	return false
}

// Every parameter that says where to go next keeps the browser on Shelf
// (see safeNext): an absolute URL, a scheme-relative one, a backslash one
// or a javascript: URL is dropped, on every route that takes one.
func TestRedirectParametersStayOnShelf(t *testing.T) {
	env := newTestEnv(t)
	env.addBooks(catalog.Book{Title: "The Hobbit", Authors: "J.R.R. Tolkien"})
	const email = "next@example.org"
	reader := env.register(email)
	for _, bad := range foreignDestinations {
		q := url.QueryEscape(bad)
		anon := env.browser()
		checks := []struct {
			what string
			p    func() page
		}{
			{"GET /login?next (signed in)", func() page { return reader.get("/login?next=" + q) }},
			{"GET /login?next", func() page { return anon.get("/login?next=" + q) }},
			{"POST /login next", func() page {
				b := env.browser()
				b.get("/login")
				return b.post("/login", url.Values{"email": {email}, "password": {goodPassword}, "next": {bad}})
			}},
			{"GET /register?next", func() page { return anon.get("/register?next=" + q) }},
			{"GET /login/email?next", func() page { return anon.get("/login/email?next=" + q) }},
			{"GET /account/reauth?next", func() page { return reader.get("/account/reauth?next=" + q) }},
			{"POST /account/reauth next", func() page {
				reader.get("/account/reauth")
				return reader.post("/account/reauth", url.Values{"password": {goodPassword}, "next": {bad}})
			}},
			{"GET /shelves/sign-in?back", func() page { return anon.get("/shelves/sign-in?book=1&shelf=read&back=" + q) }},
			{"POST shelf back (signed out)", func() page {
				anon.get("/books/1")
				return anon.post("/shelves/1/shelf", url.Values{"shelf": {"read"}, "back": {bad}})
			}},
			{"POST shelf back", func() page {
				reader.get("/books/1")
				return reader.post("/shelves/1/shelf", url.Values{"shelf": {"read"}, "back": {bad}})
			}},
			{"POST shelf back (htmx)", func() page {
				return reader.htmx("/shelves/1/shelf", url.Values{"shelf": {"reading"}, "back": {bad}})
			}},
			{"GET /books/1 Referer", func() page { return anon.get("/books/1", "Referer", bad) }},
		}
		for _, c := range checks {
			p := c.p()
			if p.status >= 500 {
				t.Errorf("%s=%q: %d", c.what, bad, p.status)
			}
			if leaves(p) {
				t.Errorf("%s=%q leads off Shelf: %d, Location %q, HX-Redirect %q", c.what, bad, p.status, p.location(), p.header.Get("HX-Redirect"))
			}
		}
	}
}

// A short link to another site skips its interstitial for visitors coming
// from a page on Shelf (their Referer). A browser keeps a page's Referer
// through the redirects that follow it, so a next or back parameter naming
// a short link would take a reader from Shelf's own sign-in form straight
// to the other site: "sign in to Shelf" in a phishing mail, then a fake
// "session expired" page. No such parameter may lead to a short link.
func TestRedirectParametersNeverLeadToShortLinks(t *testing.T) {
	env := newTestEnv(t)
	env.addBooks(catalog.Book{Title: "The Hobbit", Authors: "J.R.R. Tolkien"})
	const email = "next@example.org"
	reader := env.register(email)
	reader.newLinkForm().post("/links/new", url.Values{"target": {"https://evil.example/login"}, "id": {"phish"}}).wantStatus(t, http.StatusSeeOther)

	// offShelf follows p's redirect as a browser would from a Shelf page
	// (Shelf's Referer kept) and reports whether it ends off Shelf.
	offShelf := func(b *browser, p page) bool {
		for _, to := range []string{p.location(), p.header.Get("HX-Redirect")} {
			if to == "" {
				continue
			}
			u, err := url.Parse(to)
			if err != nil {
				continue
			}
			// A browser removes dot segments ("/./s/x", "/a/../s/x") before it asks.
			u = (&url.URL{Scheme: "http", Host: "shelf.test", Path: "/"}).ResolveReference(u)
			r := b.get(u.RequestURI(), "Referer", "http://shelf.test/login")
			if strings.Contains(r.location(), "evil.example") {
				return true
			}
		}
		return false
	}
	// links are the Back and Cancel links of a page: followed from the
	// page, they too send Shelf's Referer.
	linksOff := func(b *browser, p page) bool {
		return strings.Contains(p.body, `href="/s/`) || strings.Contains(p.body, `href="/./s/`) ||
			strings.Contains(p.body, `href="/books/../s/`)
	}
	for _, bad := range []string{"/s/phish", "/s/PHISH", "/./s/phish", "/books/../s/phish", "/s/phish?x=1", "/s/phish#x"} {
		q := url.QueryEscape(bad)
		anon := env.browser()
		checks := []struct {
			what string
			b    *browser
			p    func() page
		}{
			{"GET /login?next (signed in)", reader, func() page { return reader.get("/login?next=" + q) }},
			{"POST /login next", nil, nil},
			{"GET /shelves/sign-in?back", anon, func() page { return anon.get("/shelves/sign-in?book=1&shelf=read&back=" + q) }},
			{"POST shelf back", reader, func() page {
				reader.get("/books/1")
				return reader.post("/shelves/1/shelf", url.Values{"shelf": {"read"}, "back": {bad}})
			}},
			{"POST /account/reauth next", reader, func() page {
				reader.get("/account/reauth")
				return reader.post("/account/reauth", url.Values{"password": {goodPassword}, "next": {bad}})
			}},
		}
		for _, c := range checks {
			if c.p == nil {
				b := env.browser()
				b.get("/login")
				c.b = b
				c.p = func() page {
					return b.post("/login", url.Values{"email": {email}, "password": {goodPassword}, "next": {bad}})
				}
			}
			p := c.p()
			if p.status >= 500 {
				t.Errorf("%s=%q: %d", c.what, bad, p.status)
			}
			if offShelf(c.b, p) || linksOff(c.b, p) {
				t.Errorf("%s=%q leads to the short link without its interstitial: %d, Location %q", c.what, bad, p.status, p.location())
			}
		}
	}
}
