package handlers

import (
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// Where the reader was going when they signed up (the sign-in page's next,
// passed on by its "Create an account" link) is where the waiting page and
// the confirming browser carry on to; a foreign next is dropped.
func TestSignUpCarriesOnWhereTheReaderWasGoing(t *testing.T) {
	env := newTestEnv(t)
	const next = "/books/1?from=shelf"

	login := env.browser().get("/login?next="+url.QueryEscape(next)).wantStatus(t, http.StatusOK)
	login.wantContains(t, `href="/register?next=`+html.EscapeString(url.QueryEscape(next))+`"`)

	signUp := func(email, next string) *browser {
		b := env.browser()
		b.get("/register?next="+url.QueryEscape(next)).wantStatus(t, http.StatusOK)
		p := b.post("/register", url.Values{"email": {email}, "password": {goodPassword}, "password_confirm": {goodPassword}, "next": {next}})
		if p.status != http.StatusSeeOther || p.location() != "/check-email" {
			t.Fatalf("register: %d %s\n%s", p.status, p.location(), p.body)
		}
		return b
	}

	// Confirmed on another device: the waiting page offers to sign in and
	// go on to next; a reload of the page does the same.
	computer := signUp("going@example.org", next)
	link := env.lastLink("going@example.org")
	phone := env.browser()
	phone.get(link).wantStatus(t, http.StatusOK)
	phone.post(link, nil).wantStatus(t, http.StatusOK).wantContains(t, `data-outcome="confirmed"`)
	wantLogin := html.EscapeString("/login?next=" + url.QueryEscape(next))
	computer.get("/check-email/status", htmxHeaders...).wantStatus(t, http.StatusOK).wantContains(t, `data-confirmed="true"`, wantLogin)
	if p := computer.get("/check-email"); p.status != http.StatusSeeOther || p.location() != "/login?next="+url.QueryEscape(next) {
		t.Fatalf("check-email after confirmation elsewhere: %d %q", p.status, p.location())
	}

	// Confirmed in the browser that signed up: it is signed in and goes on.
	same := signUp("here@example.org", next)
	link = env.lastLink("here@example.org")
	same.get(link).wantStatus(t, http.StatusOK)
	same.post(link, nil).wantStatus(t, http.StatusOK).wantContains(t, "Continue where you were", `href="`+html.EscapeString(next)+`"`)

	// A next off the site is dropped: the account page it is.
	off := signUp("off@example.org", "//evil.example/steal")
	link = env.lastLink("off@example.org")
	off.get(link)
	p := off.post(link, nil).wantStatus(t, http.StatusOK)
	if strings.Contains(p.body, "evil.example") || !strings.Contains(p.body, "Go to your account") {
		t.Fatalf("a foreign next was kept:\n%s", p.body)
	}
}
