package handlers

import (
	"bytes"
	"context"
	"net/http"
	"sync"

	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"

	"shelf/components"
)

var buffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// render writes comp with the given status. It renders into a buffer first,
// so a failing component produces the error page, not half a page. A
// request past its deadline still gets its page (the 503 page, say):
// rendering into memory is not work worth cancelling.
func render(c echo.Context, status int, comp templ.Component) error {
	buf := buffers.Get().(*bytes.Buffer)
	buf.Reset()
	defer buffers.Put(buf)
	if err := comp.Render(context.WithoutCancel(c.Request().Context()), buf); err != nil {
		return err
	}
	return c.HTMLBlob(status, buf.Bytes())
}

// meta gathers what the layout needs for the current request.
func (a *App) meta(c echo.Context, title string) components.Meta {
	m := components.Meta{Title: title}
	// Only an existing token: pages without forms must not start sessions.
	m.CSRFToken = a.existingCSRFToken(c)
	if u, ok := a.currentUser(c); ok {
		m.UserEmail = u.Email
		m.IsAdmin = u.IsAdmin && u.Confirmed()
	}
	return m
}

func (a *App) about(c echo.Context) error {
	return render(c, http.StatusOK, components.About(a.meta(c, "About")))
}

// health answers load balancers: 200 when this instance can serve, 503
// while its database is unreachable or (on PostgreSQL, just after start)
// its search index is still being built, so searches go elsewhere.
func (a *App) health(c echo.Context) error {
	if err := a.DB.Ping(c.Request().Context()); err != nil {
		a.Logger.Error("health check failed", "err", err)
		return c.String(http.StatusServiceUnavailable, "database unavailable\n")
	}
	if a.Search != nil && !a.Search.Ready() {
		return c.String(http.StatusServiceUnavailable, "search index not built yet\n")
	}
	return c.String(http.StatusOK, "ok\n")
}
