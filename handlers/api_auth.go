package handlers

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"shelf/store/apitokens"
)

// apiAuthenticate stands in for token authentication until it lands:
// every request is anonymous, and one that sends credentials is refused.
func (a *App) apiAuthenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if c.Request().Header.Get(echo.HeaderAuthorization) != "" {
			c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Bearer error="invalid_token"`)
			return writeProblem(c, problem{Status: http.StatusUnauthorized, Type: "invalid-token", Detail: "The token is not valid."})
		}
		return next(c)
	}
}

// requireScope refuses anonymous callers and tokens without scope.
func (a *App) requireScope(scope apitokens.Scope) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			ac := apiCallerFrom(c)
			if ac == nil {
				c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Bearer`)
				return writeProblem(c, problem{Status: http.StatusUnauthorized, Type: "unauthorized", Detail: "This needs a token."})
			}
			if !ac.Has(scope) {
				c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Bearer error="insufficient_scope", scope="`+string(scope)+`"`)
				return writeProblem(c, problem{Status: http.StatusForbidden, Type: "insufficient-scope", Detail: "This needs the scope " + string(scope) + "."})
			}
			return next(c)
		}
	}
}

// requireAPIAdmin refuses callers whose token's owner is not an admin.
func (a *App) requireAPIAdmin(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if ac := apiCallerFrom(c); ac == nil || !ac.IsAdmin {
			return writeProblem(c, problem{Status: http.StatusForbidden, Type: "admin-only", Detail: "Only an admin's token can do this."})
		}
		return next(c)
	}
}
