package handlers

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"
)

// Several instances of Shelf on one PostgreSQL database (issue 9): a user
// cannot tell which one answered.

// Sign in on one instance, go on on another; sign out there, and the
// first no longer knows the session either.
func TestSessionsSharedByInstances(t *testing.T) {
	envs := newInstances(t, 2)
	a, b := envs[0], envs[1]
	onA := a.browser()
	onA.get("/login")
	const email = "shared-session@example.org"
	a.register(email)
	if p := onA.login(email, goodPassword); p.status != http.StatusSeeOther {
		t.Fatalf("sign in on A: %d\n%s", p.status, p.body)
	}
	onB := onA.at(b)
	onB.get("/account").wantStatus(t, http.StatusOK).wantContains(t, `data-signed-in-as="`+email+`"`)
	onB.post("/logout", nil).wantStatus(t, http.StatusSeeOther)
	if p := onA.get("/account"); p.status != http.StatusSeeOther {
		t.Fatalf("A still signed in after signing out on B: %d", p.status)
	}
}

// Failed sign-ins spread over two instances meet one limit: the account's
// five free failures, then a delay, whichever instance answers.
func TestLoginLimitsSharedByInstances(t *testing.T) {
	envs := newInstances(t, 2)
	const email = "spread@example.org"
	envs[0].register(email)
	for i := range 5 {
		env := envs[i%2]
		env.browser().login(email, "wrong guess").wantStatus(t, http.StatusUnprocessableEntity)
	}
	for _, env := range envs {
		env.browser().login(email, goodPassword).wantStatus(t, http.StatusTooManyRequests).wantContains(t, tooManyAttempts(time.Second))
	}
	// The per-network limit too: 30 failures from one address, at other
	// accounts, spread over both.
	attacker := envs[0].browser()
	for i := range 25 {
		attacker.at(envs[i%2]).login(fmt.Sprintf("guess%d@example.org", i), "wrong guess").wantStatus(t, http.StatusUnprocessableEntity)
	}
	attacker.at(envs[1]).login("guess-last@example.org", "wrong guess").wantStatus(t, http.StatusTooManyRequests)
	attacker.login("guess-last@example.org", "wrong guess").wantStatus(t, http.StatusTooManyRequests)
}

// Concurrent guesses at one account sent to two instances: no more than
// the five free failures are checked between them.
func TestConcurrentGuessesAtTwoInstances(t *testing.T) {
	envs := newInstances(t, 2)
	const email = "concurrent@example.org"
	envs[0].register(email)
	var all []int
	done := make(chan []int, 2)
	for _, env := range envs {
		attacker := env.browser()
		attacker.get("/login")
		var wrong []url.Values
		for i := range 20 {
			wrong = append(wrong, url.Values{"email": {email}, "password": {fmt.Sprintf("wrong guess %d", i)}})
		}
		go func() { done <- concurrentPosts(t, attacker, wrong, nil) }()
	}
	all = append(<-done, <-done...)
	if checked := count(all, http.StatusUnprocessableEntity); checked > 5 || checked+count(all, http.StatusTooManyRequests) != 40 {
		t.Fatalf("%d wrong passwords checked (limit 5), statuses %v", checked, all)
	}
}

// The check-your-mailbox page served by one instance moves on when the
// address is confirmed through another.
func TestConfirmationOnAnotherInstance(t *testing.T) {
	envs := newInstances(t, 2)
	a, b := envs[0], envs[1]
	const email = "elsewhere@example.org"
	waiting := a.signUp(email)
	waiting.get("/check-email").wantStatus(t, http.StatusOK).wantContains(t, `hx-get="/check-email/status"`)
	waiting.get("/check-email/status", htmxHeaders...).wantStatus(t, http.StatusNoContent) // not confirmed: nothing changes

	phone := b.browser() // the mail opened on another device, served by B
	link := b.lastLink(email)
	phone.get(link).wantStatus(t, http.StatusOK)
	phone.post(link, nil).wantStatus(t, http.StatusOK).wantContains(t, `data-outcome="confirmed"`)

	waiting.get("/check-email/status", htmxHeaders...).wantStatus(t, http.StatusOK).
		wantContains(t, `data-confirmed="true"`, `href="/login?next=%2Faccount"`)
}
