package handlers

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"shelf/components/paths"
	"shelf/store/apitokens"
)

// Someone who signed in with the owner's password makes an API token. The
// owner answers "This wasn't me" to the sign-in's mail: the token made
// since, and the access tokens issued for it, must stop working as the
// intruder's session and passkeys do. The owner's earlier token stays.
func TestNotMeRevokesAPITokensMadeSince(t *testing.T) {
	env := newTestEnv(t)
	authTestRoutes(env)
	const email = "owner@example.org"
	env.register(email)
	_, own := env.newPAT(email, 0, apitokens.BooksRead)
	env.clock.Advance(time.Minute)

	intruder := env.browser()
	intruder.ua = firefoxLinux
	intruder.login(email, goodPassword).wantStatus(t, http.StatusSeeOther)
	intruder.get("/account").wantStatus(t, http.StatusOK)
	link := notMeLink(t, wantSecurityMail(t, env, email, 1, "New sign-in to your Shelf account", "Firefox on Linux"))
	env.clock.Advance(time.Minute)
	intruder.reauth(paths.APITokens)
	intruder.post(paths.APITokens, url.Values{"name": {"mine now"}, "scope": {"shelves:read"}}).wantStatus(t, http.StatusSeeOther)
	theirs := newTokenRe.FindStringSubmatch(intruder.get(paths.APITokenCreated).body)[1]
	tr, _ := env.exchange("Bearer " + theirs)
	env.api("GET", "/api/v1/auth-test/open", "Bearer "+tr.AccessToken).caller(t)

	fresh := env.browser()
	fresh.get(link).wantStatus(t, http.StatusOK)
	fresh.post(link, nil).wantStatus(t, http.StatusOK).wantContains(t, `data-outcome="secured"`)

	env.api("GET", "/api/v1/auth-test/open", "Bearer "+theirs).wantRefused(t, "a token made after the reported sign-in", 401, "invalid_token")
	env.api("GET", "/api/v1/auth-test/open", "Bearer "+tr.AccessToken).wantRefused(t, "its access token", 401, "invalid_token")
	env.api("GET", "/api/v1/auth-test/open", "Bearer "+own).caller(t)
	var done *sentMail
	for _, m := range env.securityMails(email) {
		if m.Subject == "We secured your Shelf account" {
			done = &m
		}
	}
	if done == nil || !strings.Contains(done.Text, "The API token made for your account since then was revoked.") {
		t.Fatalf("the confirmation does not say the token was revoked: %+v", done)
	}
}
