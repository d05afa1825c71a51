package handlers

import (
	"github.com/labstack/echo/v4"

	"shelf/static"
)

// Handler returns the whole HTTP surface: every route and its middleware.
func (a *App) Handler() *echo.Echo {
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.HTTPErrorHandler = a.handleError
	e.IPExtractor = echo.ExtractIPDirect()

	e.Use(a.recoverPanics, a.logRequests, securityHeaders, compress())

	e.GET("/healthz", a.health)
	e.GET(static.Prefix+"*", echo.WrapHandler(static.Handler()))
	e.GET("/about", a.about)

	// Catalog and search.
	e.GET("/", a.search)
	e.GET("/search", a.search)
	e.GET("/books/:id", a.book)

	return e
}
