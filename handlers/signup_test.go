package handlers

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"shelf/store/accounts"
)

var tokenValueRe = regexp.MustCompile(`(name="_csrf" value="|name="csrf-token" content=")[^"]+`)

// sameExceptTokens compares two pages after blanking CSRF tokens and
// replacing each page's own address with "ADDRESS".
func sameExceptTokens(t *testing.T, what string, a, b page, addrA, addrB string) {
	t.Helper()
	norm := func(p page, addr string) string {
		return strings.ReplaceAll(tokenValueRe.ReplaceAllString(p.body, "${1}TOKEN"), addr, "ADDRESS")
	}
	if a.status != b.status {
		t.Fatalf("%s: status %d vs %d", what, a.status, b.status)
	}
	if a.location() != b.location() {
		t.Fatalf("%s: Location %q vs %q", what, a.location(), b.location())
	}
	if na, nb := norm(a, addrA), norm(b, addrB); na != nb {
		t.Fatalf("%s: bodies differ:\n%s\n---\n%s", what, na, nb)
	}
	cookieShape := func(p page) []string {
		var out []string
		for _, c := range p.header.Values("Set-Cookie") {
			name, rest, _ := strings.Cut(c, "=")
			_, attrs, _ := strings.Cut(rest, ";")
			out = append(out, name+"=…;"+regexp.MustCompile(`Expires=[^;]*`).ReplaceAllString(attrs, "Expires=…"))
		}
		return out
	}
	if ca, cb := strings.Join(cookieShape(a), "\n"), strings.Join(cookieShape(b), "\n"); ca != cb {
		t.Fatalf("%s: cookies differ:\n%s\n---\n%s", what, ca, cb)
	}
}

// Item 8: an address that already has an account and a new one get the
// same answers, in place, on submit and on the pages after it; the owner of
// the taken address gets a mail (at most hourly) instead.
func TestSignUpDoesNotTellTaken(t *testing.T) {
	env := newTestEnv(t)
	env.register("owner@example.org")

	taken, fresh := env.browser(), env.browser()
	taken.get("/register")
	fresh.get("/register")

	// In place.
	vt := taken.htmx("/register/validate/email", url.Values{"email": {"OWNER@example.org"}})
	vf := fresh.htmx("/register/validate/email", url.Values{"email": {"NEWER@example.org"}})
	sameExceptTokens(t, "in-place check", vt, vf, "OWNER@example.org", "NEWER@example.org")

	// Submit, without and with htmx.
	form := func(email string) url.Values {
		return url.Values{"email": {email}, "password": {goodPassword}, "password_confirm": {goodPassword}}
	}
	st := taken.post("/register", form("owner@example.org"))
	sf := fresh.post("/register", form("newer@example.org"))
	sameExceptTokens(t, "submit", st, sf, "owner@example.org", "newer@example.org")
	if st.status != http.StatusSeeOther || st.location() != "/check-email" || len(st.header.Values("Set-Cookie")) == 0 {
		t.Fatalf("submit: %d %q, cookies %v", st.status, st.location(), st.header.Values("Set-Cookie"))
	}
	htmxTaken, htmxFresh := env.browser(), env.browser()
	htmxTaken.get("/register")
	htmxFresh.get("/register")
	sameExceptTokens(t, "htmx submit", htmxTaken.htmx("/register", form("owner@example.org")),
		htmxFresh.htmx("/register", form("newest@example.org")), "owner@example.org", "newest@example.org")

	// The pages that follow.
	for _, path := range []string{"/check-email", "/check-email/status", "/account", "/register", "/login"} {
		sameExceptTokens(t, "GET "+path, taken.get(path), fresh.get(path), "owner@example.org", "newer@example.org")
	}
	sameExceptTokens(t, "status poll", taken.get("/check-email/status", htmxHeaders...), fresh.get("/check-email/status", htmxHeaders...),
		"owner@example.org", "newer@example.org")
	env.clock.Advance(20 * time.Second)
	sameExceptTokens(t, "early resend", taken.post("/check-email/resend", nil), fresh.post("/check-email/resend", nil),
		"owner@example.org", "newer@example.org")
	env.clock.Advance(time.Minute)
	rt := taken.post("/check-email/resend", nil)
	sameExceptTokens(t, "resend", rt, fresh.post("/check-email/resend", nil), "owner@example.org", "newer@example.org")
	rt.wantStatus(t, http.StatusOK).wantContains(t, "We sent a new link")
	if n := len(env.mails("newer@example.org")); n != 2 {
		t.Fatalf("new address: %d confirmation mails, want 2 (sign-up and resend)", n)
	}

	// The owner was told, once, with links built from the base URL; the
	// account is unchanged.
	ms := env.mails("owner@example.org")
	var notices []sentMail
	for _, m := range ms {
		if m.Subject == "Someone tried to sign up at Shelf with your address" {
			notices = append(notices, m)
		}
	}
	if len(notices) != 1 || len(ms) != 2 {
		t.Fatalf("owner got %d mails, %d notices; want the confirmation and one notice", len(ms), len(notices))
	}
	for _, part := range []string{notices[0].Text, notices[0].HTML} {
		for _, want := range []string{"owner@example.org", "http://shelf.test/login", "http://shelf.test/password/forgot", "sign in"} {
			if !strings.Contains(part, want) {
				t.Fatalf("notice lacks %q:\n%s", want, part)
			}
		}
	}
	// An hour later another attempt tells the owner again.
	env.clock.Advance(time.Hour)
	again := env.browser()
	again.get("/register")
	again.post("/register", form("owner@example.org")).wantStatus(t, http.StatusSeeOther)
	if n := len(env.mails("owner@example.org")); n != 3 {
		t.Fatalf("owner has %d mails after an hour, want 3", n)
	}
	b := env.browser()
	b.get("/login")
	b.post("/login", url.Values{"email": {"owner@example.org"}, "password": {goodPassword}}).wantStatus(t, http.StatusSeeOther)
}

// Item 5: the confirmation page needs a click, says where the account was
// created, and nothing on it or in the script submits by itself.
func TestConfirmPageShowsOriginAndNeedsAClick(t *testing.T) {
	env := newTestEnv(t)
	b := env.browser()
	b.get("/register")
	form := url.Values{"email": {"origin@example.org"}, "password": {goodPassword}, "password_confirm": {goodPassword}, "_csrf": {b.csrf}}
	req, _ := http.NewRequest(http.MethodPost, env.srv.URL+"/register", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0 <b>x</b>")
	b.do(req).wantStatus(t, http.StatusSeeOther)
	link := env.lastLink("origin@example.org")

	created := env.clock.Now().UTC().Format(displayTime)
	p := env.browser().get(link).wantStatus(t, http.StatusOK).wantContains(t,
		`id="confirm-form"`, `id="not-me-form"`, `action="`+link+`/not-me"`, "I didn't create this account",
		`<span id="confirm-created">`+created+`</span>`, `<span id="confirm-browser">Firefox on Linux</span>`, `<span id="confirm-ip">127.0.0.1</span>`)
	if strings.Contains(p.body, "autosubmit") || strings.Contains(p.body, "<b>x") {
		t.Fatalf("confirmation page auto-submits or echoes the User-Agent:\n%s", p.body)
	}
	script := regexp.MustCompile(`<script src="(/static/app\.[^"]+\.js)"`).FindStringSubmatch(p.body)
	if script == nil {
		t.Fatal("no app.js on the page")
	}
	resp, err := http.Get(env.srv.URL + script[1])
	if err != nil {
		t.Fatal(err)
	}
	js, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || strings.Contains(string(js), "requestSubmit") || strings.Contains(string(js), ".submit(") {
		t.Fatalf("app.js (status %d) still submits forms by itself", resp.StatusCode)
	}
	if env.user("origin@example.org").Confirmed() {
		t.Fatal("viewing the page confirmed the account")
	}

	mail := env.mails("origin@example.org")[0]
	for _, part := range []string{mail.Text, mail.HTML} {
		if !strings.Contains(part, "Did not sign up?") || !strings.Contains(part, "t create this account") {
			t.Fatalf("the mail does not say what to do if you did not sign up:\n%s", part)
		}
	}
}

// Item 5: "I didn't create this account" deletes the unconfirmed account and
// ends every session holding it: the attacker's sign-up session and a
// session signed in to it (password sign-in to an unconfirmed account is
// refused now, but sessions from before that may hold one).
func TestNotMeDeletesAccountAndEndsSessions(t *testing.T) {
	env := newTestEnv(t)
	pending := env.signUp("victim@example.org")
	if p := env.browser().login("victim@example.org", goodPassword); p.status != http.StatusUnprocessableEntity {
		t.Fatalf("sign-in to the unconfirmed account: %d, want 422", p.status)
	}
	signedIn := env.browser().signInUnconfirmed("victim@example.org")
	id := env.user("victim@example.org").ID
	var n int
	env.db.Read.QueryRow(`SELECT count(*) FROM sessions WHERE user_id = $1`, id).Scan(&n)
	if n != 2 {
		t.Fatalf("%d sessions for the account before, want 2", n)
	}

	link := env.lastLink("victim@example.org")
	victim := env.browser()
	victim.get(link).wantStatus(t, http.StatusOK)
	victim.post(link+"/not-me", nil).wantStatus(t, http.StatusOK).wantContains(t, `data-outcome="deleted"`, "victim@example.org")

	if _, err := env.app.Accounts.UserByEmail(context.Background(), "victim@example.org"); err == nil {
		t.Fatal("account still exists")
	}
	env.db.Read.QueryRow(`SELECT count(*) FROM sessions WHERE user_id = $1`, id).Scan(&n)
	if n != 0 {
		t.Fatalf("%d sessions still hold the account", n)
	}
	if p := signedIn.get("/check-email"); p.status != http.StatusSeeOther || !strings.HasPrefix(p.location(), "/login") {
		t.Fatalf("the signed-in session survived: %d %q", p.status, p.location())
	}
	if p := pending.get("/check-email"); p.status != http.StatusSeeOther || !strings.HasPrefix(p.location(), "/login") {
		t.Fatalf("the sign-up session survived: %d %q", p.status, p.location())
	}
	// The link is used up, and the address is free for its owner.
	victim.post(link, nil).wantStatus(t, http.StatusNotFound)
	env.signUp("victim@example.org")
	if env.user("victim@example.org").Confirmed() {
		t.Fatal("new account confirmed")
	}
}

// Item 5: only a usable link of an unconfirmed account deletes it.
func TestNotMeRefusesUsedExpiredAndConfirmed(t *testing.T) {
	env := newTestEnv(t)
	exists := func(email string) bool {
		_, err := env.app.Accounts.UserByEmail(context.Background(), email)
		return err == nil
	}
	b := env.browser()
	b.get("/login")

	// Used: the account was confirmed with the link.
	env.signUp("used@example.org")
	used := env.lastLink("used@example.org")
	b.post(used, nil).wantStatus(t, http.StatusOK)
	b.post(used+"/not-me", nil).wantContains(t, `data-outcome="already-confirmed"`)

	// Expired.
	env.signUp("expired@example.org")
	expired := env.lastLink("expired@example.org")
	env.clock.Advance(48*time.Hour + time.Second)
	b.get("/login")
	b.post(expired+"/not-me", nil).wantStatus(t, http.StatusGone).wantContains(t, `data-outcome="expired"`)

	// Superseded by a resend.
	s := env.signUp("old@example.org")
	old := env.lastLink("old@example.org")
	env.clock.Advance(time.Minute)
	s.get("/check-email")
	s.post("/check-email/resend", nil).wantStatus(t, http.StatusOK)
	b.post(old+"/not-me", nil).wantStatus(t, http.StatusGone).wantContains(t, `data-outcome="superseded"`)

	// Confirmed another way (a password reset proves the address): its
	// still unused confirmation link cannot delete it.
	env.signUp("reset@example.org")
	unused := env.lastLink("reset@example.org")
	b.post("/password/forgot", url.Values{"email": {"reset@example.org"}}).wantStatus(t, http.StatusOK)
	env.waitMails("reset@example.org", 2)
	reset := env.lastLink("reset@example.org")
	pw := "a brand new passphrase"
	b.post(reset, url.Values{"password": {pw}, "password_confirm": {pw}}).wantStatus(t, http.StatusSeeOther)
	anon := env.browser()
	anon.get("/login")
	anon.get(unused).wantContains(t, `data-outcome="already-confirmed"`)
	anon.post(unused+"/not-me", nil).wantContains(t, `data-outcome="already-confirmed"`)

	for _, e := range []string{"used@example.org", "expired@example.org", "old@example.org", "reset@example.org"} {
		if !exists(e) {
			t.Errorf("%s was deleted", e)
		}
	}
}

// Item 9: the forgot request does the same work for every address: it
// records the request and nothing else, and answers byte for byte the same;
// the worker then sends mail only to an account.
func TestForgotDoesTheSameWorkForEveryAddress(t *testing.T) {
	env := newTestEnvWith(t, func(_ *Deps, s *Settings) { s.manualResets = true })
	env.register("known@example.org")
	outbox := func() (n int) {
		env.db.Read.QueryRow(`SELECT count(*) FROM outbox`).Scan(&n)
		return n
	}
	before := outbox()

	known, unknown := env.browser(), env.browser()
	known.get("/password/forgot")
	unknown.get("/password/forgot")
	pk := known.post("/password/forgot", url.Values{"email": {"known@example.org"}})
	pu := unknown.post("/password/forgot", url.Values{"email": {"ghost@example.org"}})
	sameExceptTokens(t, "forgot", pk, pu, "known@example.org", "ghost@example.org")
	pk.wantStatus(t, http.StatusOK)

	var queued int
	env.db.Read.QueryRow(`SELECT count(*) FROM reset_requests`).Scan(&queued)
	if queued != 2 || outbox() != before {
		t.Fatalf("the request path did more than record: %d requests queued, outbox %d -> %d", queued, before, outbox())
	}

	if err := env.app.HandleResetRequests(context.Background()); err != nil {
		t.Fatal(err)
	}
	env.db.Read.QueryRow(`SELECT count(*) FROM reset_requests`).Scan(&queued)
	ms := env.mails("known@example.org")
	if queued != 0 || len(env.mails("ghost@example.org")) != 0 || len(ms) != 2 || ms[1].Subject != "Reset your Shelf password" {
		t.Fatalf("after the worker: %d queued, mails %+v", queued, ms)
	}
}

// Item 9: the worker started with the handler sends requests recorded
// before (a restart), and later ones as they come.
func TestResetWorkerSendsMail(t *testing.T) {
	env := newTestEnv(t)
	env.register("later@example.org")
	if err := env.app.Accounts.RecordResetRequest(context.Background(), "later@example.org", env.clock.Now()); err != nil {
		t.Fatal(err)
	}
	// A restarted server: a new App over the same database.
	if _, err := New(Deps{DB: env.db, Logger: slog.New(slog.DiscardHandler), Now: env.clock.Now, Mailer: env.mailer},
		Settings{BaseURL: env.app.BaseURL, Accounts: AccountSettings{Hash: testHash}, SecretKey: testSecretKey}); err != nil {
		t.Fatal(err)
	}
	if ms := env.waitMails("later@example.org", 2); len(ms) != 2 {
		t.Fatalf("request recorded before the start not sent: %d mails", len(ms))
	}
	b := env.browser()
	b.get("/password/forgot")
	b.post("/password/forgot", url.Values{"email": {"later@example.org"}}).wantStatus(t, http.StatusOK)
	if ms := env.waitMails("later@example.org", 3); len(ms) != 3 || ms[2].Subject != "Reset your Shelf password" {
		t.Fatalf("mails: %+v", ms)
	}
}

// Confirming in the browser that signed up signs it in: one visit, as before.
func TestConfirmInSigningUpBrowserSignsIn(t *testing.T) {
	env := newTestEnv(t)
	b := env.signUp("same@example.org")
	link := env.lastLink("same@example.org")
	b.get(link).wantStatus(t, http.StatusOK)
	b.post(link, nil).wantStatus(t, http.StatusOK).wantContains(t, `data-outcome="confirmed"`, "Go to your account")
	b.get("/account").wantStatus(t, http.StatusOK).wantContains(t, `id="account-email">same@example.org<`)
}

// Someone signs up with another person's address before they do. When the
// owner then signs up, the unconfirmed account becomes theirs: their
// password and a new link, while the earlier sign-up's link, password and
// browser no longer hold it. Before, the owner was mailed "sign in instead",
// could not, and confirmed the only link in their mailbox: the other's.
func TestSignUpRetakesUnconfirmed(t *testing.T) {
	env := newTestEnv(t)
	const email = "owner@example.org"
	signUp := func(pw string) *browser {
		b := env.browser()
		b.get("/register").wantStatus(t, http.StatusOK)
		p := b.post("/register", url.Values{"email": {email}, "password": {pw}, "password_confirm": {pw}})
		if p.status != http.StatusSeeOther || p.location() != "/check-email" {
			t.Fatalf("sign-up: %d %q\n%s", p.status, p.location(), p.body)
		}
		return b
	}
	const otherPW, ownerPW = "someone else's secret", "the owner's own secret"
	other := signUp(otherPW)
	othersLink := env.lastLink(email)
	env.clock.Advance(2 * time.Minute) // past the one-mail-a-minute limit
	owner := signUp(ownerPW)

	ms := env.mails(email)
	if len(ms) != 2 || ms[1].Subject != "Confirm your Shelf account" {
		t.Fatalf("mails to the owner: %+v", ms)
	}
	ownersLink := env.lastLink(email)
	if ownersLink == othersLink {
		t.Fatal("the owner got the earlier sign-up's link")
	}
	// The earlier link is superseded, and its browser holds nothing.
	other.get(othersLink).wantStatus(t, http.StatusGone)
	if p := other.get("/check-email"); p.status != http.StatusSeeOther || !strings.HasPrefix(p.location(), "/login") {
		t.Fatalf("the earlier sign-up's browser still holds the sign-up: %d %q", p.status, p.location())
	}
	// The owner confirms in their browser and is signed in.
	owner.get(ownersLink).wantStatus(t, http.StatusOK)
	owner.post(ownersLink, nil).wantStatus(t, http.StatusOK)
	owner.get("/account").wantStatus(t, http.StatusOK).wantContains(t, email)
	// Only the owner's password signs in.
	b := env.browser()
	b.get("/login")
	b.post("/login", url.Values{"email": {email}, "password": {otherPW}}).wantStatus(t, http.StatusUnprocessableEntity)
	b.post("/login", url.Values{"email": {email}, "password": {ownerPW}}).wantStatus(t, http.StatusSeeOther)
}

// The check-your-mailbox page waits for the confirmation: it polls a
// status that reads the database (htmx, every 2 s) and, once the address
// is confirmed in any browser, says so and offers the next step; polling
// stops then. Without htmx the same status is a page of its own.
func TestCheckEmailWaitsForConfirmation(t *testing.T) {
	env := newTestEnv(t)
	const email = "waiting@example.org"
	b := env.signUp(email)
	b.get("/check-email").wantStatus(t, http.StatusOK).
		wantContains(t, `id="confirmation-status"`, `hx-get="/check-email/status"`, `hx-trigger="every 2s"`)

	poll := func(status int) page {
		t.Helper()
		p := b.get("/check-email/status", htmxHeaders...).wantStatus(t, status)
		if strings.Contains(p.body, "<html") {
			t.Fatalf("a whole page for htmx:\n%s", p.body)
		}
		if p.header.Get("Cache-Control") != "no-store" || !p.varies("HX-Request") || !p.varies("Cookie") {
			t.Fatalf("headers %v", p.header)
		}
		return p
	}
	// Unconfirmed, nothing changes: the page keeps its content (and its
	// live region stays quiet) and goes on asking.
	if p := poll(http.StatusNoContent); p.body != "" {
		t.Fatalf("a body with 204:\n%s", p.body)
	}
	b.get("/check-email/status").wantStatus(t, http.StatusOK).wantContains(t, "<html", `data-confirmed="false"`, `href="/check-email/status"`)

	// Confirmed from another browser: this one is told to sign in.
	other := env.browser()
	link := env.lastLink(email)
	other.get(link)
	other.post(link, nil).wantStatus(t, http.StatusOK).wantContains(t, `data-outcome="confirmed"`)
	p := poll(http.StatusOK).wantContains(t, `data-confirmed="true"`, "Sign in", `href="/login?next=%2Faccount"`, "<title>Address confirmed · Shelf</title>")
	if strings.Contains(p.body, "hx-trigger") {
		t.Fatalf("still polling once confirmed:\n%s", p.body)
	}
	b.get("/check-email/status").wantStatus(t, http.StatusOK).wantContains(t, "<html", `data-confirmed="true"`)
	// Signing in then ends the pending sign-up.
	b.login(email, goodPassword).wantStatus(t, http.StatusSeeOther)
	b.get("/account").wantStatus(t, http.StatusOK)
	if _, ok := sessionValue(t, env, b, sessPendingEmail); ok {
		t.Fatal("the pending sign-up outlived the sign-in")
	}
}

// Confirmed in another tab of the browser that signed up, which that signs
// in: the waiting page offers the account.
func TestCheckEmailConfirmedInThisBrowser(t *testing.T) {
	env := newTestEnv(t)
	const email = "same-browser@example.org"
	b := env.signUp(email)
	link := env.lastLink(email)
	b.get(link)
	b.post(link, nil).wantStatus(t, http.StatusOK).wantContains(t, `data-outcome="confirmed"`)
	b.get("/check-email/status", htmxHeaders...).wantStatus(t, http.StatusOK).
		wantContains(t, `data-confirmed="true"`, "Go to your account", `href="/account"`)
}

// The status is only for the browser that signed up (or is signed in):
// others are sent to sign in, and learn nothing about any account.
func TestCheckEmailStatusNeedsThePendingSignUp(t *testing.T) {
	env := newTestEnv(t)
	env.register("someone@example.org")
	stranger := env.browser()
	if p := stranger.get("/check-email/status"); p.status != http.StatusSeeOther || p.location() != "/login?next=%2Fcheck-email" {
		t.Fatalf("no session: %d %q", p.status, p.location())
	}
	if p := stranger.get("/check-email/status", htmxHeaders...); p.header.Get("HX-Redirect") != "/login?next=%2Fcheck-email" {
		t.Fatalf("no session, htmx: %d %v", p.status, p.header)
	}
}

// A second sign-up within the minute (a double submit, or the owner right
// after someone else) ends the first link and mails a new one at once.
// Before, it ended the link and sent nothing until the minute was over:
// the only mail held a dead link, while the page said one was on its way.
// The day's cap on resends still bounds the mail to the address.
func TestSignUpAgainWithinTheMinuteMailsANewLink(t *testing.T) {
	env := newTestEnv(t)
	const email = "twice@example.org"
	first := env.signUp(email)
	firstLink := env.lastLink(email)
	env.clock.Advance(5 * time.Second)
	second := env.signUp(email)
	if n := len(env.mails(email)); n != 2 {
		t.Fatalf("%d mails after two sign-ups within the minute, want 2", n)
	}
	secondLink := env.lastLink(email)
	if secondLink == firstLink {
		t.Fatal("the second sign-up got no new link")
	}
	first.get(firstLink).wantStatus(t, http.StatusGone)
	second.get(secondLink).wantStatus(t, http.StatusOK)
	second.post(secondLink, nil).wantStatus(t, http.StatusOK).wantContains(t, `data-outcome="confirmed"`)

	// Sign-ups over and over: one first mail, then at most ResendPerDay.
	const again = "again@example.org"
	env.app.Limits.RegisterIP.Limit = 1 << 30 // the network's sign-up limit is not what this tests
	for range accounts.ResendPerDay + 3 {
		b := env.browser()
		b.get("/register")
		b.post("/register", url.Values{"email": {again}, "password": {goodPassword}, "password_confirm": {goodPassword}}).
			wantStatus(t, http.StatusSeeOther)
		env.clock.Advance(time.Second)
	}
	if n := len(env.mails(again)); n != 1+accounts.ResendPerDay {
		t.Fatalf("%d mails after %d sign-ups, want %d", n, accounts.ResendPerDay+4, 1+accounts.ResendPerDay)
	}
}

// Every link and button that leads to signing up says "Create an account",
// and the page they lead to is headed so: the header said "Create account",
// Sign in "Create an account" and the sign-up page "Create your account".
func TestCreateAnAccountIsSaidOneWay(t *testing.T) {
	env := newTestEnv(t)
	b := env.browser()
	for path, wants := range map[string][]string{
		"/":            {`<a href="/register">Create an account</a>`},
		"/login":       {`<a href="/register">Create an account</a>`, `>Create an account</a></p>`},
		"/login/email": {`<a href="/register">Create an account</a>`, `<a class="action-link" href="/register">Create an account</a>`},
		"/register": {`<a href="/register">Create an account</a>`, `<title>Create an account`, `<h1>Create an account</h1>`,
			`<button type="submit">Create an account</button>`},
	} {
		p := b.get(path).wantStatus(t, http.StatusOK).wantContains(t, wants...)
		for _, other := range []string{"Create account", "Create your account"} {
			if strings.Contains(p.body, other) {
				t.Errorf("%s says %q", path, other)
			}
		}
	}
}

// The confirmation mail and the page that waits for it say the same about
// its link, and it is true: it works for 48 hours and only once, and a
// newer mail stops it, as only the newest mail's link works. The mail
// said "for 48 hours and only once", the page "only the link in the newest
// email works", each leaving out what the other said.
func TestConfirmationLinkLifetimeIsSaidTheSameWay(t *testing.T) {
	env := newTestEnv(t)
	const once = "The link works for 48 hours and only once."
	const newest = "Only the link in the newest email works:"
	s := env.signUp("twice@example.org")
	s.get("/check-email").wantStatus(t, http.StatusOK).wantContains(t,
		once+" "+newest+" each new email stops the links in earlier ones.")
	ms := env.mails("twice@example.org")
	if len(ms) != 1 {
		t.Fatalf("%d mails", len(ms))
	}
	inMail := func(m sentMail, valid string) {
		t.Helper()
		want := "The link works for " + valid + " and only once. " + newest + " if we send you another, this one stops working."
		for _, part := range []string{strings.Join(strings.Fields(m.Text), " "), m.HTML} {
			if !strings.Contains(part, want) {
				t.Errorf("%q lacks %q:\n%s", m.Subject, want, part)
			}
		}
	}
	inMail(ms[0], "48 hours")

	// True: a resent mail stops the first link; the new one works, once.
	first := env.lastLink("twice@example.org")
	env.clock.Advance(time.Minute)
	s.get("/check-email")
	s.post("/check-email/resend", nil).wantStatus(t, http.StatusOK)
	second := env.lastLink("twice@example.org")
	b := env.browser()
	b.get("/login")
	b.post(first, nil).wantStatus(t, http.StatusGone).wantContains(t, `data-outcome="superseded"`)
	b.post(second, nil).wantStatus(t, http.StatusOK).wantContains(t, `data-outcome="confirmed"`)
	again := env.browser()
	again.get("/login")
	if p := again.post(second, nil); !strings.Contains(p.body, `data-outcome="already-confirmed"`) {
		t.Errorf("the link used a second time: %d\n%s", p.status, p.body)
	}

	// A password reset's mail says the same of its link, which a newer
	// reset mail stops too.
	again.get("/password/forgot")
	again.post("/password/forgot", url.Values{"email": {"twice@example.org"}}).wantStatus(t, http.StatusOK)
	ms = env.waitMails("twice@example.org", 3)
	if m := ms[len(ms)-1]; m.Subject != "Reset your Shelf password" {
		t.Fatalf("the newest mail is %q", m.Subject)
	} else {
		inMail(m, "1 hour")
	}
}
