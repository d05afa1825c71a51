package handlers

import (
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"shelf/components/paths"
	"shelf/store/apitokens"
)

// authTestRoutes mounts, under /api/v1/auth-test, routes that only echo
// their caller: open to anyone, needing books:write, needing an admin.
func authTestRoutes(env *testEnv) {
	a := env.app
	g := a.echo.Group(paths.API+"/auth-test", a.apiAuthenticate)
	whoami := func(c echo.Context) error {
		caller := apiCallerFrom(c)
		if caller == nil {
			return c.JSON(http.StatusOK, map[string]any{"anonymous": true})
		}
		return c.JSON(http.StatusOK, caller)
	}
	g.GET("/open", whoami)
	g.GET("/write", whoami, a.requireScope(apitokens.BooksWrite))
	g.GET("/admin", whoami, a.requireAPIAdmin)
}

// newPAT makes a token for email's account, straight in the store.
func (env *testEnv) newPAT(email string, days int, scopes ...apitokens.Scope) (apitokens.Token, string) {
	env.t.Helper()
	u := env.user(email)
	var tok apitokens.Token
	var secret string
	err := env.db.InTx(context.Background(), func(tx *sql.Tx) error {
		var err error
		tok, secret, err = env.app.apiTokens.Create(context.Background(), tx, u.ID, apitokens.NewToken{Name: "test", Scopes: scopes, Days: days})
		return err
	})
	if err != nil {
		env.t.Fatal(err)
	}
	return tok, secret
}

type apiResponse struct {
	status int
	header http.Header
	body   string
}

// api sends an API request with the given Authorization header (none if
// empty) and no cookies.
func (env *testEnv) api(method, path, authorization string) apiResponse {
	env.t.Helper()
	req, _ := http.NewRequest(method, env.srv.URL+path, nil)
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		env.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		env.t.Fatal(err)
	}
	return apiResponse{status: resp.StatusCode, header: resp.Header, body: string(body)}
}

// wantRefused checks an RFC 6750 refusal: the status, the challenge's
// error code, and a problem body.
func (r apiResponse) wantRefused(t *testing.T, what string, status int, code string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("%s: status %d, want %d; body %s", what, r.status, status, r.body)
	}
	if ch := r.header.Get("WWW-Authenticate"); code != "" && (!strings.HasPrefix(ch, `Bearer realm="shelf"`) || !strings.Contains(ch, `error="`+code+`"`)) {
		t.Fatalf("%s: WWW-Authenticate %q, want error=%q", what, ch, code)
	}
	var p problem
	if r.header.Get("Content-Type") != "application/problem+json" || json.Unmarshal([]byte(r.body), &p) != nil || p.Status != status || p.Detail == "" {
		t.Fatalf("%s: not a problem: %s %s", what, r.header.Get("Content-Type"), r.body)
	}
}

func (r apiResponse) caller(t *testing.T) apiCaller {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	var c apiCaller
	if err := json.Unmarshal([]byte(r.body), &c); err != nil {
		t.Fatal(err)
	}
	return c
}

func basic(user, pass string) string {
	req, _ := http.NewRequest(http.MethodGet, "/", nil)
	req.SetBasicAuth(user, pass)
	return req.Header.Get("Authorization")
}

func TestAPIAuthentication(t *testing.T) {
	env := newTestEnv(t)
	authTestRoutes(env)
	env.register("reader@example.com")
	tok, secret := env.newPAT("reader@example.com", 0, apitokens.BooksRead, apitokens.ShelvesRead)
	reader := env.user("reader@example.com")

	// Anonymous: fine on open routes, 401 on protected ones.
	if r := env.api("GET", "/api/v1/auth-test/open", ""); r.status != 200 || !strings.Contains(r.body, `"anonymous":true`) {
		t.Fatalf("anonymous on an open route: %d %s", r.status, r.body)
	}
	env.api("GET", "/api/v1/auth-test/write", "").wantRefused(t, "anonymous on a protected route", 401, "invalid_token")
	env.api("GET", "/api/v1/auth-test/admin", "").wantRefused(t, "anonymous on an admin route", 401, "invalid_token")

	// Bearer and Basic.
	for what, h := range map[string]string{
		"Bearer":           "Bearer " + secret,
		"bearer, any case": "bEaReR " + secret,
		"Basic":            basic("reader@example.com", secret),
		"Basic, any case":  basic("Reader@Example.COM", secret),
	} {
		c := env.api("GET", "/api/v1/auth-test/open", h).caller(t)
		if c.UserID != reader.ID || c.Email != "reader@example.com" || c.TokenID != tok.ID || c.IsAdmin ||
			len(c.Scopes) != 2 || !c.Has(apitokens.BooksRead) || !c.Has(apitokens.ShelvesRead) {
			t.Fatalf("%s: caller %+v", what, c)
		}
	}

	// The account password never works, right as it is.
	env.api("GET", "/api/v1/auth-test/open", basic("reader@example.com", goodPassword)).wantRefused(t, "the account password", 401, "invalid_token")
	env.api("GET", "/api/v1/auth-test/open", "Bearer "+goodPassword).wantRefused(t, "the account password as a Bearer token", 401, "invalid_token")
	env.register("other@example.com")
	env.api("GET", "/api/v1/auth-test/open", basic("other@example.com", secret)).wantRefused(t, "another address with the token", 401, "invalid_token")

	// Malformed and unknown tokens.
	last := byte('0')
	if secret[len(secret)-1] == '0' {
		last = '1'
	}
	broken := secret[:len(secret)-1] + string(last)
	for what, h := range map[string]string{
		"checksum broken":       "Bearer " + broken,
		"truncated":             "Bearer " + secret[:20],
		"unknown":               "Bearer " + apitokens.Generate(),
		"empty Bearer":          "Bearer ",
		"garbage":               "Bearer abc",
		"Basic not base64":      "Basic !!!",
		"Basic without a colon": "Basic " + "cmVhZGVy",
		"another scheme":        "Digest " + secret,
	} {
		env.api("GET", "/api/v1/auth-test/open", h).wantRefused(t, what, 401, "invalid_token")
	}

	// Scope: 403 naming the scope needed.
	r := env.api("GET", "/api/v1/auth-test/write", "Bearer "+secret)
	r.wantRefused(t, "a token without books:write", 403, "insufficient_scope")
	if ch := r.header.Get("WWW-Authenticate"); !strings.Contains(ch, `scope="books:write"`) || !strings.Contains(r.body, "books:write") {
		t.Fatalf("the refusal does not name the scope: %q %s", ch, r.body)
	}
	_, writer := env.newPAT("reader@example.com", 0, apitokens.BooksWrite)
	env.api("GET", "/api/v1/auth-test/write", "Bearer "+writer).caller(t)

	// Admin: by the owner's role now, not when the token was made.
	if r := env.api("GET", "/api/v1/auth-test/admin", "Bearer "+writer); r.status != 403 || r.header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("a reader's token on an admin route: %d %s", r.status, r.body)
	}
	if _, err := env.db.Write.Exec(`UPDATE users SET is_admin = true WHERE id = $1`, reader.ID); err != nil {
		t.Fatal(err)
	}
	if c := env.api("GET", "/api/v1/auth-test/admin", "Bearer "+writer).caller(t); !c.IsAdmin {
		t.Fatalf("an admin's token: %+v", c)
	}

	// Credentials in the query string are refused, even next to good ones.
	for _, q := range []string{"access_token=" + secret, "token=x", "api_key=x", "q=" + url.QueryEscape(secret)} {
		env.api("GET", "/api/v1/auth-test/open?"+q, "Bearer "+secret).wantRefused(t, "query "+q, 400, "invalid_request")
	}

	// Revoked: refused from the next request on.
	if _, err := env.app.apiTokens.Revoke(context.Background(), reader.ID, tok.ID); err != nil {
		t.Fatal(err)
	}
	env.api("GET", "/api/v1/auth-test/open", "Bearer "+secret).wantRefused(t, "a revoked token", 401, "invalid_token")
	env.api("GET", "/api/v1/auth-test/open", basic("reader@example.com", secret)).wantRefused(t, "a revoked token by Basic", 401, "invalid_token")

	// Expired.
	env.clock.Advance(31 * 24 * time.Hour)
	r = env.api("GET", "/api/v1/auth-test/write", "Bearer "+writer)
	r.wantRefused(t, "an expired token", 401, "invalid_token")
	if !strings.Contains(r.body, "expired") {
		t.Fatalf("the detail does not say expired: %s", r.body)
	}
}

func TestAPIRateLimitPerToken(t *testing.T) {
	env := newTestEnv(t)
	authTestRoutes(env)
	env.register("reader@example.com")
	_, first := env.newPAT("reader@example.com", 0, apitokens.BooksRead)
	_, second := env.newPAT("reader@example.com", 0, apitokens.BooksRead)

	for i := range apiLimitPer {
		if r := env.api("GET", "/api/v1/auth-test/open", "Bearer "+first); r.status != 200 {
			t.Fatalf("request %d: %d %s", i+1, r.status, r.body)
		}
	}
	r := env.api("GET", "/api/v1/auth-test/open", "Bearer "+first)
	if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") != "1" || r.header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("request 61: %d Retry-After %q %s", r.status, r.header.Get("Retry-After"), r.body)
	}
	// Other tokens have their own budget.
	env.api("GET", "/api/v1/auth-test/open", "Bearer "+second).caller(t)
	// The budget refills, a request a second.
	env.clock.Advance(time.Second)
	env.api("GET", "/api/v1/auth-test/open", "Bearer "+first).caller(t)
	if r := env.api("GET", "/api/v1/auth-test/open", "Bearer "+first); r.status != http.StatusTooManyRequests {
		t.Fatalf("a second request within that second: %d", r.status)
	}
	env.clock.Advance(time.Minute)
	for i := range apiLimitPer {
		if r := env.api("GET", "/api/v1/auth-test/open", "Bearer "+first); r.status != 200 {
			t.Fatalf("after a minute, request %d: %d", i+1, r.status)
		}
	}
}

// A token's last use is recorded with the client's address, at most once
// a minute: requests in between write nothing.
func TestAPITokenLastUse(t *testing.T) {
	env := newTestEnv(t)
	authTestRoutes(env)
	env.register("reader@example.com")
	tok, secret := env.newPAT("reader@example.com", 0, apitokens.BooksRead)
	lastUse := func() (string, string) {
		var at sql.NullString
		var from string
		if err := env.db.Read.QueryRow(`SELECT last_used_at, last_used_from FROM api_tokens WHERE id = $1`, tok.ID).Scan(&at, &from); err != nil {
			t.Fatal(err)
		}
		return at.String, from
	}
	if at, _ := lastUse(); at != "" {
		t.Fatalf("an unused token was last used at %s", at)
	}
	env.api("GET", "/api/v1/auth-test/open", "Bearer "+secret).caller(t)
	first, from := lastUse()
	if first == "" || from != "127.0.0.1" {
		t.Fatalf("after a request: last used %q from %q", first, from)
	}
	env.clock.Advance(59 * time.Second)
	env.api("GET", "/api/v1/auth-test/open", "Bearer "+secret).caller(t)
	if at, _ := lastUse(); at != first {
		t.Fatalf("a request 59 s later wrote the last use: %s, was %s", at, first)
	}
	env.clock.Advance(time.Second)
	env.api("GET", "/api/v1/auth-test/open", "Bearer "+secret).caller(t)
	if at, _ := lastUse(); at == first {
		t.Fatal("a request a minute later did not record its use")
	}
}
