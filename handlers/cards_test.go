package handlers

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"shelf/static"
	"shelf/store/capture"
	"shelf/store/catalog"
	"shelf/store/shelves"
)

// fakeRenderer stands for Chromium: its PNG names the HTML's first
// heading. Until release is closed (when not nil), renders wait.
type fakeRenderer struct {
	calls   atomic.Int64
	release chan struct{}
	fail    atomic.Bool
	mu      sync.Mutex
	sizes   [][2]int
}

func (f *fakeRenderer) RenderHTML(ctx context.Context, html string, w, h int) ([]byte, error) {
	f.calls.Add(1)
	f.mu.Lock()
	f.sizes = append(f.sizes, [2]int{w, h})
	f.mu.Unlock()
	if f.release != nil {
		select {
		case <-f.release:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if f.fail.Load() {
		return nil, errors.New("chromium crashed")
	}
	_, after, _ := strings.Cut(html, "<h1>")
	title, _, _ := strings.Cut(after, "</h1>")
	return []byte("PNG:" + title), nil
}

func cardEnv(t *testing.T, r CardRenderer) *testEnv {
	t.Helper()
	env := newTestEnvWith(t, func(d *Deps, _ *Settings) { d.CardRenderer = r })
	env.addBooks(
		catalog.Book{Title: "The Hobbit", Authors: "J.R.R. Tolkien", Year: 1937, AverageRating: 4.25, RatingsCount: 300, ISBN13: "9780261102217"},
		catalog.Book{Title: "Dune", Authors: "Frank Herbert", RatingsCount: 200},
	)
	return env
}

func TestBookCardVersion(t *testing.T) {
	base := catalog.Book{ID: 1, Title: "The Hobbit", Authors: "J.R.R. Tolkien", Year: 1937, AverageRating: 4.25,
		RatingsCount: 300, ISBN13: "9780261102217", Language: "en"}
	version := func(b catalog.Book) string {
		cd, err := bookCard(b)
		if err != nil {
			t.Fatal(err)
		}
		return cd.version
	}
	v0 := version(base)
	if v0 != version(base) || len(v0) != 32 {
		t.Fatalf("version %q not stable", v0)
	}
	for name, change := range map[string]func(*catalog.Book){
		"title":   func(b *catalog.Book) { b.Title = "The Hobbit, or There and Back Again" },
		"authors": func(b *catalog.Book) { b.Authors = "Tolkien" },
		"year":    func(b *catalog.Book) { b.Year = 1938 },
		"rating":  func(b *catalog.Book) { b.AverageRating = 4.26 },
	} {
		b := base
		change(&b)
		if version(b) == v0 {
			t.Errorf("a change of %s kept the card's version", name)
		}
	}
	for name, change := range map[string]func(*catalog.Book){
		"ratings count": func(b *catalog.Book) { b.RatingsCount = 301 },
		"isbn":          func(b *catalog.Book) { b.ISBN13 = "9780007458424" },
		"language":      func(b *catalog.Book) { b.Language = "eng" },
		"tiny rating":   func(b *catalog.Book) { b.AverageRating = 4.2500001 }, // shown as 4.25
	} {
		b := base
		change(&b)
		if version(b) != v0 {
			t.Errorf("a change of %s, which the card does not show, changed its version", name)
		}
	}
}

func TestBookCardRoute(t *testing.T) {
	r := &fakeRenderer{release: make(chan struct{})}
	env := cardEnv(t, r)
	anon := env.browser()
	tags := socialTags(t, anon.get("/books/1").body)
	img := strings.TrimPrefix(tags["og:image"], "http://shelf.test")
	path, v, _ := strings.Cut(img, "?v=")
	if path != "/cards/books/1.png" || len(v) != 32 {
		t.Fatalf("og:image %q", tags["og:image"])
	}

	// First the fallback, briefly cached, while the card renders.
	p := anon.get(img).wantStatus(t, http.StatusOK)
	if p.body != string(static.CardFallback) || p.header.Get("Content-Type") != "image/png" ||
		p.header.Get("Cache-Control") != "public, max-age=60" || p.header.Get("ETag") != "" {
		t.Fatalf("first answer: %q %q %q, %d bytes", p.header.Get("Content-Type"), p.header.Get("Cache-Control"), p.header.Get("ETag"), len(p.body))
	}
	close(r.release)
	env.app.cards.wait()
	if r.calls.Load() != 1 || r.sizes[0] != [2]int{1200, 630} {
		t.Fatalf("renders %d, sizes %v", r.calls.Load(), r.sizes)
	}

	// Then the card, with its version as ETag.
	p = anon.get(img).wantStatus(t, http.StatusOK)
	if p.body != "PNG:The Hobbit" || p.header.Get("ETag") != `"`+v+`"` || p.header.Get("Cache-Control") != "public, max-age=31536000, immutable" {
		t.Fatalf("card: %q %q %q", p.body, p.header.Get("ETag"), p.header.Get("Cache-Control"))
	}
	if p := anon.get("/cards/books/1.png"); p.body != "PNG:The Hobbit" || p.header.Get("Cache-Control") != "public, max-age=3600" {
		t.Errorf("without ?v: %q %q", p.body, p.header.Get("Cache-Control"))
	}
	for _, inm := range []string{`"` + v + `"`, `W/"` + v + `"`, `"other", "` + v + `"`, "*"} {
		p := anon.get(img, "If-None-Match", inm)
		if p.status != http.StatusNotModified || p.body != "" || p.header.Get("ETag") != `"`+v+`"` {
			t.Errorf("If-None-Match %s: %d %q", inm, p.status, p.body)
		}
	}
	anon.get(img, "If-None-Match", `"stale"`).wantStatus(t, http.StatusOK)
	if r.calls.Load() != 1 {
		t.Errorf("a stored card was rendered again: %d renders", r.calls.Load())
	}

	// An edit to what the card shows makes a new version: a new address
	// on the page, and a new card.
	if _, err := env.db.Write.Exec(`UPDATE books SET title = 'The Hobbit, or There and Back Again' WHERE id = 1`); err != nil {
		t.Fatal(err)
	}
	img2 := strings.TrimPrefix(socialTags(t, anon.get("/books/1").body)["og:image"], "http://shelf.test")
	if img2 == img {
		t.Fatal("the title changed, the card's address did not")
	}
	env.app.cards.wait()
	if p := anon.get(img2); p.body != "PNG:The Hobbit, or There and Back Again" {
		t.Errorf("after the edit: %q", p.body)
	}
	var n int
	if err := env.db.Read.QueryRow(`SELECT count(*) FROM share_cards WHERE kind = 'book' AND ref = '1'`).Scan(&n); err != nil || n != 1 {
		t.Errorf("cards kept for book 1: %d, %v", n, err)
	}

	for _, bad := range []string{"/cards/books/99.png", "/cards/books/1.jpg", "/cards/books/01.png", "/cards/books/.png", "/cards/books/1", "/cards/books/x.png"} {
		anon.get(bad).wantStatus(t, http.StatusNotFound)
	}
}

// However many ask for a card not rendered yet, it is rendered once, and
// every request is answered at once.
func TestCardRenderedOnce(t *testing.T) {
	r := &fakeRenderer{release: make(chan struct{})}
	env := cardEnv(t, r)
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			p := env.browser().get("/cards/books/2.png")
			if p.status != http.StatusOK || p.body != string(static.CardFallback) {
				t.Errorf("while rendering: %d, %d bytes", p.status, len(p.body))
			}
		})
	}
	wg.Wait() // answered while the render waits
	close(r.release)
	env.app.cards.wait()
	if n := r.calls.Load(); n != 1 {
		t.Errorf("%d renders for one card", n)
	}
	if p := env.browser().get("/cards/books/2.png"); p.body != "PNG:Dune" {
		t.Errorf("after: %q", p.body)
	}
}

// A render that fails leaves the fallback; the card is tried again a
// minute later, not at every request. Without a renderer every card is
// the fallback.
func TestCardRenderFails(t *testing.T) {
	r := &fakeRenderer{}
	r.fail.Store(true)
	env := cardEnv(t, r)
	for i, wait := range []time.Duration{0, time.Second, 59 * time.Second} {
		env.clock.Advance(wait)
		if p := env.browser().get("/cards/books/1.png"); p.status != http.StatusOK || !bytes.Equal([]byte(p.body), static.CardFallback) {
			t.Fatalf("attempt %d: %d", i, p.status)
		}
		env.browser().get("/books/1")
		env.app.cards.wait()
	}
	if r.calls.Load() != 2 {
		t.Errorf("renders: %d, want 2", r.calls.Load())
	}
	r.fail.Store(false)
	env.clock.Advance(time.Minute)
	env.browser().get("/books/1")
	env.app.cards.wait()
	if p := env.browser().get("/cards/books/1.png"); p.body != "PNG:The Hobbit" {
		t.Errorf("once the renderer works again: %q", p.body)
	}

	none := cardEnv(t, nil)
	if p := none.browser().get("/cards/books/1.png"); p.status != http.StatusOK || p.body != string(static.CardFallback) {
		t.Errorf("without a renderer: %d", p.status)
	}
}

func TestSharedShelfCard(t *testing.T) {
	r := &fakeRenderer{release: make(chan struct{})}
	env := cardEnv(t, r)
	ann := env.register("ann@example.org")
	if _, err := env.app.Shelves.Put(context.Background(), env.user("ann@example.org").ID, 2, shelves.Read); err != nil {
		t.Fatal(err)
	}
	key := shareRead(t, ann)
	anon := env.browser()
	img := strings.TrimPrefix(socialTags(t, anon.get("/shared/"+key).body)["og:image"], "http://shelf.test")
	if p := anon.get(img); p.body != string(static.CardFallback) {
		t.Fatal("no fallback first")
	}
	close(r.release)
	env.app.cards.wait()
	p := anon.get(img).wantStatus(t, http.StatusOK)
	if p.body != "PNG:Read" || p.header.Get("ETag") == "" {
		t.Errorf("shelf card: %q %q", p.body, p.header.Get("ETag"))
	}
	ann.post("/my-books/share/"+key+"/revoke", nil).wantStatus(t, http.StatusSeeOther)
	anon.get(img).wantStatus(t, http.StatusNotFound)
	var n int
	if err := env.db.Read.QueryRow(`SELECT count(*) FROM share_cards WHERE kind = 'shelf'`).Scan(&n); err != nil || n != 0 {
		t.Errorf("cards left after stopping: %d, %v", n, err)
	}
}

// The tags are built from the configured base URL, whatever Host the
// request names, and escaped.
func TestBookSocialMeta(t *testing.T) {
	env := cardEnv(t, nil)
	env.addBooks(catalog.Book{Title: `"><script>alert(1)</script>`, Authors: "Eve & <Mallory>", RatingsCount: 1})
	req, _ := http.NewRequest(http.MethodGet, env.srv.URL+"/books/1", nil)
	req.Host = "evil.example"
	req.Header.Set("X-Forwarded-Host", "evil.example")
	p := env.browser().do(req).wantStatus(t, http.StatusOK)
	tags := socialTags(t, p.body)
	want := map[string]string{
		"og:url": "http://shelf.test/books/1", "og:title": "The Hobbit", "og:type": "book",
		"og:image:width": "1200", "og:image:height": "630", "twitter:card": "summary_large_image",
		"og:description": "by J.R.R. Tolkien, 1937. Rated 4.25 out of 5 by 300 readers. On Shelf.",
	}
	for k, v := range want {
		if tags[k] != v {
			t.Errorf("%s = %q, want %q", k, tags[k], v)
		}
	}
	if !strings.HasPrefix(tags["og:image"], "http://shelf.test/cards/books/1.png?v=") || tags["twitter:image"] != tags["og:image"] {
		t.Errorf("og:image %q, twitter:image %q", tags["og:image"], tags["twitter:image"])
	}
	if strings.Contains(p.body, "evil.example") {
		t.Error("the page names the forged host")
	}
	p = env.browser().get("/books/3").wantStatus(t, http.StatusOK)
	if strings.Contains(p.body, "<script>alert") || strings.Contains(p.body, "<Mallory>") {
		t.Errorf("unescaped:\n%s", p.body)
	}
	if tags := socialTags(t, p.body); tags["og:title"] != `"><script>alert(1)</script>` {
		t.Errorf("og:title %q", tags["og:title"])
	}
}

// A page's card starts rendering when the page is served, so that a
// crawler reading the page finds the card, not the fallback, at its
// address (which it may keep for long).
func TestCardRenderedWithItsPage(t *testing.T) {
	r := &fakeRenderer{}
	env := cardEnv(t, r)
	anon := env.browser()
	img := strings.TrimPrefix(socialTags(t, anon.get("/books/1").body)["og:image"], "http://shelf.test")
	env.app.cards.wait()
	if p := anon.get(img); p.body != "PNG:The Hobbit" {
		t.Fatalf("after the page: %q", p.body)
	}
	for range 3 {
		anon.get("/books/1")
	}
	env.app.cards.wait()
	if n := r.calls.Load(); n != 1 {
		t.Errorf("%d renders", n)
	}

	ann := env.register("ann@example.org")
	if _, err := env.app.Shelves.Put(context.Background(), env.user("ann@example.org").ID, 2, shelves.Read); err != nil {
		t.Fatal(err)
	}
	key := shareRead(t, ann)
	img = strings.TrimPrefix(socialTags(t, anon.get("/shared/"+key).body)["og:image"], "http://shelf.test")
	env.app.cards.wait()
	if p := anon.get(img); p.body != "PNG:Read" {
		t.Errorf("shelf card after its page: %q", p.body)
	}
}

// The capture browser renders cards in production.
var _ CardRenderer = (*capture.Browser)(nil)

// What a book page pays for its card's version: rendering the card's HTML
// and hashing it.
func BenchmarkBookCardVersion(b *testing.B) {
	book := catalog.Book{ID: 1, Title: "Harry Potter and the Philosopher's Stone", Authors: "J.K. Rowling, Mary GrandPré", Year: 1997, AverageRating: 4.44}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := bookCard(book); err != nil {
			b.Fatal(err)
		}
	}
}

// A card deleted past the store's limit is rendered again when asked for.
func TestCardRenderedAgainAfterEviction(t *testing.T) {
	r := &fakeRenderer{}
	env := cardEnv(t, r)
	anon := env.browser()
	anon.get("/books/1")
	env.app.cards.wait()
	if _, err := env.db.Write.Exec(`DELETE FROM share_cards`); err != nil {
		t.Fatal(err)
	}
	if p := anon.get("/cards/books/1.png"); p.body != string(static.CardFallback) {
		t.Fatalf("a deleted card served: %q", p.body)
	}
	env.app.cards.wait()
	anon.get("/books/1")
	env.app.cards.wait()
	if p := anon.get("/cards/books/1.png"); p.body != "PNG:The Hobbit" || r.calls.Load() != 2 {
		t.Errorf("after eviction: %q, %d renders", p.body, r.calls.Load())
	}
}
