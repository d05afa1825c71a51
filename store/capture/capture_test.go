package capture

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/png"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"shelf/store/netguard"
)

// The browser tests share one Chromium (testBrowser), one canary server on
// refused addresses that counts its hits, and one "public" server, the only
// address the allowlist admits.
var (
	testBrowser *Browser
	testLog     = &logBuffer{}
	canaryHits  atomic.Int64
	canaryPort  int
	publicURL   string // http://127.0.0.2:PORT, on the allowlist
	resolver    = &fakeResolver{}
)

type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// fakeResolver answers from a table; a name with several answers gives them
// in turn (the last one from then on). Nothing is looked up for real.
type fakeResolver struct {
	mu      sync.Mutex
	answers map[string][]string
	calls   map[string]int
}

func (r *fakeResolver) set(host string, addrs ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.answers == nil {
		r.answers, r.calls = map[string][]string{}, map[string]int{}
	}
	r.answers[host] = addrs
	r.calls[host] = 0
}

func (r *fakeResolver) LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	as, ok := r.answers[host]
	if !ok {
		return nil, &net.DNSError{Err: "no such host", Name: host, Server: "10.0.0.53:53", IsNotFound: true}
	}
	a := as[min(r.calls[host], len(as)-1)]
	r.calls[host]++
	return []netip.Addr{netip.MustParseAddr(a)}, nil
}

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	canary := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		canaryHits.Add(1)
		fmt.Fprint(w, "<title>canary</title>secret")
	})
	pub, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, "listen 127.0.0.2:", err)
		return 1
	}
	port := pub.Addr().(*net.TCPAddr).Port
	// The canary listens on the public server's port at 127.0.0.1 and
	// [::1], so a request that a rebinding or a redirect sends there
	// would be seen.
	var servers []*http.Server
	for _, addr := range []string{"127.0.0.1:" + strconv.Itoa(port), "[::1]:" + strconv.Itoa(port)} {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			fmt.Fprintln(os.Stderr, "canary not listening on", addr, err)
			continue
		}
		s := &http.Server{Handler: canary}
		go s.Serve(ln)
		servers = append(servers, s)
	}
	canaryPort = port
	publicURL = "http://127.0.0.2:" + strconv.Itoa(port)
	hang := make(chan struct{})
	ps := &http.Server{Handler: testPages(hang)}
	go ps.Serve(pub)
	defer func() {
		close(hang)
		ps.Close()
		for _, s := range servers {
			s.Close()
		}
	}()

	// 127.0.0.3, where nothing listens, stands for a public host that is down.
	allow, _ := netguard.ParseAllowlist("127.0.0.2:" + strconv.Itoa(port) + ", 127.0.0.3")
	log := slog.New(slog.NewTextHandler(testLog, nil))
	testBrowser = New(Config{Guard: &netguard.Guard{Resolver: resolver, Allow: allow, Logger: log}, Logger: log, MaxRedirects: 5})
	defer testBrowser.Close()
	return m.Run()
}

// testPages are the public server's pages.
func testPages(hang chan struct{}) http.Handler {
	mux := http.NewServeMux()
	canary := "http://127.0.0.1:" + strconv.Itoa(canaryPort)
	mux.Handle("/attack/", attackPages(canary, canaryPort))
	mux.HandleFunc("/page", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<!doctype html><html><head><title>  A   test page </title>
			<meta name="description" content="Its description, &lt;b&gt;escaped&lt;/b&gt;.">
			<style>body{margin:0} .a{background:#c33;height:200px} .b{background:#36c;height:300px}</style></head>
			<body><div class="a"></div><div class="b"><h1>Hello</h1></div></body></html>`)
	})
	mux.HandleFunc("/og", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<!doctype html><title>OG</title><meta property="og:description" content="From Open Graph">`+
			`<p>`+strings.Repeat("long ", 10)+`</p>`)
	})
	mux.HandleFunc("/dialogs", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<!doctype html><title>Dialogs</title><script>alert("a"); confirm("b"); prompt("c");</script><p>After`)
	})
	mux.HandleFunc("/to-canary", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, canary+"/admin", http.StatusFound)
	})
	mux.HandleFunc("/to-file", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "file:///etc/passwd", http.StatusFound)
	})
	mux.HandleFunc("/subresources", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `<!doctype html><title>Subresources</title>
			<img src="%[1]s/img.png"><iframe src="%[1]s/frame"></iframe><img src="http://[::1]:%[2]d/v6.png">
			<img src="http://canary.test:%[2]d/by-name.png"><img src="http://169.254.169.254/latest/meta-data/">
			<link rel="stylesheet" href="file:///etc/passwd">
			<script>fetch(%[1]q + '/fetch').catch(() => {}); new WebSocket('ws://127.0.0.1:%[2]d/ws');
			navigator.sendBeacon && navigator.sendBeacon(%[1]q + '/beacon', 'x');</script>
			<p>Still here</p>`, canary, canaryPort)
	})
	mux.HandleFunc("/download", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Disposition", `attachment; filename="x.bin"`)
		w.Write(bytes.Repeat([]byte("x"), 1000))
	})
	mux.HandleFunc("/hang", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<!doctype html><title>Never loads</title><img src="/hang-img">`)
	})
	mux.HandleFunc("/hang-img", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-hang:
		case <-r.Context().Done():
		}
	})
	mux.HandleFunc("/loop/{n}", func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.PathValue("n"))
		http.Redirect(w, r, "/loop/"+strconv.Itoa(n+1), http.StatusFound)
	})
	mux.HandleFunc("/redirects/{n}", func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.PathValue("n"))
		if n == 0 {
			fmt.Fprint(w, `<title>Arrived</title>`)
			return
		}
		http.Redirect(w, r, "/redirects/"+strconv.Itoa(n-1), http.StatusFound)
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<!doctype html><title>Big</title><img src="/big.bin">`)
	})
	mux.HandleFunc("/big.bin", func(w http.ResponseWriter, r *http.Request) {
		chunk := bytes.Repeat([]byte("y"), 64<<10)
		for range 20 * 16 { // 20 MB
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	})
	return mux
}

func needBrowser(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("browser test: skipped under -short")
	}
	if !testBrowser.Available() {
		if os.Getenv("CI") == "true" {
			t.Fatal("chromium is not installed; CI must install it")
		}
		t.Skip("chromium is not installed")
	}
}

// noCanaryHits fails the test if anything reached the canary.
func noCanaryHits(t *testing.T) {
	t.Helper()
	if n := canaryHits.Load(); n != 0 {
		t.Fatalf("the canary was reached %d times", n)
	}
}

// pixelVariance is the variance of the image's grey levels: 0 for a blank
// one.
func pixelVariance(t *testing.T, data []byte) (image.Rectangle, float64) {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("decode PNG: %v", err)
	}
	var sum, sq, n float64
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			v := float64(r+g+bl) / 3 / 257
			sum += v
			sq += v * v
			n++
		}
	}
	mean := sum / n
	return b, sq/n - mean*mean
}

func TestPageCapture(t *testing.T) {
	needBrowser(t)
	shot, err := testBrowser.Page(context.Background(), publicURL+"/page")
	if err != nil {
		t.Fatal(err)
	}
	if shot.Title != "A test page" {
		t.Errorf("title %q", shot.Title)
	}
	if shot.Description != "Its description, <b>escaped</b>." {
		t.Errorf("description %q", shot.Description)
	}
	if shot.FinalURL != publicURL+"/page" {
		t.Errorf("final URL %q", shot.FinalURL)
	}
	bounds, variance := pixelVariance(t, shot.PNG)
	if bounds.Dx() != 640 || bounds.Dy() != 400 {
		t.Errorf("thumbnail is %v, want 640x400", bounds)
	}
	if variance < 100 {
		t.Errorf("thumbnail looks blank: grey-level variance %.1f", variance)
	}

	shot, err = testBrowser.Page(context.Background(), publicURL+"/og")
	if err != nil {
		t.Fatal(err)
	}
	if shot.Title != "OG" || shot.Description != "From Open Graph" {
		t.Errorf("og page: title %q, description %q", shot.Title, shot.Description)
	}

	start := time.Now()
	shot, err = testBrowser.Page(context.Background(), publicURL+"/dialogs")
	if err != nil || shot.Title != "Dialogs" {
		t.Errorf("a page with dialogs: %q, %v", shot.Title, err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("a page with dialogs took %v", d)
	}

	shot, err = testBrowser.Page(context.Background(), publicURL+"/redirects/5")
	if err != nil {
		t.Fatalf("five redirects: %v", err)
	}
	if shot.Title != "Arrived" || shot.FinalURL != publicURL+"/redirects/0" {
		t.Errorf("after redirects: title %q, final URL %q", shot.Title, shot.FinalURL)
	}
	noCanaryHits(t)
}

// TestPageRefusals: each capture is refused for good, says why, is logged
// with its URL, and reaches nothing on a refused address.
func TestPageRefusals(t *testing.T) {
	needBrowser(t)
	resolver.set("canary.test", "127.0.0.1")
	resolver.set("mixed.test", "127.0.0.1")
	cases := []struct {
		name, url, reason, logged string
	}{
		{"loopback", "http://127.0.0.1:" + strconv.Itoa(canaryPort) + "/", "loopback address 127.0.0.1", "127.0.0.1"},
		{"metadata", "http://169.254.169.254/latest/meta-data/", "link-local address 169.254.169.254", "169.254.169.254"},
		{"ipv6 loopback", "http://[::1]:" + strconv.Itoa(canaryPort) + "/", "loopback address ::1", "[::1]"},
		{"name resolving to loopback", "http://canary.test:" + strconv.Itoa(canaryPort) + "/", "canary.test: no public site by that name", "canary.test"},
		{"redirect to loopback", publicURL + "/to-canary", "loopback address 127.0.0.1", "127.0.0.1:" + strconv.Itoa(canaryPort)},
		{"https to loopback", "https://127.0.0.1:" + strconv.Itoa(canaryPort) + "/", "loopback address 127.0.0.1", "https://127.0.0.1"},
		{"file", "file:///etc/passwd", "not an http(s) URL", "file:///etc/passwd"},
		{"javascript", "javascript:alert(1)", "not an http(s) URL", "javascript:alert(1)"},
		{"redirect to file", publicURL + "/to-file", "redirect to a non-http(s) URL", publicURL + "/to-file"},
		{"download", publicURL + "/download", "not a web page", publicURL + "/download"},
		{"endless redirects", publicURL + "/loop/0", "more than 5 redirects", publicURL + "/loop/0"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			start := time.Now()
			shot, err := testBrowser.Page(context.Background(), c.url)
			var refused *RefusedError
			if !errors.As(err, &refused) {
				t.Fatalf("Page(%s) = %q, %v; want refused", c.url, shot.Title, err)
			}
			if !strings.Contains(refused.Error(), c.reason) {
				t.Errorf("Page(%s): %q, want it to say %q", c.url, refused.Error(), c.reason)
			}
			if c.logged != "" && !strings.Contains(testLog.String(), c.logged) {
				t.Errorf("refusal of %s not logged:\n%s", c.url, testLog.String())
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("refusal took %v", d)
			}
			noCanaryHits(t)
		})
	}
}

// TestPageSubresourcesStayPublic: a public page is captured, and nothing it
// loads on a refused address is fetched.
func TestPageSubresourcesStayPublic(t *testing.T) {
	needBrowser(t)
	resolver.set("canary.test", "127.0.0.1")
	shot, err := testBrowser.Page(context.Background(), publicURL+"/subresources")
	if err != nil {
		t.Fatal(err)
	}
	if shot.Title != "Subresources" {
		t.Errorf("title %q", shot.Title)
	}
	time.Sleep(200 * time.Millisecond) // a late fetch or beacon would have arrived
	noCanaryHits(t)
	for _, want := range []string{"url=http://127.0.0.1:" + strconv.Itoa(canaryPort) + "/img.png", "169.254.169.254", "canary.test"} {
		if !strings.Contains(testLog.String(), want) {
			t.Errorf("no refusal logged for %s", want)
		}
	}
}

// TestPageRebinding: the name resolves to the public server, then to the
// canary (on the same port): the page is captured from the address checked,
// and later connections, resolving anew, are refused.
func TestPageRebinding(t *testing.T) {
	needBrowser(t)
	resolver.set("rebind.test", "127.0.0.2", "127.0.0.1")
	shot, err := testBrowser.Page(context.Background(), "http://rebind.test:"+strconv.Itoa(canaryPort)+"/page")
	if err != nil {
		t.Fatal(err)
	}
	if shot.Title != "A test page" {
		t.Errorf("title %q: not the public page", shot.Title)
	}
	noCanaryHits(t)
	_, err = testBrowser.Page(context.Background(), "http://rebind.test:"+strconv.Itoa(canaryPort)+"/page")
	var refused *RefusedError
	if !errors.As(err, &refused) {
		t.Errorf("second capture after rebinding: %v, want refused", err)
	}
	noCanaryHits(t)
}

// TestPageUnreachable: a host that does not answer is an error that may
// pass, not a capture of the proxy's error page.
func TestPageUnreachable(t *testing.T) {
	needBrowser(t)
	ln, err := net.Listen("tcp", "127.0.0.3:0")
	if err != nil {
		t.Fatal(err)
	}
	down := ln.Addr().String()
	ln.Close()
	for _, u := range []string{"http://" + down + "/", "https://" + down + "/"} {
		shot, err := testBrowser.Page(context.Background(), u)
		var refused *RefusedError
		if err == nil || errors.As(err, &refused) {
			t.Errorf("Page(%s) = %q, %v; want an error that may pass", u, shot.Title, err)
		}
	}
}

func TestPageTimeout(t *testing.T) {
	needBrowser(t)
	testBrowser.cfg.PageTimeout = time.Second
	defer func() { testBrowser.cfg.PageTimeout = 10 * time.Second }()
	start := time.Now()
	_, err := testBrowser.Page(context.Background(), publicURL+"/hang")
	if err == nil || err.Error() != "timed out after 1 s" {
		t.Fatalf("err = %v, want timed out after 1 s", err)
	}
	var refused *RefusedError
	if errors.As(err, &refused) {
		t.Errorf("a time-out is not final: %v", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("took %v, want about 1 s", d)
	}
	// The browser still works.
	if _, err := testBrowser.Page(context.Background(), publicURL+"/page"); err != nil {
		t.Errorf("after a time-out: %v", err)
	}
}

func TestPageByteCap(t *testing.T) {
	needBrowser(t)
	px, err := startProxy(testBrowser.cfg.Guard, slog.New(slog.DiscardHandler), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	defer px.Close()
	// Straight through the proxy, as Chromium would: 20 MB asked for, at
	// most the budget passes.
	c := &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(mustURL(t, px.URL()))}}
	res, err := c.Get(publicURL + "/big.bin")
	if err != nil {
		t.Fatal(err)
	}
	n, _ := io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if n > 1<<20 || !px.over.Load() {
		t.Errorf("read %d bytes through a 1 MB budget (over: %v)", n, px.over.Load())
	}
	// And a capture whose image is larger than the budget still
	// finishes, with what loaded.
	shot, err := testBrowser.Page(context.Background(), publicURL+"/big")
	if err != nil || shot.Title != "Big" {
		t.Errorf("big page: %q, %v", shot.Title, err)
	}
}

func TestRenderHTMLHasNoNetwork(t *testing.T) {
	needBrowser(t)
	doc := fmt.Sprintf(`<!doctype html><body style="margin:0;background:#246"><h1 style="color:#fff">Card</h1>
		<img src="http://127.0.0.1:%[1]d/img.png"><img src="%[2]s/page"><link rel="stylesheet" href="file:///etc/passwd">
		<script>fetch('%[2]s/page')</script></body>`, canaryPort, publicURL)
	data, err := testBrowser.RenderHTML(context.Background(), doc, 600, 315)
	if err != nil {
		t.Fatal(err)
	}
	bounds, variance := pixelVariance(t, data)
	if bounds.Dx() != 600 || bounds.Dy() != 315 {
		t.Errorf("image is %v, want 600x315", bounds)
	}
	if variance < 10 {
		t.Errorf("image looks blank: variance %.1f", variance)
	}
	noCanaryHits(t)
}

func mustURL(t *testing.T, s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// TestChromiumRestarts: when Chromium dies, the next capture starts a new
// one.
func TestChromiumRestarts(t *testing.T) {
	needBrowser(t)
	if _, err := testBrowser.Page(context.Background(), publicURL+"/page"); err != nil {
		t.Fatal(err)
	}
	ctx, err := testBrowser.browser()
	if err != nil {
		t.Fatal(err)
	}
	proc := chromedp.FromContext(ctx).Browser.Process()
	if err := proc.Kill(); err != nil {
		t.Fatal(err)
	}
	proc.Wait()
	shot, err := testBrowser.Page(context.Background(), publicURL+"/page")
	if err != nil || shot.Title != "A test page" {
		t.Fatalf("after chromium died: %q, %v", shot.Title, err)
	}
	if ctx2, _ := testBrowser.browser(); ctx2 == ctx {
		t.Error("still the dead browser")
	}
}
