package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserSignInFocus: after a wrong password the password field has
// the focus (it stayed on the page, so a keyboard user started again from
// the top), described by the error; after a missing address, the email.
func TestBrowserSignInFocus(t *testing.T) {
	chromium := needChromium(t)
	s := startShelfServer(t)
	const email, pw = "focus@example.org", "violet tractor humming"
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"create-admin", "-db", s.DB, "--email", email, "--password-stdin"}, nil,
		strings.NewReader(pw+"\n"), &out, &errb); code != 0 {
		t.Fatalf("create-admin: %s", errb.String())
	}
	tab := newIncognitoTab(t, chromium.newBrowser(t))
	runStep(t, tab, "sign in with a wrong password", 15*time.Second,
		chromedp.Navigate(s.URL+"/login"),
		chromedp.WaitVisible(chromedp.ID("password")),
		chromedp.SendKeys(chromedp.ID("email"), email),
		chromedp.SendKeys(chromedp.ID("password"), "not the password"),
		chromedp.Click(chromedp.CSS(`#login-form button[type=submit]`)),
	)
	waitJS(t, tab, "the error, with focus on the password", 10*time.Second,
		`document.getElementById('login-error') !== null && document.activeElement && document.activeElement.id === 'password'`)
	if got := evalJS[string](t, tab, `document.getElementById('password').getAttribute('aria-describedby') + ' ' + document.getElementById('password').getAttribute('aria-invalid')`); got != "login-error true" {
		t.Errorf("the password field: aria-describedby and aria-invalid %q", got)
	}
	if got := evalJS[string](t, tab, `document.getElementById('email').value`); got != email {
		t.Errorf("the address was not kept: %q", got)
	}
	// Typing goes to the password field, and signs in.
	typeKeys(t, tab, pw)
	runStep(t, tab, "press Enter", 5*time.Second, chromedp.KeyEvent("\r"))
	waitJS(t, tab, "signed in", 10*time.Second, `location.pathname !== '/login'`)

	tab = newIncognitoTab(t, chromium.newBrowser(t))
	runStep(t, tab, "sign in without an address", 15*time.Second,
		chromedp.Navigate(s.URL+"/login"),
		chromedp.WaitVisible(chromedp.ID("password")),
		chromedp.SendKeys(chromedp.ID("password"), pw),
		chromedp.Click(chromedp.CSS(`#login-form button[type=submit]`)),
	)
	waitJS(t, tab, "the error, with focus on the email", 10*time.Second,
		`document.getElementById('login-error') !== null && document.activeElement && document.activeElement.id === 'email'`)
}
