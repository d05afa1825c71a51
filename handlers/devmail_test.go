package handlers

import (
	"context"
	"database/sql"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"shelf/store"
	"shelf/store/outbox"
	"shelf/store/outbox/devinbox"
)

// mailTestServer serves the mail pages the way routes.go wires them.
func mailTestServer(t *testing.T, p *MailPages) *echo.Echo {
	t.Helper()
	a := p.App
	e := echo.New()
	e.HTTPErrorHandler = a.handleError
	e.Use(a.recoverPanics, securityHeaders)
	e.GET("/dev/mail", p.DevInbox)
	e.GET("/dev/mail/:n", p.DevMessage)
	e.GET("/dev/mail/:n/html", p.DevMessageHTML)
	e.GET("/admin/outbox", p.AdminOutbox)
	e.POST("/admin/outbox/:id/retry", p.AdminOutboxRetry)
	return e
}

// get requests path the way a browser on this machine does: from a
// loopback address, with a local Host (the dev inbox serves nobody else).
func get(t *testing.T, h http.Handler, path string) (*http.Response, string) {
	t.Helper()
	return getFrom(t, h, path, "127.0.0.1:50000", "localhost:8080")
}

// getFrom requests path from the client address remote with the Host header host.
func getFrom(t *testing.T, h http.Handler, path, remote, host string) (*http.Response, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	req.RemoteAddr, req.Host = remote, host
	h.ServeHTTP(rec, req)
	res := rec.Result()
	body, _ := io.ReadAll(res.Body)
	return res, string(body)
}

func mailTestDB(t *testing.T) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "shelf.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func enqueueMail(t *testing.T, db *store.DB, m outbox.Mail) {
	t.Helper()
	err := db.InTx(context.Background(), func(tx *sql.Tx) error {
		_, err := outbox.Enqueue(context.Background(), tx, m)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestDevMailOffWithoutInbox(t *testing.T) {
	a := &App{Logger: slog.New(slog.DiscardHandler)}
	e := mailTestServer(t, &MailPages{App: a})
	for _, path := range []string{"/dev/mail", "/dev/mail/1", "/dev/mail/1/html"} {
		if res, _ := get(t, e, path); res.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s = %d, want 404 when the dev inbox is off", path, res.StatusCode)
		}
	}
}

func TestDevMailShowsCaughtMail(t *testing.T) {
	db := mailTestDB(t)
	inbox, sender := startDevInboxSender(t, db)

	changed := inbox.Changed()
	enqueueMail(t, db, outbox.Mail{
		To:      "reader@example.com",
		Subject: "Confirm <b>now</b>",
		Text: "Hello <script>alert(1)</script>\n" +
			"Confirm: https://shelf.test/confirm/abc?x=1&y=2.\n" +
			"Not a link: javascript:alert(1)\n",
		HTML: `<script>alert(1)</script><p style="color:red">Hi <a href="https://shelf.test/confirm/abc">confirm</a></p>`,
	})
	sender.Notify()
	select {
	case <-changed:
	case <-time.After(5 * time.Second):
		t.Fatal("no mail caught")
	}

	a := &App{Logger: slog.New(slog.DiscardHandler), DB: db}
	e := mailTestServer(t, &MailPages{App: a, Inbox: inbox, Outbox: outbox.NewQueue(db)})

	res, body := get(t, e, "/dev/mail")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET /dev/mail = %d", res.StatusCode)
	}
	for _, want := range []string{`href="/dev/mail/1"`, "Confirm &lt;b&gt;now&lt;/b&gt;", "reader@example.com", `data-mail-count="1"`} {
		if !strings.Contains(body, want) {
			t.Errorf("inbox page lacks %q:\n%s", want, body)
		}
	}

	res, body = get(t, e, "/dev/mail/1")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET /dev/mail/1 = %d", res.StatusCode)
	}
	for _, want := range []string{
		// The link is clickable, without the sentence's full stop, and escaped.
		`<a href="https://shelf.test/confirm/abc?x=1&amp;y=2" rel="noreferrer">https://shelf.test/confirm/abc?x=1&amp;y=2</a>.`,
		"Hello &lt;script&gt;alert(1)&lt;/script&gt;",
		"Not a link: javascript:alert(1)",
		// The HTML part only in a sandboxed frame, which may open its links
		// in a new tab and do nothing else.
		`sandbox="allow-popups allow-popups-to-escape-sandbox"`,
		`src="/dev/mail/1/html"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("message page lacks %q:\n%s", want, body)
		}
	}
	if strings.Contains(body, "<script>alert") || strings.Contains(body, `style="color:red"`) || strings.Contains(body, `href="javascript:`) {
		t.Errorf("message page contains the message's markup unescaped:\n%s", body)
	}
	if csp := res.Header.Get("Content-Security-Policy"); csp != contentSecurityPolicy {
		t.Errorf("message page CSP = %q", csp)
	}

	res, body = get(t, e, "/dev/mail/1/html")
	if res.StatusCode != http.StatusOK || !strings.Contains(body, `<p style="color:red">`) {
		t.Fatalf("GET /dev/mail/1/html = %d %q", res.StatusCode, body)
	}
	if csp := res.Header.Get("Content-Security-Policy"); csp != htmlPartPolicy ||
		!strings.Contains(csp, "sandbox") || !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("HTML part CSP = %q", csp)
	}
	if xfo := res.Header.Get("X-Frame-Options"); xfo != "SAMEORIGIN" {
		t.Errorf("HTML part X-Frame-Options = %q", xfo)
	}
	if ct := res.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Errorf("HTML part Content-Type = %q", ct)
	}

	for _, path := range []string{"/dev/mail/2", "/dev/mail/0", "/dev/mail/x", "/dev/mail/2/html"} {
		if res, _ := get(t, e, path); res.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s = %d, want 404", path, res.StatusCode)
		}
	}
}

// TestDevMailOnlyForThisMachine: the dev inbox shows reset links, so it is
// served only to a client connecting from a loopback address (the
// connection's, not a header's) that names a local host: a page on a
// rebound DNS name (Host evil.example) gets nothing either.
func TestDevMailOnlyForThisMachine(t *testing.T) {
	db := mailTestDB(t)
	inbox, sender := startDevInboxSender(t, db)
	changed := inbox.Changed()
	enqueueMail(t, db, outbox.Mail{To: "reader@example.com", Subject: "Reset", Text: "https://shelf.test/password/reset/secret", HTML: "<p>reset</p>"})
	sender.Notify()
	select {
	case <-changed:
	case <-time.After(5 * time.Second):
		t.Fatal("no mail caught")
	}
	a := &App{Logger: slog.New(slog.DiscardHandler), DB: db}
	e := mailTestServer(t, &MailPages{App: a, Inbox: inbox, Outbox: outbox.NewQueue(db)})

	allowed := []struct{ remote, host string }{
		{"127.0.0.1:50000", "localhost:8080"},
		{"127.0.0.1:50000", "localhost"},
		{"127.0.0.1:50000", "127.0.0.1:8080"},
		{"127.0.0.1:50000", "shelf.localhost:8080"},
		{"127.0.0.5:50000", "127.0.0.5:8080"},
		{"[::1]:50000", "[::1]:8080"},
		{"[::ffff:127.0.0.1]:50000", "LOCALHOST:8080"},
	}
	refused := []struct{ remote, host string }{
		{"192.0.2.1:50000", "localhost:8080"},         // another machine
		{"[2001:db8::1]:50000", "[::1]:8080"},         // another machine, IPv6
		{"127.0.0.1:50000", "evil.example"},           // DNS rebinding
		{"127.0.0.1:50000", "evil.example:8080"},      // DNS rebinding
		{"127.0.0.1:50000", "localhost.evil.example"}, // not under .localhost
		{"127.0.0.1:50000", "192.0.2.1:8080"},         // a public address
		{"127.0.0.1:50000", ""},                       // no Host at all
		{"192.0.2.1", "localhost"},                    // unparsable client address
	}
	for _, path := range []string{"/dev/mail", "/dev/mail/1", "/dev/mail/1/html"} {
		for _, c := range allowed {
			if res, _ := getFrom(t, e, path, c.remote, c.host); res.StatusCode != http.StatusOK {
				t.Errorf("GET %s from %s, Host %q = %d, want 200", path, c.remote, c.host, res.StatusCode)
			}
		}
		for _, c := range refused {
			res, body := getFrom(t, e, path, c.remote, c.host)
			if res.StatusCode != http.StatusNotFound || strings.Contains(body, "secret") || strings.Contains(body, "Reset") {
				t.Errorf("GET %s from %s, Host %q = %d, want 404 and no mail", path, c.remote, c.host, res.StatusCode)
			}
		}
	}
	// A header cannot stand in for the connection's address.
	req := httptest.NewRequest(http.MethodGet, "/dev/mail", nil)
	req.RemoteAddr, req.Host = "192.0.2.1:50000", "localhost:8080"
	req.Header.Set("X-Forwarded-For", "127.0.0.1")
	req.Header.Set("X-Real-Ip", "127.0.0.1")
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	if rec.Code != http.StatusNotFound {
		t.Errorf("remote client claiming 127.0.0.1 in headers = %d, want 404", rec.Code)
	}
}

type countingNotifier struct{ n int }

func (c *countingNotifier) Notify() { c.n++ }

func TestAdminOutboxListsFailures(t *testing.T) {
	db := mailTestDB(t)
	ob := outbox.NewQueue(db)
	ctx := context.Background()
	enqueueMail(t, db, outbox.Mail{To: "<b>bad</b>", Subject: "Welcome & hello", Text: "t", HTML: "h"})
	enqueueMail(t, db, outbox.Mail{To: "ok@example.com", Subject: "Pending", Text: "t", HTML: "h"})
	rows, err := ob.Claim(ctx, "test", time.Now().Add(time.Second), 1)
	if err != nil || len(rows) != 1 {
		t.Fatal(rows, err)
	}
	if err := ob.MarkFailed(ctx, rows[0].ID, time.Now(), `550 no such user <script>`); err != nil {
		t.Fatal(err)
	}

	notifier := &countingNotifier{}
	a := &App{Logger: slog.New(slog.DiscardHandler), DB: db}
	e := mailTestServer(t, &MailPages{App: a, Outbox: ob, Sender: notifier})
	res, body := get(t, e, "/admin/outbox")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET /admin/outbox = %d", res.StatusCode)
	}
	for _, want := range []string{
		`data-count="pending">1<`, `data-count="failed">1<`, `data-count="sent">0<`,
		"&lt;b&gt;bad&lt;/b&gt;", "Welcome &amp; hello", "550 no such user &lt;script&gt;",
		`action="/admin/outbox/1/retry"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("admin page lacks %q:\n%s", want, body)
		}
	}

	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/admin/outbox/1/retry", nil))
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/admin/outbox" {
		t.Fatalf("retry = %d %q", rec.Code, rec.Header().Get("Location"))
	}
	if c, _ := ob.Counts(ctx); c.Failed != 0 || c.Pending != 2 || notifier.n != 1 {
		t.Fatalf("after retry: %+v, notified %d", c, notifier.n)
	}
	rec = httptest.NewRecorder()
	e.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/admin/outbox/1/retry", nil))
	if rec.Code != http.StatusNotFound {
		t.Fatalf("retry of a message that is not failed = %d, want 404", rec.Code)
	}
}

// startDevInboxSender runs a dev inbox and a sender delivering db's outbox
// to it, both stopped when the test ends.
func startDevInboxSender(t *testing.T, db *store.DB) (*devinbox.Inbox, *outbox.Sender) {
	t.Helper()
	inbox, err := devinbox.Start(db, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { inbox.Close() })
	from, _ := outbox.ParseFrom(outbox.DefaultFrom)
	sender, err := outbox.NewSender(outbox.NewQueue(db), inbox.SMTP(), from, outbox.SenderOptions{PollInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	sender.Start()
	t.Cleanup(func() { sender.Stop(context.Background()) })
	return inbox, sender
}

func TestLinksInNewTab(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`<html><head><title>x</title></head><body><a href="/">a</a></body></html>`,
			`<html><head><base target="_blank"><title>x</title></head><body><a href="/">a</a></body></html>`},
		{`<HTML><HEAD lang="en"><title>x</title></HEAD>`, `<HTML><HEAD lang="en"><base target="_blank"><title>x</title></HEAD>`},
		{`<header>not a head</header><a href="/">a</a>`, `<base target="_blank"><header>not a head</header><a href="/">a</a>`},
		{`<p>Hi</p>`, `<base target="_blank"><p>Hi</p>`},
	} {
		if got := string(linksInNewTab(c.in)); got != c.want {
			t.Errorf("linksInNewTab(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
