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

// A visitor who pressed a shelf button and chose "Create an account" on the
// sign-in page is told, as on the sign-in page, what the account will do;
// and "Already have an account? Sign in" takes them back with where they
// were going: it linked to a bare /login, which dropped the book.
func TestSignUpFromAShelfButton(t *testing.T) {
	env, _ := shelfEnv(t)
	pending := "/shelves/pending?book=2&shelf=reading&back=%2Fsearch%3Fq%3Ddune"
	p := env.browser().get("/register?next="+url.QueryEscape(pending)).wantStatus(t, http.StatusOK)
	p.wantContains(t, `<p class="flash ok" role="status">Create an account to put “Dune” on Reading. Once your address is confirmed, you will come back to where you were.</p>`,
		`name="next" value="`+html.EscapeString(pending)+`"`,
		`Already have an account? <a href="/login?next=`+html.EscapeString(url.QueryEscape(pending))+`">Sign in</a>`)

	// Without a next, or with another one: no notice, and a plain link.
	p = env.browser().get("/register").wantStatus(t, http.StatusOK).wantContains(t, `Already have an account? <a href="/login">Sign in</a>`)
	if strings.Contains(p.body, "Create an account to put") {
		t.Error("the sign-up page speaks of a book without one")
	}
	p = env.browser().get("/register?next=%2Fbooks%2F2").wantStatus(t, http.StatusOK).wantContains(t, `<a href="/login?next=%2Fbooks%2F2">Sign in</a>`)
	if strings.Contains(p.body, `role="status"`) {
		t.Error("the sign-up page has a notice for a next that is not a shelf change")
	}
}
