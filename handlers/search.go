package handlers

import (
	"errors"
	"math"
	"net/http"
	"net/url"
	"strconv"

	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"

	"shelf/components"
	"shelf/components/paths"
	"shelf/store"
	"shelf/store/catalog"
	"shelf/store/search"
)

// search serves GET / and GET /search?q=…&page=N. Plain requests (and
// HTMX history restores) get the whole page; HTMX requests get only what
// they swap: the results fragment for a new query, or the next page's
// items for "More results". Any q and page are accepted.
func (a *App) search(c echo.Context) error {
	varyOnHTMX(c)
	varyOnHistoryRestore(c)
	// "More results" asks for the items of the next page: past the last
	// (the list shrank meanwhile), there are none to add. A page shown
	// whole shows the last page instead, and says so.
	page := parsePage(c.QueryParam("page"))
	find := a.Search.SearchPage
	if isHTMX(c) && page > 1 {
		find = a.Search.Search
	}
	r, err := find(c.Request().Context(), c.QueryParam("q"), page)
	if errors.Is(err, search.ErrNotReady) {
		return searchStarting(c)
	}
	if err != nil {
		return err
	}
	if err := a.markHits(c, r.Hits); err != nil {
		return err
	}
	if isHTMX(c) {
		if r.Page > 1 {
			return a.writeFragment(c, r, components.MoreResults(r))
		}
		// Each settled query becomes a history entry, so Back returns to
		// the previous results; the address shows the query as it was run
		// (trimmed, cut), and plain / for the empty one. "More results"
		// pages (above) push nothing.
		pushURL(c, canonicalSearchURL(r.Query))
		return a.writeFragment(c, r, components.Results(r))
	}
	title := "Search"
	if r.Query != "" {
		title = r.Query
	}
	// A notice for the home page, where signing out lands ("You are signed
	// out."). A search does not take one, which is meant for another page.
	var notice string
	if c.Request().URL.Path == paths.Home {
		notice = a.popFlash(c)
	}
	return render(c, http.StatusOK, components.SearchPage(a.meta(c, title), r, notice))
}

// searchStarting answers a search made before the search index is built
// (on PostgreSQL, for a few seconds after start; /healthz says so too, so
// a load balancer sends searches to another instance meanwhile).
func searchStarting(c echo.Context) error {
	const heading = "Search is starting"
	c.Response().Header().Set("Retry-After", "5")
	return render(c, http.StatusServiceUnavailable, components.ErrorPage(components.Meta{Title: heading}, http.StatusServiceUnavailable,
		heading, "Shelf is loading its catalog. Please search again in a few seconds."))
}

// parsePage reads the page parameter. Missing means 1; anything else that
// is not a page (text, zero, negative, huge) becomes a number outside
// [1, search.MaxPages], which Search clamps and reports.
func parsePage(s string) int {
	if s == "" {
		return 1
	}
	n, err := strconv.Atoi(s)
	switch {
	case err == nil:
		return n
	case errors.Is(err, strconv.ErrRange) && s[0] == '-':
		return math.MinInt
	case errors.Is(err, strconv.ErrRange):
		return math.MaxInt
	}
	return 0
}

func canonicalSearchURL(q string) string {
	if q == "" {
		return paths.Home
	}
	return paths.SearchLink(q, 1)
}

// book serves GET /books/{id}. Anything but the canonical decimal id of an
// existing book is a 404.
func (a *App) book(c echo.Context) error {
	raw := c.Param("id")
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || id < 1 || id > catalog.MaxBookID || strconv.FormatInt(id, 10) != raw {
		return echo.ErrNotFound
	}
	b, err := a.Catalog.Get(c.Request().Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		return echo.ErrNotFound
	}
	if err != nil {
		return err
	}
	if u, ok := a.shelfReader(c); ok {
		if err := a.markBooks(c, u, []int64{id}); err != nil {
			return err
		}
	}
	m := a.meta(c, b.Title)
	if m.Head, err = a.bookSocial(c.Request().Context(), b); err != nil {
		return err
	}
	return render(c, http.StatusOK, components.BookPage(m, b, backToSearch(c)))
}

// backToSearch returns the search the visitor came from, rebuilt from the
// same-site Referer's query, or the home page.
func backToSearch(c echo.Context) templ.SafeURL {
	ref, err := url.Parse(c.Request().Referer())
	if err != nil || ref.Host != c.Request().Host || (ref.Path != paths.Search && ref.Path != paths.Home) {
		return paths.Home
	}
	q, _ := search.NormalizeQuery(ref.Query().Get("q"))
	return templ.SafeURL(canonicalSearchURL(q))
}
