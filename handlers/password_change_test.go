package handlers

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"shelf/store/accounts"
	"shelf/store/security"
)

const changedPassword = "quiet orange lantern"

func changeForm(current, pw, confirm string) url.Values {
	return url.Values{"current_password": {current}, "password": {pw}, "password_confirm": {confirm}}
}

// The form follows sign-up's fields, and each new-password field is
// checked in place by the same rules as on submit.
func TestChangePasswordValidatesInPlace(t *testing.T) {
	env := newTestEnv(t)
	b := env.register("inplace@example.org")
	b.get("/account").wantStatus(t, http.StatusOK).wantContains(t, `href="/account/password"`)
	b.get("/account/password").wantStatus(t, http.StatusOK).wantContains(t, `id="password-change-form"`,
		`name="current_password"`, `autocomplete="current-password"`, `name="password"`, `name="password_confirm"`,
		`hx-post="/account/password/validate/password"`, `hx-post="/account/password/validate/password_confirm"`)

	for _, tc := range []struct {
		field string
		form  url.Values
		want  string
	}{
		{"password", changeForm("", "", ""), accounts.PasswordEmpty.Error()},
		{"password", changeForm("", "short", ""), accounts.PasswordShort.Error()},
		{"password", changeForm("", "password1", ""), accounts.PasswordCommon.Error()},
		{"password", changeForm(goodPassword, goodPassword, ""), msgSamePassword},
		{"password_confirm", changeForm("", changedPassword, ""), msgConfirmEmpty},
		{"password_confirm", changeForm("", changedPassword, "something else"), msgConfirmMismatch},
	} {
		p := b.htmx("/account/password/validate/"+tc.field, tc.form).wantStatus(t, http.StatusOK)
		p.wantContains(t, html.EscapeString(tc.want))
	}
	// A good value gets an empty message.
	p := b.htmx("/account/password/validate/password", changeForm(goodPassword, changedPassword, "")).wantStatus(t, http.StatusOK)
	if !strings.Contains(p.body, `<p class="error" id="password-error"></p>`) {
		t.Fatalf("good password flagged:\n%s", p.body)
	}
	b.htmx("/account/password/validate/nope", nil).wantStatus(t, http.StatusNotFound)

	// The same rules on submit, without JavaScript, each field its own message.
	p = b.post("/account/password", changeForm(goodPassword, "password1", "password2")).wantStatus(t, http.StatusUnprocessableEntity)
	p.wantContains(t, html.EscapeString(accounts.PasswordCommon.Error()), html.EscapeString(msgConfirmMismatch))
	p = b.post("/account/password", changeForm(goodPassword, goodPassword, goodPassword)).wantStatus(t, http.StatusUnprocessableEntity)
	p.wantContains(t, html.EscapeString(msgSamePassword))
	p = b.post("/account/password", changeForm("", changedPassword, changedPassword)).wantStatus(t, http.StatusUnprocessableEntity)
	p.wantContains(t, "Enter your current password.")

	// Signed out, neither the page nor its checks answer.
	anon := env.browser()
	if p := anon.get("/account/password"); p.status != http.StatusSeeOther {
		t.Fatalf("signed out: %d", p.status)
	}
}

func TestChangePasswordWrongCurrent(t *testing.T) {
	env := newTestEnv(t)
	const email = "wrong@example.org"
	b := env.register(email)
	b.get("/account/password")
	p := b.post("/account/password", changeForm("not my password", changedPassword, changedPassword)).wantStatus(t, http.StatusUnprocessableEntity)
	p.wantContains(t, "That is not your password.")
	if strings.Contains(p.body, changedPassword) || strings.Contains(p.body, "not my password") {
		t.Fatal("a password sent back in the page")
	}
	// Nothing changed: the old password still signs in, the new one doesn't.
	env.browser().login(email, changedPassword).wantStatus(t, http.StatusUnprocessableEntity)
	env.browser().login(email, goodPassword).wantStatus(t, http.StatusSeeOther)
	for _, m := range env.securityMails(email) {
		if m.Subject == "Your Shelf password was changed" {
			t.Fatal("a change mail for a refused change")
		}
	}
}

// Success: a new password, every other session ends, this one stays with a
// new token, device cookies from before stop exempting, and the owner is
// mailed with a "This wasn't me" link.
func TestChangePasswordEndsOtherSessions(t *testing.T) {
	env := newTestEnv(t)
	const email = "change@example.org"
	b := env.register(email)
	other := env.browser()
	other.login(email, goodPassword).wantStatus(t, http.StatusSeeOther)
	other.get("/account").wantStatus(t, http.StatusOK)
	before := env.user(email)

	b.get("/account/password").wantStatus(t, http.StatusOK)
	oldToken := b.sessionCookie().Value
	p := b.post("/account/password", changeForm(goodPassword, changedPassword, changedPassword))
	if p.status != http.StatusSeeOther || p.location() != "/account" {
		t.Fatalf("change: %d %q\n%s", p.status, p.location(), p.body)
	}
	if b.sessionCookie() == nil || b.sessionCookie().Value == oldToken {
		t.Fatal("the session token was not renewed")
	}
	b.get("/account").wantStatus(t, http.StatusOK).wantContains(t, "Your password has been changed")
	if p := other.get("/account"); p.status != http.StatusSeeOther {
		t.Fatalf("the other session survived: %d", p.status)
	}
	// The old token is gone too, not only renewed away from.
	stale := env.browser()
	stale.setCookie(env.app.Sessions.Cookie.Name, oldToken)
	if p := stale.get("/account"); p.status != http.StatusSeeOther {
		t.Fatalf("the old session token still signs in: %d", p.status)
	}

	after := env.user(email)
	if !after.DevicesValidAfter.After(before.DevicesValidAfter) {
		t.Fatalf("devices_valid_after not moved: %v -> %v", before.DevicesValidAfter, after.DevicesValidAfter)
	}
	env.browser().login(email, goodPassword).wantStatus(t, http.StatusUnprocessableEntity)
	env.browser().login(email, changedPassword).wantStatus(t, http.StatusSeeOther)

	var mail *sentMail
	for _, m := range env.securityMails(email) {
		if m.Subject == "Your Shelf password was changed" {
			mail = &m
		}
	}
	if mail == nil {
		t.Fatalf("no change mail in the outbox: %+v", env.securityMails(email))
	}
	for _, part := range []string{mail.Text, mail.HTML} {
		if !strings.Contains(part, "http://shelf.test/security/not-me/") || !strings.Contains(part, "127.0.0.1") {
			t.Fatalf("mail lacks the link or the address:\n%s", part)
		}
	}

	// "This wasn't me" from a signed-out browser: everyone out, password
	// sign-in paused until a reset.
	link := linkRe.FindStringSubmatch(mail.Text)[1]
	anon := env.browser()
	anon.get(link).wantStatus(t, http.StatusOK).wantContains(t, "The password of your Shelf account was changed.")
	anon.post(link, nil).wantStatus(t, http.StatusOK).wantContains(t, "Your account is secured")
	if p := b.get("/account"); p.status != http.StatusSeeOther {
		t.Fatalf("still signed in after \"This wasn't me\": %d", p.status)
	}
	env.browser().login(email, changedPassword).wantStatus(t, http.StatusUnprocessableEntity).wantContains(t, html.EscapeString(msgPasswordBlocked))
}

// A reset link mailed before a password change no longer works after it:
// whoever could read that mail (the reason for changing, perhaps) must not
// replace the new password, and sign out the reader who just chose it.
func TestChangePasswordEndsEarlierResetLinks(t *testing.T) {
	env := newTestEnv(t)
	const email = "earlier-reset@example.org"
	b := env.register(email)
	asker := env.browser()
	asker.get("/password/forgot")
	asker.post("/password/forgot", url.Values{"email": {email}}).wantStatus(t, http.StatusOK)
	env.waitMails(email, 2)
	link := env.lastLink(email)
	if !strings.HasPrefix(link, "/password/reset/") {
		t.Fatalf("newest mail has no reset link: %s", link)
	}

	b.get("/account/password")
	b.post("/account/password", changeForm(goodPassword, changedPassword, changedPassword)).wantStatus(t, http.StatusSeeOther)

	other := env.browser()
	other.get(link).wantStatus(t, http.StatusGone).wantContains(t, `data-outcome="superseded"`, "the password was changed", `href="/password/forgot"`)
	other.get("/password/forgot") // a page with a form, for a CSRF token
	p := other.post(link, url.Values{"password": {"someone else's lantern"}, "password_confirm": {"someone else's lantern"}})
	if p.status != http.StatusGone {
		t.Fatalf("the earlier reset link still resets the password: %d %s", p.status, p.location())
	}
	b.get("/account").wantStatus(t, http.StatusOK)
	env.browser().login(email, changedPassword).wantStatus(t, http.StatusSeeOther)

	// A link asked for after the change works as ever.
	asker.post("/password/forgot", url.Values{"email": {email}}).wantStatus(t, http.StatusOK)
	env.waitMails(email, len(env.mails(email))+1)
	env.browser().get(env.lastLink(email)).wantStatus(t, http.StatusOK).wantContains(t, `id="reset-form"`)
}

// A wrong current password is a failed sign-in: it counts against the
// sign-in limits, which then hold back the form and the sign-in page alike.
func TestChangePasswordLimit(t *testing.T) {
	env := newTestEnv(t)
	const email = "limit@example.org"
	b := env.register(email)
	b.get("/account/password")
	limited := false
	for i := 0; i < 30 && !limited; i++ {
		p := b.post("/account/password", changeForm("guess", changedPassword, changedPassword))
		switch p.status {
		case http.StatusTooManyRequests:
			limited = true
			p.wantContains(t, "Too many attempts")
		case http.StatusUnprocessableEntity:
		default:
			t.Fatalf("guess %d: %d", i, p.status)
		}
	}
	if !limited {
		t.Fatal("30 wrong current passwords were never limited")
	}
	b.post("/account/password", changeForm(goodPassword, changedPassword, changedPassword)).wantStatus(t, http.StatusTooManyRequests)
	env.browser().login(email, goodPassword).wantStatus(t, http.StatusTooManyRequests)
}

// On PostgreSQL, with two instances: the change, made on one, signs the
// other instance's session out, and this browser stays signed in on both.
// An HTMX submit with errors gets the form alone, and success a redirect.
func TestChangePasswordAcrossInstances(t *testing.T) {
	envs := newInstances(t, 2)
	const email = "pg-change@example.org"
	b := envs[0].register(email)
	other := envs[1].browser()
	other.login(email, goodPassword).wantStatus(t, http.StatusSeeOther)
	other.get("/account").wantStatus(t, http.StatusOK)

	b.get("/account/password")
	p := b.htmx("/account/password", changeForm(goodPassword, "password1", "password1")).wantStatus(t, http.StatusUnprocessableEntity)
	if strings.Contains(p.body, "<html") || !strings.Contains(p.body, `id="password-change-form"`) {
		t.Fatalf("HTMX error answer is not the form alone:\n%s", p.body)
	}
	p = b.htmx("/account/password", changeForm(goodPassword, changedPassword, changedPassword)).wantStatus(t, http.StatusNoContent)
	if p.header.Get("HX-Redirect") != "/account" {
		t.Fatalf("HTMX success: %v", p.header)
	}
	b.at(envs[1]).get("/account").wantStatus(t, http.StatusOK)
	if p := other.get("/account"); p.status != http.StatusSeeOther {
		t.Fatalf("the other instance's session survived: %d", p.status)
	}
	envs[1].browser().login(email, changedPassword).wantStatus(t, http.StatusSeeOther)
}

// Re-authentication checks the password as the change form does: its wrong
// passwords count against the sign-in limits too.
func TestReauthWrongPasswordsCount(t *testing.T) {
	env := newTestEnv(t)
	const email = "reauth-limit@example.org"
	b := env.register(email)
	b.get("/account/reauth")
	limited := false
	for i := 0; i < 30 && !limited; i++ {
		switch p := b.post("/account/reauth", url.Values{"password": {"guess"}, "next": {"/account"}}); p.status {
		case http.StatusTooManyRequests:
			limited = true
		case http.StatusUnprocessableEntity:
		default:
			t.Fatalf("guess %d: %d", i, p.status)
		}
	}
	if !limited {
		t.Fatal("30 wrong passwords at re-authentication were never limited")
	}
	b.post("/account/reauth", url.Values{"password": {goodPassword}, "next": {"/account"}}).wantStatus(t, http.StatusTooManyRequests)
}

// A change leaves a block on password sign-in ("This wasn't me") in place,
// and says so: only a reset link lifts it.
func TestChangePasswordKeepsTheBlock(t *testing.T) {
	env := newTestEnv(t)
	const email = "blocked@example.org"
	b := env.register(email)
	if err := security.BlockPassword(context.Background(), env.db.Write, env.user(email).ID, env.clock.Now()); err != nil {
		t.Fatal(err)
	}
	b.get("/account/password")
	b.post("/account/password", changeForm(goodPassword, changedPassword, changedPassword)).wantStatus(t, http.StatusSeeOther)
	b.get("/account").wantStatus(t, http.StatusOK).wantContains(t, "Your password has been changed", html.EscapeString(msgStillBlocked))
	env.browser().login(email, changedPassword).wantStatus(t, http.StatusUnprocessableEntity).wantContains(t, html.EscapeString(msgPasswordBlocked))
}
