package handlers

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"

	kgzip "github.com/klauspost/compress/gzip"
	"github.com/labstack/echo/v4"

	"shelf/static"
	"shelf/store/catalog"
)

func TestHealthz(t *testing.T) {
	env := newTestEnv(t)
	b := env.browser()
	r := b.get("/healthz")
	if r.status != http.StatusOK || strings.TrimSpace(r.body) != "ok" {
		t.Fatalf("/healthz = %d %q", r.status, r.body)
	}
	env.db.Read.Close()
	if r := b.get("/healthz"); r.status != http.StatusServiceUnavailable {
		t.Fatalf("/healthz with the database closed = %d, want 503", r.status)
	}
}

func TestSecurityHeadersOnEveryResponse(t *testing.T) {
	b := newTestEnv(t).browser()
	for _, path := range []string{"/", "/search?q=x", "/about", "/nope", "/books/999", "/register", "/healthz"} {
		r := b.get(path)
		csp := r.header.Get("Content-Security-Policy")
		for _, want := range []string{"script-src 'self'", "default-src 'self'", "frame-ancestors 'none'", "object-src 'none'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("%s: CSP %q lacks %q", path, csp, want)
			}
		}
		if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
			t.Errorf("%s: CSP allows inline script or eval: %q", path, csp)
		}
		for h, want := range map[string]string{"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "same-origin"} {
			if got := r.header.Get(h); got != want {
				t.Errorf("%s: %s = %q, want %q", path, h, got, want)
			}
		}
	}
}

// No page may carry inline script: the CSP would block it, so it would be
// dead code at best.
func TestPagesHaveNoInlineScript(t *testing.T) {
	b := newTestEnv(t).browser()
	inline := regexp.MustCompile(`<script(?:[^>]*)>[^<]+</script>|\son[a-z]+="|javascript:`)
	for _, path := range []string{"/", "/search?q=harry", "/about", "/nope", "/register", "/login", "/password/forgot"} {
		if m := inline.FindString(b.get(path).body); m != "" {
			t.Errorf("%s has inline script: %q", path, m)
		}
	}
}

func TestFriendlyErrorPages(t *testing.T) {
	env := newTestEnv(t)
	r := env.browser().get("/no/such/page")
	if r.status != http.StatusNotFound || !strings.Contains(r.body, "Page not found") || !strings.Contains(r.body, `href="/"`) {
		t.Errorf("404 = %d, want the friendly page with a way back:\n%s", r.status, r.body)
	}

	// A handler that panics or fails gets the friendly 500 page; the
	// details go to the log only.
	var logs bytes.Buffer
	env.app.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	e := env.app.Handler()
	e.GET("/panic", func(echo.Context) error { panic("secret panic detail") })
	e.GET("/fail", func(echo.Context) error { return errors.New("secret database detail") })
	srv := httptest.NewServer(e)
	defer srv.Close()
	for _, path := range []string{"/panic", "/fail"} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusInternalServerError || !strings.Contains(string(body), "Something went wrong") {
			t.Errorf("%s = %d, want the friendly 500 page:\n%s", path, resp.StatusCode, body)
		}
		for _, leak := range []string{"secret", "goroutine", ".go:"} {
			if strings.Contains(string(body), leak) {
				t.Errorf("%s shows %q to the user", path, leak)
			}
		}
	}
	if !strings.Contains(logs.String(), "secret panic detail") || !strings.Contains(logs.String(), "secret database detail") {
		t.Errorf("the log should keep the details:\n%s", logs.String())
	}
}

func TestStaticAssetsHashedAndCached(t *testing.T) {
	env := newTestEnv(t)
	b := env.browser()
	page := b.get("/").body
	for _, name := range []string{"htmx.min.js", "app.js", "app.css"} {
		path := static.Path(name)
		if !strings.Contains(page, path) {
			t.Errorf("the page does not reference %s as %s", name, path)
		}
		if !regexp.MustCompile(`\.[0-9a-f]{10}\.`).MatchString(path) {
			t.Errorf("%s is not served under a content-hashed name: %s", name, path)
		}
		r := b.get(path, "Accept-Encoding", "gzip")
		if r.status != http.StatusOK || !strings.Contains(r.header.Get("Cache-Control"), "immutable") {
			t.Errorf("%s: %d, Cache-Control %q", path, r.status, r.header.Get("Cache-Control"))
		}
		if r.header.Get("Content-Encoding") == "gzip" {
			gunzip(t, r.body) // fails the test on a bad stream
		} else if name != "app.js" {
			t.Errorf("%s should be served gzipped", path)
		}
	}
	if r := b.get("/static/app.css"); r.status != http.StatusNotFound {
		t.Errorf("unhashed asset name = %d, want 404", r.status)
	}
}

func TestPagesAreCompressed(t *testing.T) {
	env := newTestEnv(t)
	env.addBooks(manyBooks(40)...)
	b := env.browser()
	for _, path := range []string{"/", "/about", "/login", "/register"} {
		plain := b.get(path)
		gz := b.get(path, "Accept-Encoding", "gzip")
		if gz.header.Get("Content-Encoding") != "gzip" || !strings.Contains(gz.header.Get("Vary"), "Accept-Encoding") {
			t.Errorf("%s: Content-Encoding %q, Vary %q", path, gz.header.Get("Content-Encoding"), gz.header.Get("Vary"))
			continue
		}
		if gz.status != plain.status || gz.header.Get("Content-Length") != strconv.Itoa(len(gz.body)) {
			t.Errorf("%s: status %d (plain %d), Content-Length %q for %d bytes", path, gz.status, plain.status, gz.header.Get("Content-Length"), len(gz.body))
		}
		// The CSRF token differs from one response to the next.
		token := regexp.MustCompile(`content="[^"]+"|value="[A-Za-z0-9_-]{20,}"`)
		if got := gunzip(t, gz.body); token.ReplaceAllString(got, "") != token.ReplaceAllString(plain.body, "") {
			t.Errorf("%s: the gzipped page differs from the plain one", path)
		}
		// The code trained on result pages does about as well on other
		// pages as a general compressor's fastest level (5-6% larger).
		var general bytes.Buffer
		zw, _ := kgzip.NewWriterLevel(&general, kgzip.BestSpeed)
		zw.Write([]byte(plain.body))
		zw.Close()
		if len(gz.body) > general.Len()*110/100 {
			t.Errorf("%s: gzipped to %d bytes, a general compressor to %d", path, len(gz.body), general.Len())
		}
	}
	// A redirect has no body to compress; a short answer is sent as it is.
	r := b.get("/account", "Accept-Encoding", "gzip")
	if r.status != http.StatusSeeOther || r.header.Get("Location") == "" || r.header.Get("Content-Encoding") != "" {
		t.Errorf("/account signed out: %d to %q, Content-Encoding %q", r.status, r.header.Get("Location"), r.header.Get("Content-Encoding"))
	}
	h := b.get("/healthz", "Accept-Encoding", "gzip")
	if h.status != http.StatusOK || h.header.Get("Content-Encoding") != "" {
		t.Errorf("/healthz: %d, Content-Encoding %q", h.status, h.header.Get("Content-Encoding"))
	}
}

// TestCompressionAllocatesLittle: a page gzipped right after a collection
// (which empties the pools) allocated a compress/flate writer of about
// 1.2 MB, at every level; under load, with a collection every fraction of
// a second, that held the heap 18 MB higher. A redirect took one too.
func TestCompressionAllocatesLittle(t *testing.T) {
	env := newTestEnv(t)
	env.addBooks(manyBooks(40)...)
	h := env.app.Handler()
	serve := func(path string) int {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.Header.Set("Accept-Encoding", "gzip")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code
	}
	for _, path := range []string{"/about", "/login"} {
		serve(path) // the first request builds what lives as long as the app
		var before, after runtime.MemStats
		runtime.GC()
		runtime.GC()
		runtime.ReadMemStats(&before)
		code := serve(path)
		runtime.ReadMemStats(&after)
		if allocated := after.TotalAlloc - before.TotalAlloc; code != http.StatusOK || allocated > 400<<10 {
			t.Errorf("%s: %d, %d KB allocated for one gzipped page", path, code, allocated>>10)
		}
	}
}

// manyBooks returns n distinct books by the same author.
func manyBooks(n int) []catalog.Book {
	books := make([]catalog.Book, n)
	for i := range books {
		books[i] = catalog.Book{Title: "Volume " + strconv.Itoa(i+1) + " of the Long Chronicle", Authors: "Ann Author", RatingsCount: int64(1000 - i)}
	}
	return books
}

// TestFlushedResponsesPassThrough: a response flushed in parts is sent as
// it is made, not held for compressing whole.
func TestFlushedResponsesPassThrough(t *testing.T) {
	env := newTestEnv(t)
	e := env.app.Handler()
	e.GET("/in-parts", func(c echo.Context) error {
		res := c.Response()
		res.Header().Set(echo.HeaderContentType, echo.MIMETextPlainCharsetUTF8)
		res.WriteHeader(http.StatusOK)
		res.Write([]byte(strings.Repeat("a", 2000)))
		res.Flush()
		res.Write([]byte(strings.Repeat("b", 2000)))
		return nil
	})
	r := env.browser().get("/in-parts", "Accept-Encoding", "gzip")
	if r.status != http.StatusOK || r.header.Get("Content-Encoding") != "" ||
		r.body != strings.Repeat("a", 2000)+strings.Repeat("b", 2000) {
		t.Errorf("%d, Content-Encoding %q, %d bytes", r.status, r.header.Get("Content-Encoding"), len(r.body))
	}
}
