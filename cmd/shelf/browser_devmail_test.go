package main

import (
	"context"
	"database/sql"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"shelf/store"
	"shelf/store/outbox"
)

// TestBrowserDevMailSandbox checks in headless chromium what the header
// checks cannot: the message page may frame the HTML part (no refusal by
// X-Frame-Options or frame-ancestors), the part's scripts and event
// handlers do not run, and its inline styles do.
func TestBrowserDevMailSandbox(t *testing.T) {
	chromium := needChromium(t)
	s := startShelfServer(t) // no SHELF_SMTP_URL: mail goes to the dev inbox
	enqueueMailBeside(t, s.DB, outbox.Mail{
		To: "reader@example.com", Subject: "Sandbox", Text: "See https://example.com/x",
		HTML: `<p id="p" style="color: rgb(255, 0, 0)">Hi</p>` +
			`<script>window.ran = 1; parent.postMessage("script ran", "*")</script>` +
			`<img src="data:," onerror="parent.postMessage('handler ran', '*')">`,
	})
	waitForDevMail(t, s.URL+"/dev/mail/1")
	tab := newTab(t, chromium.newBrowser(t))

	runStep(t, tab, "open the message", 15*time.Second,
		chromedp.Navigate(s.URL+"/dev/mail/1"),
		chromedp.WaitVisible(chromedp.CSS("iframe.mail-html")),
	)
	// Listen, then load the frame again, so nothing is missed.
	evalJS[bool](t, tab, `window.got = []; addEventListener("message", e => got.push(String(e.data)));
		document.querySelector("iframe.mail-html").src = "/dev/mail/1/html"; true`)
	time.Sleep(500 * time.Millisecond)
	messages := evalJS[[]string](t, tab, `window.got`)
	sctx, cancel := context.WithTimeout(tab, 5*time.Second)
	defer cancel()
	res, err := chromedp.Call(sctx, cdppage.GetFrameTree, cdp.Empty{})
	if err != nil {
		t.Fatal(err)
	}
	// A sandboxed frame runs in its own process: it is a target of its
	// own, not in the page's frame tree. A refused frame shows up in the
	// frame tree as chrome-error://.
	for _, f := range res.FrameTree.ChildFrames {
		t.Errorf("frame %s is in the page's process (refused, or not sandboxed)", f.Frame.URL)
	}
	targets, err := chromedp.Targets(sctx)
	if err != nil {
		t.Fatal(err)
	}
	framed := false
	for _, tg := range targets {
		framed = framed || (tg.Type == "iframe" && strings.HasSuffix(tg.URL, "/dev/mail/1/html"))
	}
	if !framed {
		t.Error("the HTML part is not loaded in a frame")
	}
	if len(messages) != 0 {
		t.Errorf("the HTML part ran code: %q", messages)
	}

	// Opened on its own, the part is styled, and its script still does not run.
	runStep(t, tab, "open the HTML part on its own", 15*time.Second,
		chromedp.Navigate(s.URL+"/dev/mail/1/html"),
		chromedp.WaitVisible(chromedp.ID("p")),
	)
	if color := evalJS[string](t, tab, `getComputedStyle(document.getElementById("p")).color`); color != "rgb(255, 0, 0)" {
		t.Errorf("inline style not applied: color %q", color)
	}
	if evalJS[bool](t, tab, `window.ran === 1`) {
		t.Error("the HTML part's script ran when opened on its own")
	}
}

// enqueueMailBeside queues m in the outbox of the database a running server
// uses (WAL lets both open it); the server's sender picks it up on its next
// poll.
func enqueueMailBeside(t *testing.T, dbPath string, m outbox.Mail) {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.InTx(ctx, func(tx *sql.Tx) error {
		_, err := outbox.Enqueue(ctx, tx, m)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// waitForDevMail waits until the dev inbox shows the message at url.
func waitForDevMail(t *testing.T, url string) {
	t.Helper()
	waitForOK(t, url, 15*time.Second)
}

// TestBrowserDevMailLinkOpens: a link in the HTML part, such as "Confirm
// my address", opens its page in a new tab. In the frame it loaded a page
// that refuses to be framed, and the frame showed a broken page.
func TestBrowserDevMailLinkOpens(t *testing.T) {
	chromium := needChromium(t)
	s := startShelfServer(t)
	enqueueMailBeside(t, s.DB, outbox.Mail{
		To: "reader@example.com", Subject: "A link", Text: "See " + s.URL + "/search?q=dune",
		HTML: `<html><head><title>A link</title></head><body style="margin:0">` +
			`<a href="` + s.URL + `/search?q=dune" style="display:block;height:200px">Search for Dune</a></body></html>`,
	})
	waitForDevMail(t, s.URL+"/dev/mail/1")
	tab := newTab(t, chromium.newBrowser(t))
	runStep(t, tab, "open the message", 15*time.Second,
		chromedp.Navigate(s.URL+"/dev/mail/1"),
		chromedp.WaitVisible(chromedp.CSS("iframe.mail-html")),
		chromedp.ScrollIntoView(chromedp.CSS("iframe.mail-html")),
	)
	time.Sleep(500 * time.Millisecond) // the frame's own document loads
	at := evalJS[[]float64](t, tab, `(() => { const r = document.querySelector("iframe.mail-html").getBoundingClientRect(); return [r.left + 40, r.top + 40] })()`)
	runStep(t, tab, "press the link in the frame", 10*time.Second, chromedp.MouseClickXY(at[0], at[1]))

	deadline := time.Now().Add(10 * time.Second)
	for {
		targets, err := chromedp.Targets(tab)
		if err != nil {
			t.Fatal(err)
		}
		opened, framed := false, ""
		for _, tg := range targets {
			opened = opened || (tg.Type == "page" && strings.HasSuffix(tg.URL, "/search?q=dune"))
			if tg.Type == "iframe" {
				framed = tg.URL
			}
		}
		if opened {
			if framed != "" && !strings.HasSuffix(framed, "/dev/mail/1/html") {
				t.Errorf("the frame left the message for %s", framed)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no tab opened the link; the frame is at %q", framed)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
