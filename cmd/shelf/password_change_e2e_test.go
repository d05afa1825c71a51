package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// Changing the password while signed in, against a real SMTP server: the
// other browser is signed out, this one stays, the owner gets the mail with
// its "This wasn't me" link, and that link, from a signed-out browser,
// signs everyone out and pauses password sign-in.
func TestPasswordChangeThroughRealSMTP(t *testing.T) {
	smtpAddr := freeLocalAddr(t)
	webAddr := freeLocalAddr(t)
	catcher := startCatchingSMTP(t, smtpAddr)
	s := startShelfServer(t, "SHELF_SMTP_URL=smtp://"+smtpAddr+"?tls=none", "SHELF_ADDR="+webAddr, "SHELF_BASE_URL=http://"+webAddr)
	const email, password, newPassword = "change.e2e@example.org", "correct horse battery", "quiet orange lantern"

	owner := newClient(t, s.URL)
	_, page, _ := owner.get("/register")
	owner.post("/register", url.Values{"_csrf": {csrfFrom(t, page)}, "email": {email}, "password": {password}, "password_confirm": {password}})
	confirm := mailLink(t, catcher.next(t, 10*time.Second), s.URL, "/confirm/")
	_, page, _ = owner.get(confirm)
	if status, _, _ := owner.post(confirm, url.Values{"_csrf": {csrfFrom(t, page)}}); status != http.StatusOK {
		t.Fatalf("confirm: %d", status)
	}

	other := newClient(t, s.URL)
	_, page, _ = other.get("/login")
	if status, _, _ := other.post("/login", url.Values{"_csrf": {csrfFrom(t, page)}, "email": {email}, "password": {password}}); status != http.StatusSeeOther {
		t.Fatalf("second sign-in: %d", status)
	}
	if m := catcher.next(t, 10*time.Second); m.Subject != "New sign-in to your Shelf account" {
		t.Fatalf("mail after the second sign-in: %q", m.Subject)
	}

	_, page, _ = owner.get("/account/password")
	form := url.Values{"_csrf": {csrfFrom(t, page)}, "current_password": {password}, "password": {newPassword}, "password_confirm": {newPassword}}
	if status, _, h := owner.post("/account/password", form); status != http.StatusSeeOther || h.Get("Location") != "/account" {
		t.Fatalf("change: %d %q", status, h.Get("Location"))
	}
	if status, body, _ := owner.get("/account"); status != http.StatusOK || !strings.Contains(body, "Your password has been changed") {
		t.Fatalf("this browser after the change: %d", status)
	}
	if status, _, _ := other.get("/account"); status != http.StatusSeeOther {
		t.Fatalf("the other browser still signed in: %d", status)
	}

	changed := catcher.next(t, 10*time.Second)
	if changed.Subject != "Your Shelf password was changed" || len(changed.To) != 1 || !strings.Contains(changed.To[0], email) {
		t.Fatalf("change mail: %q to %v", changed.Subject, changed.To)
	}
	for _, want := range []string{"127.0.0.1", "a script (Go)", time.Now().UTC().Format("2 January 2006")} {
		if !strings.Contains(changed.Text, want) || !strings.Contains(changed.HTML, want) {
			t.Fatalf("change mail lacks %q:\n%s", want, changed.Text)
		}
	}
	notMe := mailLink(t, changed, s.URL, "/security/not-me/")

	fresh := newClient(t, s.URL)
	_, page, _ = fresh.get(notMe)
	if status, body, _ := fresh.post(notMe, url.Values{"_csrf": {csrfFrom(t, page)}}); status != http.StatusOK || !strings.Contains(body, `data-outcome="secured"`) {
		t.Fatalf("this wasn't me: %d\n%s", status, body)
	}
	if status, _, _ := owner.get("/account"); status != http.StatusSeeOther {
		t.Fatalf("still signed in after \"This wasn't me\": %d", status)
	}
	if done := catcher.next(t, 10*time.Second); done.Subject != "We secured your Shelf account" {
		t.Fatalf("confirmation: %q", done.Subject)
	}
	_, page, _ = fresh.get("/login")
	if status, body, _ := fresh.post("/login", url.Values{"_csrf": {csrfFrom(t, page)}, "email": {email}, "password": {newPassword}}); status != http.StatusUnprocessableEntity || !strings.Contains(body, "paused") {
		t.Fatalf("password sign-in after \"This wasn't me\": %d", status)
	}
}
