package handlers

import (
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"shelf/components/paths"
	"shelf/store"
	"shelf/store/apitokens"
)

// API authentication. A request carries a personal access token or an
// access token (a JWT from POST /api/v1/token) in its Authorization header,
// as a Bearer token, or a personal access token as the password of HTTP
// Basic with the account's address as the user, as curl -u sends it. The
// account's password never works here, so a second factor cannot be
// skipped through the API. Errors follow RFC 6750: 401 with
// WWW-Authenticate error="invalid_token", 403 with error="insufficient_scope"
// naming the scope, each with a problem body.

// authFailure is why a request's credentials were refused, for the problem
// detail (the status is the same whatever the reason).
type authFailure struct{ detail string }

func (f *authFailure) Error() string { return f.detail }

func refuse(detail string) error { return &authFailure{detail: detail} }

// queryCredentialNames are query parameters that carry credentials in other
// APIs; Shelf refuses them rather than ignore a secret sent in a URL, which
// logs and browser histories keep.
var queryCredentialNames = []string{"access_token", "token", "api_key", "apikey", "key", "jwt", "password", "auth"}

func credentialsInQuery(q url.Values) bool {
	for _, n := range queryCredentialNames {
		if q.Has(n) {
			return true
		}
	}
	for _, vs := range q {
		for _, v := range vs {
			if apitokens.LooksLike(v) {
				return true
			}
		}
	}
	return false
}

// apiAuthenticate reads the request's credentials and sets its caller
// (apiCallerFrom); a request without any is anonymous, and the routes decide
// (requireScope). Wrong, expired or revoked credentials are refused here,
// whatever the route, as are credentials in the query string. Each token
// may make apiLimitPer requests per apiLimitWindow.
func (a *App) apiAuthenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if credentialsInQuery(c.QueryParams()) {
			return a.authProblem(c, http.StatusBadRequest, "invalid_request", "credentials-in-query",
				"Send the token in the Authorization header, never in the address: addresses end up in logs and histories.")
		}
		header := c.Request().Header.Get(echo.HeaderAuthorization)
		if header == "" {
			return next(c)
		}
		caller, err := a.apiCallerFor(c, header)
		var f *authFailure
		if errors.As(err, &f) {
			return a.authProblem(c, http.StatusUnauthorized, "invalid_token", "invalid-token", f.detail)
		}
		if err != nil {
			return err
		}
		if ok, retry := a.apiLimiter.allow(caller.TokenID, a.now()); !ok {
			c.Response().Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(retry.Seconds()))))
			return writeProblem(c, problem{Type: "rate-limited", Status: http.StatusTooManyRequests,
				Detail: fmt.Sprintf("This token has made %d requests in the last minute. Wait before the next.", apiLimitPer)})
		}
		c.Set(ctxAPICaller, caller)
		return next(c)
	}
}

// apiCallerFor authenticates an Authorization header: an *authFailure if
// its credentials do not work, another error if they could not be checked.
func (a *App) apiCallerFor(c echo.Context, header string) (*apiCaller, error) {
	scheme, value, _ := strings.Cut(header, " ")
	value = strings.TrimSpace(value)
	switch {
	case strings.EqualFold(scheme, "Bearer"):
		if value == "" {
			return nil, refuse("The Bearer token is empty.")
		}
		if apitokens.LooksLike(value) {
			return a.patCaller(c, value, "")
		}
		if strings.Count(value, ".") == 2 {
			return a.jwtCaller(c, value)
		}
		return nil, refuse("The Bearer token is neither a personal access token nor an access token from " + paths.APIToken + ".")
	case strings.EqualFold(scheme, "Basic"):
		raw, err := base64.StdEncoding.DecodeString(value)
		if err != nil {
			return nil, refuse("The Basic credentials are not valid base64.")
		}
		user, pass, ok := strings.Cut(string(raw), ":")
		if !ok || user == "" {
			return nil, refuse("Basic credentials are your account's email address as the user and a personal access token as the password.")
		}
		if !apitokens.LooksLike(pass) {
			return nil, refuse("The API takes a personal access token as the password, never the account's password. Create a token on your account page.")
		}
		return a.patCaller(c, pass, user)
	}
	return nil, refuse("Send a Bearer token, or Basic credentials with a personal access token as the password.")
}

// patCaller authenticates a personal access token; with Basic, email is
// the user sent with it, which must be the token owner's address.
func (a *App) patCaller(c echo.Context, secret, email string) (*apiCaller, error) {
	ctx := c.Request().Context()
	t, owner, err := a.apiTokens.Authenticate(ctx, secret)
	switch {
	case errors.Is(err, apitokens.ErrMalformed):
		return nil, refuse("The token is malformed: check it was copied whole.")
	case errors.Is(err, apitokens.ErrUnknown):
		return nil, refuse("The token is not known.")
	case errors.Is(err, apitokens.ErrExpired):
		return nil, refuse("The token has expired.")
	case errors.Is(err, apitokens.ErrRevoked):
		return nil, refuse("The token has been revoked.")
	case err != nil:
		return nil, err
	}
	if email != "" && store.CaseFold(strings.TrimSpace(email)) != store.CaseFold(owner.Email) {
		return nil, refuse("The token does not belong to that address.")
	}
	a.markTokenUsed(c, t)
	return &apiCaller{UserID: owner.UserID, Email: owner.Email, IsAdmin: owner.IsAdmin, Scopes: t.Scopes, TokenID: t.ID}, nil
}

// markTokenUsed records the token's use, at most once a minute per token
// (apitokens.UsedEvery): most requests write nothing. A failed write is
// logged; the request goes on.
func (a *App) markTokenUsed(c echo.Context, t apitokens.Token) {
	if _, err := a.apiTokens.MarkUsed(c.Request().Context(), t, c.RealIP(), a.now()); err != nil {
		a.Logger.Warn("record token use", "token", t.ID, "err", err)
	}
}

// authProblem answers a refused request: RFC 6750's challenge and a
// problem body.
func (a *App) authProblem(c echo.Context, status int, code, typ, detail string) error {
	c.Response().Header().Set(echo.HeaderWWWAuthenticate, fmt.Sprintf(`Bearer realm="shelf", error=%q, error_description=%q`, code, detail))
	return writeProblem(c, problem{Type: typ, Status: status, Detail: detail})
}

// requireScope lets through callers whose token carries scope: anonymous
// callers get 401, others without it 403 naming it.
func (a *App) requireScope(scope apitokens.Scope) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			caller := apiCallerFrom(c)
			if caller == nil {
				return a.authProblem(c, http.StatusUnauthorized, "invalid_token", "invalid-token",
					fmt.Sprintf("This needs a token with the %s scope.", scope))
			}
			if !caller.Has(scope) {
				detail := fmt.Sprintf("This needs a token with the %s scope.", scope)
				c.Response().Header().Set(echo.HeaderWWWAuthenticate,
					fmt.Sprintf(`Bearer realm="shelf", error="insufficient_scope", scope=%q, error_description=%q`, scope, detail))
				return writeProblem(c, problem{Type: "insufficient-scope", Status: http.StatusForbidden, Detail: detail})
			}
			return next(c)
		}
	}
}

// requireAPIAdmin lets through callers whose account is an admin now:
// anonymous callers get 401, others 403.
func (a *App) requireAPIAdmin(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		caller := apiCallerFrom(c)
		if caller == nil {
			return a.authProblem(c, http.StatusUnauthorized, "invalid_token", "invalid-token", "This needs an admin's token.")
		}
		if !caller.IsAdmin {
			return writeProblem(c, problem{Type: "admin-only", Status: http.StatusForbidden, Detail: "Only an admin's token may do this."})
		}
		return next(c)
	}
}

// jwtCaller authenticates an access token issued by POST /api/v1/token.
func (a *App) jwtCaller(c echo.Context, raw string) (*apiCaller, error) {
	return nil, refuse("Access tokens are not accepted yet.")
}
