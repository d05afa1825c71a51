package handlers

import (
	"context"
	"html"
	"io"
	"net/http"

	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"

	"shelf/components"
	"shelf/components/paths"
)

// A minimal page of one's own link, where making one leads, until the
// "My links" pages take its place (delete this file and its call in
// linkRoutes).

func (a *App) linkPageStubRoutes(e *echo.Echo) {
	serveGet(e, paths.MyLink, a.myLinkStub, a.requireConfirmed)
}

func (a *App) myLinkStub(c echo.Context) error {
	noStore(c)
	u, _ := a.currentUser(c)
	l, ok, err := a.Links.Get(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	if !ok || l.OwnerID != u.ID || l.Deleted {
		return echo.ErrNotFound
	}
	short := a.BaseURL.String() + paths.ShortLinkLink(l.ID)
	body := templ.ComponentFunc(func(_ context.Context, w io.Writer) error {
		_, err := io.WriteString(w, `<h1>Your short link</h1><p><a id="my-link-short" href="`+html.EscapeString(short)+`">`+
			html.EscapeString(short)+`</a></p><p>goes to <code id="my-link-target" class="link-target">`+html.EscapeString(l.Target)+`</code></p>`)
		return err
	})
	m := a.meta(c, "Your short link")
	return render(c, http.StatusOK, templ.ComponentFunc(func(ctx context.Context, w io.Writer) error {
		return components.Layout(m).Render(templ.WithChildren(ctx, body), w)
	}))
}
