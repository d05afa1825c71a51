package main

import (
	"net/url"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"shelf/store/outbox"
)

// On a phone's width nothing makes the page scroll sideways: the search
// spinner once took 10 px more than a 390 px screen had, and a long
// Message-ID stretched the dev inbox's message page to 454 px.
func TestBrowserPagesFitAPhone(t *testing.T) {
	chromium := needChromium(t)
	s := startShelfServer(t)
	enqueueMailBeside(t, s.DB, outbox.Mail{To: "a-reader-with-a-rather-long-address-indeed@a-long-domain-name.example.com",
		Subject: "A subject long enough to need more than one line on a phone", Text: "Hello"})
	waitForDevMail(t, s.URL+"/dev/mail/1")
	tab := newTab(t, chromium.newBrowser(t))
	for _, width := range []int64{320, 390} {
		runStep(t, tab, "phone viewport", 10*time.Second, chromedp.EmulateViewport(width, 844))
		for _, path := range []string{"/", "/search?q=" + url.QueryEscape("harry potter"), "/books/1", "/register", "/login",
			"/password/forgot", "/about", "/dev/mail", "/dev/mail/1"} {
			runStep(t, tab, "open "+path, 15*time.Second, chromedp.Navigate(s.URL+path))
			waitJS(t, tab, path+" loaded", 10*time.Second, `document.readyState === "complete"`)
			if w := evalJS[int64](t, tab, `document.documentElement.scrollWidth`); w > width {
				t.Errorf("%s at %d px is %d px wide", path, width, w)
			}
		}
	}
}
