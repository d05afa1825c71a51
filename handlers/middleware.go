package handlers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"shelf/components/paths"
	"shelf/static"
)

// contentSecurityPolicy allows only Shelf's own scripts and styles: no inline
// script, no eval, no framing.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; form-action 'self'; base-uri 'none'; object-src 'none'; frame-ancestors 'none'"

func securityHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
		return next(c)
	}
}

// hstsMaxAge is a year, in seconds. includeSubDomains is left out: Shelf
// cannot know whether every name under its host serves https.
const hstsMaxAge = "max-age=31536000"

// strictTransport tells browsers to use only https from now on, when the
// configured address is https; never over plain http, where it would be
// ignored at best and would pin a development host at worst.
func (a *App) strictTransport(next echo.HandlerFunc) echo.HandlerFunc {
	if !a.secure() {
		return next
	}
	return func(c echo.Context) error {
		c.Response().Header().Set("Strict-Transport-Security", hstsMaxAge)
		return next(c)
	}
}

// maxBodyBytes bounds every request body but one upload's (uploadLimit).
// Shelf's largest form, sign-up, is an address of at most 254 characters,
// two passwords of at most 128 and a token: under 4 KiB even if every
// character is a percent-encoded 4-byte one. 16 KiB leaves room and keeps
// what anyone can make the server read small. Multipart bodies are refused
// outright, except for that upload.
const maxBodyBytes = 16 << 10

// uploadLimit is the one exception to maxBodyBytes and to refusing
// multipart bodies: the Goodreads import's POST, a file of up to 2 MB
// (handlers/goodreads.go). ok is false for every other request.
func uploadLimit(r *http.Request) (limit int64, ok bool) {
	if r.Method == http.MethodPost && r.URL.Path == paths.MyBooksImport {
		return importUploadBytes, true
	}
	return 0, false
}

// limitBodies refuses multipart bodies (415) and bodies announced larger
// than maxBodyBytes (413) before anything reads them, and caps the rest, so
// a form parse past the cap fails (verifyCSRF answers 413). The upload
// uploadLimit names may be multipart and larger.
func limitBodies(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		limit, upload := uploadLimit(r)
		if !upload {
			limit = maxBodyBytes
		}
		if isMultipart(r) && !upload {
			return echo.NewHTTPError(http.StatusUnsupportedMediaType)
		}
		if r.ContentLength > limit {
			return bodyTooLarge(upload)
		}
		r.Body = http.MaxBytesReader(c.Response().Writer, r.Body, limit)
		// Requests are copied (WithContext) on the way down, and net/http
		// cleans up only the original's multipart files: whatever parsed
		// one, remove its files from the copy that holds them.
		defer func() {
			if f := c.Request().MultipartForm; f != nil {
				_ = f.RemoveAll()
			}
		}()
		err := next(c)
		if he, ok := errors.AsType[*echo.HTTPError](err); ok && upload && he.Code == http.StatusRequestEntityTooLarge {
			return bodyTooLarge(upload) // a body that did not announce its size
		}
		return err
	}
}

// bodyTooLarge is the 413 for a body over its limit; the upload's says
// what its limit is.
func bodyTooLarge(upload bool) error {
	if upload {
		return echo.NewHTTPError(http.StatusRequestEntityTooLarge, tooLargeMessage())
	}
	return echo.NewHTTPError(http.StatusRequestEntityTooLarge)
}

func isMultipart(r *http.Request) bool {
	ct := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Type")))
	return strings.HasPrefix(ct, "multipart/")
}

// DefaultRequestTimeout is App.RequestTimeout's default: twice the 5 s the
// database waits for another process's lock (store's busy_timeout).
const DefaultRequestTimeout = 10 * time.Second

// withDeadline runs first and puts each request under App.RequestTimeout.
// A request that waited past it on the database gets the 503 page and
// commits nothing (database/sql rolls back a transaction whose context
// ends). Errors are answered here, before the context is released, so
// error pages still see the session.
func (a *App) withDeadline(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		timeout := a.RequestTimeout
		if timeout <= 0 {
			timeout = DefaultRequestTimeout
		}
		ctx, cancel := context.WithTimeout(c.Request().Context(), timeout)
		defer cancel()
		c.SetRequest(c.Request().WithContext(ctx))
		if err := next(c); err != nil {
			c.Error(err)
		}
		return nil
	}
}

// compress gzips responses worth compressing. Static assets are served
// precompressed, and search fragments and API search pages compressed once
// and cached (writeFragment, apiSearch): they skip it. Level 1 because every higher level of
// compress/flate clears ~640 KB of hash tables per response, which cost more
// CPU than rendering the page; on our HTML it compresses nearly as well.
func compress() echo.MiddlewareFunc {
	return middleware.GzipWithConfig(middleware.GzipConfig{
		Level:     1,
		MinLength: 1024,
		Skipper: func(c echo.Context) bool {
			p := c.Request().URL.Path
			return strings.HasPrefix(p, static.Prefix) || strings.HasPrefix(p, cardsPrefix) || isSearchFragment(c) || isAPISearch(c)
		},
	})
}

// logRequests writes one structured line per request.
func (a *App) logRequests(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		err := next(c)
		if err != nil {
			c.Error(err)
		}
		req, res := c.Request(), c.Response()
		level := slog.LevelInfo
		if res.Status >= 500 {
			level = slog.LevelError
		}
		a.Logger.LogAttrs(req.Context(), level, "request",
			slog.String("method", req.Method),
			slog.String("route", route(c)),
			slog.Int("status", res.Status),
			slog.Int64("bytes", res.Size),
			slog.Duration("duration", time.Since(start)),
			slog.String("ip", c.RealIP()),
			slog.Bool("htmx", fromHTMX(req)),
		)
		return nil
	}
}

// route names the request's route pattern (/confirm/:token) for logs: the
// path itself can carry live tokens. Requests that match no route are
// logged without any part of their path.
func route(c echo.Context) string {
	if p := c.Path(); p != "" {
		return p
	}
	return "(no route)"
}

// recoverPanics turns a panic into a logged error and the friendly 500 page.
func (a *App) recoverPanics(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) (err error) {
		defer func() {
			if r := recover(); r != nil {
				if r == http.ErrAbortHandler {
					panic(r)
				}
				a.Logger.Error("panic", "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
				err = fmt.Errorf("panic: %v", r)
			}
		}()
		return next(c)
	}
}
