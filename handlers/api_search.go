package handlers

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"shelf/components/paths"
	"shelf/store/search"
)

// The API's search pages: the page's search (same matching, ranking and
// limits), any page size up to apiMaxPerPage, as plain JSON.
const (
	apiDefaultPerPage = 20 // the API's own page size, whatever the page's
	apiMaxPerPage     = 100
	// apiMaxResults is how far into the results paging reaches, as on the
	// page: search.MaxPages pages of search.PerPage.
	apiMaxResults = search.MaxPages * search.PerPage
	// apiSearchSpan is the most search pages one API page covers.
	apiSearchSpan = (apiMaxPerPage+search.PerPage-2)/search.PerPage + 1
)

// apiSearchKey identifies an encoded API search page by the search pages
// it was made of, as the fragment cache does (see fragmentCache): the
// Searcher hands out the same *Results for the same search until the
// catalog changes, so a stale page is never found.
type apiSearchKey struct {
	pages         [apiSearchSpan]*search.Results
	page, perPage int
}

type apiSearchCache = search.RecentCache[apiSearchKey, *encodedJSON]

// apiSearchPages is how many pages there are for perPage results a page.
func apiSearchPages(perPage int) int { return (apiMaxResults + perPage - 1) / perPage }

// apiSearch serves GET /api/v1/books?q=&page=&per_page=.
func (a *App) apiSearch(c echo.Context) error {
	qp, err := readQuery(c, "q", "page", "per_page")
	if err != nil {
		return err
	}
	q, _ := qp.str("q")
	if utf8.RuneCountInString(q) > search.MaxQueryRunes {
		qp.fail("q", "must be at most "+strconv.Itoa(search.MaxQueryRunes)+" characters")
	}
	perPage := qp.integer("per_page", apiDefaultPerPage, 1, apiMaxPerPage)
	page := qp.integer("page", 1, 1, apiSearchPages(perPage))
	if err := qp.problem(); err != nil {
		return err
	}

	key := apiSearchKey{page: page, perPage: perPage}
	offset := (page - 1) * perPage
	first, last := offset/search.PerPage+1, (offset+perPage-1)/search.PerPage+1
	for p := first; p <= last; p++ {
		r, err := a.Search.Search(c.Request().Context(), q, p)
		if errors.Is(err, search.ErrNotReady) {
			c.Response().Header().Set("Retry-After", "5")
			return &apiProblem{problem{Status: http.StatusServiceUnavailable, Type: "search-starting",
				Detail: "Shelf is loading its catalog. Search again in a few seconds."}}
		}
		if err != nil {
			return err
		}
		if r.Shortened {
			return invalidFields(http.StatusBadRequest, []fieldProblem{{Field: "q",
				Detail: "must have at most " + strconv.Itoa(search.MaxQueryWords) + " words"}})
		}
		key.pages[p-first] = r
		if !r.HasMore {
			break
		}
	}
	body, ok := a.apiSearches.Get(key)
	if !ok {
		if body, err = encodeSearchPage(key, offset-(first-1)*search.PerPage); err != nil {
			return err
		}
		a.apiSearches.Put(key, body)
	}
	return body.write(c)
}

// encodeSearchPage encodes the API page key names, whose first result is
// the skip'th of its first search page.
func encodeSearchPage(key apiSearchKey, skip int) (*encodedJSON, error) {
	r := key.pages[0]
	bp := jsonBuffers.Get().(*[]byte)
	b := (*bp)[:0]
	defer func() {
		if cap(b) <= maxPooledRender {
			*bp = b
			jsonBuffers.Put(bp)
		}
	}()
	b = append(b, `{"query":`...)
	b = appendJSONString(b, r.Query)
	b = append(b, `,"page":`...)
	b = strconv.AppendInt(b, int64(key.page), 10)
	b = append(b, `,"per_page":`...)
	b = strconv.AppendInt(b, int64(key.perPage), 10)
	b = append(b, `,"total":`...)
	b = strconv.AppendInt(b, r.Total, 10)
	b = append(b, `,"total_capped":`...)
	b = appendJSONBool(b, r.TotalCapped)
	b = append(b, `,"approximate_matches":`...)
	b = appendJSONBool(b, r.Similar)
	b = append(b, `,"only_approximate_matches":`...)
	b = appendJSONBool(b, r.AllSimilar)
	b = append(b, `,"items":[`...)
	n, more := 0, false
	for _, sr := range key.pages {
		if sr == nil {
			break
		}
		more = sr.HasMore
		for _, h := range sr.Hits {
			if skip > 0 {
				skip--
				continue
			}
			if n == key.perPage {
				more = true
				break
			}
			if n > 0 {
				b = append(b, ',')
			}
			n++
			b = append(b, `{"id":`...)
			b = strconv.AppendInt(b, h.ID, 10)
			b = append(b, `,"title":`...)
			b = appendJSONString(b, h.Title)
			b = append(b, `,"authors":`...)
			b = appendJSONString(b, h.Authors)
			b = append(b, `,"year":`...)
			if h.Year == 0 {
				b = append(b, "null"...)
			} else {
				b = strconv.AppendInt(b, int64(h.Year), 10)
			}
			b = append(b, `,"average_rating":`...)
			b = appendJSONFloat(b, h.AverageRating)
			b = append(b, `,"ratings_count":`...)
			b = strconv.AppendInt(b, h.RatingsCount, 10)
			b = append(b, `,"href":`...)
			b = appendJSONString(b, apiBookLink(h.ID))
			b = append(b, '}')
		}
	}
	b = append(b, `],"next":`...)
	if more && key.page < apiSearchPages(key.perPage) {
		b = appendJSONString(b, apiSearchLink(r.Query, key.page+1, key.perPage))
	} else {
		b = append(b, "null"...)
	}
	if r.Suggestion != "" {
		b = append(b, `,"suggestion":`...)
		b = appendJSONString(b, r.Suggestion)
	}
	b = append(b, '}', '\n')
	return newEncodedJSON(b)
}

// jsonBuffers hold search pages while they are encoded: only the copies
// kept in the cache are allocated.
var jsonBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 8<<10); return &b }}

// apiSearchLink is the API's search for q, at page, perPage a page.
func apiSearchLink(q string, page, perPage int) string {
	u := paths.APIBooks + "?"
	if q != "" {
		u += "q=" + url.QueryEscape(q) + "&"
	}
	u += "page=" + strconv.Itoa(page)
	if perPage != apiDefaultPerPage {
		u += "&per_page=" + strconv.Itoa(perPage)
	}
	return u
}

// apiBookLink is the API's address of book id.
func apiBookLink(id int64) string { return paths.APIBooks + "/" + strconv.FormatInt(id, 10) }
