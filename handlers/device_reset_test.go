package handlers

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"
)

// A password reset ends the device trust of every browser that signed in
// before it: someone who once signed in (say, who made the account with
// another person's address) keeps no exemption from the limits. The
// browser that did the reset gets a fresh device cookie.
func TestResetEndsDeviceTrust(t *testing.T) {
	env := newTestEnv(t)
	const email = "devices@example.org"
	old := env.knownBrowser(email)
	oldCookie := old.cookie(deviceCookieName)
	if oldCookie == nil {
		t.Fatal("no device cookie after signing in")
	}
	lockOut := func() {
		t.Helper()
		for range 10 {
			if p := env.browser().login(email, "wrong guess"); p.status != http.StatusUnprocessableEntity && p.status != http.StatusTooManyRequests {
				t.Fatalf("guess: %d", p.status)
			}
		}
		env.browser().login(email, goodPassword).wantStatus(t, http.StatusTooManyRequests)
	}
	lockOut()
	// Before the reset, the device cookie exempts its browser (the premise).
	if p := old.login(email, goodPassword); p.status != http.StatusSeeOther {
		t.Fatalf("device cookie before the reset: %d", p.status)
	}
	old.get("/account")
	old.post("/logout", nil).wantStatus(t, http.StatusSeeOther)
	oldCookie = old.cookie(deviceCookieName)
	old.get("/login")

	env.clock.Advance(time.Hour) // the limits are spent no more
	r := env.browser()
	r.get("/password/forgot")
	r.post("/password/forgot", url.Values{"email": {email}}).wantStatus(t, http.StatusOK)
	env.waitMails(email, 2)
	link := env.lastLink(email)
	r.get(link).wantStatus(t, http.StatusOK)
	newPW := "quiet orange lantern"
	if p := r.post(link, url.Values{"password": {newPW}, "password_confirm": {newPW}}); p.status != http.StatusSeeOther {
		t.Fatalf("reset: %d\n%s", p.status, p.body)
	}
	if r.cookie(deviceCookieName) != nil {
		t.Fatal("the reset gave a device cookie, though it signs in nowhere")
	}
	r.get("/login")
	r.login(email, newPW).wantStatus(t, http.StatusSeeOther)
	if r.cookie(deviceCookieName) == nil {
		t.Fatal("signing in with the new password gave no device cookie")
	}
	r.get("/account")
	r.post("/logout", nil).wantStatus(t, http.StatusSeeOther)

	lockOut()
	old.setCookie(deviceCookieName, oldCookie.Value)
	old.get("/login")
	r.get("/login")
	if p := old.login(email, newPW); p.status != http.StatusTooManyRequests {
		t.Fatalf("device cookie from before the reset: %d, want 429 (it should no longer exempt)", p.status)
	}
	if p := r.login(email, newPW); p.status != http.StatusSeeOther {
		t.Fatalf("device cookie of the browser that reset: %d, want 303", p.status)
	}
}

// Cookies issued before the issue time was in milliseconds still read.
func TestDecodeDeviceIssuedTime(t *testing.T) {
	at := time.Date(2026, 3, 1, 12, 0, 0, 250e6, time.UTC)
	if d, ok := decodeDevice("42|abc|" + fmt.Sprint(at.Unix())); !ok || !d.Issued.Equal(at.Truncate(time.Second)) {
		t.Errorf("seconds: %v %v", d.Issued, ok)
	}
	if d, ok := decodeDevice(device{UserID: 42, ID: "abc", Issued: at}.encode()); !ok || !d.Issued.Equal(at) {
		t.Errorf("milliseconds: %v %v", d.Issued, ok)
	}
}
