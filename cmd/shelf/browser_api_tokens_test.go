package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// API tokens in a real browser: the form validates in place, the new token
// is shown once with a working copy button, the pages fit a phone, and
// revoking swaps the row in place without a page load.
func TestBrowserAPITokens(t *testing.T) {
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
	// The password was just typed to sign in: no need to enter it again.
	runStep(t, tab, "open the token form", 10*time.Second, chromedp.Navigate(s.URL+"/account/tokens"))
	waitJS(t, tab, "the token form", 10*time.Second, `location.pathname === '/account/tokens' && document.readyState === 'complete'`)

	runStep(t, tab, "type a bad expiry", 10*time.Second,
		chromedp.EmulateViewport(360, 844, chromedp.EmulateMobile, chromedp.EmulateScale(3), chromedp.EmulateTouch),
		chromedp.SetValue(chromedp.ID("token-days"), ""),
		chromedp.SendKeys(chromedp.ID("token-days"), "400"),
	)
	waitJS(t, tab, "the expiry's error in place", 10*time.Second, `document.getElementById('token-days-error').textContent.includes('between 1 and 365')`)
	runStep(t, tab, "create a token", 10*time.Second,
		chromedp.SetValue(chromedp.ID("token-days"), ""),
		chromedp.SendKeys(chromedp.ID("token-days"), "30"),
		chromedp.SendKeys(chromedp.ID("token-name"), "phone script"),
		chromedp.Click(chromedp.CSS(`input[name=scope][value="books:read"]`)),
		chromedp.Click(chromedp.CSS(`#api-token-form button[type=submit]`)),
	)
	if err := pollJS(tab, 10*time.Second, `location.pathname === '/account/tokens/created' && document.readyState === 'complete'`); err != nil {
		t.Fatalf("no new token: %v; the form says %s", err, evalJS[string](t, tab, `[...document.querySelectorAll('.error, .flash')].map(e => e.textContent.trim()).filter(Boolean).join(' | ') + ' days=' + document.getElementById('token-days').value`))
	}
	if tok := evalJS[string](t, tab, `document.getElementById('new-api-token').textContent`); !strings.HasPrefix(tok, "shelf_pat_") || len(tok) != 59 {
		t.Fatalf("the token shown: %q", tok)
	}
	if !evalJS[bool](t, tab, `!document.querySelector('[data-copy="new-api-token"]').hidden`) {
		t.Fatal("no copy button")
	}
	if !evalJS[bool](t, tab, `document.documentElement.scrollWidth <= window.innerWidth`) {
		t.Fatal("the new token's page scrolls sideways on a phone 360 px wide")
	}
	assertPagesFit(t, tab, s.URL, []string{"/account", "/account/tokens"})

	runStep(t, tab, "the account page", 10*time.Second,
		chromedp.EmulateViewport(1280, 844),
		chromedp.Navigate(s.URL+"/account#api-tokens"),
		chromedp.WaitVisible(chromedp.CSS(`.api-token-revoke`)),
		chromedp.Evaluate[chromedp.Void](`window.samePage = true`),
		chromedp.Click(chromedp.CSS(`.api-token-revoke`)),
	)
	waitJS(t, tab, "the row revoked in place", 10*time.Second,
		`window.samePage === true && document.querySelector('.api-token-state') !== null && document.querySelector('.api-token-state').textContent.includes('revoked') && !document.querySelector('.api-token-revoke')`)
}
