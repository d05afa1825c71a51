package handlers

import (
	"testing"
	"time"

	"shelf/store/apitokens"
)

// An access token names its personal token by id. Were that row deleted
// and the id given to a newer token (SQLite reuses the highest rowid), the
// access token must not start acting through the newer one.
func TestAccessTokenNotCarriedToAReusedTokenID(t *testing.T) {
	env := newTestEnv(t)
	authTestRoutes(env)
	env.register("reader@example.com")
	old, secret := env.newPAT("reader@example.com", 0, apitokens.ShelvesRead)
	tr, _ := env.exchange("Bearer " + secret)
	env.api("GET", "/api/v1/auth-test/open", "Bearer "+tr.AccessToken).caller(t)
	if _, err := env.db.Write.Exec(`DELETE FROM api_tokens WHERE id = $1`, old.ID); err != nil {
		t.Fatal(err)
	}
	env.clock.Advance(time.Minute)
	reused, _ := env.newPAT("reader@example.com", 0, apitokens.ShelvesRead)
	if reused.ID != old.ID {
		t.Skipf("the id was not reused (%d, was %d)", reused.ID, old.ID)
	}
	env.api("GET", "/api/v1/auth-test/open", "Bearer "+tr.AccessToken).wantRefused(t, "an access token for a deleted token's id", 401, "invalid_token")
}
