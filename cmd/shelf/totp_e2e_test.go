package main

// Two-factor sign-in end to end: the real server, mail through a real SMTP
// server, and the secret key in its file beside the database, which a
// restart reads back.

import (
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"shelf/store/outbox/devinbox"
	"shelf/store/twofactor"
)

func TestTwoFactorThroughRealSMTP(t *testing.T) {
	smtpAddr := freeLocalAddr(t)
	catcher := startCatchingSMTP(t, smtpAddr)
	env := []string{"SHELF_SMTP_URL=smtp://" + smtpAddr + "?tls=none"}
	s := startShelfServer(t, env...)
	for catcher.drain() > 0 {
	}
	info, err := os.Stat(s.DB + ".key")
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("secret key file beside the database: %v, %v", info, err)
	}

	const email, pw = "tess@example.org", "correct horse battery"
	c := newClient(t, s.URL)
	_, page, _ := c.get("/register")
	c.post("/register", url.Values{"_csrf": {csrfFrom(t, page)}, "email": {email}, "password": {pw}, "password_confirm": {pw}})
	link := regexp.MustCompile(`http://[^\s"<>]+/confirm/[A-Za-z0-9_-]+`).FindString(catcher.next(t, 30*time.Second).Text)
	_, page, _ = c.get(link)
	if status, _, _ := c.post(link, url.Values{"_csrf": {csrfFrom(t, page)}}); status != http.StatusOK {
		t.Fatalf("confirm: %d", status)
	}

	// Enrol: password again, then a code.
	_, page, _ = c.get("/account/reauth?next=%2Faccount%2Ftwo-factor%2Fsetup")
	if status, _, _ := c.post("/account/reauth", url.Values{"_csrf": {csrfFrom(t, page)}, "password": {pw}, "next": {"/account/two-factor/setup"}}); status != http.StatusSeeOther {
		t.Fatalf("reauth: %d", status)
	}
	_, page, _ = c.get("/account/two-factor/setup")
	m := regexp.MustCompile(`secret=([A-Z2-7]+)`).FindStringSubmatch(page)
	if m == nil || !strings.Contains(page, "<svg") {
		t.Fatalf("setup page without QR code or key:\n%s", page)
	}
	secret := m[1]
	code := func(d int64) string {
		c, err := twofactor.Code(secret, twofactor.Step(time.Now())+d)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	if status, _, hdr := c.post("/account/two-factor/setup", url.Values{"_csrf": {csrfFrom(t, page)}, "code": {code(0)}}); status != http.StatusSeeOther {
		t.Fatalf("enrol: %d %v", status, hdr)
	}
	_, page, _ = c.get("/account/two-factor/recovery-codes")
	recovery := regexp.MustCompile(`[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}`).FindAllString(page, -1)
	if len(recovery) != 10 {
		t.Fatalf("%d recovery codes shown", len(recovery))
	}
	mail := catcher.next(t, 30*time.Second)
	if !strings.Contains(mail.Text, "Two-factor sign-in was turned on") || mail.HTML == "" || !strings.Contains(mail.To[0], email) {
		t.Fatalf("mail after enrolment: %+v", mail)
	}
	wantNotMeMail(t, mail, "127.0.0.1")

	// After a restart (the key read back from its file), the password alone
	// does not sign in; the next code does.
	s.stop()
	s = launchShelf(t, s.DB, s.Logs, env)
	b := newClient(t, s.URL)
	_, page, _ = b.get("/login")
	if status, _, hdr := b.post("/login", url.Values{"_csrf": {csrfFrom(t, page)}, "email": {email}, "password": {pw}}); status != http.StatusSeeOther ||
		hdr.Get("Location") != "/login/two-factor" {
		t.Fatalf("password step: %d %q", status, hdr.Get("Location"))
	}
	if status, _, hdr := b.get("/account"); status != http.StatusSeeOther || hdr.Get("Location") != "/login/two-factor" {
		t.Fatalf("/account with a pending sign-in: %d %q", status, hdr.Get("Location"))
	}
	_, page, _ = b.get("/login/two-factor")
	if status, body, _ := b.post("/login/two-factor", url.Values{"_csrf": {csrfFrom(t, page)}, "code": {code(1)}}); status != http.StatusSeeOther {
		t.Fatalf("second step: %d\n%s", status, body)
	}
	if status, body, _ := b.get("/account"); status != http.StatusOK || !strings.Contains(body, "recovery codes left") {
		t.Fatalf("/account after the second step: %d", status)
	}
	// The sign-in from a new browser is mailed once it is complete: after
	// the code, not after the password.
	mail = catcher.next(t, 30*time.Second)
	if mail.Subject != "New sign-in to your Shelf account" {
		t.Fatalf("mail after the second step: %+v", mail)
	}
	wantNotMeMail(t, mail, "127.0.0.1")

	// A recovery code at the second step, in another new browser: its
	// sign-in and the code's use are mailed.
	d := newClient(t, s.URL)
	_, page, _ = d.get("/login")
	d.post("/login", url.Values{"_csrf": {csrfFrom(t, page)}, "email": {email}, "password": {pw}})
	_, page, _ = d.get("/login/two-factor")
	if status, body, _ := d.post("/login/two-factor", url.Values{"_csrf": {csrfFrom(t, page)}, "code": {recovery[1]}}); status != http.StatusSeeOther {
		t.Fatalf("second step with a recovery code: %d\n%s", status, body)
	}
	for _, subject := range []string{"New sign-in to your Shelf account", "A recovery code was used"} {
		mail = catcher.next(t, 30*time.Second)
		if mail.Subject != subject {
			t.Fatalf("mail %q, want %q", mail.Subject, subject)
		}
		wantNotMeMail(t, mail, "127.0.0.1")
	}
	if !strings.Contains(mail.Text, "9 recovery codes left") {
		t.Fatalf("the mail does not say how many codes are left:\n%s", mail.Text)
	}

	// New recovery codes (the password again first) are mailed too.
	_, page, _ = b.get("/account/reauth?next=%2Faccount%2Ftwo-factor%2Frecovery-codes")
	b.post("/account/reauth", url.Values{"_csrf": {csrfFrom(t, page)}, "password": {pw}, "next": {"/account/two-factor/recovery-codes"}})
	_, page, _ = b.get("/account/two-factor/recovery-codes")
	if status, _, _ := b.post("/account/two-factor/recovery-codes", url.Values{"_csrf": {csrfFrom(t, page)}}); status != http.StatusSeeOther {
		t.Fatalf("regenerate: %d", status)
	}
	_, page, _ = b.get("/account/two-factor/recovery-codes")
	fresh := regexp.MustCompile(`[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}`).FindAllString(page, -1)
	if len(fresh) != 10 || fresh[0] == recovery[0] {
		t.Fatalf("new recovery codes: %v", fresh)
	}
	mail = catcher.next(t, 30*time.Second)
	if mail.Subject != "New recovery codes for your Shelf account" {
		t.Fatalf("mail after regenerating: %+v", mail)
	}
	wantNotMeMail(t, mail, "127.0.0.1")

	// Turning it off, with the password and a recovery code, mails the owner.
	_, page, _ = b.get("/account/two-factor/disable")
	if status, body, _ := b.post("/account/two-factor/disable", url.Values{"_csrf": {csrfFrom(t, page)}, "password": {pw}, "code": {strings.ToLower(fresh[0])}}); status != http.StatusSeeOther {
		t.Fatalf("turn off: %d\n%s", status, body)
	}
	mail = catcher.next(t, 30*time.Second)
	if !strings.Contains(mail.Text, "Two-factor sign-in was turned off") || !strings.Contains(mail.Text, "127.0.0.1") {
		t.Fatalf("mail after turning off: %+v", mail)
	}
	wantNotMeMail(t, mail, "127.0.0.1")
	if n := catcher.drain(); n != 0 {
		t.Fatalf("%d more mails", n)
	}
}

// Ten wrong codes within an hour freeze an account's second step; the
// owner hears of it through the real SMTP server, with a "This wasn't me"
// link (they knew the password).
func TestSecondStepFreezeThroughRealSMTP(t *testing.T) {
	smtpAddr := freeLocalAddr(t)
	catcher := startCatchingSMTP(t, smtpAddr)
	s := startShelfServer(t, "SHELF_SMTP_URL=smtp://"+smtpAddr+"?tls=none")
	for catcher.drain() > 0 {
	}
	const email, pw = "frieda@example.org", "correct horse battery"
	c := newClient(t, s.URL)
	_, page, _ := c.get("/register")
	c.post("/register", url.Values{"_csrf": {csrfFrom(t, page)}, "email": {email}, "password": {pw}, "password_confirm": {pw}})
	link := regexp.MustCompile(`http://[^\s"<>]+/confirm/[A-Za-z0-9_-]+`).FindString(catcher.next(t, 30*time.Second).Text)
	_, page, _ = c.get(link)
	c.post(link, url.Values{"_csrf": {csrfFrom(t, page)}})
	_, page, _ = c.get("/account/reauth?next=%2Faccount%2Ftwo-factor%2Fsetup")
	c.post("/account/reauth", url.Values{"_csrf": {csrfFrom(t, page)}, "password": {pw}, "next": {"/account/two-factor/setup"}})
	_, page, _ = c.get("/account/two-factor/setup")
	m := regexp.MustCompile(`secret=([A-Z2-7]+)`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("setup page without a key:\n%s", page)
	}
	now, err := twofactor.Code(m[1], twofactor.Step(time.Now()))
	if err != nil {
		t.Fatal(err)
	}
	if status, _, _ := c.post("/account/two-factor/setup", url.Values{"_csrf": {csrfFrom(t, page)}, "code": {now}}); status != http.StatusSeeOther {
		t.Fatalf("enrol: %d", status)
	}
	if mail := catcher.next(t, 30*time.Second); !strings.Contains(mail.Text, "Two-factor sign-in was turned on") {
		t.Fatalf("mail after enrolment: %+v", mail)
	}

	// A pending sign-in ends after 5 wrong codes: two browsers give 10.
	wrong := 0
	for range 2 {
		b := newClient(t, s.URL)
		_, page, _ = b.get("/login")
		b.post("/login", url.Values{"_csrf": {csrfFrom(t, page)}, "email": {email}, "password": {pw}})
		for range 5 {
			_, page, _ = b.get("/login/two-factor")
			b.post("/login/two-factor", url.Values{"_csrf": {csrfFrom(t, page)}, "code": {"000000"}})
			wrong++
		}
	}
	mail := catcher.next(t, 30*time.Second)
	if !strings.Contains(mail.Text, "locked for 15 minutes") || !strings.Contains(mail.To[0], email) {
		t.Fatalf("after %d wrong codes, mail %q:\n%s", wrong, mail.Subject, mail.Text)
	}
	wantNotMeMail(t, mail, "127.0.0.1")

	// Frozen: even the right code is refused now.
	b := newClient(t, s.URL)
	_, page, _ = b.get("/login")
	b.post("/login", url.Values{"_csrf": {csrfFrom(t, page)}, "email": {email}, "password": {pw}})
	_, page, _ = b.get("/login/two-factor")
	right, _ := twofactor.Code(m[1], twofactor.Step(time.Now())+1)
	if status, _, _ := b.post("/login/two-factor", url.Values{"_csrf": {csrfFrom(t, page)}, "code": {right}}); status != http.StatusTooManyRequests {
		t.Fatalf("the right code while frozen: %d, want 429", status)
	}
	if n := catcher.drain(); n != 0 {
		t.Fatalf("%d more mails", n)
	}
}

// wantNotMeMail checks a security mail carries, in both parts, the address
// it came from and a "This wasn't me" link.
func wantNotMeMail(t *testing.T, m devinbox.Message, ip string) {
	t.Helper()
	for _, part := range []string{m.Text, m.HTML} {
		if !strings.Contains(part, ip) || !regexp.MustCompile(`/security/not-me/[A-Za-z0-9_-]{43}`).MatchString(part) {
			t.Fatalf("security mail without %s or a \"This wasn't me\" link:\n%s", ip, part)
		}
	}
}

// drain takes whatever mail has arrived and reports how much.
func (c *catchingSMTP) drain() int {
	n := 0
	for {
		select {
		case <-c.arrived:
			c.mu.Lock()
			c.messages = c.messages[1:]
			c.mu.Unlock()
			n++
		default:
			return n
		}
	}
}
