package handlers

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"shelf/components"
	"shelf/components/paths"
)

// previewRoutes: a link's preview block (for htmx, which polls it while
// the capture is pending, or as a small page) and its thumbnail. Anyone may
// see a preview: it shows what the link's target shows everyone.
func (a *App) previewRoutes(e *echo.Echo) {
	serveGet(e, paths.PreviewFragment, a.previewFragment)
	serveGet(e, paths.PreviewImage, a.previewImage)
}

func (a *App) previewFragment(c echo.Context) error {
	p, ok, err := a.PreviewQueue.Get(c.Request().Context(), c.Param("key"))
	if err != nil {
		return err
	}
	if !ok {
		return echo.ErrNotFound
	}
	varyOnHTMX(c)
	c.Response().Header().Set("Cache-Control", "no-cache")
	if isHTMX(c) {
		return render(c, http.StatusOK, components.LinkPreview(p, true))
	}
	return render(c, http.StatusOK, components.PreviewPage(a.meta(c, "Preview"), p))
}

func (a *App) previewImage(c echo.Context) error {
	png, etag, ok, err := a.PreviewQueue.Image(c.Request().Context(), c.Param("key"))
	if err != nil {
		return err
	}
	if !ok {
		return echo.ErrNotFound
	}
	h := c.Response().Header()
	h.Set("ETag", etag)
	// A key names one URL, and its image changes only if it is captured
	// again, which the ETag tells.
	h.Set("Cache-Control", "public, max-age=604800")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'")
	if match := c.Request().Header.Get("If-None-Match"); match != "" && match == etag {
		return c.NoContent(http.StatusNotModified)
	}
	return c.Blob(http.StatusOK, "image/png", png)
}
