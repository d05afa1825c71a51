package main

// The check-your-mailbox page's help in a real browser: changing a
// mistyped address, the resend countdown, and two devices (separate
// browsers, no shared cookies) confirming the new address.

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

func TestBrowserMailboxChangeAddressAndCountdown(t *testing.T) {
	chromium := needChromium(t)
	smtpAddr := freeLocalAddr(t)
	mail := startCatchingSMTP(t, smtpAddr)
	s := startShelfServer(t, "SHELF_SMTP_URL=smtp://"+smtpAddr+"?tls=none", "SHELF_MAIL_FROM=Shelf <books@shelf.example>")
	computer := newTab(t, chromium.newBrowser(t))
	const wrong, right = "reader@exmaple.org", "reader@example.org"

	signUpInBrowser(t, computer, s.URL, wrong)
	oldLink := confirmLink.FindString(mail.next(t, 10*time.Second).Text)
	waitJS(t, computer, "the page's scripts", 5*time.Second, `!!window.htmx && document.readyState === 'complete'`)
	if !evalJS[bool](t, computer, `document.body.textContent.includes('books@shelf.example')`) {
		t.Error("the tips do not name the sender")
	}
	if evalJS[bool](t, computer, `document.getElementById('open-mailbox') !== null`) {
		t.Error("a webmail button for a mistyped domain")
	}

	// The countdown: from the server's deadline, a minute after the
	// sign-up mail; the button is disabled and the words count down.
	if d := evalJS[int64](t, computer, `(() => {
			const f = document.getElementById('resend-form');
			return Number(f.dataset.resendAt) - Number(f.dataset.serverNow);
		})()`); d <= 55_000 || d > 60_000 {
		t.Fatalf("the page's deadline is %d ms after its render, want just under a minute", d)
	}
	if !evalJS[bool](t, computer, `document.querySelector('#resend-form button').disabled`) {
		t.Fatal("Resend is enabled before the deadline")
	}
	waitJS(t, computer, "the countdown to tick", 5*time.Second,
		`/^(5[0-8]) seconds$/.test(document.getElementById('resend-left').textContent)`)
	// The button enables itself at the deadline it reads: moved to 1.5 s
	// from now, rather than waiting a minute.
	evalJS[bool](t, computer, `document.getElementById('resend-form').dataset.resendAt = String(Date.now() + 1500); true`)
	time.Sleep(700 * time.Millisecond)
	if !evalJS[bool](t, computer, `document.querySelector('#resend-form button').disabled`) {
		t.Fatal("Resend enabled before its deadline")
	}
	waitJS(t, computer, "Resend to enable itself", 4*time.Second,
		`!document.querySelector('#resend-form button').disabled && document.getElementById('resend-wait').textContent === 'You can ask again now.'`)

	// Layouts, with the change form open.
	runStep(t, computer, "open the change form", 5*time.Second, chromedp.Click(chromedp.CSS(`#change-address summary`)))
	waitJS(t, computer, "the change form", 5*time.Second, `document.getElementById('change-address').open`)
	for _, width := range []int64{375, 1280} {
		runStep(t, computer, "viewport", 10*time.Second, chromedp.EmulateViewport(width, 844))
		waitJS(t, computer, "the layout", 5*time.Second, `document.readyState === "complete"`)
		if w := evalJS[int64](t, computer, `document.documentElement.scrollWidth`); w > width {
			t.Errorf("the page at %d px is %d px wide", width, w)
		}
		if dir := os.Getenv("SHELF_SCREENSHOTS"); dir != "" {
			sctx, cancel := context.WithTimeout(computer, 10*time.Second)
			png, err := chromedp.Run(sctx, chromedp.FullScreenshot(100))
			cancel()
			if err != nil {
				t.Fatalf("screenshot: %v", err)
			}
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("check-email-change-%d.png", width)), png, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}

	// In place, sign-up's check; then the right address.
	runStep(t, computer, "focus the new address", 5*time.Second, chromedp.Focus(chromedp.ID("email")))
	typeKeys(t, computer, "reader@")
	waitJS(t, computer, "sign-up's in-place message", 10*time.Second, `document.getElementById('email-error').textContent.trim() !== ''`)
	typeKeys(t, computer, "example.org")
	waitJS(t, computer, "the address accepted", 10*time.Second, `document.getElementById('email-error').textContent.trim() === ''`)
	runStep(t, computer, "change the address", 10*time.Second, chromedp.Click(chromedp.CSS(`#change-address-form button[type=submit]`)))
	waitJS(t, computer, "the page for the new address", 10*time.Second, fmt.Sprintf(
		`location.pathname === '/check-email' && document.getElementById('pending-email').textContent === %q &&
		 document.body.textContent.includes('no longer works')`, right))
	m := mail.next(t, 10*time.Second)
	if len(m.To) != 1 || !strings.Contains(m.To[0], right) {
		t.Fatalf("the new link went to %v", m.To)
	}
	newLink := confirmLink.FindString(m.Text)

	// Another device, its own browser: the old link no longer works, the
	// new one confirms; the computer's page moves on by itself.
	phone := newTab(t, chromium.newBrowser(t))
	runStep(t, phone, "open the old link", 10*time.Second, chromedp.Navigate(oldLink))
	waitJS(t, phone, "the no-longer-works page", 10*time.Second, `document.querySelector('[data-outcome="retired"]') !== null`)
	waitForTheMoveOn(t, computer, countStatusRequests(s.Logs), func() {
		runStep(t, phone, "confirm the new address", 10*time.Second,
			chromedp.Navigate(newLink),
			chromedp.Click(chromedp.CSS(`#confirm-form button[type=submit]`)),
		)
		waitJS(t, phone, "the confirmation", 10*time.Second,
			`document.body.textContent.includes('Address confirmed') && document.body.textContent.includes('carries on by itself')`)
	}, "Sign in")
	followNextStep(t, computer, "Sign in", right)
}

// The mail server refuses the address: the waiting page says so by itself,
// with the change form open on that address, and its resend countdown runs.
func TestBrowserMailboxRefusedAddress(t *testing.T) {
	chromium := needChromium(t)
	smtpAddr := freeLocalAddr(t)
	mail := startCatchingSMTP(t, smtpAddr)
	const refused, right = "nobody@example.org", "reader@example.org"
	mail.refuse.Store(refused, true)
	mail.delay.Store(int64(3 * time.Second)) // the refusal comes after the page has loaded
	s := startShelfServer(t, "SHELF_SMTP_URL=smtp://"+smtpAddr+"?tls=none")
	tab := newTab(t, chromium.newBrowser(t))

	signUpInBrowser(t, tab, s.URL, refused)
	if !evalJS[bool](t, tab, `document.body.textContent.includes('We sent a link')`) {
		t.Fatalf("the page knew of the refusal at once; the test needs it to come while the page waits:\n%s", describePage(tab))
	}
	waitJS(t, tab, "the refusal, swapped in by the page's poll", 15*time.Second, `(() => {
			const status = document.getElementById('confirmation-status');
			return status && status.dataset.refused === 'true' && !status.hasAttribute('hx-trigger') &&
				document.getElementById('mail-refused').textContent.includes('The mail server refused') &&
				!document.body.textContent.includes('We sent a link') &&
				document.title.startsWith('Your link could not be delivered');
		})()`)
	if !evalJS[bool](t, tab, `document.getElementById('change-address').open && document.getElementById('email').value === '`+refused+`'`) {
		t.Error("the change form is not open on the refused address")
	}
	if !evalJS[bool](t, tab, `document.getElementById('confirmation-live').getAttribute('aria-live') === 'polite'`) {
		t.Error("the refusal is not in the page's live region")
	}
	rendered := evalJS[string](t, tab, `document.getElementById('resend-left').textContent`)
	waitJS(t, tab, "the swapped-in countdown to tick", 5*time.Second, fmt.Sprintf(
		`(() => { const left = document.getElementById('resend-left').textContent;
			return left !== %q && /^[1-5]?[0-9] seconds$/.test(left); })()`, rendered))

	evalJS[bool](t, tab, `document.getElementById('email').value = ''; true`)
	runStep(t, tab, "correct the address", 10*time.Second,
		chromedp.SendKeys(chromedp.ID("email"), right),
		chromedp.Click(chromedp.CSS(`#change-address-form button[type=submit]`)))
	waitJS(t, tab, "the page for the corrected address", 10*time.Second, fmt.Sprintf(
		`location.pathname === '/check-email' && document.getElementById('pending-email').textContent === %q &&
		 document.body.textContent.includes('We sent a link') && document.getElementById('mail-refused') === null`, right))
	if m := mail.next(t, 10*time.Second); len(m.To) != 1 || !strings.Contains(m.To[0], right) {
		t.Fatalf("the new link went to %v", m.To)
	}
}
