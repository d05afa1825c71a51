package handlers

import (
	"context"
	"net/http"

	"github.com/labstack/echo/v4"

	"shelf/components"
	"shelf/components/paths"
	"shelf/store/previews"
)

// previewRoutes: a link's preview block (for htmx, which polls it while
// the capture is pending, or as a small page) and its thumbnail. Anyone may
// see a preview: it shows what the link's target shows everyone. But only
// while a link goes there: a deleted link's preview is gone with it, and
// the routes do not tell whether some URL was ever linked.
func (a *App) previewRoutes(e *echo.Echo) {
	serveGet(e, paths.PreviewFragment, a.previewFragment)
	serveGet(e, paths.PreviewImage, a.previewImage)
}

// linkedPreview is the preview with key while a link goes to its URL.
func (a *App) linkedPreview(c echo.Context) (previews.Preview, error) {
	ctx := c.Request().Context()
	p, ok, err := a.PreviewQueue.Get(ctx, c.Param("key"))
	if err != nil {
		return p, err
	}
	if ok {
		ok, err = a.Links.Linked(ctx, p.URL)
	}
	if err != nil {
		return p, err
	}
	if !ok {
		return p, echo.ErrNotFound
	}
	return p, nil
}

func (a *App) previewFragment(c echo.Context) error {
	p, err := a.linkedPreview(c)
	if err != nil {
		return err
	}
	varyOnHTMX(c)
	c.Response().Header().Set("Cache-Control", "no-cache")
	if isHTMX(c) {
		return render(c, http.StatusOK, components.LinkPreview(p, true))
	}
	return render(c, http.StatusOK, components.PreviewPage(a.meta(c, "Preview"), p))
}

// previewImage sends a preview's thumbnail. A request with a tag mostly
// has the image already: the tag is read first, and the image only if it
// has changed.
func (a *App) previewImage(c echo.Context) error {
	ctx, key := c.Request().Context(), c.Param("key")
	match := c.Request().Header.Get("If-None-Match")
	read := a.PreviewQueue.Image
	if match != "" {
		read = a.PreviewQueue.ImageTag
	}
	img, err := a.linkedThumbnail(ctx, key, read)
	if err != nil {
		return err
	}
	if match != "" && !etagMatches(match, img.ETag) {
		if img, err = a.thumbnail(ctx, key, a.PreviewQueue.Image); err != nil {
			return err
		}
	}
	h := c.Response().Header()
	h.Set("ETag", img.ETag)
	// A key names one URL, and its image changes only if it is captured
	// again, which the ETag tells; an hour, so that a deleted link's
	// preview does not live on for long in caches.
	h.Set("Cache-Control", "public, max-age=3600")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'")
	if etagMatches(match, img.ETag) {
		return c.NoContent(http.StatusNotModified)
	}
	return c.Blob(http.StatusOK, "image/png", img.PNG)
}

// readThumbnail is Queue.Image or Queue.ImageTag.
type readThumbnail func(ctx context.Context, key string) (previews.Thumbnail, bool, error)

// linkedThumbnail is read's thumbnail with key while a link goes to its
// page.
func (a *App) linkedThumbnail(ctx context.Context, key string, read readThumbnail) (previews.Thumbnail, error) {
	img, err := a.thumbnail(ctx, key, read)
	if err != nil {
		return img, err
	}
	ok, err := a.Links.Linked(ctx, img.URL)
	if err == nil && !ok {
		err = echo.ErrNotFound
	}
	return img, err
}

// thumbnail is read's thumbnail with key, or echo.ErrNotFound.
func (a *App) thumbnail(ctx context.Context, key string, read readThumbnail) (previews.Thumbnail, error) {
	img, ok, err := read(ctx, key)
	if err == nil && !ok {
		err = echo.ErrNotFound
	}
	return img, err
}
