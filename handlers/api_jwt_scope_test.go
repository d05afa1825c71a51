package handlers

import (
	"testing"

	"github.com/golang-jwt/jwt/v5"

	"shelf/store/apitokens"
)

// Other services verify access tokens from the key set alone and see only
// their scopes, not the owner's role: books:write is carried only for an
// admin, as Shelf's own API would only honour it for one.
func TestAccessTokenCarriesBooksWriteOnlyForAdmins(t *testing.T) {
	env := newTestEnv(t)
	env.register("reader@example.com")
	env.register("admin@example.com")
	if _, err := env.db.Write.Exec(`UPDATE users SET is_admin = true WHERE email = 'admin@example.com'`); err != nil {
		t.Fatal(err)
	}
	for email, want := range map[string]string{
		"reader@example.com": "books:read shelves:read",
		"admin@example.com":  "books:read books:write shelves:read",
	} {
		_, secret := env.newPAT(email, 0, apitokens.BooksRead, apitokens.BooksWrite, apitokens.ShelvesRead)
		tr, r := env.exchange("Bearer " + secret)
		if r.status != 200 || tr.Scope != want {
			t.Fatalf("%s: exchange %d, scope %q, want %q", email, r.status, tr.Scope, want)
		}
		var claims accessClaims
		if _, _, err := jwt.NewParser().ParseUnverified(tr.AccessToken, &claims); err != nil || claims.Scope != want {
			t.Fatalf("%s: claims scope %q (%v), want %q", email, claims.Scope, err, want)
		}
	}
	// The scopes left out are those of the routes only admins may use.
	for _, rt := range env.app.apiRouteTable() {
		if rt.admin != (rt.scope != "" && rt.scope.AdminOnly()) {
			t.Errorf("%s %s: admin %v, scope %q", rt.method, rt.path, rt.admin, rt.scope)
		}
	}
}
