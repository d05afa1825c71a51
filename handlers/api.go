package handlers

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"shelf/components/paths"
	"shelf/store/apitokens"
)

// The JSON API lives under paths.API, with the key set that verifies its
// access tokens (paths.JWKS) beside it. Its requests carry their
// credentials in the Authorization header, never in cookies: sessions are
// not loaded there, so a browser's cookies grant nothing, no CSRF token is
// needed, and errors are problems, not pages.
func isAPIPath(path string) bool {
	return path == paths.API || strings.HasPrefix(path, paths.API+"/") || path == paths.JWKS
}

// apiCaller is whom an API request acts for, set by the API's
// authentication (api_auth.go). Anonymous requests have none.
type apiCaller struct {
	UserID  int64
	Email   string
	IsAdmin bool
	Scopes  []apitokens.Scope
	TokenID int64 // the personal access token used, or the one a JWT was issued for
}

// Has reports whether the caller's token carries scope.
func (ac *apiCaller) Has(scope apitokens.Scope) bool {
	for _, s := range ac.Scopes {
		if s == scope {
			return true
		}
	}
	return false
}

const ctxAPICaller = "shelf.api.caller"

// apiCallerFrom returns the request's caller, or nil when it is anonymous.
func apiCallerFrom(c echo.Context) *apiCaller {
	ac, _ := c.Get(ctxAPICaller).(*apiCaller)
	return ac
}

// problem is an RFC 9457 problem detail, the body of every API error.
type problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail,omitempty"`
	// Errors names each invalid field of a request body and what is wrong
	// with it.
	Errors []fieldProblem `json:"errors,omitempty"`
	// Alternatives are free ids offered for a short link's id that is
	// taken or reserved.
	Alternatives []string `json:"alternatives,omitempty"`
}

type fieldProblem struct {
	Field  string `json:"field"`
	Detail string `json:"detail"`
}

// writeProblem answers with an application/problem+json body. typ is a
// short name for the kind of problem; it becomes a URI under the API's
// documentation. An empty typ means "about:blank" (the status says it all).
func writeProblem(c echo.Context, p problem) error {
	if p.Type == "" {
		p.Type = "about:blank"
	} else if !strings.Contains(p.Type, ":") {
		p.Type = paths.APIProblems + "#" + p.Type
	}
	if p.Title == "" {
		p.Title = http.StatusText(p.Status)
	}
	h := c.Response().Header()
	h.Set(echo.HeaderContentType, "application/problem+json")
	h.Set("Cache-Control", "no-store")
	if c.Request().Method == http.MethodHead {
		return c.NoContent(p.Status)
	}
	return c.JSON(p.Status, p)
}

// apiDetails explain the errors answered before a handler runs: no
// route, no such method, a body refused by its size or type.
var apiDetails = map[int]string{
	http.StatusNotFound:              "There is nothing at this address; the API's routes are listed in " + paths.APIOpenAPI + ".",
	http.StatusMethodNotAllowed:      "This address does not take that method; Allow lists those it takes.",
	http.StatusRequestEntityTooLarge: fmt.Sprintf("The body may be at most %d bytes.", maxBodyBytes),
	http.StatusUnsupportedMediaType:  "Send the body as application/json.",
}

// apiError answers an API request's error as a problem: what the error
// page says to a person, as JSON, and the same Retry-After.
func (a *App) apiError(c echo.Context, status int, he *echo.HTTPError, err error) {
	p := problem{Status: status}
	switch {
	case status == http.StatusServiceUnavailable:
		c.Response().Header().Set("Retry-After", retryAfter)
		p.Detail = "Shelf cannot reach its database just now. Try again in a moment."
	case status >= 500:
		a.Logger.Error("request failed", "method", c.Request().Method, "route", route(c), "err", err)
		p.Detail = "Shelf hit an unexpected problem. It has been logged."
	case he != nil:
		if m, ok := he.Message.(string); ok && m != http.StatusText(status) {
			p.Detail = m
		}
	}
	if p.Detail == "" {
		p.Detail = apiDetails[status]
	}
	if werr := writeProblem(c, p); werr != nil {
		a.Logger.Error("write problem", "err", werr)
	}
}
