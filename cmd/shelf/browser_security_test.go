package main

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// openDevMail opens, in tab, the newest dev-inbox mail whose subject is
// subject, and clicks its first link starting with prefix.
func openDevMail(t *testing.T, tab context.Context, base, subject, prefix string) {
	t.Helper()
	runStep(t, tab, "open the dev inbox", 10*time.Second, chromedp.Navigate(base+"/dev/mail"))
	find := fmt.Sprintf(`[...document.querySelectorAll('a[href^="/dev/mail/"]')].find(a => a.textContent.trim() === %q)`, subject)
	waitJS(t, tab, "the mail "+subject, 15*time.Second, find+` !== undefined`)
	evalJS[bool](t, tab, find+`.click(), true`)
	link := fmt.Sprintf(`a[href^="%s%s"]`, base, prefix)
	waitJS(t, tab, "the link in "+subject, 10*time.Second, fmt.Sprintf(`document.querySelector(%q) !== null`, link))
	runStep(t, tab, "click the link", 10*time.Second, chromedp.Click(chromedp.CSS(link)))
}

// TestBrowserSessionsAndNotMe: the owner sees a second browser's sign-in on
// "Where you're signed in" and signs it out; then, in a third browser with no
// cookies, the "This wasn't me" link from the new-sign-in mail signs
// everyone out.
func TestBrowserSessionsAndNotMe(t *testing.T) {
	chromium := needChromium(t)
	base, _ := startShelf(t) // mail goes to the dev inbox
	browser := chromium.newBrowser(t)
	owner := newTab(t, browser)
	const email, password = "owner@example.com", "a long enough passphrase"

	runStep(t, owner, "sign up", 15*time.Second,
		chromedp.Navigate(base+"/register"),
		chromedp.WaitVisible(chromedp.ID("email")),
		chromedp.SendKeys(chromedp.ID("email"), email),
		chromedp.SendKeys(chromedp.ID("password"), password),
		chromedp.SendKeys(chromedp.ID("password-confirm"), password),
		chromedp.Click(chromedp.CSS(`#register-form button[type=submit]`)),
	)
	waitJS(t, owner, "the check-your-mailbox page", 15*time.Second, `location.pathname === '/check-email'`)
	openDevMail(t, owner, base, "Confirm your Shelf account", "/confirm/")
	waitJS(t, owner, "the confirmation page", 10*time.Second, `document.querySelector('#confirm-form button') !== null`)
	runStep(t, owner, "confirm", 10*time.Second, chromedp.Click(chromedp.CSS(`#confirm-form button[type=submit]`)))
	waitJS(t, owner, "the confirmation", 10*time.Second, `document.body.textContent.includes('Address confirmed')`)

	other := newIncognitoTab(t, browser)
	runStep(t, other, "sign in from a second browser", 15*time.Second,
		chromedp.Navigate(base+"/login"),
		chromedp.WaitVisible(chromedp.ID("email")),
		chromedp.SendKeys(chromedp.ID("email"), email),
		chromedp.SendKeys(chromedp.ID("password"), password),
		chromedp.Click(chromedp.CSS(`form[action="/login"] button[type=submit]`)),
	)
	waitJS(t, other, "signed in", 10*time.Second, `location.pathname === '/'`)

	runStep(t, owner, "open where you're signed in", 10*time.Second, chromedp.Navigate(base+"/account"))
	runStep(t, owner, "follow the link", 10*time.Second, chromedp.Click(chromedp.CSS(`a[href="/account/sessions"]`)))
	waitJS(t, owner, "two sessions, this one marked", 10*time.Second,
		`document.querySelectorAll('li.session').length === 2 && document.querySelector('li.session[data-current]') !== null &&
		 document.body.textContent.includes('(this device)') && document.body.textContent.includes('Chrom')`)
	runStep(t, owner, "sign the other browser out", 10*time.Second,
		chromedp.Click(chromedp.CSS(`li.session:not([data-current]) button[type=submit]`)))
	waitJS(t, owner, "one session left", 10*time.Second,
		`document.querySelectorAll('li.session').length === 1 && document.body.textContent.includes('That session is signed out.')`)
	runStep(t, other, "reload in the other browser", 10*time.Second, chromedp.Navigate(base+"/account"))
	waitJS(t, other, "the other browser signed out", 10*time.Second, `location.pathname === '/login'`)

	fresh := newIncognitoTab(t, browser)
	openDevMail(t, fresh, base, "New sign-in to your Shelf account", "/security/not-me/")
	waitJS(t, fresh, "the page describing the sign-in", 10*time.Second,
		`document.querySelector('#not-me-form button') !== null && document.querySelector('#not-me-browser').textContent.includes('Chrom')`)
	runStep(t, fresh, "press This wasn't me", 10*time.Second, chromedp.Click(chromedp.CSS(`#not-me-form button[type=submit]`)))
	waitJS(t, fresh, "the account secured", 10*time.Second, `document.querySelector('[data-outcome="secured"]') !== null`)

	runStep(t, owner, "reload in the owner's browser", 10*time.Second, chromedp.Navigate(base+"/account"))
	waitJS(t, owner, "the owner signed out too", 10*time.Second, `location.pathname === '/login'`)
}
