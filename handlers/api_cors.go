package handlers

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"
)

// ParseCORSOrigins reads a comma-separated list of exact origins, such as
// "https://app.example.com,http://localhost:3000", for
// Settings.APICORSOrigins. Each is a scheme (http or https), a host and an
// optional port, nothing more: no path, no wildcard, no "null".
func ParseCORSOrigins(list string) ([]string, error) {
	var origins []string
	for _, raw := range strings.Split(list, ",") {
		o := strings.TrimSpace(raw)
		if o == "" {
			continue
		}
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
			u.Path != "" || u.RawQuery != "" || u.Fragment != "" || strings.Contains(u.Host, "*") ||
			!strings.EqualFold(o, u.Scheme+"://"+u.Host) {
			return nil, fmt.Errorf("%q is not an origin: write scheme://host or scheme://host:port, such as https://app.example.com", o)
		}
		origins = append(origins, strings.ToLower(o))
	}
	return origins, nil
}

// apiCORSMethods and apiCORSHeaders are what other origins' scripts may
// send to the API. Tokens travel in Authorization, never in cookies, so
// credentials mode is never allowed.
const (
	apiCORSMethods        = "GET, HEAD, POST, PUT, PATCH, DELETE"
	apiCORSHeaders        = "Authorization, Content-Type"
	apiCORSExposedHeaders = "Location, Retry-After, WWW-Authenticate, Allow, RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset"
	apiCORSMaxAge         = "600"
)

// apiCORS lets the configured origins' scripts call the API, and only the
// API: it answers their preflight requests and marks the answers to their
// requests readable. Other origins get no CORS header, so browsers keep
// their scripts from reading any answer.
func (a *App) apiCORS(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		req := c.Request()
		if !isAPIPath(req.URL.Path) {
			return next(c)
		}
		h := c.Response().Header()
		h.Add("Vary", "Origin")
		origin := req.Header.Get("Origin")
		if origin == "" || !slices.Contains(a.APICORSOrigins, strings.ToLower(origin)) {
			return next(c)
		}
		if req.Method == http.MethodOptions && req.Header.Get("Access-Control-Request-Method") != "" {
			h.Add("Vary", "Access-Control-Request-Method")
			h.Add("Vary", "Access-Control-Request-Headers")
			h.Set("Access-Control-Allow-Origin", origin)
			h.Set("Access-Control-Allow-Methods", apiCORSMethods)
			h.Set("Access-Control-Allow-Headers", apiCORSHeaders)
			h.Set("Access-Control-Max-Age", apiCORSMaxAge)
			return c.NoContent(http.StatusNoContent)
		}
		h.Set("Access-Control-Allow-Origin", origin)
		h.Set("Access-Control-Expose-Headers", apiCORSExposedHeaders)
		return next(c)
	}
}
