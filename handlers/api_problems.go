package handlers

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"shelf/components"
)

// apiProblemTypes documents every problem type the API answers with (a
// test holds the list to the types the code uses).
var apiProblemTypes = []components.APIProblemType{
	{Name: "malformed-json", Status: http.StatusBadRequest, About: "The body is not one JSON object in UTF-8: it does not parse, is empty, is another JSON value, or has data after the object."},
	{Name: "malformed-body", Status: http.StatusBadRequest, About: "The body could not be read."},
	{Name: "malformed-query", Status: http.StatusBadRequest, About: "The query string is not well-formed."},
	{Name: "invalid-fields", Status: http.StatusUnprocessableEntity, About: "Fields of the body (422) or parameters of the query (400) are wrong: unknown, given twice, of the wrong type, or invalid. errors names each with what is wrong. Nothing was changed."},
	{Name: "not-found", Status: http.StatusNotFound, About: "There is no such book, the book is not on your shelves, or you have no short link with this id (another reader's is not found either)."},
	{Name: "id-taken", Status: http.StatusConflict, About: "Another short link has this id, or had it: ids are never given out again. alternatives offers two free ones."},
	{Name: "too-many-links", Status: http.StatusTooManyRequests, About: "You, or your network, made as many short links as Shelf allows in a day; wait Retry-After seconds."},
	{Name: "unsupported-media-type", Status: http.StatusUnsupportedMediaType, About: "Bodies are JSON, sent with Content-Type: application/json."},
	{Name: "body-too-large", Status: http.StatusRequestEntityTooLarge, About: "The body is larger than the API takes (16 KiB)."},
	{Name: "catalog-busy", Status: http.StatusConflict, About: "A catalog import is publishing books, or the catalog is full: try again when the import has finished."},
	{Name: "search-starting", Status: http.StatusServiceUnavailable, About: "Shelf is still loading its catalog; search again after Retry-After seconds."},
	{Name: "invalid-token", Status: http.StatusUnauthorized, About: "The route needs a token and none was sent, or the token sent is malformed, unknown, expired or revoked."},
	{Name: "credentials-in-query", Status: http.StatusBadRequest, About: "A token was sent in the address. Send it in the Authorization header only: addresses end up in logs and histories."},
	{Name: "insufficient-scope", Status: http.StatusForbidden, About: "The token lacks the scope the route needs; the detail and WWW-Authenticate name it."},
	{Name: "admin-only", Status: http.StatusForbidden, About: "Only a token whose owner is an admin may do this."},
	{Name: "rate-limited", Status: http.StatusTooManyRequests, About: "The token made too many requests; wait Retry-After seconds."},
}

// apiProblemsPage serves GET /api/v1/problems, the page problem types
// point into.
func (a *App) apiProblemsPage(c echo.Context) error {
	if err := noQuery(c); err != nil {
		return err
	}
	return render(c, http.StatusOK, components.APIProblems(a.meta(c, "API problems"), apiProblemTypes))
}
