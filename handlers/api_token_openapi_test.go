package handlers

import (
	"net/http"
	"testing"

	"shelf/store/apitokens"
)

// The token exchange answers as the OpenAPI document says: an access
// token, and problems for no token, an access token, a query credential
// and another method.
func TestTokenExchangeMatchesOpenAPI(t *testing.T) {
	env := newTestEnv(t)
	env.register("reader@example.com")
	_, secret := env.newPAT("reader@example.com", 0, apitokens.ShelvesRead)
	var tr tokenResponse
	r := callAPI(t, env, "Bearer "+secret, apiRequest{method: http.MethodPost, path: "/api/v1/token"})
	if r.status != http.StatusOK {
		t.Fatalf("exchange: %d %s", r.status, r.body)
	}
	r.decode(t, &tr)
	for _, tc := range []struct {
		auth   string
		req    apiRequest
		status int
	}{
		{"", apiRequest{method: http.MethodPost, path: "/api/v1/token"}, http.StatusUnauthorized},
		{"Bearer " + tr.AccessToken, apiRequest{method: http.MethodPost, path: "/api/v1/token"}, http.StatusUnauthorized},
		{"Basic " + secret, apiRequest{method: http.MethodPost, path: "/api/v1/token"}, http.StatusUnauthorized},
		{"", apiRequest{method: http.MethodPost, path: "/api/v1/token?access_token=" + secret}, http.StatusBadRequest},
		{"Bearer " + secret, apiRequest{method: http.MethodGet, path: "/api/v1/token"}, http.StatusMethodNotAllowed},
	} {
		if r := callAPI(t, env, tc.auth, tc.req); r.status != tc.status {
			t.Errorf("%s %s with %.12q: %d, want %d; %s", tc.req.method, tc.req.path, tc.auth, r.status, tc.status, r.body)
		}
	}
}
