package handlers

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

// search and book are placeholders until the search slice lands.
func (a *App) search(c echo.Context) error {
	return c.String(http.StatusOK, "search")
}

func (a *App) book(c echo.Context) error {
	return echo.ErrNotFound
}
