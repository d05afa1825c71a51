package main

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Sign-in by email in a real browser: the request form's countdown, and the
// mailed link opened in a second browser, which it signs in after a click.
func TestBrowserSignInByEmail(t *testing.T) {
	chromium := needChromium(t)
	base, _ := startShelf(t) // mail goes to the dev inbox
	c := newClient(t, base)
	_, page, _ := c.get("/register")
	if status, _, _ := c.post("/register", url.Values{"_csrf": {csrfFrom(t, page)}, "email": {"reader@example.com"},
		"password": {"correct horse battery"}, "password_confirm": {"correct horse battery"}}); status != http.StatusSeeOther {
		t.Fatalf("sign up: %d", status)
	}

	browser := chromium.newBrowser(t)
	asker := newTab(t, browser)
	runStep(t, asker, "open the sign-in page and follow 'Email me a sign-in link'", 15*time.Second,
		chromedp.Navigate(base+"/login"),
		chromedp.Click(chromedp.ID("magic-request")),
		chromedp.WaitVisible(chromedp.ID("email")),
		chromedp.Focus(chromedp.ID("email")),
	)
	// The address is checked in place as it is typed, as on sign-up.
	typeKeys(t, asker, "reader@")
	waitJS(t, asker, "the message beside the unfinished address", 5*time.Second,
		`document.getElementById('email-error').textContent.trim() !== '' && document.getElementById('email').getAttribute('aria-invalid') === 'true'`)
	typeKeys(t, asker, "example.com")
	waitJS(t, asker, "the message to clear", 5*time.Second,
		`document.getElementById('email-error').textContent.trim() === '' && document.getElementById('email').getAttribute('aria-invalid') !== 'true'`)
	runStep(t, asker, "send", 10*time.Second, chromedp.Click(chromedp.ID("magic-send")))
	waitJS(t, asker, "the code page", 10*time.Second,
		`location.pathname === '/login/email/code' && document.getElementById('magic-email').textContent === 'reader@example.com'`)
	// The send-again button waits out the minute the server would refuse.
	waitJS(t, asker, "the disabled, counting button", 5*time.Second,
		`document.getElementById('magic-send').disabled && /\(\d+ s\)/.test(document.getElementById('magic-send').textContent)`)
	first := evalJS[float64](t, asker, `parseInt(document.getElementById('magic-send').textContent.match(/\((\d+) s\)/)[1], 10)`)
	if first < 55 || first > 60 {
		t.Errorf("the countdown starts at %v s, want the rest of a minute", first)
	}
	waitJS(t, asker, "the countdown to go down", 5*time.Second,
		fmt.Sprintf(`parseInt(document.getElementById('magic-send').textContent.match(/\((\d+) s\)/)[1], 10) <= %v`, first-2))

	// The link, in another browser (its own cookies), from the dev inbox.
	other := newIncognitoTab(t, browser)
	runStep(t, other, "open the dev inbox", 10*time.Second, chromedp.Navigate(base+"/dev/mail"))
	waitJS(t, other, "the sign-in mail", 15*time.Second,
		`[...document.querySelectorAll('a[href^="/dev/mail/"]')].some(a => a.textContent.includes('Sign in to Shelf'))`)
	evalJS[bool](t, other, `(location.href = [...document.querySelectorAll('a[href^="/dev/mail/"]')].find(a => a.textContent.includes('Sign in to Shelf')).href, true)`)
	sel := fmt.Sprintf(`a[href^="%s/login/email/link/"]`, base)
	waitJS(t, other, "the link in the mail", 10*time.Second, fmt.Sprintf(`document.querySelector('%s') !== null`, sel))
	runStep(t, other, "click the link", 10*time.Second, chromedp.Click(chromedp.CSS(sel)))
	waitJS(t, other, "'Sign in on this device?'", 10*time.Second, `document.querySelector('#magic-link-form button') !== null`)
	runStep(t, other, "wait on the page", 5*time.Second, chromedp.Sleep(time.Second))
	waitJS(t, other, "nothing signed in without a click", 5*time.Second,
		`location.pathname.startsWith('/login/email/link/') && document.querySelector('a[href="/login"]') !== null`)
	runStep(t, other, "press 'Sign in on this device'", 10*time.Second, chromedp.Click(chromedp.CSS(`#magic-link-form button`)))
	waitJS(t, other, "the home page, signed in", 10*time.Second, `location.pathname === '/' && document.querySelector('a[href="/login"]') === null`)
	runStep(t, other, "open the account page", 10*time.Second, chromedp.Navigate(base+"/account"))
	waitJS(t, other, "the confirmed account", 10*time.Second,
		`location.pathname === '/account' && document.getElementById('account-email').textContent.includes('reader@example.com')`)

	// The browser that asked is still signed out.
	runStep(t, asker, "open the account page in the asking browser", 10*time.Second, chromedp.Navigate(base+"/account"))
	waitJS(t, asker, "the sign-in page", 10*time.Second, `location.pathname === '/login'`)
}
