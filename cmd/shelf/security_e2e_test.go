package main

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"shelf/store/outbox/devinbox"
)

// mailLink returns the link to path prefix in both parts of m, built from
// the base URL.
func mailLink(t *testing.T, m devinbox.Message, base, prefix string) string {
	t.Helper()
	link := regexp.MustCompile(regexp.QuoteMeta(base+prefix) + `[A-Za-z0-9_-]+`).FindString(m.Text)
	if link == "" || !strings.Contains(m.HTML, link) {
		t.Fatalf("mail %q lacks a %s link from %s in both parts:\n%s\n%s", m.Subject, prefix, base, m.Text, m.HTML)
	}
	return link
}

// The security mails, delivered by a real SMTP server: a sign-in from a
// new device, "This wasn't me" used from a signed-out browser and its
// confirmation, and the password reset that lifts the block.
func TestSecurityMailsThroughRealSMTP(t *testing.T) {
	smtpAddr := freeLocalAddr(t)
	webAddr := freeLocalAddr(t)
	catcher := startCatchingSMTP(t, smtpAddr)
	s := startShelfServer(t, "SHELF_SMTP_URL=smtp://"+smtpAddr+"?tls=none", "SHELF_ADDR="+webAddr, "SHELF_BASE_URL=http://"+webAddr)
	const email, password = "owner.e2e@example.org", "correct horse battery"

	owner := newClient(t, s.URL)
	_, page, _ := owner.get("/register")
	owner.post("/register", url.Values{"_csrf": {csrfFrom(t, page)}, "email": {email}, "password": {password}, "password_confirm": {password}})
	confirm := mailLink(t, catcher.next(t, 10*time.Second), s.URL, "/confirm/")
	_, page, _ = owner.get(confirm)
	if status, _, _ := owner.post(confirm, url.Values{"_csrf": {csrfFrom(t, page)}}); status != http.StatusOK {
		t.Fatalf("confirm: %d", status)
	}

	intruder := newClient(t, s.URL)
	_, page, _ = intruder.get("/login")
	if status, _, _ := intruder.post("/login", url.Values{"_csrf": {csrfFrom(t, page)}, "email": {email}, "password": {password}}); status != http.StatusSeeOther {
		t.Fatalf("intruder sign-in: %d", status)
	}
	notice := catcher.next(t, 10*time.Second)
	if notice.Subject != "New sign-in to your Shelf account" || len(notice.To) != 1 || !strings.Contains(notice.To[0], email) {
		t.Fatalf("notice: %q to %v", notice.Subject, notice.To)
	}
	for _, want := range []string{"127.0.0.1", "a script (Go)", time.Now().UTC().Format("2 January 2006")} {
		if !strings.Contains(notice.Text, want) || !strings.Contains(notice.HTML, want) {
			t.Fatalf("notice lacks %q:\n%s", want, notice.Text)
		}
	}
	notMe := mailLink(t, notice, s.URL, "/security/not-me/")

	fresh := newClient(t, s.URL) // signed out, no cookies
	_, page, _ = fresh.get(notMe)
	if status, body, _ := fresh.post(notMe, url.Values{"_csrf": {csrfFrom(t, page)}}); status != http.StatusOK || !strings.Contains(body, `data-outcome="secured"`) {
		t.Fatalf("this wasn't me: %d\n%s", status, body)
	}
	for name, c := range map[string]*browserlessClient{"owner": owner, "intruder": intruder, "the link's browser": fresh} {
		if status, _, _ := c.get("/account"); status != http.StatusSeeOther {
			t.Fatalf("%s still signed in: %d", name, status)
		}
	}
	done := catcher.next(t, 10*time.Second)
	if done.Subject != "We secured your Shelf account" {
		t.Fatalf("confirmation: %q", done.Subject)
	}
	forgot := mailLink(t, done, s.URL, "/password/")

	_, page, _ = owner.get("/login")
	if status, body, _ := owner.post("/login", url.Values{"_csrf": {csrfFrom(t, page)}, "email": {email}, "password": {password}}); status != http.StatusUnprocessableEntity || !strings.Contains(body, "paused") {
		t.Fatalf("blocked sign-in: %d\n%s", status, body)
	}

	_, page, _ = owner.get(forgot)
	owner.post(forgot, url.Values{"_csrf": {csrfFrom(t, page)}, "email": {email}})
	reset := mailLink(t, catcher.next(t, 10*time.Second), s.URL, "/password/reset/")
	_, page, _ = owner.get(reset)
	const newPassword = "quiet orange lantern"
	if status, _, _ := owner.post(reset, url.Values{"_csrf": {csrfFrom(t, page)}, "password": {newPassword}, "password_confirm": {newPassword}}); status != http.StatusSeeOther {
		t.Fatalf("reset: %d", status)
	}
	resetNotice := catcher.next(t, 10*time.Second)
	if resetNotice.Subject != "Your Shelf password was reset" {
		t.Fatalf("reset notice: %q", resetNotice.Subject)
	}
	mailLink(t, resetNotice, s.URL, "/security/not-me/")
	// A reset never signs in: the owner signs in with the new password,
	// from a browser whose device cookie the new password made stale.
	if status, _, _ := owner.get("/account"); status != http.StatusSeeOther {
		t.Fatalf("/account after the reset: %d, want the sign-in page", status)
	}
	_, page, _ = owner.get("/login")
	if status, _, _ := owner.post("/login", url.Values{"_csrf": {csrfFrom(t, page)}, "email": {email}, "password": {newPassword}}); status != http.StatusSeeOther {
		t.Fatalf("sign-in with the new password: %d", status)
	}
	if status, _, _ := owner.get("/account"); status != http.StatusOK {
		t.Fatalf("signed in with the new password: %d", status)
	}
	newDevice := catcher.next(t, 10*time.Second)
	if newDevice.Subject != "New sign-in to your Shelf account" {
		t.Fatalf("mail after signing in: %q", newDevice.Subject)
	}
	mailLink(t, newDevice, s.URL, "/security/not-me/")
}
