package handlers

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"shelf/store/apitokens"
	"shelf/store/shelves"
)

// apiCallerKind is who calls a route in TestAPIRouteTable.
type apiCallerKind int

const (
	anonymous  apiCallerKind = iota
	rightScope               // a reader's token with the scope the route needs (every scope for public routes)
	wrongScope               // a reader's token with every scope but that one
	expired                  // a reader's token, with every scope, past its expiry
	revoked                  // a reader's token, with every scope, revoked
	admin                    // an admin's token with every scope
)

var apiCallerKinds = []apiCallerKind{anonymous, rightScope, wrongScope, expired, revoked, admin}

func (k apiCallerKind) String() string {
	return [...]string{"anonymous", "right scope", "wrong scope", "expired", "revoked", "admin"}[k]
}

// apiRouteCase is a request to one route, with what each kind of caller
// gets. ok is the success status; setup runs before each call with the
// caller's user id (0 when anonymous), so calls do not depend on each
// other.
type apiRouteCase struct {
	req   apiRequest
	ok    int
	setup func(t *testing.T, env *testEnv, userID int64)
	// want overrides the status expected for a kind of caller; the default
	// follows from the route's scope and admin flag (see expectedStatus).
	want map[apiCallerKind]int
}

// apiRouteCases has at least one case for every route of the API.
func apiRouteCases() []apiRouteCase {
	shelve := func(t *testing.T, env *testEnv, userID int64) {
		if userID == 0 {
			return
		}
		if _, err := env.app.Shelves.Put(context.Background(), userID, 2, shelves.Reading); err != nil {
			t.Fatal(err)
		}
	}
	// ownLink gives the caller the link "tbl", live, as the calls before
	// may have moved, disabled or deleted it.
	ownLink := func(t *testing.T, env *testEnv, userID int64) {
		if userID == 0 {
			return
		}
		if _, ok, err := env.app.Links.Get(context.Background(), "tbl"); err != nil {
			t.Fatal(err)
		} else if !ok {
			if _, err := env.app.Links.Create(context.Background(), userID, "https://example.com/", "tbl"); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := env.db.Write.Exec(`UPDATE links SET owner_id = $1, deleted_at = NULL, disabled = 0 WHERE folded = 'tbl'`, userID); err != nil {
			t.Fatal(err)
		}
	}
	return []apiRouteCase{
		{req: apiRequest{method: http.MethodGet, path: "/api/v1/links"}, ok: http.StatusOK, setup: ownLink},
		{req: apiRequest{method: http.MethodHead, path: "/api/v1/links"}, ok: http.StatusOK},
		{req: apiRequest{method: http.MethodPost, path: "/api/v1/links", body: `{"target":"https://example.com/new"}`}, ok: http.StatusCreated},
		{req: apiRequest{method: http.MethodGet, path: "/api/v1/links/tbl"}, ok: http.StatusOK, setup: ownLink},
		{req: apiRequest{method: http.MethodHead, path: "/api/v1/links/tbl"}, ok: http.StatusOK, setup: ownLink},
		{req: apiRequest{method: http.MethodPatch, path: "/api/v1/links/tbl", body: `{"disabled":true}`}, ok: http.StatusOK, setup: ownLink},
		{req: apiRequest{method: http.MethodDelete, path: "/api/v1/links/tbl"}, ok: http.StatusNoContent, setup: ownLink},
		{req: apiRequest{method: http.MethodGet, path: "/api/v1/openapi.json"}, ok: http.StatusOK},
		{req: apiRequest{method: http.MethodHead, path: "/api/v1/openapi.json"}, ok: http.StatusOK},
		{req: apiRequest{method: http.MethodGet, path: "/api/v1/problems"}, ok: http.StatusOK},
		{req: apiRequest{method: http.MethodHead, path: "/api/v1/problems"}, ok: http.StatusOK},
		{req: apiRequest{method: http.MethodGet, path: "/api/v1/books?q=harry"}, ok: http.StatusOK},
		{req: apiRequest{method: http.MethodHead, path: "/api/v1/books?q=harry"}, ok: http.StatusOK},
		{req: apiRequest{method: http.MethodGet, path: "/api/v1/books/1"}, ok: http.StatusOK},
		{req: apiRequest{method: http.MethodHead, path: "/api/v1/books/1"}, ok: http.StatusOK},
		{req: apiRequest{method: http.MethodPost, path: "/api/v1/books", body: `{"title":"A New Book","authors":"New Author","isbn":"0-306-40615-2","year":2020,"language":"en"}`},
			ok: http.StatusCreated},
		{req: apiRequest{method: http.MethodPatch, path: "/api/v1/books/3", body: `{"year":1938}`}, ok: http.StatusOK},
		{req: apiRequest{method: http.MethodGet, path: "/api/v1/shelves"}, ok: http.StatusOK, setup: shelve},
		{req: apiRequest{method: http.MethodHead, path: "/api/v1/shelves?shelf=reading"}, ok: http.StatusOK},
		{req: apiRequest{method: http.MethodPut, path: "/api/v1/shelves/1", body: `{"shelf":"read","rating":5,"note":"Loved it"}`}, ok: http.StatusOK,
			want: map[apiCallerKind]int{rightScope: http.StatusCreated, admin: http.StatusCreated}},
		{req: apiRequest{method: http.MethodDelete, path: "/api/v1/shelves/2"}, ok: http.StatusNoContent, setup: shelve},
		{req: apiRequest{method: http.MethodGet, path: "/api/v1/account"}, ok: http.StatusOK},
		{req: apiRequest{method: http.MethodHead, path: "/api/v1/account"}, ok: http.StatusOK},
	}
}

// expectedStatus is what a kind of caller gets from a route: anonymous
// callers use public routes and get 401 elsewhere; expired and revoked
// tokens get 401 everywhere; a token without the route's scope gets 403,
// as does a reader's on an admin route.
func expectedStatus(rt apiRoute, tc apiRouteCase, k apiCallerKind) int {
	if s, ok := tc.want[k]; ok {
		return s
	}
	switch {
	case k == expired || k == revoked:
		return http.StatusUnauthorized
	case rt.scope == "" && !rt.admin:
		return tc.ok
	case k == anonymous:
		return http.StatusUnauthorized
	case k == wrongScope:
		return http.StatusForbidden
	case rt.admin && k != admin:
		return http.StatusForbidden
	}
	return tc.ok
}

// TestAPIRouteTable calls every route of the API as every kind of caller,
// and checks every answer against the OpenAPI document.
func TestAPIRouteTable(t *testing.T) {
	env := newAPITestEnv(t)
	env.register("reader@example.com")
	env.register("admin@example.com")
	readerID, adminID := env.user("reader@example.com").ID, env.user("admin@example.com").ID
	if _, err := env.db.Write.Exec(`UPDATE users SET is_admin = true WHERE id = $1`, adminID); err != nil {
		t.Fatal(err)
	}
	withAll := func(email string, days int) (apitokens.Token, string) {
		return env.newPAT(email, days, apitokens.Scopes...)
	}
	_, expiredSecret := withAll("reader@example.com", 1)
	env.clock.Advance(25 * time.Hour)
	revokedTok, revokedSecret := withAll("reader@example.com", 0)
	if _, err := env.app.apiTokens.Revoke(context.Background(), readerID, revokedTok.ID); err != nil {
		t.Fatal(err)
	}
	_, adminSecret := withAll("admin@example.com", 0)

	routes := map[string]apiRoute{}
	for _, rt := range env.app.apiRouteTable() {
		routes[rt.method+" "+rt.path] = rt
		if rt.method == http.MethodGet {
			routes[http.MethodHead+" "+rt.path] = rt
		}
	}
	covered := map[string]bool{}
	for _, tc := range apiRouteCases() {
		rt, ok := routes[tc.req.method+" "+routePattern(routes, tc.req)]
		if !ok {
			t.Fatalf("%s %s: no such route", tc.req.method, tc.req.path)
		}
		covered[tc.req.method+" "+rt.path] = true
		for _, k := range apiCallerKinds {
			authorization, userID := "", int64(0)
			switch k {
			case rightScope, wrongScope:
				scopes := apitokens.Scopes
				if rt.scope != "" {
					scopes = []apitokens.Scope{rt.scope}
				}
				if k == wrongScope {
					scopes = nil
					for _, s := range apitokens.Scopes {
						if s != rt.scope {
							scopes = append(scopes, s)
						}
					}
				}
				_, secret := env.newPAT("reader@example.com", 0, scopes...)
				authorization, userID = "Bearer "+secret, readerID
			case expired:
				authorization, userID = "Bearer "+expiredSecret, readerID
			case revoked:
				authorization, userID = basic("reader@example.com", revokedSecret), readerID
			case admin:
				authorization, userID = "Bearer "+adminSecret, adminID
			}
			if tc.setup != nil {
				tc.setup(t, env, userID)
			}
			r := callAPI(t, env, authorization, tc.req)
			if want := expectedStatus(rt, tc, k); r.status != want {
				t.Errorf("%s %s as %s: %d, want %d; body %s", tc.req.method, tc.req.path, k, r.status, want, r.body)
			}
			if rt.scope != "" && r.header.Get("Cache-Control") != "no-store" {
				t.Errorf("%s %s as %s: Cache-Control %q on a private route", tc.req.method, tc.req.path, k, r.header.Get("Cache-Control"))
			}
			if r.status == http.StatusUnauthorized && !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("%s %s as %s: 401 without a Bearer challenge", tc.req.method, tc.req.path, k)
			}
			if r.status == http.StatusForbidden && k == wrongScope &&
				!strings.Contains(r.header.Get("WWW-Authenticate"), `scope="`+string(rt.scope)+`"`) {
				t.Errorf("%s %s as %s: 403 does not name %s: %s", tc.req.method, tc.req.path, k, rt.scope, r.body)
			}
		}
	}
	for k, rt := range routes {
		if !covered[k] {
			t.Errorf("%s %s has no case", k, rt.path)
		}
	}
}

// routePattern finds the pattern of the route req is for.
func routePattern(routes map[string]apiRoute, req apiRequest) string {
	path, _, _ := strings.Cut(req.path, "?")
	for _, rt := range routes {
		if matchPattern(rt.path, path) {
			return rt.path
		}
	}
	return ""
}

func matchPattern(pattern, path string) bool {
	pp, ps := strings.Split(pattern, "/"), strings.Split(path, "/")
	if len(pp) != len(ps) {
		return false
	}
	for i := range pp {
		if !strings.HasPrefix(pp[i], ":") && pp[i] != ps[i] {
			return false
		}
	}
	return true
}

// The API ignores session cookies: a signed-in admin's browser gets
// nothing a stranger would not.
func TestAPIIgnoresSessionCookies(t *testing.T) {
	env := newAPITestEnv(t)
	b := env.register("admin@example.com")
	if _, err := env.db.Write.Exec(`UPDATE users SET is_admin = true WHERE email = 'admin@example.com'`); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ method, path, body string }{
		{http.MethodGet, "/api/v1/account", ""},
		{http.MethodGet, "/api/v1/shelves", ""},
		{http.MethodPut, "/api/v1/shelves/1", `{"shelf":"read"}`},
		{http.MethodPost, "/api/v1/books", `{"title":"T","authors":"A"}`},
	} {
		req, _ := http.NewRequest(tc.method, env.srv.URL+tc.path, strings.NewReader(tc.body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-CSRF-Token", b.csrf)
		p := b.do(req)
		if p.status != http.StatusUnauthorized {
			t.Errorf("%s %s with a session cookie: %d %s", tc.method, tc.path, p.status, p.body)
		}
		if p.header.Get("Set-Cookie") != "" {
			t.Errorf("%s %s: the API set a cookie", tc.method, tc.path)
		}
	}
	if n, err := env.app.Shelves.Counts(context.Background(), env.user("admin@example.com").ID); err != nil || n[shelves.Read] != 0 {
		t.Errorf("the cookie's request changed shelves: %v %v", n, err)
	}
	if b, err := env.app.Catalog.Count(context.Background()); err != nil || b != int64(len(apiTestBooks())) {
		t.Errorf("the cookie's request added a book: %d %v", b, err)
	}
}
