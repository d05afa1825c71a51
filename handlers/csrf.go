package handlers

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"shelf/components/paths"
)

// CSRF. Every POST, PUT, PATCH and DELETE must carry a token, in the
// X-CSRF-Token header (static/app.js sends it on every HTMX request, from
// <meta name="csrf-token">) or in the POST body's _csrf field (urlencoded,
// or multipart for the one upload), never in the query string. Go's Fetch-Metadata check (CrossOriginProtection) runs first
// as a second layer for browsers.
//
// The token stands for a 32-byte secret, of one of two kinds:
//   - a signed-in session holds a random secret (sessCSRF), made at sign-in;
//   - an anonymous visitor holds nothing on the server: a random value in the
//     CSRF cookie (HttpOnly, SameSite=Lax), whose HMAC under the signer is
//     the secret. Only Shelf can derive it, and another site can read
//     neither the cookie nor the page (a signed double-submit cookie), so
//     the sign-in, sign-up and reset forms cost no session row.
//
// Pages never show a secret itself: each token is the secret masked with a
// fresh random pad, so no two responses carry the same string and a
// compressed page that also reflects input reveals nothing (BREACH).

const (
	csrfHeader, csrfField = "X-CSRF-Token", "_csrf"
	csrfSecretLen         = 32
	csrfPurpose           = "csrf" // the signer's purpose for anonymous secrets
)

// ctxAnonCSRF holds the anonymous CSRF cookie value set during this request.
const ctxAnonCSRF = "shelf.anon-csrf"

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

func newCSRFToken() string {
	return base64.RawURLEncoding.EncodeToString(randomBytes(csrfSecretLen))
}

// csrfCookie is the anonymous CSRF cookie's name (see cookies.go).
const csrfCookie = "shelf_csrf"

// csrfToken returns a token for a form on this page, giving an anonymous
// visitor a CSRF cookie if they have none. Call it from handlers of pages
// that show a form.
func (a *App) csrfToken(c echo.Context) string {
	return a.maskedToken(c, a.csrfSecret(c, true))
}

// existingCSRFToken returns a token only if the visitor already has a CSRF
// secret, so pages without forms (search) give out no cookie.
func (a *App) existingCSRFToken(c echo.Context) string {
	return a.maskedToken(c, a.csrfSecret(c, false))
}

// csrfSecret is the secret the request's tokens must stand for: the
// session's when it has one, else the one derived from the anonymous
// cookie, which is created when create is set. nil when there is none.
func (a *App) csrfSecret(c echo.Context, create bool) []byte {
	if a.sessionLoaded(c) {
		if tok := a.Sessions.GetString(c.Request().Context(), sessCSRF); tok != "" {
			if s, err := base64.RawURLEncoding.DecodeString(tok); err == nil && len(s) == csrfSecretLen {
				return s
			}
		}
	}
	if a.signer == nil { // accounts not set up: a page served on its own
		return nil
	}
	value := a.anonCSRFValue(c)
	if value == "" {
		if !create {
			return nil
		}
		value = newCSRFToken()
		c.Set(ctxAnonCSRF, value)
		http.SetCookie(c.Response(), a.cookie(csrfCookie, value, 0))
	}
	return a.signer.MAC(csrfPurpose, value)
}

// anonCSRFValue is the anonymous CSRF cookie's value, set earlier in this
// request or sent by the browser; "" when there is none that is well formed.
func (a *App) anonCSRFValue(c echo.Context) string {
	if v, ok := c.Get(ctxAnonCSRF).(string); ok {
		return v
	}
	ck, err := c.Request().Cookie(a.cookieName(csrfCookie))
	if err != nil {
		return ""
	}
	if b, err := base64.RawURLEncoding.DecodeString(ck.Value); err != nil || len(b) != csrfSecretLen {
		return ""
	}
	return ck.Value
}

// maskedToken is secret masked with a fresh pad: base64(pad || pad^secret).
// A page that carries one must not be stored by caches.
func (a *App) maskedToken(c echo.Context, secret []byte) string {
	if secret == nil {
		return ""
	}
	noStore(c)
	buf := randomBytes(2 * len(secret))
	for i, b := range secret {
		buf[len(secret)+i] = buf[i] ^ b
	}
	return base64.RawURLEncoding.EncodeToString(buf)
}

// tokenMatches reports whether token is secret masked by maskedToken.
func tokenMatches(token string, secret []byte) bool {
	buf, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(buf) != 2*len(secret) {
		return false
	}
	got := make([]byte, len(secret))
	for i := range got {
		got[i] = buf[i] ^ buf[len(secret)+i]
	}
	return subtle.ConstantTimeCompare(got, secret) == 1
}

// verifyCSRF refuses state-changing requests without a valid token with 403
// (the friendly error page). A request with neither a session secret nor a
// CSRF cookie is refused before its body is read.
func (a *App) verifyCSRF(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		switch r.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
			return next(c)
		}
		if isAPIPath(r.URL.Path) {
			return next(c) // no cookies there (loadSession), so nothing to forge
		}
		if err := a.crossOrigin.Check(r); err != nil {
			return echo.NewHTTPError(http.StatusForbidden, "cross-origin request refused")
		}
		secret := a.csrfSecret(c, false)
		if secret == nil {
			return echo.NewHTTPError(http.StatusForbidden, "no CSRF secret")
		}
		parse := r.ParseForm
		if isMultipart(r) { // only the upload limitBodies lets through
			// Only a signed-in reader may upload: anyone else is sent to
			// sign in before the body, up to 2 MB, is read for its token
			// (a redirect changes nothing, so it needs none).
			if _, ok := a.currentUser(c); !ok {
				return redirect(c, paths.LoginNext(paths.MyBooksImport))
			}
			parse = func() error { return r.ParseMultipartForm(maxMultipartMemory) }
		}
		if err := parse(); err != nil {
			return bodyError(err)
		}
		token := r.Header.Get(csrfHeader)
		if token == "" {
			token = r.PostForm.Get(csrfField) // the body only, never the query
		}
		if !tokenMatches(token, secret) {
			return echo.NewHTTPError(http.StatusForbidden, "missing or wrong CSRF token")
		}
		return next(c)
	}
}

// maxMultipartMemory is how much of a multipart body is kept in memory
// when parsed; the rest of its files go to temporary files, which
// limitBodies removes.
const maxMultipartMemory = 4 << 20

// bodyError is the answer to a body that could not be read as a form: 413
// past the size limit (limitBodies), 400 otherwise.
func bodyError(err error) error {
	if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
		return echo.NewHTTPError(http.StatusRequestEntityTooLarge).SetInternal(err)
	}
	return echo.NewHTTPError(http.StatusBadRequest).SetInternal(err)
}
