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

// Sign-in by email through the real server and a real SMTP server: the link
// opened in a second browser signs that one in, the code signs in the
// browser that asked, and an address without an account is offered to sign
// up.
func TestSignInByEmailThroughRealSMTP(t *testing.T) {
	smtpAddr := freeLocalAddr(t)
	catcher := startCatchingSMTP(t, smtpAddr)
	s := startShelfServer(t, "SHELF_SMTP_URL=smtp://"+smtpAddr+"?tls=none")

	mailTo := func(email string) devinbox.Message {
		t.Helper()
		m := catcher.next(t, 20*time.Second)
		if len(m.To) != 1 || !strings.Contains(m.To[0], email) {
			t.Fatalf("mail to %v, want %s", m.To, email)
		}
		if m.Text == "" || m.HTML == "" {
			t.Fatalf("mail to %s needs a text and an HTML part", email)
		}
		return m
	}
	signUp := func(email string) {
		t.Helper()
		c := newClient(t, s.URL)
		_, page, _ := c.get("/register")
		if status, _, _ := c.post("/register", url.Values{"_csrf": {csrfFrom(t, page)}, "email": {email},
			"password": {"correct horse battery"}, "password_confirm": {"correct horse battery"}}); status != http.StatusSeeOther {
			t.Fatalf("sign up %s: %d", email, status)
		}
		mailTo(email) // the confirmation, left unopened
	}
	ask := func(c *browserlessClient, email string) {
		t.Helper()
		_, page, _ := c.get("/login/email")
		status, _, hdr := c.post("/login/email", url.Values{"_csrf": {csrfFrom(t, page)}, "email": {email}})
		if status != http.StatusSeeOther || hdr.Get("Location") != "/login/email/code" {
			t.Fatalf("ask for %s: %d %q", email, status, hdr.Get("Location"))
		}
	}
	linkRe := regexp.MustCompile(`http://[^\s"<>]+/login/email/link/[A-Za-z0-9_-]+`)
	codeRe := regexp.MustCompile(`\b[2-9A-HJKMNP-TW-Z]{4}-[2-9A-HJKMNP-TW-Z]{4}\b`)
	signedIn := func(c *browserlessClient, email string) bool {
		status, body, _ := c.get("/account")
		return status == http.StatusOK && strings.Contains(body, email)
	}

	// The link, opened in another browser, signs that one in and confirms
	// the address.
	signUp("ann@example.org")
	asker := newClient(t, s.URL)
	ask(asker, "ann@example.org")
	m := mailTo("ann@example.org")
	link, code := linkRe.FindString(m.Text), codeRe.FindString(m.Text)
	if !strings.HasPrefix(link, s.URL+"/login/email/link/") || code == "" || !strings.Contains(m.HTML, link) || !strings.Contains(m.HTML, code) {
		t.Fatalf("the mail must carry the link (from the base URL) and the code in both parts:\n%s\n%s", m.Text, m.HTML)
	}
	other := newClient(t, s.URL)
	_, page, _ := other.get(link)
	if !strings.Contains(page, "Sign in on this device?") {
		t.Fatalf("link page:\n%s", page)
	}
	if status, _, _ := other.post(link, url.Values{"_csrf": {csrfFrom(t, page)}}); status != http.StatusSeeOther {
		t.Fatalf("sign in by link: %d", status)
	}
	if !signedIn(other, "ann@example.org") {
		t.Fatal("the browser that opened the link is not signed in to a confirmed account")
	}
	if signedIn(asker, "ann@example.org") {
		t.Fatal("the browser that asked was signed in too")
	}
	wantNewDeviceMail(t, mailTo("ann@example.org"))

	// The code, in the browser that asked.
	signUp("bob@example.org")
	bob := newClient(t, s.URL)
	ask(bob, "bob@example.org")
	code = codeRe.FindString(mailTo("bob@example.org").Text)
	_, page, _ = bob.get("/login/email/code")
	if status, body, _ := bob.post("/login/email/code", url.Values{"_csrf": {csrfFrom(t, page)}, "code": {code}}); status != http.StatusSeeOther {
		t.Fatalf("sign in by code: %d\n%s", status, body)
	}
	if !signedIn(bob, "bob@example.org") {
		t.Fatal("not signed in by the code")
	}
	wantNewDeviceMail(t, mailTo("bob@example.org"))

	// No account: an offer to sign up.
	ask(newClient(t, s.URL), "nobody@example.org")
	m = mailTo("nobody@example.org")
	if !strings.Contains(m.Text, "has no account") || !strings.Contains(m.Text, s.URL+"/register") {
		t.Fatalf("no-account mail:\n%s", m.Text)
	}
}

// wantNewDeviceMail checks m is the mail about a sign-in from a new
// browser, which every complete sign-in sends, with its "This wasn't me"
// link and the address it came from.
func wantNewDeviceMail(t *testing.T, m devinbox.Message) {
	t.Helper()
	if m.Subject != "New sign-in to your Shelf account" {
		t.Fatalf("mail %q, want the new sign-in", m.Subject)
	}
	wantNotMeMail(t, m, "127.0.0.1")
}
