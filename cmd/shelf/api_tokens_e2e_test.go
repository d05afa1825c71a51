package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

var newTokenField = regexp.MustCompile(`<pre id="new-api-token"[^>]*>(shelf_pat_[0-9A-Za-z]+)</pre>`)

// An API token made on the account page, against a real SMTP server: the
// password is asked again, the token is shown once, its owner is mailed,
// it is exchanged for an access token whose key is published, and once
// revoked it stops working at the next request.
func TestAPITokenThroughRealSMTP(t *testing.T) {
	smtpAddr := freeLocalAddr(t)
	webAddr := freeLocalAddr(t)
	catcher := startCatchingSMTP(t, smtpAddr)
	s := startShelfServer(t, "SHELF_SMTP_URL=smtp://"+smtpAddr+"?tls=none", "SHELF_ADDR="+webAddr, "SHELF_BASE_URL=http://"+webAddr)
	const email, password = "tokens.e2e@example.org", "correct horse battery"

	owner := newClient(t, s.URL)
	_, page, _ := owner.get("/register")
	owner.post("/register", url.Values{"_csrf": {csrfFrom(t, page)}, "email": {email}, "password": {password}, "password_confirm": {password}})
	confirm := mailLink(t, catcher.next(t, 10*time.Second), s.URL, "/confirm/")
	_, page, _ = owner.get(confirm)
	if status, _, _ := owner.post(confirm, url.Values{"_csrf": {csrfFrom(t, page)}}); status != http.StatusOK {
		t.Fatalf("confirm: %d", status)
	}

	if status, _, h := owner.get("/account/tokens"); status != http.StatusSeeOther || !strings.HasPrefix(h.Get("Location"), "/account/reauth") {
		t.Fatalf("the token form without the password again: %d %q", status, h.Get("Location"))
	}
	_, page, _ = owner.get("/account/reauth?next=/account/tokens")
	if status, _, h := owner.post("/account/reauth", url.Values{"_csrf": {csrfFrom(t, page)}, "password": {password}, "next": {"/account/tokens"}}); status != http.StatusSeeOther || h.Get("Location") != "/account/tokens" {
		t.Fatalf("reauth: %d %q", status, h.Get("Location"))
	}
	_, page, _ = owner.get("/account/tokens")
	form := url.Values{"_csrf": {csrfFrom(t, page)}, "name": {"e2e script"}, "days": {"30"}, "scope": {"books:read", "shelves:read"}}
	if status, _, h := owner.post("/account/tokens", form); status != http.StatusSeeOther || h.Get("Location") != "/account/tokens/created" {
		t.Fatalf("create: %d %q", status, h.Get("Location"))
	}
	_, page, _ = owner.get("/account/tokens/created")
	m := newTokenField.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no token shown:\n%s", page)
	}
	secret := m[1]
	if _, again, _ := owner.get("/account/tokens/created"); strings.Contains(again, secret) {
		t.Fatal("the token is shown twice")
	}

	mail := catcher.next(t, 10*time.Second)
	if mail.Subject != "A new API token for your Shelf account" || len(mail.To) != 1 || !strings.Contains(mail.To[0], email) ||
		!strings.Contains(mail.Text, "e2e script") || strings.Contains(mail.Text, secret) || strings.Contains(mail.HTML, secret) {
		t.Fatalf("token mail: %q to %v\n%s", mail.Subject, mail.To, mail.Text)
	}
	mailLink(t, mail, s.URL, "/security/not-me/")

	exchange := func() (int, map[string]any) {
		req, _ := http.NewRequest(http.MethodPost, s.URL+"/api/v1/token", nil)
		req.SetBasicAuth(email, secret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body map[string]any
		json.NewDecoder(resp.Body).Decode(&body)
		return resp.StatusCode, body
	}
	status, body := exchange()
	if status != http.StatusOK || body["token_type"] != "Bearer" || body["scope"] != "books:read shelves:read" {
		t.Fatalf("exchange: %d %v", status, body)
	}
	resp, err := http.Get(s.URL + "/.well-known/jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	jwks, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(jwks), `"alg":"EdDSA"`) {
		t.Fatalf("jwks: %d %s", resp.StatusCode, jwks)
	}

	_, page, _ = owner.get("/account")
	id := regexp.MustCompile(`data-token-id="(\d+)"`).FindStringSubmatch(page)
	if id == nil || !strings.Contains(page, "e2e script") {
		t.Fatalf("the token is not listed:\n%s", page)
	}
	if status, _, _ := owner.post("/account/tokens/"+id[1]+"/revoke", url.Values{"_csrf": {csrfFrom(t, page)}}); status != http.StatusSeeOther {
		t.Fatalf("revoke: %d", status)
	}
	if status, body := exchange(); status != http.StatusUnauthorized {
		t.Fatalf("exchange after revoking: %d %v", status, body)
	}
}
