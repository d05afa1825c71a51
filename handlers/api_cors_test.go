package handlers

import (
	"net/http"
	"strings"
	"testing"
)

func TestParseCORSOrigins(t *testing.T) {
	got, err := ParseCORSOrigins(" https://app.example.com, http://localhost:3000 ,,HTTPS://Caps.Example.com")
	if err != nil || strings.Join(got, " ") != "https://app.example.com http://localhost:3000 https://caps.example.com" {
		t.Fatalf("%v %v", got, err)
	}
	if got, err := ParseCORSOrigins(""); err != nil || got != nil {
		t.Fatalf("empty: %v %v", got, err)
	}
	for _, bad := range []string{"*", "null", "app.example.com", "https://app.example.com/", "https://app.example.com/path",
		"ftp://app.example.com", "https://*.example.com", "https://user@app.example.com", "https://app.example.com?x=1"} {
		if _, err := ParseCORSOrigins(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// CORS: only the configured origins, only the API, preflight answered,
// never credentials.
func TestAPICORS(t *testing.T) {
	const allowed = "https://app.example.com"
	env := newTestEnvWith(t, func(_ *Deps, s *Settings) { s.APICORSOrigins = []string{allowed} })
	env.addBooks(apiTestBooks()...)
	b := env.browser()
	preflight := func(path, origin string) page {
		req, _ := http.NewRequest(http.MethodOptions, env.srv.URL+path, nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", http.MethodPut)
		req.Header.Set("Access-Control-Request-Headers", "authorization, content-type")
		return b.do(req)
	}
	p := preflight("/api/v1/shelves/1", allowed)
	if p.status != http.StatusNoContent || p.header.Get("Access-Control-Allow-Origin") != allowed ||
		!strings.Contains(p.header.Get("Access-Control-Allow-Methods"), "PUT") ||
		!strings.Contains(p.header.Get("Access-Control-Allow-Headers"), "Authorization") ||
		!strings.Contains(p.header.Get("Access-Control-Allow-Headers"), "Content-Type") ||
		p.header.Get("Access-Control-Allow-Credentials") != "" || !p.varies("Origin") {
		t.Errorf("preflight from %s: %d %v", allowed, p.status, p.header)
	}
	for _, tc := range []struct{ path, origin string }{
		{"/api/v1/shelves/1", "https://evil.example.com"},
		{"/api/v1/shelves/1", "https://app.example.com.evil.example.com"},
		{"/search", allowed},
	} {
		if p := preflight(tc.path, tc.origin); p.header.Get("Access-Control-Allow-Origin") != "" || p.header.Get("Access-Control-Allow-Methods") != "" {
			t.Errorf("preflight %s from %s allowed: %v", tc.path, tc.origin, p.header)
		}
	}
	get := func(path, origin string, headers ...string) page {
		return b.get(path, append([]string{"Origin", origin}, headers...)...)
	}
	p = get("/api/v1/books?q=harry", allowed)
	if p.status != http.StatusOK || p.header.Get("Access-Control-Allow-Origin") != allowed || !p.varies("Origin") ||
		p.header.Get("Access-Control-Allow-Credentials") != "" {
		t.Errorf("GET from %s: %v", allowed, p.header)
	}
	// Refusals are readable too, with their challenge.
	p = get("/api/v1/account", allowed)
	if p.status != http.StatusUnauthorized || p.header.Get("Access-Control-Allow-Origin") != allowed ||
		!strings.Contains(p.header.Get("Access-Control-Expose-Headers"), "WWW-Authenticate") {
		t.Errorf("401 to %s: %v", allowed, p.header)
	}
	for _, tc := range []struct{ path, origin string }{
		{"/api/v1/books?q=harry", "https://evil.example.com"},
		{"/search?q=harry", allowed},
		{"/", allowed},
	} {
		if p := get(tc.path, tc.origin); p.header.Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("GET %s from %s: %v", tc.path, tc.origin, p.header)
		}
	}

	// Without origins configured, no CORS at all.
	off := newAPITestEnv(t)
	ob := off.browser()
	req, _ := http.NewRequest(http.MethodOptions, off.srv.URL+"/api/v1/books", nil)
	req.Header.Set("Origin", allowed)
	req.Header.Set("Access-Control-Request-Method", http.MethodGet)
	if p := ob.do(req); p.header.Get("Access-Control-Allow-Origin") != "" || p.varies("Origin") {
		t.Errorf("preflight with CORS off: %v", p.header)
	}
	if p := ob.get("/api/v1/books?q=harry", "Origin", allowed); p.header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("GET with CORS off: %v", p.header)
	}
}
