package handlers

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// The API answers in problem details, loads no session from a browser's
// cookies, and asks no CSRF token (it has no cookies to forge).
func TestAPIAnswersProblemsWithoutSessions(t *testing.T) {
	env := newTestEnv(t)
	b := env.signUp("reader@example.com")

	for _, tc := range []struct {
		method string
		path   string
		status int
	}{
		{http.MethodGet, "/api/v1/no-such-thing", http.StatusNotFound},
		{http.MethodPost, "/api/v1/no-such-thing", http.StatusNotFound},
		{http.MethodDelete, "/api/v1/no-such-thing", http.StatusNotFound},
	} {
		req, _ := http.NewRequest(tc.method, env.srv.URL+tc.path, strings.NewReader("{}"))
		req.Header.Set("Content-Type", "application/json")
		p := b.do(req)
		if p.status != tc.status {
			t.Errorf("%s %s: status %d, want %d; body %s", tc.method, tc.path, p.status, tc.status, p.body)
		}
		if ct := p.header.Get("Content-Type"); ct != "application/problem+json" {
			t.Errorf("%s %s: Content-Type %q", tc.method, tc.path, ct)
		}
		var pr problem
		if err := json.Unmarshal([]byte(p.body), &pr); err != nil || pr.Status != tc.status || pr.Type == "" || pr.Title == "" {
			t.Errorf("%s %s: body %s (%v)", tc.method, tc.path, p.body, err)
		}
		if p.header.Get("Set-Cookie") != "" || p.varies("Cookie") {
			t.Errorf("%s %s: the API touched the session: %v", tc.method, tc.path, p.header)
		}
	}
}
