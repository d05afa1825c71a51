package handlers

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

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

// compress gzips the responses worth compressing: text of at least
// minGzipBytes, to clients that accept gzip. Static assets are served
// precompressed, and search fragments and API search pages compressed once
// and cached (writeFragment, apiSearch): they skip it.
//
// The body is held whole (handlers render into a buffer anyway) and
// compressed with fragmentGzip's trained code: a 16 KB table per
// response. compress/flate's writers, which echo's gzip middleware used,
// are about 1.2 MB each at every level, and their pool is emptied at every
// collection: under load, with a collection every fraction of a second,
// pages and even redirects without a body (each took a writer) allocated
// them anew, which held the heap about 18 MB higher and took it past 250 MB
// (TestCompressionAllocatesLittle).
func compress() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			p := c.Request().URL.Path
			if strings.HasPrefix(p, static.Prefix) || strings.HasPrefix(p, cardsPrefix) || isSearchFragment(c) || isAPISearch(c) {
				return next(c)
			}
			res := c.Response()
			res.Header().Add(echo.HeaderVary, echo.HeaderAcceptEncoding)
			if !acceptsGzip(c.Request()) {
				return next(c)
			}
			w := &heldResponse{ResponseWriter: res.Writer, body: renderBuffers.Get().(*bytes.Buffer)}
			res.Writer = w
			defer func() {
				res.Writer = w.ResponseWriter
				if r := recover(); r != nil {
					w.release() // a part of a page is not sent: the error page will be
					panic(r)
				}
				w.send()
			}()
			return next(c)
		}
	}
}

// maxHeldBody: a body larger than this is sent as it comes, uncompressed,
// rather than held in memory. No page comes near it.
const maxHeldBody = 4 << 20

// heldResponse holds a response's status and body until the handler is
// done, for compress to send them, gzipped when worth it.
type heldResponse struct {
	http.ResponseWriter
	body    *bytes.Buffer
	code    int  // 0 until the handler sets it or writes
	passing bool // the body outgrew maxHeldBody: passed on as written
}

func (w *heldResponse) WriteHeader(code int) {
	if w.passing {
		w.ResponseWriter.WriteHeader(code)
		return
	}
	w.code = code
}

func (w *heldResponse) Write(b []byte) (int, error) {
	if w.passing {
		return w.ResponseWriter.Write(b)
	}
	if w.code == 0 {
		w.code = http.StatusOK
	}
	if w.body.Len()+len(b) > maxHeldBody {
		if err := w.pass(); err != nil {
			return 0, err
		}
		return w.ResponseWriter.Write(b)
	}
	return w.body.Write(b)
}

// pass sends the status and what is held, as they are, and passes the
// rest on as written.
func (w *heldResponse) pass() error {
	w.passing = true
	if w.code == 0 {
		w.code = http.StatusOK
	}
	w.ResponseWriter.WriteHeader(w.code)
	_, err := w.ResponseWriter.Write(w.body.Bytes())
	w.body.Reset()
	return err
}

// Flush passes the response on from here: a response sent in parts as it
// is made is not held back.
func (w *heldResponse) Flush() {
	if !w.passing {
		_ = w.pass()
	}
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

func (w *heldResponse) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// send writes what the handler left: nothing when it wrote nothing (an
// error the error handler will answer), else its status and body, the
// body gzipped when it is text of at least minGzipBytes not already
// encoded.
func (w *heldResponse) send() {
	defer w.release()
	if w.passing || w.code == 0 {
		return
	}
	h := w.Header()
	body := w.body.Bytes()
	if len(body) >= minGzipBytes && h.Get(echo.HeaderContentEncoding) == "" {
		ct := h.Get(echo.HeaderContentType)
		if ct == "" { // as net/http would, from the plain body
			ct = http.DetectContentType(body)
			h.Set(echo.HeaderContentType, ct)
		}
		if compressible(ct) {
			gz := gzipBuffers.Get().(*[]byte)
			*gz = fragmentGzip().Append((*gz)[:0], body)
			h.Set(echo.HeaderContentEncoding, "gzip")
			h.Set(echo.HeaderContentLength, strconv.Itoa(len(*gz)))
			w.ResponseWriter.WriteHeader(w.code)
			_, _ = w.ResponseWriter.Write(*gz)
			if cap(*gz) <= maxPooledRender {
				gzipBuffers.Put(gz)
			}
			return
		}
	}
	w.ResponseWriter.WriteHeader(w.code)
	if len(body) > 0 {
		_, _ = w.ResponseWriter.Write(body)
	}
}

// release returns the body's buffer to the pool.
func (w *heldResponse) release() {
	if w.body.Cap() <= maxPooledRender {
		w.body.Reset()
		renderBuffers.Put(w.body)
	}
	w.body = nil
}

// compressible reports whether a body of this media type is text that
// gzip shrinks; images and archives are compressed already.
func compressible(contentType string) bool {
	mt, _, _ := strings.Cut(contentType, ";")
	mt = strings.ToLower(strings.TrimSpace(mt))
	return strings.HasPrefix(mt, "text/") || strings.HasSuffix(mt, "json") || strings.HasSuffix(mt, "xml") ||
		mt == "application/javascript" || mt == "image/svg+xml"
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
