package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The signed-in pages fit a phone too: the account page with its
// second-factor, passkey and session sections, the list of sessions, the
// password asked again, and setting up an authenticator app (a QR code and
// a key in groups of four).
func TestBrowserAccountPagesFitAPhone(t *testing.T) {
	chromium := needChromium(t)
	s := startShelfServer(t)
	const email, pw = "a-reader-with-a-long-address@a-long-domain-name.example.org", "violet tractor humming"
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"create-admin", "-db", s.DB, "--email", email, "--password-stdin"}, nil,
		strings.NewReader(pw+"\n"), &out, &errb); code != 0 {
		t.Fatalf("create-admin: %s", errb.String())
	}
	tab := newTab(t, chromium.newBrowser(t))
	runStep(t, tab, "sign in", 15*time.Second,
		chromedp.Navigate(s.URL+"/login"),
		chromedp.SendKeys(chromedp.ID("email"), email),
		chromedp.SendKeys(chromedp.ID("password"), pw),
		chromedp.Click(chromedp.CSS(`#login-form button[type=submit]`)),
	)
	waitJS(t, tab, "signed in", 10*time.Second, `location.pathname === '/' || location.pathname === '/account'`)
	assertPagesFit(t, tab, s.URL, []string{"/account", "/account/sessions", "/account/reauth", "/account/password"})

	// The password was just typed to sign in: no need to enter it again.
	runStep(t, tab, "open the setup page", 10*time.Second, chromedp.Navigate(s.URL+"/account/two-factor/setup"))
	waitJS(t, tab, "the setup page", 10*time.Second, `location.pathname === '/account/two-factor/setup'`)
	assertPagesFit(t, tab, s.URL, []string{"/account/two-factor/setup"})
}
