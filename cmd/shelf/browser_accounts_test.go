package main

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserSignUp walks what a newcomer does on a fresh install, in a real
// browser: the email field complains in place while they type a bad address
// and clears when they fix it, without a page load; they create the account,
// open the built-in dev inbox, click the link in the mail, and are confirmed.
func TestBrowserSignUp(t *testing.T) {
	chromium := needChromium(t)
	base, logs := startShelf(t) // no SHELF_SMTP_URL: mail goes to the dev inbox
	tab := newTab(t, chromium.newBrowser(t))

	runStep(t, tab, "open the sign-up page", 15*time.Second,
		chromedp.Navigate(base+"/register"),
		chromedp.WaitVisible(chromedp.ID("email")),
	)
	// A marker on window survives only if the page is never reloaded.
	evalJS[bool](t, tab, `window.__noReload = true`)
	validations := func() int { return logs.Count("msg=request", "route=/register/validate/:field ", "htmx=true") }

	runStep(t, tab, "type a bad address", 5*time.Second, chromedp.Focus(chromedp.ID("email")))
	typeKeys(t, tab, "reader@")
	waitJS(t, tab, "the email message beside the field", 5*time.Second,
		`document.getElementById('email-error') && document.getElementById('email-error').textContent.trim() !== '' &&
		 document.getElementById('email').getAttribute('aria-invalid') === 'true'`)
	if got := evalJS[string](t, tab, `document.getElementById('email').getAttribute('aria-describedby') || ''`); got == "" {
		t.Errorf("the invalid email field is not described by its message")
	}
	if validations() == 0 {
		t.Errorf("no in-place validation request reached the server")
	}

	typeKeys(t, tab, "example.com")
	waitJS(t, tab, "the message to clear once the address is fixed", 5*time.Second,
		`(document.getElementById('email-error') === null || document.getElementById('email-error').textContent.trim() === '') &&
		 document.getElementById('email').getAttribute('aria-invalid') !== 'true'`)
	if got := evalJS[string](t, tab, `document.getElementById('email').value`); got != "reader@example.com" {
		t.Errorf("the field holds %q after validation, want what was typed", got)
	}
	if !evalJS[bool](t, tab, `window.__noReload === true`) {
		t.Fatal("validating the field reloaded the page")
	}

	runStep(t, tab, "fill in the passwords and submit", 15*time.Second,
		chromedp.SendKeys(chromedp.ID("password"), "a long enough passphrase"),
		chromedp.SendKeys(chromedp.ID("password-confirm"), "a long enough passphrase"),
		chromedp.Click(chromedp.CSS(`#register-form button[type=submit]`)),
	)
	waitJS(t, tab, "the check-your-mailbox page", 15*time.Second,
		`location.pathname === '/check-email' && document.body.textContent.includes('reader@example.com')`)

	// The mail is in the dev inbox; open it and click the link, as a person would.
	runStep(t, tab, "open the dev inbox", 10*time.Second, chromedp.Navigate(base+"/dev/mail"))
	waitJS(t, tab, "the confirmation mail in the dev inbox", 15*time.Second, `document.querySelector('a[href^="/dev/mail/"]') !== null`)
	runStep(t, tab, "open the mail", 10*time.Second, chromedp.Click(chromedp.CSS(`a[href^="/dev/mail/"]`)))
	waitJS(t, tab, "the link in the mail", 10*time.Second, fmt.Sprintf(`document.querySelector('a[href^="%s/confirm/"]') !== null`, base))
	runStep(t, tab, "click the confirmation link", 10*time.Second, chromedp.Click(chromedp.CSS(fmt.Sprintf(`a[href^="%s/confirm/"]`, base))))
	// The confirmation page waits for a click (a scanner running its
	// scripts confirms nothing) and says where the account was created.
	waitJS(t, tab, "the confirmation page", 15*time.Second,
		`document.querySelector('#confirm-form button') !== null && document.querySelector('#not-me-form') !== null && document.querySelector('#confirm-browser').textContent.includes('Chrom')`)
	runStep(t, tab, "wait on the page", 5*time.Second, chromedp.Sleep(time.Second))
	waitJS(t, tab, "the page still unconfirmed after a second", 5*time.Second,
		`location.pathname.startsWith('/confirm/') && !document.body.textContent.includes('Address confirmed')`)
	runStep(t, tab, "press Confirm", 10*time.Second, chromedp.Click(chromedp.CSS(`#confirm-form button[type=submit]`)))
	waitJS(t, tab, "the confirmation", 15*time.Second, `document.body.textContent.includes('Address confirmed')`)

	runStep(t, tab, "open the account page", 10*time.Second, chromedp.Navigate(base+"/account"))
	waitJS(t, tab, "the confirmed account page", 10*time.Second,
		`location.pathname === '/account' && document.body.textContent.includes('reader@example.com')`)
}

// typeKeys types s into the focused element one key at a time.
func typeKeys(t *testing.T, ctx context.Context, s string) {
	t.Helper()
	for _, r := range s {
		runStep(t, ctx, fmt.Sprintf("type %q", r), 5*time.Second, chromedp.KeyEvent(string(r)))
	}
}
