package handlers

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net/http"

	"github.com/labstack/echo/v4"
)

// CSRF: each session holds a random token. Pages with forms put it in a
// hidden _csrf field and in <meta name="csrf-token">, which static/app.js
// sends as X-CSRF-Token on every HTMX request. Every POST, PUT, PATCH and
// DELETE must carry it; Go's Fetch-Metadata check (CrossOriginProtection)
// runs first as a second layer for browsers.

const csrfHeader, csrfField = "X-CSRF-Token", "_csrf"

func newCSRFToken() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// csrfToken returns the session's token, creating the session and token if
// needed. Call it from handlers of pages that show a form.
func (a *App) csrfToken(c echo.Context) string {
	if !a.sessionLoaded(c) {
		return ""
	}
	ctx := c.Request().Context()
	tok := a.Sessions.GetString(ctx, sessCSRF)
	if tok == "" {
		tok = newCSRFToken()
		a.Sessions.Put(ctx, sessCSRF, tok)
	}
	return tok
}

// existingCSRFToken returns the session's token without creating one, so
// pages without forms (search) do not start sessions.
func (a *App) existingCSRFToken(c echo.Context) string {
	if !a.sessionLoaded(c) {
		return ""
	}
	return a.Sessions.GetString(c.Request().Context(), sessCSRF)
}

// verifyCSRF refuses state-changing requests without the session's token
// with 403 (the friendly error page).
func (a *App) verifyCSRF(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		switch c.Request().Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
			return next(c)
		}
		if err := a.crossOrigin.Check(c.Request()); err != nil {
			return echo.NewHTTPError(http.StatusForbidden, "cross-origin request refused")
		}
		want := a.existingCSRFToken(c)
		got := c.Request().Header.Get(csrfHeader)
		if got == "" {
			got = c.FormValue(csrfField)
		}
		if want == "" || subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
			return echo.NewHTTPError(http.StatusForbidden, "missing or wrong CSRF token")
		}
		return next(c)
	}
}
