package handlers

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"shelf/components"
	"shelf/store"
)

// The answer when the database cannot take a write (store.Unavailable):
// the disk is full, or another process held the lock past busy_timeout,
// or the request's deadline passed.
const (
	unavailableHeading = "Shelf can’t save right now"
	unavailableMessage = "Shelf could not save your request just now. Please try again shortly."
	// A GET or HEAD saves nothing: it could not read.
	unavailableReadHeading = "Shelf can’t load this page right now"
	unavailableReadMessage = "Shelf could not reach its database just now. Please try again shortly."
	retryAfter             = "10" // seconds
)

// handleError answers every error with a friendly page. Details of
// unexpected errors go to the log, never to the user.
func (a *App) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	status := http.StatusInternalServerError
	var he *echo.HTTPError
	if errors.As(err, &he) {
		status = he.Code
	} else if store.Unavailable(err) {
		status = http.StatusServiceUnavailable
	}
	if isAPIPath(c.Request().URL.Path) {
		a.apiError(c, status, he, err)
		return
	}
	heading, message := "Something went wrong", "Shelf hit an unexpected problem. It has been logged; please try again in a moment."
	switch status {
	case http.StatusNotFound:
		heading, message = "Page not found", "There is nothing at this address. Check the link, or search the catalog."
	case http.StatusMethodNotAllowed:
		heading, message = "Not allowed", "This address does not accept that kind of request."
	case http.StatusForbidden:
		heading, message = "Request refused", "This form has expired or did not come from Shelf. Go back, reload the page and try again."
	case http.StatusTooManyRequests:
		heading, message = "Too many requests", "Please wait a little and try again."
	case http.StatusBadRequest:
		heading, message = "Bad request", "Shelf could not understand that request."
	case http.StatusRequestEntityTooLarge:
		heading, message = "Request too large", "That was far more than any form on Shelf sends."
		if m, ok := he.Message.(string); ok && m != http.StatusText(status) {
			message = m // the upload's own limit (bodyTooLarge)
		}
	case http.StatusUnsupportedMediaType:
		heading, message = "Unsupported request", "Shelf does not accept uploads. Send the form from its page."
	case http.StatusServiceUnavailable:
		heading, message = unavailableHeading, unavailableMessage
		if m := c.Request().Method; m == http.MethodGet || m == http.MethodHead {
			heading, message = unavailableReadHeading, unavailableReadMessage
		}
		c.Response().Header().Set("Retry-After", retryAfter)
	default:
		if status < 500 && he != nil {
			if m, ok := he.Message.(string); ok {
				heading, message = http.StatusText(status), m
			}
		}
	}
	if status >= 500 {
		a.Logger.Error("request failed", "method", c.Request().Method, "route", route(c), "err", err)
	}
	if c.Request().Method == http.MethodHead {
		_ = c.NoContent(status)
		return
	}
	var m components.Meta
	if status == http.StatusServiceUnavailable {
		m = a.unavailableMeta(c, heading, true)
	} else {
		m = a.meta(c, heading)
	}
	if rerr := render(c, status, components.ErrorPage(m, status, heading, message)); rerr != nil {
		a.Logger.Error("render error page", "err", rerr)
		_ = c.String(http.StatusInternalServerError, "Something went wrong.\n")
	}
}

// unavailableMeta is the 503 page's Meta. A 503 may follow a sign-in
// whose session was not saved: the page shows neither that account nor
// that session's token, nor any token of a reader not signed in. A reader
// signed in before the request, in the session their cookie names (or, with
// flowStored, one an account flow stored, whose cookie goes with the page,
// see withSession), sees the header they see everywhere: their address,
// their pages and "Sign out". If their account could not be read (the
// database is unavailable), the header is still a signed-in reader's.
func (a *App) unavailableMeta(c echo.Context, title string, flowStored bool) components.Meta {
	bare := components.Meta{Title: title}
	if !a.sessionLoaded(c) {
		return bare
	}
	ctx := c.Request().Context()
	var cookie string
	if ck, err := c.Request().Cookie(a.Sessions.Cookie.Name); err == nil {
		cookie = ck.Value
	}
	token := a.Sessions.Token(ctx)
	flow, _ := c.Get(ctxFlowSession).(*flowSession)
	stored := flowStored && flow != nil && flow.stored && !flow.failed && flow.token == token
	if (token != cookie && !stored) || a.Sessions.GetInt64(ctx, sessUserID) == 0 {
		return bare
	}
	m := a.meta(c, title)
	m.SignedIn = m.UserEmail == ""
	return m
}
