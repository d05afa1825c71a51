package handlers

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"shelf/components/paths"
	"shelf/store/apitokens"
)

var newTokenRe = regexp.MustCompile(`<pre id="new-api-token"[^>]*>(shelf_pat_[0-9A-Za-z]+)</pre>`)

var tokenRowRe = regexp.MustCompile(`data-token-id="(\d+)"`)

func TestAPITokensOnTheAccountPage(t *testing.T) {
	env := newTestEnv(t)
	authTestRoutes(env)
	const owner = "reader@example.com"
	b := env.register(owner)
	b.get(paths.Account).wantStatus(t, 200).wantContains(t, `id="api-tokens"`, "You have no API tokens.")

	// Creating needs the password re-entered.
	p := b.get(paths.APITokens)
	if p.status != http.StatusSeeOther || !strings.HasPrefix(p.location(), paths.Reauth) {
		t.Fatalf("the create form without a recent password: %d %s", p.status, p.location())
	}
	if p := b.post(paths.APITokens, url.Values{"name": {"x"}, "scope": {"books:read"}}); p.status != http.StatusSeeOther || !strings.HasPrefix(p.location(), paths.Reauth) {
		t.Fatalf("creating without a recent password: %d %s", p.status, p.location())
	}
	b.reauth(paths.APITokens)
	form := b.get(paths.APITokens).wantStatus(t, 200).wantContains(t, `name="scope" value="books:read"`, `value="30"`)
	// books:write does nothing in a reader's token: not offered, and refused.
	if strings.Contains(form.body, `value="books:write"`) {
		t.Error("a reader is offered books:write")
	}
	b.post(paths.APITokens, url.Values{"name": {"x"}, "days": {"7"}, "scope": {"books:read", "books:write"}}).
		wantStatus(t, http.StatusUnprocessableEntity).wantContains(t, "books:write is for admins&#39; tokens")
	admin := env.admin("admin@example.com")
	admin.reauth(paths.APITokens)
	admin.get(paths.APITokens).wantStatus(t, 200).wantContains(t, `name="scope" value="books:write"`)

	// Validated in place, and on submit.
	b.htmx(paths.APITokensValidate+"?field=days", url.Values{"days": {"400"}}).wantStatus(t, 200).wantContains(t, "Choose between 1 and 365 days.")
	b.htmx(paths.APITokensValidate+"?field=name", url.Values{"name": {" "}}).wantStatus(t, 200).wantContains(t, "Give the token a name")
	b.post(paths.APITokens, url.Values{"name": {""}, "days": {"366"}, "scope": {"*"}}).wantStatus(t, http.StatusUnprocessableEntity).
		wantContains(t, "Give the token a name", "Choose between 1 and 365 days.", "There is no scope")
	b.post(paths.APITokens, url.Values{"name": {"script"}, "days": {"ten"}}).wantStatus(t, http.StatusUnprocessableEntity).
		wantContains(t, "Choose at least one scope.", "Enter a whole number of days", `value="script"`)
	if n := len(env.securityMails(owner)); n != 0 {
		t.Fatalf("%d mails before any token was made", n)
	}

	// Created: shown once, mailed to the owner.
	p = b.post(paths.APITokens, url.Values{"name": {"backup script"}, "days": {"7"}, "scope": {"books:read", "shelves:read"}})
	if p.status != http.StatusSeeOther || p.location() != paths.APITokenCreated {
		t.Fatalf("create: %d %s\n%s", p.status, p.location(), p.body)
	}
	p = b.get(paths.APITokenCreated).wantStatus(t, 200)
	m := newTokenRe.FindStringSubmatch(p.body)
	if m == nil || apitokens.Check(m[1]) != nil {
		t.Fatalf("no token shown:\n%s", p.body)
	}
	secret := m[1]
	if p.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("the token page may be cached: %q", p.header.Get("Cache-Control"))
	}
	if again := b.get(paths.APITokenCreated).wantStatus(t, 200); strings.Contains(again.body, secret) || !strings.Contains(again.body, "shown only once") {
		t.Fatalf("the token is shown twice:\n%s", again.body)
	}
	mails := env.securityMails(owner)
	if len(mails) != 1 || mails[0].Subject != "A new API token for your Shelf account" || !strings.Contains(mails[0].Text, "backup script") ||
		strings.Contains(mails[0].Text, secret) || strings.Contains(mails[0].HTML, secret) {
		t.Fatalf("mails: %+v", mails)
	}

	// Listed, with its scopes; never the secret.
	page := b.get(paths.Account).wantStatus(t, 200).wantContains(t, "backup script", "<code>books:read</code>", "<code>shelves:read</code>", "Not used yet.")
	if strings.Contains(page.body, secret) {
		t.Fatal("the account page shows the token")
	}
	env.api("GET", "/api/v1/auth-test/open", "Bearer "+secret).caller(t)
	b.get(paths.Account).wantContains(t, "Last used", "from 127.0.0.1")

	// Revoked in place with htmx: the next request is refused.
	id := tokenRowRe.FindStringSubmatch(page.body)[1]
	row := b.htmx("/account/tokens/"+id+"/revoke", nil).wantStatus(t, 200)
	if !strings.Contains(row.body, "revoked") || strings.Contains(row.body, "<html") || strings.Contains(row.body, "api-token-revoke") {
		t.Fatalf("the revoked row:\n%s", row.body)
	}
	env.api("GET", "/api/v1/auth-test/open", "Bearer "+secret).wantRefused(t, "a token revoked on the account page", 401, "invalid_token")

	// And without JavaScript.
	b.reauth(paths.APITokens)
	b.post(paths.APITokens, url.Values{"name": {"second"}, "scope": {"account:read"}})
	second := newTokenRe.FindStringSubmatch(b.get(paths.APITokenCreated).body)[1]
	env.api("GET", "/api/v1/auth-test/open", "Bearer "+second).caller(t)
	ids := tokenRowRe.FindAllStringSubmatch(b.get(paths.Account).body, -1)
	p = b.post("/account/tokens/"+ids[0][1]+"/revoke", nil)
	if p.status != http.StatusSeeOther || p.location() != paths.Account+"#api-tokens" {
		t.Fatalf("revoke without JavaScript: %d %s", p.status, p.location())
	}
	b.get(paths.Account).wantContains(t, "Token revoked: second.")
	env.api("GET", "/api/v1/auth-test/open", "Bearer "+second).wantRefused(t, "a token revoked without JavaScript", 401, "invalid_token")

	// Another account cannot revoke it; a form without the CSRF token is refused.
	other := env.register("other@example.com")
	if p := other.post("/account/tokens/"+id+"/revoke", nil); p.status != http.StatusNotFound {
		t.Fatalf("revoking another account's token: %d", p.status)
	}
	req, _ := http.NewRequest(http.MethodPost, env.srv.URL+"/account/tokens/"+id+"/revoke", nil)
	if p := b.do(req); p.status != http.StatusForbidden {
		t.Fatalf("revoking without a CSRF token: %d", p.status)
	}

	// The re-entered password counts for 5 minutes.
	env.clock.Advance(6 * time.Minute)
	if p := b.get(paths.APITokens); p.status != http.StatusSeeOther || !strings.HasPrefix(p.location(), paths.Reauth) {
		t.Fatalf("the create form 6 minutes after the password: %d %s", p.status, p.location())
	}
}

// "This wasn't me" on the mail about a new token revokes every token of
// the account, with the access tokens issued for them.
func TestNotMeRevokesAPITokens(t *testing.T) {
	env := newTestEnv(t)
	authTestRoutes(env)
	const email = "victim@example.org"
	b := env.register(email)
	_, earlier := env.newPAT(email, 0, apitokens.BooksRead)
	b.reauth(paths.APITokens)
	b.post(paths.APITokens, url.Values{"name": {"not mine"}, "scope": {"shelves:read"}}).wantStatus(t, http.StatusSeeOther)
	made := newTokenRe.FindStringSubmatch(b.get(paths.APITokenCreated).body)[1]
	tr, _ := env.exchange("Bearer " + made)
	env.api("GET", "/api/v1/auth-test/open", "Bearer "+tr.AccessToken).caller(t)

	done := notMe(t, env, email, "A new API token for your Shelf account")
	if !strings.Contains(done.Text, "Every API token of your account was revoked.") {
		t.Fatalf("the confirmation does not say the tokens were revoked:\n%s", done.Text)
	}
	for what, h := range map[string]string{"the new token": "Bearer " + made, "an earlier token": "Bearer " + earlier, "an access token": "Bearer " + tr.AccessToken} {
		env.api("GET", "/api/v1/auth-test/open", h).wantRefused(t, what+" after \"This wasn't me\"", 401, "invalid_token")
	}
}

// A password reset through the reset link revokes every token of the
// account, and the access tokens issued for them.
func TestPasswordResetRevokesAPITokens(t *testing.T) {
	env := newTestEnv(t)
	authTestRoutes(env)
	const email = "reset@example.org"
	env.register(email)
	_, secret := env.newPAT(email, 0, apitokens.BooksRead)
	tr, _ := env.exchange("Bearer " + secret)
	env.api("GET", "/api/v1/auth-test/open", "Bearer "+tr.AccessToken).caller(t)

	b := env.browser()
	b.get(paths.ForgotPassword)
	b.post(paths.ForgotPassword, url.Values{"email": {email}}).wantStatus(t, http.StatusOK)
	if ms := env.waitMails(email, 2); len(ms) != 2 {
		t.Fatalf("no reset mail: %+v", ms)
	}
	link := env.lastLink(email)
	b.get(link).wantStatus(t, http.StatusOK)
	if p := b.post(link, url.Values{"password": {"a brand new passphrase"}, "password_confirm": {"a brand new passphrase"}}); p.status != http.StatusSeeOther {
		t.Fatalf("reset: %d\n%s", p.status, p.body)
	}
	env.api("GET", "/api/v1/auth-test/open", "Bearer "+secret).wantRefused(t, "a token after a password reset", 401, "invalid_token")
	env.api("GET", "/api/v1/auth-test/open", "Bearer "+tr.AccessToken).wantRefused(t, "an access token after a password reset", 401, "invalid_token")
}

// An account full of working tokens is told to revoke one, and no token
// is made nor mailed about.
func TestAPITokenCapOnTheAccountPage(t *testing.T) {
	env := newTestEnv(t)
	const owner = "reader@example.com"
	b := env.register(owner)
	for range apitokens.MaxActive {
		env.newPAT(owner, 0, apitokens.BooksRead)
	}
	b.reauth(paths.APITokens)
	b.get(paths.APITokens).wantStatus(t, 200)
	b.post(paths.APITokens, url.Values{"name": {"one more"}, "days": {"7"}, "scope": {"books:read"}}).
		wantStatus(t, http.StatusUnprocessableEntity).wantContains(t, "revoke one you no longer use first", `value="one more"`)
	if n := len(env.securityMails(owner)); n != 0 {
		t.Errorf("%d mails for a token not made", n)
	}
}
