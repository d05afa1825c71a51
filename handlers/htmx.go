package handlers

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

// The htmx headers Shelf reads and sets (https://htmx.org/reference/#headers).
// Everything that looks at or writes one goes through the helpers below.
const (
	hxRequest        = "HX-Request"                 // request: sent by htmx
	hxHistoryRestore = "HX-History-Restore-Request" // request: htmx wants a whole page to restore history
	hxPushURL        = "HX-Push-Url"                // response: the address htmx puts in the address bar
	hxRedirect       = "HX-Redirect"                // response: htmx loads this page instead of swapping
)

// fromHTMX reports whether htmx sent the request, whatever it asks for.
func fromHTMX(r *http.Request) bool { return r.Header.Get(hxRequest) == "true" }

// isHTMX reports whether the request wants a fragment: an HTMX request that
// is not restoring history (history restores need the whole page).
func isHTMX(c echo.Context) bool {
	r := c.Request()
	return fromHTMX(r) && r.Header.Get(hxHistoryRestore) != "true"
}

// varyOnHTMX tells caches that the response differs for htmx requests.
func varyOnHTMX(c echo.Context) { c.Response().Header().Add("Vary", hxRequest) }

// varyOnHistoryRestore tells caches that the response differs for htmx's
// history restores.
func varyOnHistoryRestore(c echo.Context) { c.Response().Header().Add("Vary", hxHistoryRestore) }

// pushURL has htmx show url in the address bar and add it to the history.
func pushURL(c echo.Context, url string) { c.Response().Header().Set(hxPushURL, url) }

// redirect sends the browser to a local path: HX-Redirect for HTMX requests
// (a plain 3xx would be followed by XHR and swapped in), 303 otherwise so a
// POST becomes a GET.
func redirect(c echo.Context, to string) error {
	if fromHTMX(c.Request()) {
		c.Response().Header().Set(hxRedirect, to)
		return c.NoContent(http.StatusNoContent)
	}
	return c.Redirect(http.StatusSeeOther, to)
}
