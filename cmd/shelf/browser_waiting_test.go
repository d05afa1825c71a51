package main

// The "check your mailbox" page in a real browser: it waits for the
// address to be confirmed, from any device or instance, and moves on by
// itself; without JavaScript a link does the asking.

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

const waitingPassword = "a long enough passphrase"

// signUpInBrowser creates an account in tab and waits for the
// check-your-mailbox page.
func signUpInBrowser(t *testing.T, tab context.Context, base, email string) {
	t.Helper()
	runStep(t, tab, "open the sign-up page", 15*time.Second,
		chromedp.Navigate(base+"/register"),
		chromedp.WaitVisible(chromedp.ID("email")),
		chromedp.SendKeys(chromedp.ID("email"), email),
		chromedp.SendKeys(chromedp.ID("password"), waitingPassword),
		chromedp.SendKeys(chromedp.ID("password-confirm"), waitingPassword),
		chromedp.Click(chromedp.CSS(`#register-form button[type=submit]`)),
	)
	waitJS(t, tab, "the check-your-mailbox page", 15*time.Second,
		fmt.Sprintf(`location.pathname === '/check-email' && document.body.textContent.includes(%q)`, email))
}

// confirmWithoutCookies opens the confirmation link and presses Confirm as
// another device would: a client holding no session.
func confirmWithoutCookies(t *testing.T, link string) {
	t.Helper()
	phone := newClient(t, "")
	status, page, _ := phone.get(link)
	if status != http.StatusOK {
		t.Fatalf("GET %s: %d", link, status)
	}
	if status, body, _ := phone.post(link, url.Values{"_csrf": {csrfFrom(t, page)}}); status != http.StatusOK || !strings.Contains(body, "Address confirmed") {
		t.Fatalf("confirm %s: %d\n%s", link, status, body)
	}
}

// statusRequests counts the status polls the servers logged.
type statusRequests func() int

func countStatusRequests(logs ...*syncBuffer) statusRequests {
	return func() int {
		n := 0
		for _, l := range logs {
			n += l.Count("msg=request", " route=/check-email/status ")
		}
		return n
	}
}

// waitForTheMoveOn is what the waiting tab sees once the address is
// confirmed elsewhere: the page changes by itself, without a reload, to
// the confirmed state with next as its next step; a keyboard user's focus,
// on the waiting page's link, moves to that step; the change is in a live
// region that was there before it (a live region added with its content is
// not announced); and the polling stops.
func waitForTheMoveOn(t *testing.T, tab context.Context, polls statusRequests, confirm func(), next string) {
	t.Helper()
	waitJS(t, tab, "the first status polls", 10*time.Second, `document.querySelector('#confirmation-status[data-confirmed="false"]') !== null`)
	evalJS[bool](t, tab, `window.__noReload = true;
		document.querySelectorAll('[aria-live],[role=status],[role=alert]').forEach((e) => { e.__before = true });
		true`)
	runStep(t, tab, "focus the waiting page's link", 5*time.Second, chromedp.Focus(chromedp.CSS(`#confirmation-status a`)))
	start := polls()
	time.Sleep(2500 * time.Millisecond)
	if polls() == start {
		t.Fatalf("the waiting page asked nothing in 2.5 s")
	}

	confirm()
	confirmed := time.Now()
	waitJS(t, tab, "the waiting page to move on", 6*time.Second, fmt.Sprintf(
		`document.querySelector('#confirmation-status[data-confirmed="true"]') !== null &&
		 [...document.querySelectorAll('#confirmation-status a')].some((a) => a.textContent.trim() === %q)`, next))
	t.Logf("the waiting page moved on %v after the confirmation", time.Since(confirmed).Round(100*time.Millisecond))
	if !evalJS[bool](t, tab, `window.__noReload === true`) {
		t.Fatal("the page was reloaded")
	}
	if got := evalJS[string](t, tab, `document.activeElement ? document.activeElement.textContent.trim() : ''`); got != next {
		t.Errorf("focus is on %q after the change, want the next step %q", got, next)
	}
	if !evalJS[bool](t, tab, `(() => {
			const live = document.querySelector('#confirmation-status').closest('[aria-live]:not([aria-live=off]),[role=status],[role=alert]');
			return live !== null && live.__before === true && live.textContent.includes('confirmed');
		})()`) {
		t.Errorf("the change is not inside a live region that was on the page before it")
	}
	if title := evalJS[string](t, tab, `document.title`); !strings.Contains(title, "confirmed") {
		t.Errorf("the tab is still titled %q", title)
	}
	if evalJS[bool](t, tab, `document.body.textContent.includes('Resend the email') || document.body.textContent.includes('Check your mailbox')`) {
		t.Errorf("the confirmed page still asks to check the mailbox: %s", evalJS[string](t, tab, `document.querySelector('main').innerText`))
	}

	after := polls()
	time.Sleep(4500 * time.Millisecond)
	if n := polls() - after; n > 0 {
		t.Errorf("%d more status requests in the 4.5 s after the page moved on", n)
	}
}

// followNextStep clicks the next step and lands on the account page,
// signing in first when asked.
func followNextStep(t *testing.T, tab context.Context, next, email string) {
	t.Helper()
	runStep(t, tab, "follow "+next, 10*time.Second, chromedp.Click(chromedp.CSS(`#confirmation-status a.button`)))
	if next == "Sign in" {
		waitJS(t, tab, "the sign-in page", 10*time.Second, `location.pathname === '/login' && document.getElementById('password') !== null`)
		runStep(t, tab, "sign in", 10*time.Second,
			chromedp.SendKeys(chromedp.ID("email"), email),
			chromedp.SendKeys(chromedp.ID("password"), waitingPassword),
			chromedp.Click(chromedp.CSS(`#login-form button[type=submit]`)),
		)
	}
	waitJS(t, tab, "the account page", 10*time.Second,
		fmt.Sprintf(`location.pathname === '/account' && document.getElementById('account-email') !== null &&
		 document.getElementById('account-email').textContent.includes(%q)`, email))
}

// Confirmed on another device: the waiting page says so and asks to sign in.
func TestBrowserWaitingPageConfirmedOnAnotherDevice(t *testing.T) {
	chromium := needChromium(t)
	smtpAddr := freeLocalAddr(t)
	mail := startCatchingSMTP(t, smtpAddr)
	s := startShelfServer(t, "SHELF_SMTP_URL=smtp://"+smtpAddr+"?tls=none")
	tab := newTab(t, chromium.newBrowser(t))
	const email = "waiting@example.org"

	signUpInBrowser(t, tab, s.URL, email)
	link := confirmLink.FindString(mail.next(t, 10*time.Second).Text)
	waitForTheMoveOn(t, tab, countStatusRequests(s.Logs), func() { confirmWithoutCookies(t, link) }, "Sign in")
	followNextStep(t, tab, "Sign in", email)
}

// Confirmed in another tab of the same browser, which that signs in: the
// waiting page offers the account.
func TestBrowserWaitingPageConfirmedInAnotherTab(t *testing.T) {
	chromium := needChromium(t)
	smtpAddr := freeLocalAddr(t)
	mail := startCatchingSMTP(t, smtpAddr)
	s := startShelfServer(t, "SHELF_SMTP_URL=smtp://"+smtpAddr+"?tls=none")
	browser := chromium.newBrowser(t)
	tab := newTab(t, browser)
	const email = "same-browser@example.org"

	signUpInBrowser(t, tab, s.URL, email)
	link := confirmLink.FindString(mail.next(t, 10*time.Second).Text)
	waitForTheMoveOn(t, tab, countStatusRequests(s.Logs), func() {
		other := newTab(t, browser)
		runStep(t, other, "open the link in another tab", 10*time.Second,
			chromedp.Navigate(link),
			chromedp.Click(chromedp.CSS(`#confirm-form button[type=submit]`)),
		)
		waitJS(t, other, "the confirmation", 10*time.Second, `document.body.textContent.includes('Address confirmed')`)
	}, "Go to your account")
	if got := evalJS[string](t, tab, `(document.querySelector('header [data-signed-in-as]') || {}).textContent || ''`); got != email {
		t.Errorf("the header names %q, want the account this browser is now signed in to", got)
	}
	followNextStep(t, tab, "Go to your account", email)
}

// Without JavaScript nothing polls; the page's link asks, and once the
// address is confirmed it leads on.
func TestBrowserWaitingPageWithoutJavaScript(t *testing.T) {
	chromium := needChromium(t)
	smtpAddr := freeLocalAddr(t)
	mail := startCatchingSMTP(t, smtpAddr)
	s := startShelfServer(t, "SHELF_SMTP_URL=smtp://"+smtpAddr+"?tls=none")
	tab := newTab(t, chromium.newBrowser(t))
	const email = "no-script@example.org"

	if _, err := chromedp.Call(tab, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true}); err != nil {
		t.Fatalf("turn JavaScript off: %v", err)
	}
	runStep(t, tab, "sign up", 15*time.Second,
		chromedp.Navigate(s.URL+"/register"),
		chromedp.WaitVisible(chromedp.ID("email")),
		chromedp.SendKeys(chromedp.ID("email"), email),
		chromedp.SendKeys(chromedp.ID("password"), waitingPassword),
		chromedp.SendKeys(chromedp.ID("password-confirm"), waitingPassword),
		chromedp.Click(chromedp.CSS(`#register-form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.ID("confirmation-status")),
	)
	link := confirmLink.FindString(mail.next(t, 10*time.Second).Text)
	text := func() string {
		t.Helper()
		sctx, cancel := context.WithTimeout(tab, 5*time.Second)
		defer cancel()
		s, err := chromedp.Run(sctx, chromedp.Text(chromedp.CSS("main")))
		if err != nil {
			t.Fatalf("read the page: %v", err)
		}
		return s
	}
	if got := text(); strings.Contains(got, "by itself") {
		t.Errorf("without JavaScript the page promises to move on by itself:\n%s", got)
	}
	polls := countStatusRequests(s.Logs)
	time.Sleep(2500 * time.Millisecond)
	if n := polls(); n != 0 {
		t.Fatalf("%d status requests without JavaScript", n)
	}

	runStep(t, tab, "ask before confirming", 10*time.Second,
		chromedp.Click(chromedp.CSS(`#confirmation-status a`)),
		chromedp.WaitVisible(chromedp.CSS(`#confirmation-status[data-confirmed="false"]`)),
	)
	if got := text(); !strings.Contains(got, "Not confirmed yet") {
		t.Errorf("asked before confirming, the page says:\n%s", got)
	}

	confirmWithoutCookies(t, link)
	runStep(t, tab, "ask again", 10*time.Second,
		chromedp.Click(chromedp.CSS(`#confirmation-status a`)),
		chromedp.WaitVisible(chromedp.CSS(`#confirmation-status[data-confirmed="true"]`)),
	)
	if got := text(); !strings.Contains(got, "Sign in") {
		t.Errorf("asked after confirming, the page says:\n%s", got)
	}
	runStep(t, tab, "sign in", 15*time.Second,
		chromedp.Click(chromedp.CSS(`#confirmation-status a.button`)),
		chromedp.WaitVisible(chromedp.ID("password")),
		chromedp.SendKeys(chromedp.ID("email"), email),
		chromedp.SendKeys(chromedp.ID("password"), waitingPassword),
		chromedp.Click(chromedp.CSS(`#login-form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.ID("account-email")),
	)
}

// Three instances behind a balancer: the browser signs up and waits
// through the balancer (its polls reach every instance), the address is
// confirmed on one instance directly, and the page moves on.
func TestClusterBrowserWaitingPage(t *testing.T) {
	chromium := needChromium(t)
	c := startCluster(t)
	tab := newTab(t, chromium.newBrowser(t))
	const email = "clustered@example.org"

	signUpInBrowser(t, tab, c.lb.URL, email)
	link := confirmLink.FindString(c.smtp.next(t, 20*time.Second).Text)
	var logs []*syncBuffer
	for _, p := range c.instances {
		logs = append(logs, p.logs)
	}
	waitForTheMoveOn(t, tab, countStatusRequests(logs...), func() { confirmWithoutCookies(t, on(c.instances[1], link)) }, "Sign in")
	reached, spread := 0, ""
	for _, p := range c.instances {
		n := countStatusRequests(p.logs)()
		if n > 0 {
			reached++
		}
		spread += fmt.Sprintf(" %s:%d", p.name, n)
	}
	t.Logf("status polls per instance:%s", spread)
	if reached < 2 {
		t.Errorf("the status polls reached only one instance (%s); the balancer should spread them", spread)
	}
	followNextStep(t, tab, "Sign in", email)
}

// Both states of the waiting page fit a phone and a desktop. With
// SHELF_SCREENSHOTS set to a folder, screenshots of each go there.
func TestBrowserWaitingPageFits(t *testing.T) {
	chromium := needChromium(t)
	smtpAddr := freeLocalAddr(t)
	mail := startCatchingSMTP(t, smtpAddr)
	s := startShelfServer(t, "SHELF_SMTP_URL=smtp://"+smtpAddr+"?tls=none")
	tab := newTab(t, chromium.newBrowser(t))
	const email = "a-reader-with-a-rather-long-address-indeed@a-long-domain-name.example.com"
	signUpInBrowser(t, tab, s.URL, email)
	link := confirmLink.FindString(mail.next(t, 10*time.Second).Text)

	widths := []int64{320, 390, 1280}
	check := func(state string) {
		t.Helper()
		for _, width := range widths {
			runStep(t, tab, "viewport", 10*time.Second, chromedp.EmulateViewport(width, 844))
			waitJS(t, tab, "the "+state+" page laid out", 5*time.Second, `document.readyState === "complete"`)
			if w := evalJS[int64](t, tab, `document.documentElement.scrollWidth`); w > width {
				t.Errorf("the %s page at %d px is %d px wide", state, width, w)
			}
			if dir := os.Getenv("SHELF_SCREENSHOTS"); dir != "" {
				sctx, cancel := context.WithTimeout(tab, 10*time.Second)
				png, err := chromedp.Run(sctx, chromedp.FullScreenshot(100))
				cancel()
				if err != nil {
					t.Fatalf("screenshot: %v", err)
				}
				name := filepath.Join(dir, fmt.Sprintf("check-email-%s-%d.png", state, width))
				if err := os.WriteFile(name, png, 0o644); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	check("waiting")
	confirmWithoutCookies(t, link)
	waitJS(t, tab, "the confirmed state", 6*time.Second, `document.querySelector('#confirmation-status[data-confirmed="true"]') !== null`)
	check("confirmed")
}
