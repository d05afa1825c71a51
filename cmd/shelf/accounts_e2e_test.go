package main

// End to end through real SMTP: the real server (serveCommand) sends its mail
// with go-mail to an SMTP server run by the test. Sign-up while that server
// is down leaves the mail in the outbox; after a restart with the server up
// it is delivered; a second client with no session opens the link and
// confirms the account.

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"shelf/store"
	"shelf/store/outbox"
	"shelf/store/outbox/devinbox"
)

// catchingSMTP is an SMTP server on a fixed local address that keeps every
// message it accepts.
type catchingSMTP struct {
	srv      *smtp.Server
	mu       sync.Mutex
	messages []devinbox.Message
	arrived  chan struct{}
	// delay holds each message this long before accepting it (or its
	// recipient before refusing it), as a slow server would, so that
	// senders have mail in flight.
	delay atomic.Int64 // a time.Duration
	// refuse holds the addresses (lower case) whose RCPT TO is refused
	// for good, as a server refuses an unknown mailbox.
	refuse sync.Map
}

func startCatchingSMTP(t *testing.T, addr string) *catchingSMTP {
	t.Helper()
	c := &catchingSMTP{arrived: make(chan struct{}, 10000)}
	c.srv = smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &catchingSession{c: c}, nil }))
	c.srv.Domain = "e2e.localhost"
	var ln net.Listener
	var err error
	for range 50 {
		if ln, err = net.Listen("tcp", addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("smtp listen %s: %v", addr, err)
	}
	go c.srv.Serve(ln)
	t.Cleanup(func() { c.srv.Close() })
	return c
}

// next waits for the next message.
func (c *catchingSMTP) next(t *testing.T, timeout time.Duration) devinbox.Message {
	t.Helper()
	select {
	case <-c.arrived:
	case <-time.After(timeout):
		t.Fatalf("no mail arrived within %s", timeout)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	m := c.messages[0]
	c.messages = c.messages[1:]
	return m
}

type catchingSession struct{ c *catchingSMTP }

func (s *catchingSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s *catchingSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	if _, ok := s.c.refuse.Load(strings.ToLower(to)); ok {
		time.Sleep(time.Duration(s.c.delay.Load()))
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "No such user here"}
	}
	return nil
}
func (s *catchingSession) Reset()        {}
func (s *catchingSession) Logout() error { return nil }
func (s *catchingSession) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	time.Sleep(time.Duration(s.c.delay.Load()))
	s.c.mu.Lock()
	s.c.messages = append(s.c.messages, devinbox.ParseMessage(raw))
	s.c.mu.Unlock()
	s.c.arrived <- struct{}{}
	return nil
}

// browserlessClient is an HTTP client with its own cookie jar that does not
// follow redirects, so each step's answer can be checked.
type browserlessClient struct {
	t    *testing.T
	base string
	http *http.Client
}

func newClient(t *testing.T, base string) *browserlessClient {
	jar, _ := cookiejar.New(nil)
	return &browserlessClient{t: t, base: base, http: &http.Client{
		Jar:           jar,
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

func (c *browserlessClient) get(path string) (int, string, http.Header) {
	c.t.Helper()
	resp, err := c.http.Get(c.url(path))
	if err != nil {
		c.t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), resp.Header
}

func (c *browserlessClient) post(path string, form url.Values) (int, string, http.Header) {
	c.t.Helper()
	resp, err := c.http.PostForm(c.url(path), form)
	if err != nil {
		c.t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), resp.Header
}

func (c *browserlessClient) url(path string) string {
	if strings.HasPrefix(path, "http") {
		return path
	}
	return c.base + path
}

var csrfField = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)

// csrfFrom returns the CSRF token of the first form in body.
func csrfFrom(t *testing.T, body string) string {
	t.Helper()
	m := csrfField.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no CSRF token in the page:\n%s", body)
	}
	return m[1]
}

func TestSignUpConfirmThroughRealSMTP(t *testing.T) {
	smtpAddr := freeLocalAddr(t)
	webAddr := freeLocalAddr(t)
	env := []string{
		"SHELF_SMTP_URL=smtp://" + smtpAddr + "?tls=none", // the test server has no TLS
		"SHELF_ADDR=" + webAddr,
		"SHELF_BASE_URL=http://" + webAddr,
	}

	// The SMTP server is down: sign-up must still succeed at once.
	s := startShelfServer(t, env...)
	alice := newClient(t, s.URL)
	_, page, _ := alice.get("/register")
	email := "Alice.E2E@Example.ORG"
	start := time.Now()
	status, _, hdr := alice.post("/register", url.Values{
		"_csrf": {csrfFrom(t, page)}, "email": {email},
		"password": {"correct horse battery"}, "password_confirm": {"correct horse battery"},
	})
	if status != http.StatusSeeOther || hdr.Get("Location") != "/check-email" {
		t.Fatalf("sign-up: status %d, Location %q; want 303 to /check-email", status, hdr.Get("Location"))
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("sign-up took %s while SMTP was down; it must not wait for SMTP", d)
	}
	if status, body, _ := alice.get("/check-email"); status != http.StatusOK || !strings.Contains(body, "Alice.E2E@example.org") {
		t.Fatalf("check-email page: status %d, want 200 naming Alice.E2E@example.org (domain lower-cased):\n%s", status, body)
	}
	// Sign-up does not sign in: the browser holds only the pending sign-up.
	if status, _, hdr := alice.get("/account"); status != http.StatusSeeOther || hdr.Get("Location") != "/login?next=%2Faccount" {
		t.Fatalf("/account before confirming: %d %q, want 303 to /login?next=%%2Faccount", status, hdr.Get("Location"))
	}
	waitForOutbox(t, s.DB, func(c outbox.Counts) bool { return c.Pending == 1 && c.Retrying == 1 }, "one undelivered message after a failed attempt")

	// Restart with the mail still in the outbox; now the SMTP server is up.
	s.stop()
	catcher := startCatchingSMTP(t, smtpAddr)
	s = launchShelf(t, s.DB, s.Logs, env)
	msg := catcher.next(t, 30*time.Second)

	if len(msg.To) != 1 || !strings.Contains(msg.To[0], "Alice.E2E@example.org") {
		t.Errorf("mail To = %v, want Alice.E2E@example.org", msg.To)
	}
	if msg.Text == "" || msg.HTML == "" {
		t.Fatalf("mail needs both a text and an HTML part; text %d bytes, html %d bytes", len(msg.Text), len(msg.HTML))
	}
	link := regexp.MustCompile(`http://[^\s"<>]+/confirm/[A-Za-z0-9_-]+`).FindString(msg.Text)
	if !strings.HasPrefix(link, s.URL+"/confirm/") {
		t.Fatalf("confirmation link %q is not built from the base URL %s; text part:\n%s", link, s.URL, msg.Text)
	}
	if !strings.Contains(msg.HTML, link) {
		t.Errorf("the HTML part does not carry the same link %s", link)
	}

	// A mail scanner fetching the link uses nothing up.
	scanner := newClient(t, s.URL)
	for range 2 {
		if status, _, _ := scanner.get(link); status != http.StatusOK {
			t.Fatalf("GET %s: %d", link, status)
		}
	}

	// A second browser with no session confirms with one POST, after a
	// click: the page does not submit itself, and says where the account
	// was created.
	bob := newClient(t, s.URL)
	_, page, _ = bob.get(link)
	if strings.Contains(page, "data-autosubmit") || !strings.Contains(page, "I didn't create this account") ||
		!strings.Contains(page, `<span id="confirm-browser">a script (Go)</span>`) || !strings.Contains(page, `<span id="confirm-ip">127.0.0.1</span>`) {
		t.Errorf("the confirmation page should wait for a click and show the sign-up's browser and IP:\n%s", page)
	}
	status, body, _ := bob.post(link, url.Values{"_csrf": {csrfFrom(t, page)}})
	if status != http.StatusOK || !strings.Contains(body, "Address confirmed") {
		t.Fatalf("confirm: status %d, want 200 with 'Address confirmed':\n%s", status, body)
	}
	// The same link again: already confirmed.
	status, body, _ = bob.post(link, url.Values{"_csrf": {csrfFrom(t, page)}})
	if status >= 500 || !strings.Contains(strings.ToLower(body), "already confirmed") {
		t.Fatalf("second confirm: status %d, want 'already confirmed':\n%s", status, body)
	}

	// Alice's own browser is asked to sign in, and then sees the account.
	if status, _, hdr := alice.get("/check-email"); status != http.StatusSeeOther || hdr.Get("Location") != "/login?next=%2Faccount" {
		t.Fatalf("/check-email after confirming elsewhere: %d %q", status, hdr.Get("Location"))
	}
	_, page, _ = alice.get("/login?next=%2Faccount")
	if status, _, _ := alice.post("/login", url.Values{"_csrf": {csrfFrom(t, page)}, "email": {"Alice.E2E@example.org"}, "password": {"correct horse battery"}}); status != http.StatusSeeOther {
		t.Fatalf("sign in after confirming: %d", status)
	}
	status, body, _ = alice.get("/account")
	if status != http.StatusOK || !strings.Contains(body, "Alice.E2E@example.org") {
		t.Fatalf("/account after confirming: %d\n%s", status, body)
	}
	// Alice's browser never signed in before (the address was confirmed in
	// Bob's): her owner is told of a sign-in from a new device.
	notice := catcher.next(t, 30*time.Second)
	if notice.Subject != "New sign-in to your Shelf account" || !strings.Contains(notice.Text, s.URL+"/security/not-me/") {
		t.Fatalf("second mail: %q\n%s", notice.Subject, notice.Text)
	}
	waitForOutbox(t, s.DB, func(c outbox.Counts) bool { return c.Sent == 2 && c.Pending+c.Failed == 0 },
		"both messages marked sent")

	// Sign out, then in again: the session cookie changes at sign-in.
	_, page, _ = alice.get("/account")
	if status, _, _ := alice.post("/logout", url.Values{"_csrf": {csrfFrom(t, page)}}); status != http.StatusSeeOther {
		t.Fatalf("logout: %d", status)
	}
	if status, _, _ := alice.get("/account"); status != http.StatusSeeOther {
		t.Fatalf("/account after logout: %d, want a redirect to sign in", status)
	}
	_, page, _ = alice.get("/login")
	before := sessionCookie(alice, s.URL)
	status, _, hdr = alice.post("/login", url.Values{"_csrf": {csrfFrom(t, page)}, "email": {"Alice.E2E@example.org"}, "password": {"correct horse battery"}})
	if status != http.StatusSeeOther {
		t.Fatalf("login: %d", status)
	}
	if after := sessionCookie(alice, s.URL); after == "" || after == before {
		t.Fatalf("session cookie not renewed at sign-in (before %q, after %q)", before, after)
	}
	if status, _, _ := alice.get("/account"); status != http.StatusOK {
		t.Fatalf("/account after signing in again: %d", status)
	}
}

// A sign-up whose address the mail server refuses is told so, on the page
// and on the waiting page's poll, and may correct the address; it is not
// told that a link was sent.
func TestSignUpToARefusedAddressSaysSo(t *testing.T) {
	s, catcher, carol := signUpRefused(t)

	// The waiting page's poll learns it: the page's new state, which
	// polls no more.
	wantRefusedPoll(t, carol, s.URL, "status poll after the refusal")

	status, body, _ := carol.get("/check-email")
	if status != http.StatusOK || !strings.Contains(body, `id="mail-refused"`) ||
		!strings.Contains(body, `The mail server refused <strong id="pending-email">nobody@example.org</strong>`) {
		t.Fatalf("check-email after the refusal: %d, want the refusal:\n%s", status, body)
	}
	if strings.Contains(body, "We sent a link") {
		t.Errorf("the page still says a link was sent:\n%s", body)
	}
	if !strings.Contains(body, `<details id="change-address" open>`) || !strings.Contains(body, `value="nobody@example.org"`) {
		t.Errorf("the page should open the change form on the refused address:\n%s", body)
	}

	// Corrected, the page waits for the new address's link again.
	status, _, hdr := carol.post("/check-email/address", url.Values{"_csrf": {csrfFrom(t, body)}, "email": {"carol@example.org"}})
	if status != http.StatusSeeOther || hdr.Get("Location") != "/check-email" {
		t.Fatalf("change address: %d %q", status, hdr.Get("Location"))
	}
	if msg := catcher.next(t, 30*time.Second); len(msg.To) != 1 || !strings.Contains(msg.To[0], "carol@example.org") {
		t.Fatalf("mail after the change went to %v, want carol@example.org", msg.To)
	}
	status, body, _ = carol.get("/check-email")
	if status != http.StatusOK || strings.Contains(body, "mail-refused") ||
		!strings.Contains(body, `We sent a link to <strong id="pending-email">carol@example.org</strong>`) {
		t.Fatalf("check-email after correcting the address: %d\n%s", status, body)
	}
}

// A reader signed in to an account not yet confirmed (a session from
// before password sign-in required a confirmed address) is told, too, when
// the mail server refused their address, and offered to sign out and sign
// up again, having no change form.
func TestSignedInToARefusedAddressIsToldSo(t *testing.T) {
	s, _, _ := signUpRefused(t)

	// Signed in from another browser while the address is unconfirmed: it
	// is marked confirmed only for the sign-in.
	db, err := store.Open(context.Background(), s.DB)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	setConfirmed := func(at any) {
		t.Helper()
		if _, err := db.Write.Exec(`UPDATE users SET confirmed_at = $1 WHERE email = $2`, at, "nobody@example.org"); err != nil {
			t.Fatal(err)
		}
	}
	dave := newClient(t, s.URL)
	_, page, _ := dave.get("/login")
	setConfirmed("2000-01-01 00:00:00.000")
	status, _, _ := dave.post("/login", url.Values{"_csrf": {csrfFrom(t, page)}, "email": {"nobody@example.org"}, "password": {"correct horse battery"}})
	setConfirmed(nil)
	if status != http.StatusSeeOther {
		t.Fatalf("sign in: status %d, want 303", status)
	}
	// Any mail the sign-in queued (a new-device notice) is refused too.
	waitForOutbox(t, s.DB, func(c outbox.Counts) bool { return c.Pending == 0 && c.Failed >= 1 }, "the mail to the address done")

	wantRefusedPoll(t, dave, s.URL, "signed-in status poll after the refusal")

	status, body, _ := dave.get("/check-email")
	if status != http.StatusOK || !strings.Contains(body, `data-signed-in-as="nobody@example.org"`) || !strings.Contains(body, `id="mail-refused"`) ||
		!strings.Contains(body, `The mail server refused <strong id="pending-email">nobody@example.org</strong>`) {
		t.Fatalf("signed-in check-email after the refusal: %d, want the refusal:\n%s", status, body)
	}
	if strings.Contains(body, "We sent a link") {
		t.Errorf("the page still says a link was sent:\n%s", body)
	}
	if strings.Contains(body, `id="change-address"`) || !strings.Contains(body, "sign out and create your account again") ||
		!strings.Contains(body, `id="refused-sign-out"`) {
		t.Errorf("the signed-in page should offer to sign out and sign up again, not a change form:\n%s", body)
	}
}

// signUpRefused starts Shelf with a mail server that refuses
// nobody@example.org, signs up with that address, and waits until the
// confirmation mail is refused.
func signUpRefused(t *testing.T) (*shelfServer, *catchingSMTP, *browserlessClient) {
	t.Helper()
	smtpAddr := freeLocalAddr(t)
	catcher := startCatchingSMTP(t, smtpAddr)
	catcher.refuse.Store("nobody@example.org", true)
	s := startShelfServer(t, "SHELF_SMTP_URL=smtp://"+smtpAddr+"?tls=none")

	carol := newClient(t, s.URL)
	_, page, _ := carol.get("/register")
	status, _, hdr := carol.post("/register", url.Values{
		"_csrf": {csrfFrom(t, page)}, "email": {"nobody@example.org"},
		"password": {"correct horse battery"}, "password_confirm": {"correct horse battery"},
	})
	if status != http.StatusSeeOther || hdr.Get("Location") != "/check-email" {
		t.Fatalf("sign-up: status %d, Location %q; want 303 to /check-email", status, hdr.Get("Location"))
	}
	waitForOutbox(t, s.DB, func(c outbox.Counts) bool { return c.Failed == 1 }, "the confirmation mail refused")
	return s, catcher, carol
}

// wantRefusedPoll checks that the waiting page's poll, as htmx sends it,
// answers the page's refused state, which polls no more.
func wantRefusedPoll(t *testing.T, c *browserlessClient, base, what string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+"/check-email/status", nil)
	req.Header.Set("HX-Request", "true")
	resp, err := c.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	fragment, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(fragment), `data-refused="true"`) ||
		strings.Contains(string(fragment), `hx-trigger="every 2s"`) || !strings.Contains(string(fragment), "The mail server refused") {
		t.Fatalf("%s: %d, want 200 with the refused state and no more polling:\n%s", what, resp.StatusCode, fragment)
	}
}

// sessionCookie returns the value of the client's session cookie, if any.
func sessionCookie(c *browserlessClient, base string) string {
	u, _ := url.Parse(base)
	for _, ck := range c.http.Jar.Cookies(u) {
		if strings.Contains(ck.Name, "session") {
			return ck.Value
		}
	}
	return ""
}

// waitForOutbox polls the outbox of the database file until ok holds.
func waitForOutbox(t *testing.T, dbPath string, ok func(outbox.Counts) bool, what string) {
	t.Helper()
	db, err := store.Open(context.Background(), dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	queue := outbox.NewQueue(db)
	deadline := time.Now().Add(20 * time.Second)
	var c outbox.Counts
	for time.Now().Before(deadline) {
		if c, err = queue.Counts(context.Background()); err == nil && ok(c) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("waiting for %s: outbox is %+v (err %v)", what, c, err)
}
