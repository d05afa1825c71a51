package handlers

import (
	_ "embed"
	"errors"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"shelf/components/paths"
	"shelf/store"
	"shelf/store/apitokens"
	"shelf/store/catalog"
	"shelf/store/search"
)

// apiRoute is one route of the JSON API. The table is the API's whole
// surface: routes are registered from it, and the tests walk it.
type apiRoute struct {
	method string // GET routes serve HEAD too
	path   string // a pattern under paths.API
	// scope the caller's token must carry; "" for public routes, which
	// anonymous callers may use (a bad token is still refused).
	scope apitokens.Scope
	admin bool // the token's owner must be an admin
	h     echo.HandlerFunc
}

func (a *App) apiRouteTable() []apiRoute {
	return []apiRoute{
		{method: http.MethodGet, path: paths.APIOpenAPI, h: a.apiOpenAPI},
		{method: http.MethodGet, path: paths.APIProblems, h: a.apiProblemsPage},
		{method: http.MethodGet, path: paths.APIBooks, h: a.apiSearch},
		{method: http.MethodPost, path: paths.APIBooks, scope: apitokens.BooksWrite, admin: true, h: a.apiBookCreate},
		{method: http.MethodGet, path: paths.APIBook, h: a.apiBook},
		{method: http.MethodPatch, path: paths.APIBook, scope: apitokens.BooksWrite, admin: true, h: a.apiBookUpdate},
		{method: http.MethodGet, path: paths.APIShelves, scope: apitokens.ShelvesRead, h: a.apiShelvesList},
		{method: http.MethodPut, path: paths.APIShelf, scope: apitokens.ShelvesWrite, h: a.apiShelfPut},
		{method: http.MethodDelete, path: paths.APIShelf, scope: apitokens.ShelvesWrite, h: a.apiShelfDelete},
		{method: http.MethodGet, path: paths.APILinks, scope: apitokens.LinksRead, h: a.apiLinksList},
		{method: http.MethodPost, path: paths.APILinks, scope: apitokens.LinksWrite, h: a.apiLinkCreate},
		{method: http.MethodGet, path: paths.APILink, scope: apitokens.LinksRead, h: a.apiLink},
		{method: http.MethodPatch, path: paths.APILink, scope: apitokens.LinksWrite, h: a.apiLinkUpdate},
		{method: http.MethodDelete, path: paths.APILink, scope: apitokens.LinksWrite, h: a.apiLinkDelete},
		{method: http.MethodGet, path: paths.APIAccount, scope: apitokens.AccountRead, h: a.apiAccount},
	}
}

// apiRoutes mounts the JSON API under paths.API: every request to a route
// is authenticated by its Authorization header (or is anonymous), and
// errors, unknown paths and methods included, are problem details. With
// origins configured, other sites' scripts may call it (CORS).
//
// Authentication is each route's middleware rather than the group's: a
// group's middleware makes echo route every path under it, and a method a
// path does not take would then be a 404 instead of a 405 with Allow.
func (a *App) apiRoutes(e *echo.Echo) {
	a.apiSearches = search.NewRecentCache[apiSearchKey, *encodedJSON](search.DefaultResultCache)
	if len(a.APICORSOrigins) > 0 {
		e.Use(a.apiCORS)
	}
	g := e.Group(paths.API)
	for _, rt := range a.apiRouteTable() {
		mw := []echo.MiddlewareFunc{a.apiAuthenticate}
		if rt.scope != "" {
			mw = append(mw, storeNothing, a.requireScope(rt.scope))
		}
		if rt.admin {
			mw = append(mw, a.requireAPIAdmin)
		}
		path := strings.TrimPrefix(rt.path, paths.API)
		h := apiHandler(rt.h)
		if rt.method == http.MethodGet {
			g.Match([]string{http.MethodGet, http.MethodHead}, path, h, mw...)
		} else {
			g.Add(rt.method, path, h, mw...)
		}
	}
}

// storeNothing keeps a caller's own data out of every cache, the
// browser's included.
func storeNothing(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		noStore(c)
		return next(c)
	}
}

// isAPISearch reports whether the request is for an API search page, which
// the handler compresses itself (see encodedJSON).
func isAPISearch(c echo.Context) bool {
	return c.Request().URL.Path == paths.APIBooks && (c.Request().Method == http.MethodGet || c.Request().Method == http.MethodHead)
}

//go:embed openapi.json
var openAPIDocument []byte

// apiOpenAPI serves the API's OpenAPI 3.1 document.
func (a *App) apiOpenAPI(c echo.Context) error {
	if err := noQuery(c); err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "public, max-age=300")
	return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, openAPIDocument)
}

// apiBookJSON is a book as the API shows it.
type apiBookJSON struct {
	ID            int64   `json:"id"`
	Title         string  `json:"title"`
	Authors       string  `json:"authors"`
	Year          *int    `json:"year"`
	ISBN13        *string `json:"isbn13"`
	Language      *string `json:"language"`
	AverageRating float64 `json:"average_rating"`
	RatingsCount  int64   `json:"ratings_count"`
	Href          string  `json:"href"`
}

func newAPIBook(b catalog.Book) apiBookJSON {
	out := apiBookJSON{ID: b.ID, Title: b.Title, Authors: b.Authors, AverageRating: b.AverageRating,
		RatingsCount: b.RatingsCount, Href: apiBookLink(b.ID)}
	if b.Year != 0 {
		out.Year = &b.Year
	}
	if b.ISBN13 != "" {
		out.ISBN13 = &b.ISBN13
	}
	if b.Language != "" {
		out.Language = &b.Language
	}
	return out
}

// apiBook serves GET /api/v1/books/{id}.
func (a *App) apiBook(c echo.Context) error {
	if err := noQuery(c); err != nil {
		return err
	}
	id, err := pathID(c, "id", catalog.MaxBookID, "book")
	if err != nil {
		return err
	}
	b, err := a.Catalog.Get(c.Request().Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		return notFoundProblem("There is no book with this id.")
	}
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newAPIBook(b))
}

// apiAccount serves GET /api/v1/account: whom the token acts for.
func (a *App) apiAccount(c echo.Context) error {
	if err := noQuery(c); err != nil {
		return err
	}
	ac := apiCallerFrom(c)
	scopes := make([]string, len(ac.Scopes))
	for i, s := range ac.Scopes {
		scopes[i] = string(s)
	}
	return c.JSON(http.StatusOK, struct {
		ID     int64    `json:"id"`
		Email  string   `json:"email"`
		Admin  bool     `json:"admin"`
		Scopes []string `json:"scopes"`
	}{ac.UserID, ac.Email, ac.IsAdmin, scopes})
}

// noQuery refuses any query parameter, for routes that take none.
func noQuery(c echo.Context) error {
	qp, err := readQuery(c)
	if err != nil {
		return err
	}
	return qp.problem()
}
