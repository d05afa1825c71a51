package capture

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"image"
	"image/draw"
	"image/png"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"

	"shelf/store/netguard"
)

// Config sets up a Browser; zero values get defaults.
type Config struct {
	// Chromium is the browser's executable; chromium on PATH when empty.
	Chromium string
	// Guard checks every address a capture connects to (required).
	Guard *netguard.Guard
	// PageTimeout bounds one capture (10 s).
	PageTimeout time.Duration
	// MaxBytes bounds what one capture transfers through its proxy (10 MB).
	MaxBytes int64
	// MaxRedirects bounds the main document's redirects (5).
	MaxRedirects int
	// Concurrency bounds the captures at once (2).
	Concurrency int
	Logger      *slog.Logger
}

// Viewport and thumbnail sizes.
const (
	viewWidth, viewHeight   = 1280, 800
	thumbWidth, thumbHeight = 640, 400
	maxTitle, maxDesc       = 200, 300 // characters kept
)

// Browser captures pages in one Chromium process, started on first use and
// started again if it dies.
type Browser struct {
	cfg   Config
	exe   string // "" when no Chromium was found
	slots chan struct{}

	mu         sync.Mutex
	browserCtx context.Context
	stop       func()
	refuseAll  *proxy // the browser-wide proxy: every context but a capture's
}

// New returns a Browser; Chromium starts on the first capture.
func New(cfg Config) *Browser {
	if cfg.PageTimeout <= 0 {
		cfg.PageTimeout = 10 * time.Second
	}
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = 10 << 20
	}
	if cfg.MaxRedirects <= 0 {
		cfg.MaxRedirects = 5
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 2
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Guard == nil {
		cfg.Guard = &netguard.Guard{Logger: cfg.Logger}
	}
	b := &Browser{cfg: cfg, slots: make(chan struct{}, cfg.Concurrency)}
	b.exe = FindChromium(cfg.Chromium)
	return b
}

// FindChromium returns the executable path of name (or of Debian's
// chromium when name is empty), or "" when there is none.
func FindChromium(name string) string {
	if name != "" {
		p, err := exec.LookPath(name)
		if err != nil {
			return ""
		}
		return p
	}
	for _, n := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	return ""
}

// Available reports whether a Chromium was found to capture with.
func (b *Browser) Available() bool { return b.exe != "" }

// Close stops Chromium.
func (b *Browser) Close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.shutdown()
}

func (b *Browser) shutdown() {
	if b.stop != nil {
		b.stop()
		b.stop, b.browserCtx = nil, nil
	}
	if b.refuseAll != nil {
		b.refuseAll.Close()
		b.refuseAll = nil
	}
}

// browser returns the context of the running Chromium, starting it if
// needed.
func (b *Browser) browser() (context.Context, error) {
	if b.exe == "" {
		return nil, ErrUnavailable
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.browserCtx != nil && b.browserCtx.Err() == nil {
		return b.browserCtx, nil
	}
	b.shutdown()
	refuseAll, err := startProxy(nil, b.cfg.Logger, 0)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "shelf-chromium-")
	if err != nil {
		refuseAll.Close()
		return nil, err
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(b.exe),
		chromedp.Headless,
		chromedp.DisableGPU,
		chromedp.UserDataDir(dir),
		chromedp.WindowSize(viewWidth, viewHeight),
		// Every request of every browser context goes through a proxy:
		// this one, which refuses all, unless the context names its own.
		// Without the bypass rule Chromium would reach loopback directly.
		chromedp.Flag("proxy-server", refuseAll.URL()),
		chromedp.Flag("proxy-bypass-list", "<-loopback>"),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("force-webrtc-ip-handling-policy", "disable_non_proxied_udp"),
		chromedp.Flag("webrtc-ip-handling-policy", "disable_non_proxied_udp"),
		chromedp.Flag("disable-features", "Translate,OptimizationHints,MediaRouter,AutofillServerCommunication,InterestFeedContentSuggestions,NetworkTimeServiceQuerying"),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-domain-reliability", true),
		chromedp.Flag("no-pings", true),
		chromedp.Flag("disable-popup-blocking", false),
		chromedp.Flag("mute-audio", true),
		chromedp.Flag("hide-scrollbars", true),
	)
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox) // Chromium's sandbox refuses to run as root
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(allocCtx)
	stop := func() {
		cancelCtx()
		cancelAlloc()
		os.RemoveAll(dir)
	}
	// The browser lives as long as ctx: start it without a deadline, but
	// give up on one that does not start.
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(ctx) }()
	select {
	case err = <-started:
	case <-time.After(30 * time.Second):
		err = errors.New("chromium did not start within 30 s")
	}
	if err != nil {
		stop()
		refuseAll.Close()
		return nil, fmt.Errorf("start chromium: %w", err)
	}
	b.browserCtx, b.stop, b.refuseAll = ctx, stop, refuseAll
	b.cfg.Logger.Info("chromium started for page previews", "exe", b.exe)
	return ctx, nil
}

// restartIfDead drops the browser if it no longer answers, so the next
// capture starts a new one, and reports whether it did not answer.
func (b *Browser) restartIfDead(browserCtx context.Context) bool {
	ctx, cancel := context.WithTimeout(browserCtx, 3*time.Second)
	defer cancel()
	if _, err := chromedp.Targets(ctx); err == nil {
		return false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.browserCtx == browserCtx {
		b.cfg.Logger.Warn("chromium stopped answering; starting it again")
		b.shutdown()
	}
	return true
}

// acquire takes a capture slot; release gives it back.
func (b *Browser) acquire(ctx context.Context) error {
	select {
	case b.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (b *Browser) release() { <-b.slots }

// session is one capture's tab, in a browser context of its own that
// reaches the network only through proxyURL, and is disposed with the tab.
type session struct {
	tab     context.Context
	cancel  func()
	expired func() bool // the time cap ran out
}

func (b *Browser) open(ctx context.Context, proxyURL string) (*session, error) {
	s, err := b.openOnce(ctx, proxyURL)
	if errors.Is(err, errBrowserDied) {
		// Chromium died since the last capture: this one starts it again.
		s, err = b.openOnce(ctx, proxyURL)
	}
	return s, err
}

var errBrowserDied = errors.New("chromium died")

func (b *Browser) openOnce(ctx context.Context, proxyURL string) (*session, error) {
	browserCtx, err := b.browser()
	if err != nil {
		return nil, err
	}
	tab, cancelTab := chromedp.NewContext(browserCtx, chromedp.WithNewBrowserContext(func(p *target.CreateBrowserContextParams) {
		p.ProxyServer = proxyURL
		p.ProxyBypassList = "<-loopback>"
	}))
	capped, cancelCap := context.WithTimeout(ctx, b.cfg.PageTimeout)
	// When the time is up, the tab closes and whatever it was doing fails.
	stopAfter := context.AfterFunc(capped, cancelTab)
	s := &session{tab: tab, cancel: func() {
		stopAfter()
		cancelCap()
		cancelTab()
	}, expired: func() bool { return errors.Is(capped.Err(), context.DeadlineExceeded) }}
	if err := chromedp.Do(tab); err != nil {
		s.cancel()
		if b.restartIfDead(browserCtx) {
			return nil, fmt.Errorf("open tab: %w: %w", errBrowserDied, err)
		}
		return nil, fmt.Errorf("open tab: %w", err)
	}
	// A dialog (alert, confirm, beforeunload) would stop the page until
	// the time cap: dismiss each.
	dialogs := chromedp.Events(tab, page.JavascriptDialogOpening)
	go func() {
		for _, err := range dialogs {
			if err != nil {
				return
			}
			chromedp.Call(tab, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false})
		}
	}()
	c := chromedp.FromContext(tab)
	_, err = chromedp.CallBrowser(tab, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior: browser.SetDownloadBehaviorBehaviorDeny, BrowserContextID: c.BrowserContextID})
	if err == nil {
		_, err = chromedp.Call(tab, network.SetBypassServiceWorker, network.SetBypassServiceWorkerParams{Bypass: true})
	}
	if err == nil {
		_, err = chromedp.Call(tab, emulation.SetDeviceMetricsOverride, emulation.SetDeviceMetricsOverrideParams{
			Width: viewWidth, Height: viewHeight, DeviceScaleFactor: 1})
	}
	if err != nil {
		s.cancel()
		return nil, err
	}
	return s, nil
}

// requestGuard watches a tab's requests (Fetch interception): it lets
// through only http(s) and WebSockets, which go through the proxy, and the
// main document's navigations up to a cap (one, plus its redirects), and
// remembers the last URL the main document asked for.
type requestGuard struct {
	mu       sync.Mutex
	lastMain string
	hops     int
	tooMany  bool
	scheme   string // a refused scheme, if any request had one
}

func (g *requestGuard) state() (lastMain string, tooMany bool, scheme string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.lastMain, g.tooMany, g.scheme
}

// startRequestGuard pauses every request of the tab and decides on it:
// maxHops caps the main document's navigations; allowMain lets other
// schemes of the main document through (RenderHTML's data: URL); refuseAll
// refuses everything else.
func startRequestGuard(s *session, maxHops int, allowMain func(*url.URL) bool, refuseAll bool, log *slog.Logger) (*requestGuard, error) {
	g := &requestGuard{}
	c := chromedp.FromContext(s.tab)
	mainFrame := string(c.Target.TargetID)
	events := chromedp.Events(s.tab, fetch.RequestPaused)
	if _, err := chromedp.Call(s.tab, fetch.Enable, fetch.EnableParams{Patterns: []*fetch.RequestPattern{{URLPattern: "*"}}}); err != nil {
		return nil, err
	}
	go func() {
		for ev, err := range events {
			if err != nil {
				return
			}
			u, perr := url.Parse(ev.Request.URL)
			isMain := ev.ResourceType == network.ResourceTypeDocument && string(ev.FrameID) == mainFrame
			ok := perr == nil && !refuseAll
			if ok {
				switch u.Scheme {
				case "http", "https", "ws", "wss":
				default:
					ok = isMain && allowMain != nil && allowMain(u)
					if !ok {
						g.mu.Lock()
						g.scheme = u.Scheme
						g.mu.Unlock()
					}
				}
			} else if isMain && perr == nil && allowMain != nil && allowMain(u) {
				ok = true
			}
			if ok && isMain {
				g.mu.Lock()
				g.hops++
				g.lastMain = ev.Request.URL
				if g.hops > maxHops {
					g.tooMany, ok = true, false
				}
				g.mu.Unlock()
			}
			if ok {
				chromedp.Call(s.tab, fetch.ContinueRequest, fetch.ContinueRequestParams{RequestID: ev.RequestID})
				continue
			}
			log.Warn("capture request refused", "url", truncate(ev.Request.URL, 300), "type", ev.ResourceType)
			chromedp.Call(s.tab, fetch.FailRequest, fetch.FailRequestParams{RequestID: ev.RequestID, ErrorReason: network.ErrorReasonBlockedByClient})
		}
	}()
	return g, nil
}

// Page captures pageURL: a 1280x800 viewport, scaled to a 640x400 PNG, with
// the page's title, description and final URL. Refusals (the address is not
// public, the scheme is not http(s), a download, too many redirects) are
// *RefusedError; other errors (time-outs, unreachable hosts) may pass.
func (b *Browser) Page(ctx context.Context, pageURL string) (Shot, error) {
	u, err := url.Parse(pageURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		b.cfg.Logger.Warn("capture refused", "url", truncate(pageURL, 300), "reason", "not an http(s) URL")
		return Shot{}, &RefusedError{Reason: "not an http(s) URL"}
	}
	if b.exe == "" {
		return Shot{}, ErrUnavailable
	}
	if err := b.acquire(ctx); err != nil {
		return Shot{}, err
	}
	defer b.release()
	px, err := startProxy(b.cfg.Guard, b.cfg.Logger, b.cfg.MaxBytes)
	if err != nil {
		return Shot{}, err
	}
	defer px.Close()
	s, err := b.open(ctx, px.URL())
	if err != nil {
		return Shot{}, err
	}
	defer s.cancel()
	rg, err := startRequestGuard(s, 1+b.cfg.MaxRedirects, nil, false, b.cfg.Logger)
	if err != nil {
		return Shot{}, b.failure(s, err)
	}
	navErr := chromedp.Do(s.tab, chromedp.Navigate(pageURL))
	// Why the main document did not load, if it did not: refused by the
	// guard (at its address, or at a redirect's), by the request guard, or
	// a download.
	lastMain, tooMany, scheme := rg.state()
	if lastMain == "" {
		lastMain = pageURL
	}
	if reason, ok := px.refusal(hostPort(lastMain)); ok {
		return Shot{}, &RefusedError{Reason: reason}
	}
	if reason, ok := px.failure(hostPort(lastMain)); ok {
		// The proxy's "bad gateway" is no page to show.
		return Shot{}, fmt.Errorf("could not reach %s: %s", hostPort(lastMain), reason)
	}
	if tooMany {
		b.cfg.Logger.Warn("capture refused", "url", pageURL, "reason", "too many redirects")
		return Shot{}, &RefusedError{Reason: "more than " + strconv.Itoa(b.cfg.MaxRedirects) + " redirects"}
	}
	if navErr != nil {
		var le *chromedp.LoadError
		switch {
		case s.expired():
			return Shot{}, b.failure(s, navErr)
		case errors.As(navErr, &le) && strings.Contains(le.ErrorText, "ERR_ABORTED"):
			b.cfg.Logger.Warn("capture refused", "url", pageURL, "reason", "not a page")
			return Shot{}, &RefusedError{Reason: "not a web page (a download?)"}
		case errors.As(navErr, &le) && (strings.Contains(le.ErrorText, "ERR_UNSAFE_REDIRECT") ||
			strings.Contains(le.ErrorText, "ERR_BLOCKED_BY_CLIENT") && scheme != ""):
			b.cfg.Logger.Warn("capture refused", "url", pageURL, "reason", "redirect to a non-http URL")
			return Shot{}, &RefusedError{Reason: "redirect to a non-http(s) URL"}
		}
		return Shot{}, b.failure(s, navErr)
	}
	meta, err := chromedp.Run(s.tab, chromedp.Evaluate[pageMeta](`(() => {
		const m = document.querySelector('meta[name="description" i]') || document.querySelector('meta[property="og:description" i]');
		return {title: document.title || '', description: (m && m.getAttribute('content')) || '', url: location.href};
	})()`))
	if err != nil {
		return Shot{}, b.failure(s, err)
	}
	shot, err := screenshot(s.tab, viewWidth, viewHeight, 0.5)
	if err != nil {
		return Shot{}, b.failure(s, err)
	}
	// A page may go elsewhere once loaded (Refresh, a script): if that was
	// refused, what was captured may be the proxy's refusal, not the page.
	lastMain, _, _ = rg.state()
	for _, u := range []string{meta.URL, lastMain} {
		if reason, ok := px.refusal(hostPort(u)); ok {
			return Shot{}, &RefusedError{Reason: reason}
		}
	}
	final := meta.URL
	if final == "" || !strings.HasPrefix(final, "http") {
		final = lastMain
	}
	return Shot{Title: clean(meta.Title, maxTitle), Description: clean(meta.Description, maxDesc), PNG: shot, FinalURL: final}, nil
}

type pageMeta struct {
	Title       string `json:"title"`
	Description string `json:"description"`
	URL         string `json:"url"`
}

// failure names what went wrong: the time cap, or err.
func (b *Browser) failure(s *session, err error) error {
	if s.expired() {
		return fmt.Errorf("timed out after %s", seconds(b.cfg.PageTimeout))
	}
	b.restartIfDead(b.currentBrowser())
	return err
}

func (b *Browser) currentBrowser() context.Context {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.browserCtx == nil {
		return context.Background()
	}
	return b.browserCtx
}

// RenderHTML renders doc in a width x height viewport, with every network
// request refused, and returns it as PNG.
func (b *Browser) RenderHTML(ctx context.Context, doc string, width, height int) ([]byte, error) {
	if width <= 0 || height <= 0 || width > 4000 || height > 4000 {
		return nil, fmt.Errorf("render: bad size %dx%d", width, height)
	}
	if b.exe == "" {
		return nil, ErrUnavailable
	}
	if err := b.acquire(ctx); err != nil {
		return nil, err
	}
	defer b.release()
	px, err := startProxy(nil, b.cfg.Logger, 0)
	if err != nil {
		return nil, err
	}
	defer px.Close()
	s, err := b.open(ctx, px.URL())
	if err != nil {
		return nil, err
	}
	defer s.cancel()
	dataURL := "data:text/html;base64," + base64.StdEncoding.EncodeToString([]byte(doc))
	_, err = startRequestGuard(s, 1, func(u *url.URL) bool { return u.Scheme == "data" }, true, b.cfg.Logger)
	if err == nil {
		_, err = chromedp.Call(s.tab, emulation.SetDeviceMetricsOverride, emulation.SetDeviceMetricsOverrideParams{
			Width: int64(width), Height: int64(height), DeviceScaleFactor: 1})
	}
	if err == nil {
		err = chromedp.Do(s.tab, chromedp.Navigate(dataURL))
	}
	if err != nil {
		return nil, b.failure(s, err)
	}
	shot, err := screenshot(s.tab, width, height, 1)
	if err != nil {
		return nil, b.failure(s, err)
	}
	return shot, nil
}

// screenshot captures the top-left width x height of the page at scale,
// and returns it decoded and encoded again: only a clean PNG of exactly
// that size leaves here.
func screenshot(tab context.Context, width, height int, scale float64) ([]byte, error) {
	res, err := chromedp.Call(tab, page.CaptureScreenshot, page.CaptureScreenshotParams{
		Format:      page.CaptureScreenshotFormatPng,
		FromSurface: ptr(true),
		Clip:        &page.Viewport{X: 0, Y: 0, Width: float64(width), Height: float64(height), Scale: scale},
	})
	if err != nil {
		return nil, err
	}
	img, err := png.Decode(bytes.NewReader(res.Data))
	if err != nil {
		return nil, fmt.Errorf("screenshot: %w", err)
	}
	w, h := int(float64(width)*scale), int(float64(height)*scale)
	out := image.NewNRGBA(image.Rect(0, 0, w, h))
	draw.Draw(out, out.Bounds(), image.White, image.Point{}, draw.Src)
	draw.Draw(out, out.Bounds(), img, img.Bounds().Min, draw.Over)
	var buf bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.BestSpeed}).Encode(&buf, out); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func ptr[T any](v T) *T { return &v }

// hostPort is u's host:port, the port made explicit, lower case.
func hostPort(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "ws": "80", "https": "443", "wss": "443"}[u.Scheme]
	}
	return strings.ToLower(net.JoinHostPort(u.Hostname(), port))
}

// clean collapses s's white space and control characters and keeps at most
// limit characters of it.
func clean(s string, limit int) string {
	s = strings.Join(strings.FieldsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }), " ")
	return truncate(s, limit)
}

// truncate keeps at most limit characters of s.
func truncate(s string, limit int) string {
	s = strings.ToValidUTF8(s, "")
	n := 0
	for i := range s {
		if n == limit {
			return strings.TrimSpace(s[:i]) + "…"
		}
		n++
	}
	return s
}

func seconds(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', -1, 64) + " s"
}
