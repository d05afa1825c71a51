package handlers

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"

	"shelf/components"
	"shelf/components/paths"
	"shelf/static"
	"shelf/store"
	"shelf/store/cards"
	"shelf/store/catalog"
)

// Share cards: the 1200×630 images other sites show for a link to a book
// or a shared shelf (og:image). A card is a components page rendered to a
// PNG by headless Chromium (CardRenderer) and stored under its version,
// the hash of its HTML: exactly what it shows. Pages link to their card
// with ?v=<version>, so a change to what a card shows (a book's title, a
// shelf's books) gives it a new address, and crawlers fetch it again.
//
// Rendering never holds up a request: a card not rendered yet is rendered
// in the background, once however many ask (cardMaker), while the request
// gets the fallback card (static.CardFallback) with a short lifetime. The
// page linking to a card starts it too (cardMaker.prepare): crawlers read
// the page first, then fetch its card, and may keep what they get at that
// address for long.

// cardsPrefix starts every card's path; PNGs are not compressed again.
const cardsPrefix = "/cards/"

// CardRenderer renders a self-contained HTML page to a PNG of the given
// size, fetching nothing (capture.Browser's RenderHTML).
type CardRenderer interface {
	RenderHTML(ctx context.Context, html string, width, height int) ([]byte, error)
}

// Card lifetimes in caches: a card asked for by its version never changes;
// one asked for without may change with its page; the fallback is soon
// replaced.
const (
	cardMaxAgeVersioned = "public, max-age=31536000, immutable"
	cardMaxAge          = "public, max-age=3600"
	cardMaxAgeFallback  = "public, max-age=60"
)

// Bounds on background rendering: renders at once (Chromium is shared
// with page previews), cards waiting, and the time one may take.
const (
	cardRenders     = 2
	cardPending     = 64
	cardRenderLimit = 30 * time.Second
	// cardsKnown bounds the versions remembered as stored, or as failed.
	cardsKnown = 10000
	// cardRetryAfter is how long a card whose render failed is not tried
	// again (a browser that cannot start would otherwise be tried, and
	// logged, on every page view).
	cardRetryAfter = time.Minute
)

// card is one version of a card: what it shows, as HTML, and its hash.
type card struct {
	kind    cards.Kind
	ref     string
	html    string
	version string
}

func newCard(kind cards.Kind, ref string, page templ.Component) (card, error) {
	var buf bytes.Buffer
	if err := page.Render(context.Background(), &buf); err != nil {
		return card{}, err
	}
	sum := sha256.Sum256(buf.Bytes())
	return card{kind: kind, ref: ref, html: buf.String(), version: hex.EncodeToString(sum[:16])}, nil
}

// bookCard is book b's current card.
func bookCard(b catalog.Book) (card, error) {
	return newCard(cards.Book, strconv.FormatInt(b.ID, 10), components.BookCard(components.BookCardView{
		Title: b.Title, Authors: b.Authors, Year: b.Year, AverageRating: b.AverageRating,
	}))
}

// cardMaker renders cards in the background: each version once, however
// many requests ask for it meanwhile, at most cardRenders at a time, and
// drops requests past cardPending (a later request asks again).
type cardMaker struct {
	store    *cards.Store
	renderer CardRenderer // nil: every card is the fallback
	logError func(msg string, args ...any)

	sem      chan struct{}
	mu       sync.Mutex
	inflight map[string]bool
	// stored is the version known to be stored, by kind and ref, so that
	// serving a page usually costs no read to find its card is ready.
	stored map[string]string
	// failed is when each version's last render failed.
	failed map[string]time.Time
	now    func() time.Time
	wg     sync.WaitGroup
}

func newCardMaker(s *cards.Store, r CardRenderer, now func() time.Time, logError func(string, ...any)) *cardMaker {
	return &cardMaker{store: s, renderer: r, now: now, logError: logError, sem: make(chan struct{}, cardRenders),
		inflight: map[string]bool{}, stored: map[string]string{}, failed: map[string]time.Time{}}
}

func (c card) name() string { return string(c.kind) + "/" + c.ref }

// isStored reports whether c is known to be stored.
func (m *cardMaker) isStored(c card) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.stored[c.name()] == c.version
}

// remember notes that c is stored.
func (m *cardMaker) remember(c card) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.stored) >= cardsKnown {
		clear(m.stored) // forgetting costs a read each, later
	}
	m.stored[c.name()] = c.version
}

// forget notes that c is not stored.
func (m *cardMaker) forget(c card) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.stored[c.name()] == c.version {
		delete(m.stored, c.name())
	}
}

// prepare starts rendering c, for a page about to link to it, unless it is
// stored already.
func (m *cardMaker) prepare(ctx context.Context, c card) {
	if m.renderer == nil || m.isStored(c) {
		return
	}
	ok, err := m.store.Has(ctx, c.kind, c.ref, c.version)
	switch {
	case err != nil:
		m.logError("share card not looked up", "kind", c.kind, "ref", c.ref, "err", err)
	case ok:
		m.remember(c)
	default:
		m.start(c)
	}
}

// start renders c in the background unless it is being rendered already.
func (m *cardMaker) start(c card) {
	if m.renderer == nil {
		return
	}
	id := c.name() + "/" + c.version
	m.mu.Lock()
	if m.inflight[id] || len(m.inflight) >= cardPending || m.now().Sub(m.failed[id]) < cardRetryAfter {
		m.mu.Unlock()
		return
	}
	m.inflight[id] = true
	m.wg.Add(1)
	m.mu.Unlock()
	go func() {
		defer func() {
			m.mu.Lock()
			delete(m.inflight, id)
			m.mu.Unlock()
			m.wg.Done()
		}()
		m.sem <- struct{}{}
		defer func() { <-m.sem }()
		ctx, cancel := context.WithTimeout(context.Background(), cardRenderLimit)
		defer cancel()
		png, err := m.renderer.RenderHTML(ctx, c.html, components.CardWidth, components.CardHeight)
		if err == nil {
			err = m.store.Put(ctx, c.kind, c.ref, c.version, png)
		}
		if err != nil {
			m.logError("share card not rendered", "kind", c.kind, "ref", c.ref, "err", err)
			m.mu.Lock()
			if len(m.failed) >= cardsKnown {
				clear(m.failed)
			}
			m.failed[id] = m.now()
			m.mu.Unlock()
			return
		}
		m.remember(c)
	}()
}

// wait returns once no card is being rendered.
func (m *cardMaker) wait() { m.wg.Wait() }

// serveCard answers with c's PNG, or the fallback while it is rendered.
// A store that cannot be read also gets the fallback: a card is never
// worth an error page in another site's preview.
func (a *App) serveCard(c echo.Context, cd card) error {
	h := c.Response().Header()
	png, ok, err := a.cards.store.Get(c.Request().Context(), cd.kind, cd.ref, cd.version)
	if err != nil {
		a.Logger.Error("share card not read", "kind", cd.kind, "ref", cd.ref, "err", err)
	}
	if !ok {
		if err == nil {
			a.cards.forget(cd) // deleted past the store's limit, say
			a.cards.start(cd)
		}
		h.Set("Cache-Control", cardMaxAgeFallback)
		return c.Blob(http.StatusOK, "image/png", static.CardFallback)
	}
	a.cards.remember(cd)
	etag := `"` + cd.version + `"`
	h.Set("ETag", etag)
	if c.QueryParam("v") == cd.version {
		h.Set("Cache-Control", cardMaxAgeVersioned)
	} else {
		h.Set("Cache-Control", cardMaxAge)
	}
	if etagMatches(c.Request().Header.Get("If-None-Match"), etag) {
		return c.NoContent(http.StatusNotModified)
	}
	return c.Blob(http.StatusOK, "image/png", png)
}

// etagMatches reports whether an If-None-Match header names etag (weak
// comparison, as RFC 9110 asks for If-None-Match).
func etagMatches(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == "*" || t == etag {
			return true
		}
	}
	return false
}

// cardFile reads a card route's last segment, "<name>.png".
func cardFile(file string) (string, bool) {
	name, ok := strings.CutSuffix(file, ".png")
	return name, ok && name != ""
}

// bookCardImage serves a book's card (paths.BookCard).
func (a *App) bookCardImage(c echo.Context) error {
	raw, ok := cardFile(c.Param("file"))
	if !ok {
		return echo.ErrNotFound
	}
	id, ok := parseBookID(raw)
	if !ok {
		return echo.ErrNotFound
	}
	b, err := a.Catalog.Get(c.Request().Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		return echo.ErrNotFound
	}
	if err != nil {
		return err
	}
	cd, err := bookCard(b)
	if err != nil {
		return err
	}
	return a.serveCard(c, cd)
}

// bookSocial is how other sites show a link to book b's page; it starts
// rendering the book's card if need be.
func (a *App) bookSocial(ctx context.Context, b catalog.Book) (templ.Component, error) {
	cd, err := bookCard(b)
	if err != nil {
		return nil, err
	}
	a.cards.prepare(ctx, cd)
	desc := "by " + b.Authors
	if b.Year != 0 {
		desc += ", " + yearLabel(b.Year)
	}
	if b.AverageRating > 0 {
		desc += ". Rated " + strconv.FormatFloat(b.AverageRating, 'f', 2, 64) + " out of 5 by " + components.Thousands(b.RatingsCount) + " readers"
	}
	desc += ". On Shelf."
	return components.SocialMeta(components.Social{
		Kind: "book", Title: b.Title, Description: desc, URL: a.absURL(paths.BookLink(b.ID)),
		Image: a.absURL(paths.BookCardLink(b.ID, cd.version)), ImageAlt: b.Title + " by " + b.Authors,
	}), nil
}

func yearLabel(y int) string {
	if y < 0 {
		return strconv.Itoa(-y) + " BC"
	}
	return strconv.Itoa(y)
}
