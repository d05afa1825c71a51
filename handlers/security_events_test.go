package handlers

import (
	"context"
	"database/sql"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"shelf/store/security"
)

const (
	firefoxLinux = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
	safariIPhone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)

var notMeLinkRe = regexp.MustCompile(`http://shelf\.test(/security/not-me/[A-Za-z0-9_\-]+)`)

// notMeLink returns the "This wasn't me" link of security mail m, checking
// it is the same in the text and HTML parts.
func notMeLink(t *testing.T, m sentMail) string {
	t.Helper()
	tm, hm := notMeLinkRe.FindStringSubmatch(m.Text), notMeLinkRe.FindStringSubmatch(m.HTML)
	if tm == nil || hm == nil || tm[1] != hm[1] {
		t.Fatalf("no \"This wasn't me\" link, or different in text and HTML:\n%s\n%s", m.Text, m.HTML)
	}
	return tm[1]
}

// wantSecurityMail checks the newest security mail to `to`: its subject, and
// that both parts give the time, the address and the browser.
func wantSecurityMail(t *testing.T, env *testEnv, to string, n int, subject, browser string) sentMail {
	t.Helper()
	ms := env.securityMails(to)
	if len(ms) != n {
		t.Fatalf("%d security mails to %s, want %d: %+v", len(ms), to, n, ms)
	}
	m := ms[n-1]
	if m.Subject != subject {
		t.Fatalf("subject %q, want %q", m.Subject, subject)
	}
	when := env.clock.Now().UTC().Format(displayTime)
	for _, part := range []string{m.Text, html.UnescapeString(m.HTML)} {
		for _, want := range []string{when, "127.0.0.1", browser, "This wasn't me", "7 days"} {
			if !strings.Contains(part, want) {
				t.Fatalf("security mail lacks %q:\n%s", want, part)
			}
		}
	}
	return m
}

func userSessions(t *testing.T, env *testEnv, email string) int {
	t.Helper()
	var n int
	if err := env.db.Read.QueryRow(`SELECT count(*) FROM sessions WHERE user_id = $1`, env.user(email).ID).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// A sign-in from a browser without the account's device cookie mails the
// owner; one from a device that signed in before does not.
func TestNewDeviceSignInMail(t *testing.T) {
	env := newTestEnv(t)
	email := "devices@example.org"
	first := env.register(email) // signed in by confirming: its device
	if n := len(env.securityMails(email)); n != 0 {
		t.Fatalf("%d security mails after sign-up", n)
	}
	first.post("/logout", nil).wantStatus(t, http.StatusSeeOther)
	first.get("/login")
	first.login(email, goodPassword).wantStatus(t, http.StatusSeeOther)
	if n := len(env.securityMails(email)); n != 0 {
		t.Fatalf("a known device's sign-in was mailed: %d", n)
	}

	phone := env.browser()
	phone.ua = safariIPhone
	phone.login(email, "wrong password").wantStatus(t, http.StatusUnprocessableEntity)
	if n := len(env.securityMails(email)); n != 0 {
		t.Fatal("a failed sign-in was mailed")
	}
	phone.login(email, goodPassword).wantStatus(t, http.StatusSeeOther)
	m := wantSecurityMail(t, env, email, 1, "New sign-in to your Shelf account", "Safari on iPhone")
	notMeLink(t, m)

	// That browser is now a device of the account.
	phone.get("/account")
	phone.post("/logout", nil)
	phone.get("/login")
	phone.login(email, goodPassword).wantStatus(t, http.StatusSeeOther)
	if n := len(env.securityMails(email)); n != 1 {
		t.Fatalf("the phone's second sign-in was mailed: %d mails", n)
	}
}

// "This wasn't me", from a browser with no cookies at all: the page changes
// nothing; its POST ends every session, runs the kind's undo hook, blocks
// password sign-in (said only after the right password) until a reset link
// is used, mails a confirmation, and signs nobody in. The link works once.
func TestNotMeFromSignedOutBrowser(t *testing.T) {
	env := newTestEnv(t)
	email := "owner@example.org"
	owner := env.register(email)
	intruder := env.browser()
	intruder.ua = firefoxLinux
	intruder.login(email, goodPassword).wantStatus(t, http.StatusSeeOther)
	intruder.get("/account").wantStatus(t, http.StatusOK)
	m := wantSecurityMail(t, env, email, 1, "New sign-in to your Shelf account", "Firefox on Linux")
	link := notMeLink(t, m)

	var hooked []security.Event
	env.app.OnNotMe(EventNewDevice, func(ctx context.Context, tx *sql.Tx, ev security.Event) (string, error) {
		hooked = append(hooked, ev)
		return "The test hook undid it.", nil
	})

	fresh := env.browser()
	for range 2 { // a mail scanner, then the owner
		fresh.get(link).wantStatus(t, http.StatusOK).wantContains(t, "Wasn't this you?", "Firefox on Linux", "127.0.0.1",
			`id="not-me-form"`, "new-device"[:0]+"signed in to your Shelf account from a device")
	}
	if n := userSessions(t, env, email); n != 2 || len(hooked) != 0 {
		t.Fatalf("opening the link changed something: %d sessions, %d hook runs", n, len(hooked))
	}
	owner.get("/account").wantStatus(t, http.StatusOK)

	fresh.post(link, nil).wantStatus(t, http.StatusOK).wantContains(t, `data-outcome="secured"`, "/password/forgot")
	if n := userSessions(t, env, email); n != 0 {
		t.Fatalf("%d sessions left", n)
	}
	for name, b := range map[string]*browser{"owner": owner, "intruder": intruder, "the link's browser": fresh} {
		if p := b.get("/account"); p.status != http.StatusSeeOther || !strings.HasPrefix(p.location(), "/login") {
			t.Fatalf("%s still signed in: %d %s", name, p.status, p.location())
		}
	}
	if c := fresh.sessionCookie(); c != nil {
		if _, found, _ := env.app.SessionStore.FindCtx(context.Background(), storedToken(c.Value)); found {
			t.Fatal("the link's browser got a session")
		}
	}
	if len(hooked) != 1 || hooked[0].Kind != EventNewDevice || hooked[0].Browser != "Firefox on Linux" {
		t.Fatalf("undo hook ran with %+v", hooked)
	}
	done := env.securityMails(email)
	if len(done) != 2 || done[1].Subject != "We secured your Shelf account" ||
		!strings.Contains(done[1].Text, "The test hook undid it.") || !strings.Contains(done[1].Text, "http://shelf.test/password/forgot") {
		t.Fatalf("confirmation mail: %+v", done)
	}

	// Once only.
	fresh.get(link).wantStatus(t, http.StatusGone).wantContains(t, `data-outcome="used"`)
	fresh.post(link, nil).wantStatus(t, http.StatusGone).wantContains(t, `data-outcome="used"`)
	if len(hooked) != 1 {
		t.Fatal("hook ran again")
	}

	// Password sign-in is blocked, said only to who knows the password.
	stranger := env.browser()
	wrong := stranger.login(email, "not the password").wantStatus(t, http.StatusUnprocessableEntity)
	unknown := stranger.login("nobody@example.org", "not the password").wantStatus(t, http.StatusUnprocessableEntity)
	if strings.Contains(wrong.body, "paused") || !strings.Contains(wrong.body, html.EscapeString(msgInvalidLogin)) ||
		!strings.Contains(unknown.body, html.EscapeString(msgInvalidLogin)) {
		t.Fatalf("a wrong password to a blocked account is answered differently:\n%s", wrong.body)
	}
	owner.get("/login")
	owner.login(email, goodPassword).wantStatus(t, http.StatusUnprocessableEntity).wantContains(t, "paused", "Forgot your password?")
	if p := owner.get("/account"); p.status != http.StatusSeeOther {
		t.Fatalf("a blocked sign-in signed in: %d", p.status)
	}

	// A reset link lifts the block, and mails the owner too.
	owner.get("/password/forgot")
	owner.post("/password/forgot", url.Values{"email": {email}}).wantStatus(t, http.StatusOK)
	env.waitMails(email, 2)
	reset := env.lastLink(email)
	owner.get(reset)
	newPW := "quiet orange lantern"
	owner.post(reset, url.Values{"password": {newPW}, "password_confirm": {newPW}}).wantStatus(t, http.StatusSeeOther)
	m = wantSecurityMail(t, env, email, 3, "Your Shelf password was reset", "a script (Go)")
	notMeLink(t, m)
	owner.post("/logout", nil)
	owner.get("/login")
	owner.login(email, newPW).wantStatus(t, http.StatusSeeOther)
}

// Bad and expired links get their own pages, and change nothing.
func TestNotMeBadLinks(t *testing.T) {
	env := newTestEnv(t)
	email := "links@example.org"
	env.register(email)
	b := env.browser()
	b.login(email, goodPassword).wantStatus(t, http.StatusSeeOther)
	link := notMeLink(t, env.securityMails(email)[0])

	anon := env.browser()
	anon.get(link[:len(link)-3]).wantStatus(t, http.StatusNotFound).wantContains(t, `data-outcome="unknown"`)
	anon.get("/security/not-me/"+strings.Repeat("A", 43)).wantStatus(t, http.StatusNotFound).wantContains(t, `data-outcome="unknown"`)
	env.clock.Advance(security.UndoTTL)
	anon.get("/login") // a CSRF token
	anon.get(link).wantStatus(t, http.StatusGone).wantContains(t, `data-outcome="expired"`)
	anon.post(link, nil).wantStatus(t, http.StatusGone).wantContains(t, `data-outcome="expired"`)
	if blocked, _ := security.PasswordBlocked(context.Background(), env.db.Read, env.user(email).ID); blocked {
		t.Fatal("an expired link blocked the password")
	}
}

// The owner may use the link in a browser signed in to the account: that
// session ends too, even when this very request would have saved it (its
// last seen is due).
func TestNotMeInSignedInBrowser(t *testing.T) {
	env := newTestEnv(t)
	email := "self@example.org"
	owner := env.register(email)
	env.browser().login(email, goodPassword).wantStatus(t, http.StatusSeeOther)
	link := notMeLink(t, env.securityMails(email)[0])
	owner.get(link).wantStatus(t, http.StatusOK)
	env.clock.Advance(2 * time.Minute)
	owner.post(link, nil).wantStatus(t, http.StatusOK).wantContains(t, `data-outcome="secured"`)
	if n := userSessions(t, env, email); n != 0 {
		t.Fatalf("%d sessions left", n)
	}
	if p := owner.get("/account"); p.status != http.StatusSeeOther {
		t.Fatalf("the owner's browser is still signed in: %d", p.status)
	}
}

// Other parts record their events with securityEvent(On) and register an
// undo hook per kind: the mail names the event and its details, and the
// hook gets what the event acted on.
func TestGenericEventUndoHook(t *testing.T) {
	env := newTestEnv(t)
	email := "keys@example.org"
	env.register(email)
	var refs []string
	env.app.OnNotMe(EventPasskeyAdded, func(ctx context.Context, tx *sql.Tx, ev security.Event) (string, error) {
		refs = append(refs, ev.Ref)
		return "The passkey " + ev.Details + " was removed.", nil
	})

	req := httptest.NewRequest(http.MethodPost, "/account/passkeys", nil)
	req.Header.Set("User-Agent", firefoxLinux)
	req.RemoteAddr = "192.0.2.44:1234"
	c := env.app.echo.NewContext(req, httptest.NewRecorder())
	if err := env.app.securityEventOn(c, env.user(email), EventPasskeyAdded, "credential-1", "YubiKey 5"); err != nil {
		t.Fatal(err)
	}
	ms := env.securityMails(email)
	if len(ms) != 1 || ms[0].Subject != "A passkey was added to your Shelf account" || !strings.Contains(ms[0].Text, "(YubiKey 5)") ||
		!strings.Contains(ms[0].Text, "192.0.2.44") || strings.Contains(ms[0].Text, "credential-1") {
		t.Fatalf("mail: %+v", ms)
	}
	link := notMeLink(t, ms[0])
	b := env.browser()
	b.get(link).wantStatus(t, http.StatusOK).wantContains(t, "A passkey was added", "YubiKey 5")
	b.post(link, nil).wantStatus(t, http.StatusOK).wantContains(t, `data-outcome="secured"`)
	if len(refs) != 1 || refs[0] != "credential-1" {
		t.Fatalf("hook got %v", refs)
	}
	if done := env.securityMails(email); len(done) != 2 || !strings.Contains(done[1].Text, "The passkey YubiKey 5 was removed.") {
		t.Fatalf("confirmation: %+v", done)
	}
}

// Someone who signed in with the owner's password adds a passkey. The owner
// answers "This wasn't me" to the sign-in's mail: that passkey, added since,
// must not sign in any more than the password does.
func TestNotMeRemovesPasskeysAddedSince(t *testing.T) {
	env := newTestEnv(t)
	email := "owner@example.org"
	owner := env.register(email)
	ownKey := newSoftKey(t, false)
	owner.addPasskey(t, ownKey, "Owner's phone").wantStatus(t, http.StatusOK)
	env.clock.Advance(time.Minute)

	intruder := env.browser()
	intruder.ua = firefoxLinux
	intruder.login(email, goodPassword).wantStatus(t, http.StatusSeeOther)
	intruder.get("/account").wantStatus(t, http.StatusOK)
	// The owner's own passkey was mailed first (mail 1); the intruder's
	// sign-in is mail 2.
	link := notMeLink(t, wantSecurityMail(t, env, email, 2, "New sign-in to your Shelf account", "Firefox on Linux"))
	env.clock.Advance(time.Minute)
	theirs := newSoftKey(t, false)
	intruder.addPasskey(t, theirs, "Mine now").wantStatus(t, http.StatusOK)

	fresh := env.browser()
	fresh.get(link).wantStatus(t, http.StatusOK)
	fresh.post(link, nil).wantStatus(t, http.StatusOK).wantContains(t, `data-outcome="secured"`)

	if p := env.browser().passkeySignIn(t, theirs); p.status == http.StatusOK {
		t.Fatal("a passkey added after the reported sign-in still signs in")
	}
	env.browser().passkeySignIn(t, ownKey).wantStatus(t, http.StatusOK) // the owner's, from before, stays
	var done *sentMail
	for _, m := range env.securityMails(email) {
		if m.Subject == "We secured your Shelf account" {
			done = &m
		}
	}
	if done == nil || !strings.Contains(done.Text, "The passkey added to your account since then was removed.") {
		t.Fatalf("the confirmation does not say the passkey was removed: %+v", done)
	}
}
