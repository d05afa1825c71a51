package handlers

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"shelf/store/outbox"
)

// TestBrowserDevMailSandbox checks in headless chromium what the header
// checks cannot: the message page may frame the HTML part (no refusal by
// X-Frame-Options or frame-ancestors), the part's scripts and event
// handlers do not run, and its inline styles do.
func TestBrowserDevMailSandbox(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test")
	}
	exe, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("chromium is not installed")
		}
		t.Skip("chromium is not installed")
	}

	db := mailTestDB(t)
	inbox, _ := startDevInboxSender(t, db)
	changed := inbox.Changed()
	enqueueMail(t, db, outbox.Mail{
		To: "reader@example.com", Subject: "Sandbox", Text: "See https://example.com/x",
		HTML: `<p id="p" style="color: rgb(255, 0, 0)">Hi</p>` +
			`<script>window.ran = 1; parent.postMessage("script ran", "*")</script>` +
			`<img src="data:," onerror="parent.postMessage('handler ran', '*')">`,
	})
	select {
	case <-changed:
	case <-time.After(5 * time.Second):
		t.Fatal("no mail caught")
	}

	a := &App{Logger: slog.New(slog.DiscardHandler), DB: db}
	srv := httptest.NewServer(mailTestServer(t, &MailPages{App: a, Inbox: inbox}))
	t.Cleanup(srv.Close)

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(exe), chromedp.Headless,
		chromedp.NoSandbox, chromedp.DisableGPU, chromedp.UserDataDir(t.TempDir()))
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	browser, cancelBrowser := chromedp.NewContext(allocCtx)
	defer cancelBrowser()
	ctx, cancel := context.WithTimeout(browser, 30*time.Second)
	defer cancel()

	err = chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/dev/mail/1"),
		chromedp.WaitVisible(chromedp.CSS("iframe.mail-html")),
	)
	if err != nil {
		t.Fatal(err)
	}
	// Listen, then load the frame again, so nothing is missed.
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.got = []; addEventListener("message", e => got.push(String(e.data)));
		document.querySelector("iframe.mail-html").src = "/dev/mail/1/html"; true`)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	messages, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`window.got`))
	if err != nil {
		t.Fatal(err)
	}
	res, err := chromedp.Call(ctx, cdppage.GetFrameTree, cdp.Empty{})
	if err != nil {
		t.Fatal(err)
	}
	// A sandboxed frame runs in its own process: it is a target of its
	// own, not in the page's frame tree. A refused frame shows up in the
	// frame tree as chrome-error://.
	for _, f := range res.FrameTree.ChildFrames {
		t.Errorf("frame %s is in the page's process (refused, or not sandboxed)", f.Frame.URL)
	}
	targets, err := chromedp.Targets(ctx)
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
	err = chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/dev/mail/1/html"),
		chromedp.WaitVisible(chromedp.ID("p")),
	)
	if err != nil {
		t.Fatal(err)
	}
	color, err := chromedp.Run(ctx, chromedp.Evaluate[string](`getComputedStyle(document.getElementById("p")).color`))
	if err != nil {
		t.Fatal(err)
	}
	ran, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.ran === 1`))
	if err != nil {
		t.Fatal(err)
	}
	if color != "rgb(255, 0, 0)" {
		t.Errorf("inline style not applied: color %q", color)
	}
	if ran {
		t.Error("the HTML part's script ran when opened on its own")
	}
}
