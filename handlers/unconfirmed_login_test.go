package handlers

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

// Password sign-in to an account whose address is not confirmed is refused
// like a wrong password, so "sign up, then sign in" does not tell whether
// the address already had an account, and nobody signs in to an account
// they may have made with someone else's address.

// signUpWith signs up email with password from a fresh browser.
func (env *testEnv) signUpWith(email, password string) *browser {
	env.t.Helper()
	b := env.browser()
	b.get("/register").wantStatus(env.t, http.StatusOK)
	p := b.post("/register", url.Values{"email": {email}, "password": {password}, "password_confirm": {password}})
	if p.status != http.StatusSeeOther || p.location() != "/check-email" {
		env.t.Fatalf("register: %d %s\n%s", p.status, p.location(), p.body)
	}
	return b
}

var maskedTokenRe = regexp.MustCompile(`(name="csrf-token" content="|name="_csrf" value=")[^"]*"`)

// maskTokens blanks the per-response CSRF tokens of a page.
func maskTokens(body string) string { return maskedTokenRe.ReplaceAllString(body, `${1}…"`) }

func TestSignUpThenSignInSameForTakenAndFreshAddress(t *testing.T) {
	env := newTestEnv(t)
	env.register("owner@example.org") // confirmed, with goodPassword
	const attackerPW = "amber kettle whistling"

	attempt := func(email string) page {
		env.signUpWith(email, attackerPW)
		b := env.browser()
		return b.login(email, attackerPW)
	}
	taken := attempt("owner@example.org")
	fresh := attempt("fresh@example.org")
	if taken.status != http.StatusUnprocessableEntity || fresh.status != taken.status {
		t.Fatalf("sign-in after sign-up: taken address %d, fresh address %d; want both 422", taken.status, fresh.status)
	}
	tb := strings.ReplaceAll(maskTokens(taken.body), "owner@example.org", "ADDRESS")
	fb := strings.ReplaceAll(maskTokens(fresh.body), "fresh@example.org", "ADDRESS")
	if tb != fb {
		t.Fatalf("answers differ:\n--- taken\n%s\n--- fresh\n%s", tb, fb)
	}
	if !strings.Contains(fresh.body, "confirm your address first") {
		t.Fatalf("the refusal does not say to confirm first:\n%s", fresh.body)
	}
}

// Refusals count as failed attempts, and the right password to an
// unconfirmed account signs nobody in.
func TestUnconfirmedSignInCountsAsFailure(t *testing.T) {
	env := newTestEnv(t)
	const email = "pending@example.org"
	env.signUp(email)
	b := env.browser()
	for i := range 5 {
		p := b.login(email, goodPassword)
		if p.status != http.StatusUnprocessableEntity {
			t.Fatalf("attempt %d: %d, want 422", i+1, p.status)
		}
		if b.cookie(deviceCookieName) != nil {
			t.Fatal("a refused sign-in got a device cookie")
		}
	}
	if p := b.login(email, goodPassword); p.status != http.StatusTooManyRequests {
		t.Fatalf("6th sign-in to an unconfirmed account: %d, want 429", p.status)
	}
	b.get("/account").wantStatus(t, http.StatusSeeOther)
}

// The browser that signed up is signed in by confirming there; confirming
// in another browser lets the password sign in; and a password reset
// confirms the address, for a reader who lost the confirmation mail.
func TestUnconfirmedAccountWaysIn(t *testing.T) {
	env := newTestEnv(t)

	a := env.signUp("same@example.org")
	link := env.lastLink("same@example.org")
	a.get(link).wantStatus(t, http.StatusOK)
	a.post(link, nil).wantStatus(t, http.StatusOK).wantContains(t, `data-outcome="confirmed"`, "Go to your account")
	a.get("/account").wantStatus(t, http.StatusOK)

	env.signUp("other@example.org")
	o := env.browser()
	if p := o.login("other@example.org", goodPassword); p.status != http.StatusUnprocessableEntity {
		t.Fatalf("unconfirmed sign-in: %d", p.status)
	}
	link = env.lastLink("other@example.org")
	o.get(link).wantStatus(t, http.StatusOK)
	o.post(link, nil).wantStatus(t, http.StatusOK).wantContains(t, `data-outcome="confirmed"`)
	env.clock.Advance(time.Hour) // past the limits of the refused attempt
	if p := o.login("other@example.org", goodPassword); p.status != http.StatusSeeOther {
		t.Fatalf("sign-in after confirming elsewhere: %d\n%s", p.status, p.body)
	}

	env.signUp("lost@example.org")
	r := env.browser()
	r.get("/password/forgot")
	r.post("/password/forgot", url.Values{"email": {"lost@example.org"}}).wantStatus(t, http.StatusOK)
	env.waitMails("lost@example.org", 2)
	reset := env.lastLink("lost@example.org")
	r.get(reset).wantStatus(t, http.StatusOK)
	newPW := "quiet orange lantern"
	if p := r.post(reset, url.Values{"password": {newPW}, "password_confirm": {newPW}}); p.status != http.StatusSeeOther {
		t.Fatalf("reset: %d\n%s", p.status, p.body)
	}
	if !env.user("lost@example.org").Confirmed() {
		t.Fatal("a password reset did not confirm the address")
	}
	l := env.browser()
	if p := l.login("lost@example.org", newPW); p.status != http.StatusSeeOther {
		t.Fatalf("sign-in after reset: %d", p.status)
	}
}
