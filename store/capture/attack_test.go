package capture

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"shelf/store/netguard"
)

// udpHits counts datagrams that reach the canary's port over UDP (STUN,
// QUIC, WebTransport).
var udpHits atomic.Int64

// attackForms is the body of /attack/forms.
var attackForms atomic.Value

func startUDPCanary(t *testing.T) {
	t.Helper()
	for _, addr := range []string{"127.0.0.1:" + strconv.Itoa(canaryPort), "[::1]:" + strconv.Itoa(canaryPort)} {
		pc, err := net.ListenPacket("udp", addr)
		if err != nil {
			t.Logf("no UDP canary on %s: %v", addr, err)
			continue
		}
		t.Cleanup(func() { pc.Close() })
		go func() {
			buf := make([]byte, 2048)
			for {
				if _, _, err := pc.ReadFrom(buf); err != nil {
					return
				}
				udpHits.Add(1)
			}
		}()
	}
}

// schemeTargets are redirects off http(s).
func schemeTargets(port int) []string {
	canary := "http://127.0.0.1:" + strconv.Itoa(port)
	return []string{"chrome://settings", "about:blank", "data:text/html,<img src=" + canary + "/data>",
		"view-source:" + canary + "/view-source", "filesystem:" + canary + "/temporary/x",
		"ftp://127.0.0.1:" + strconv.Itoa(port) + "/ftp", "blob:" + canary + "/x", "javascript:fetch('" + canary + "/js')"}
}

// attackPages are pages that try every way a page has to make the
// browser reach the canary on a refused address.
func attackPages(canary string, port int) http.Handler {
	mux := http.NewServeMux()
	page := func(path, body string) {
		mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprint(w, `<!doctype html><title>Attack</title>`+body)
		})
	}
	for _, code := range []int{301, 302, 303, 307, 308} {
		mux.HandleFunc("/attack/redirect/"+strconv.Itoa(code), func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, canary+"/redirect", code)
		})
	}
	mux.HandleFunc("/attack/refresh-header", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Refresh", "0; url="+canary+"/refresh-header")
		fmt.Fprint(w, `<title>Attack</title>`)
	})
	page("/attack/meta-refresh", `<meta http-equiv="refresh" content="0; url=`+canary+`/meta-refresh">`)
	page("/attack/location-after-load", `<script>onload = () => location.href = "`+canary+`/location"</script>`)
	page("/attack/location", `<script>location.href = "`+canary+`/location"</script>`)
	page("/attack/window-open", `<script>window.open("`+canary+`/window-open"); for (let i = 0; i < 100; i++) window.open("/attack/popup")</script>`)
	page("/attack/popup", `<script>setInterval(() => fetch("`+canary+`/popup").catch(() => {}), 50)</script>`)
	page("/attack/form", `<form method="post" action="`+canary+`/form"><input name="a" value="b"></form><script>document.forms[0].submit()</script>`)
	for i, to := range schemeTargets(port) {
		mux.HandleFunc("/attack/to/"+strconv.Itoa(i), func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Location", to)
			w.WriteHeader(http.StatusFound)
		})
	}
	page("/attack/subresources", fmt.Sprintf(`
		<style>@import url(%[1]s/import.css); body { background: url(%[1]s/bg.png) }
		@font-face { font-family: x; src: url(%[1]s/font.woff) } p { font-family: x }</style>
		<link rel="preload" href="%[1]s/preload.js" as="script"><link rel="prefetch" href="%[1]s/prefetch">
		<link rel="preconnect" href="%[1]s"><link rel="dns-prefetch" href="%[1]s">
		<link rel="modulepreload" href="%[1]s/modulepreload.js"><link rel="icon" href="%[1]s/favicon.ico">
		<iframe srcdoc="<img src=%[1]s/srcdoc.png><script>fetch('%[1]s/srcdoc-fetch')</script>"></iframe>
		<object data="%[1]s/object"></object><embed src="%[1]s/embed">
		<video src="%[1]s/video.mp4" autoplay muted></video><audio src="%[1]s/audio.mp3" autoplay></audio>
		<p>text</p>
		<script>
		const x = new XMLHttpRequest(); x.open("GET", "%[1]s/xhr"); x.send();
		try { new EventSource("%[1]s/events") } catch (e) {}
		const code = 'fetch("%[1]s/worker").catch(() => {}); try { importScripts("%[1]s/import-scripts.js") } catch (e) {}';
		const blobURL = URL.createObjectURL(new Blob([code], {type: "text/javascript"}));
		try { new Worker(blobURL) } catch (e) {}
		try { new SharedWorker(blobURL) } catch (e) {}
		try { new Worker("%[1]s/worker.js") } catch (e) {}
		navigator.serviceWorker && navigator.serviceWorker.register("/attack/sw.js").catch(() => {});
		try { new WebSocket("ws://127.0.0.1:%[2]d/ws") } catch (e) {}
		try { new WebSocket("wss://127.0.0.1:%[2]d/wss") } catch (e) {}
		try { new WebTransport("https://127.0.0.1:%[2]d/wt").ready.catch(() => {}) } catch (e) {}
		try {
			const pc = new RTCPeerConnection({iceServers: [{urls: "stun:127.0.0.1:%[2]d"}, {urls: "turn:127.0.0.1:%[2]d?transport=udp", username: "u", credential: "c"}, {urls: "turn:127.0.0.1:%[2]d?transport=tcp", username: "u", credential: "c"}]});
			pc.createDataChannel("x"); pc.createOffer().then(o => pc.setLocalDescription(o));
		} catch (e) {}
		try { fetch("%[1]s/keepalive", {method: "POST", keepalive: true, body: "x"}) } catch (e) {}
		navigator.sendBeacon("%[1]s/beacon", "x");
		</script>`, canary, port))
	page("/attack/clicks", fmt.Sprintf(`<a id="ping" href="/attack/nothing" ping="%[1]s/ping">x</a><script>
		const a = document.createElement("a"); a.href = "/attack/download"; a.download = "x"; document.body.append(a); a.click();
		document.getElementById("ping").click();</script>`, canary))
	mux.HandleFunc("/attack/download", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Disposition", "attachment")
		fmt.Fprint(w, "<title>download</title>")
	})
	mux.HandleFunc("/attack/sw.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript")
		fmt.Fprintf(w, `fetch(%q).catch(() => {}); self.addEventListener("install", () => fetch(%q).catch(() => {}))`, canary+"/sw", canary+"/sw-install")
	})
	page("/attack/nothing", "")
	page("/attack/busy", `<script>while (true) {}</script>`)
	page("/attack/busy-after-load", `<script>onload = () => setTimeout(() => { while (true) {} }, 0)</script>`)
	page("/attack/alerts", `<script>for (;;) alert(1)</script>`)
	mux.HandleFunc("/attack/gzip-bomb", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Encoding", "gzip")
		w.Header().Set("Content-Type", "text/html")
		w.Write(gzipBomb())
	})
	page("/attack/memory", `<script>const a = []; for (;;) a.push(new Array(1e6).fill(Math.random()))</script>`)
	mux.HandleFunc("/attack/forms", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<!doctype html><title>Attack</title>`+attackForms.Load().(string))
	})
	return mux
}

// TestPageAttacks: a page on the public server tries every way it has to
// make Chromium reach the canary: redirects of every kind, scripts,
// subresources, workers, popups, WebRTC and WebTransport. Nothing may
// arrive, over TCP or UDP, during the capture or after it.
func TestPageAttacks(t *testing.T) {
	needBrowser(t)
	startUDPCanary(t)
	paths := []string{"/attack/redirect/301", "/attack/redirect/302", "/attack/redirect/303", "/attack/redirect/307",
		"/attack/redirect/308", "/attack/refresh-header", "/attack/meta-refresh", "/attack/location",
		"/attack/window-open", "/attack/form", "/attack/subresources", "/attack/clicks", "/attack/download"}
	for i := range schemeTargets(canaryPort) {
		paths = append(paths, "/attack/to/"+strconv.Itoa(i))
	}
	for _, p := range paths {
		t.Run(p, func(t *testing.T) {
			shot, err := testBrowser.Page(context.Background(), publicURL+p)
			t.Logf("%s: title %q final %q err %v", p, shot.Title, shot.FinalURL, err)
			noCanaryHits(t)
			if n := udpHits.Load(); n != 0 {
				t.Fatalf("the canary got %d datagrams", n)
			}
		})
	}
	ctx, err := testBrowser.browser()
	if err != nil {
		t.Fatal(err)
	}
	targets, err := chromedp.Targets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	pages := 0
	for _, ti := range targets {
		if ti.Type == "page" {
			pages++
		}
	}
	if pages > 1 {
		for _, ti := range targets {
			t.Logf("left open: %s %s", ti.Type, ti.URL)
		}
		t.Errorf("%d pages left open after the captures", pages)
	}
	// Popups and workers of earlier captures are gone with their
	// capture: nothing reaches the canary later.
	time.Sleep(time.Second)
	noCanaryHits(t)
	if n := udpHits.Load(); n != 0 {
		t.Fatalf("the canary got %d datagrams", n)
	}
}

// TestRefusalsRevealNothingInside: what a capture says when it fails is
// shown to every visitor of the link, and what the proxy answers a refused
// request is shown in the page (an iframe of it, in the screenshot): neither
// may tell the addresses that names resolve to inside, nor the resolver's.
func TestRefusalsRevealNothingInside(t *testing.T) {
	needBrowser(t)
	resolver.set("intranet.test", "10.1.2.3")
	port := strconv.Itoa(canaryPort)
	secrets := []string{"10.1.2.3", "10.0.0.53"}
	for _, u := range []string{"http://intranet.test:" + port + "/", "https://intranet.test:" + port + "/",
		"http://nxdomain.test:" + port + "/", "https://nxdomain.test:" + port + "/"} {
		_, err := testBrowser.Page(context.Background(), u)
		if err == nil {
			t.Fatalf("Page(%s) captured", u)
		}
		for _, s := range secrets {
			if strings.Contains(err.Error(), s) {
				t.Errorf("Page(%s) = %q: tells %s", u, err, s)
			}
		}
		if !strings.Contains(err.Error(), "test") {
			t.Errorf("Page(%s) = %q: does not say which host", u, err)
		}
		// An inside name reads as one that does not exist.
		if !strings.Contains(err.Error(), netguard.NoPublicSite) {
			t.Errorf("Page(%s) = %q, want it to say %q", u, err, netguard.NoPublicSite)
		}
	}
	px, err := startProxy(testBrowser.cfg.Guard, slog.New(slog.DiscardHandler), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	defer px.Close()
	c := &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(mustURL(t, px.URL()))}}
	for _, u := range []string{"http://intranet.test:" + port + "/", "http://nxdomain.test:" + port + "/"} {
		res, err := c.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		for _, s := range secrets {
			if strings.Contains(string(body), s) {
				t.Errorf("the proxy answers %s with %q: tells %s", u, body, s)
			}
		}
	}
	if !strings.Contains(testLog.String(), "10.1.2.3") {
		t.Error("the refusal's address is not logged")
	}
}

// TestAddressForms: every way of writing a refused address, as the page to
// capture and as its subresources, reaches nothing.
func TestAddressForms(t *testing.T) {
	needBrowser(t)
	for _, name := range []string{"localhost", "localhost.", "foo.localhost", "127.0.0.1.nip.test"} {
		resolver.set(name, "127.0.0.1")
	}
	port := strconv.Itoa(canaryPort)
	hosts := []string{"2130706433", "0x7f.1", "0x7f000001", "0177.0.0.1", "127.1", "0.0.0.0", "[::ffff:127.0.0.1]",
		"[::ffff:7f00:1]", "[0:0:0:0:0:ffff:127.0.0.1]", "[::127.0.0.1]", "[::]", "localhost", "localhost.", "LOCALHOST",
		"foo.localhost", "xn--lcalhost-3ya", "ｌｏｃａｌｈｏｓｔ", "127.0.0.1.nip.test", "[fe80::1%25lo]", "[::1]"}
	var imgs strings.Builder
	for _, h := range hosts {
		fmt.Fprintf(&imgs, `<img src="http://%[1]s:%[2]s/img"><img src="https://%[1]s:%[2]s/img">`, h, port)
	}
	attackForms.Store(imgs.String())
	shot, err := testBrowser.Page(context.Background(), publicURL+"/attack/forms")
	if err != nil || shot.Title != "Attack" {
		t.Errorf("the page with every form: %q, %v", shot.Title, err)
	}
	for _, h := range []string{"0x7f.1", "[::ffff:7f00:1]", "localhost.", "ｌｏｃａｌｈｏｓｔ", "[fe80::1%25lo]"} {
		u := "http://" + h + ":" + port + "/"
		shot, err := testBrowser.Page(context.Background(), u)
		if err == nil {
			t.Errorf("Page(%s) captured %q at %s", u, shot.Title, shot.FinalURL)
		}
	}
	time.Sleep(200 * time.Millisecond)
	noCanaryHits(t)
}

// TestProxyRequests: requests no Chromium would send, straight to a
// capture's proxy, reach nothing refused.
func TestProxyRequests(t *testing.T) {
	px, err := startProxy(testBrowser.cfg.Guard, slog.New(slog.DiscardHandler), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	defer px.Close()
	pub := strings.TrimPrefix(publicURL, "http://")
	canary := "127.0.0.1:" + strconv.Itoa(canaryPort)
	proxyAddr := strings.TrimPrefix(px.URL(), "http://")
	requests := []string{
		"GET http://" + canary + "/ HTTP/1.1\r\nHost: " + canary + "\r\n\r\n",
		"GET http://" + pub + "/page HTTP/1.1\r\nHost: " + canary + "\r\n\r\n",
		"GET / HTTP/1.0\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: " + canary + "\r\n\r\n",
		"CONNECT " + canary + " HTTP/1.1\r\nHost: " + canary + "\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n",
		"CONNECT " + pub + " HTTP/1.1\r\nHost: " + canary + "\r\n\r\nGET /page HTTP/1.1\r\nHost: " + canary + "\r\n\r\n",
		"GET http://" + proxyAddr + "/ HTTP/1.1\r\nHost: " + proxyAddr + "\r\n\r\n",
		"GET https://" + canary + "/ HTTP/1.1\r\nHost: " + canary + "\r\n\r\n",
		"GET ws://" + canary + "/ HTTP/1.1\r\nHost: " + canary + "\r\n\r\n",
		// Smuggling: a second request hidden in the body.
		"POST http://" + pub + "/page HTTP/1.1\r\nHost: " + pub + "\r\nContent-Length: 60\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET http://" + canary + "/smuggled HTTP/1.1\r\nHost: " + canary + "\r\n\r\n",
		// Keep-alive: the second request on the connection is for another host.
		"GET http://" + pub + "/page HTTP/1.1\r\nHost: " + pub + "\r\n\r\nGET http://" + canary + "/second HTTP/1.1\r\nHost: " + canary + "\r\n\r\n",
		"GET http://" + pub + "/page HTTP/1.1\r\nHost: " + pub + "\r\n\r\nGET /second HTTP/1.1\r\nHost: " + canary + "\r\n\r\n",
	}
	for _, req := range requests {
		conn, err := net.Dial("tcp", proxyAddr)
		if err != nil {
			t.Fatal(err)
		}
		conn.SetDeadline(time.Now().Add(500 * time.Millisecond)) // keep-alive: read until it ends
		conn.Write([]byte(req))
		answer, _ := io.ReadAll(conn)
		conn.Close()
		if req == requests[1] && !strings.Contains(string(answer), "<h1>Hello</h1>") {
			t.Errorf("the public page did not come through the proxy: %q", answer)
		}
		if strings.Contains(string(answer), "secret") {
			t.Errorf("%q: the canary answered:\n%s", req, answer)
		}
		noCanaryHits(t)
	}
}

// TestPageHogs: pages that never stop (a busy loop before or after the load,
// endless dialogs, all the memory they can take) are cut at the time cap,
// and the browser captures the next page.
func TestPageHogs(t *testing.T) {
	needBrowser(t)
	defer func() { testBrowser.cfg.PageTimeout = 10 * time.Second }()
	for _, p := range []string{"/attack/busy", "/attack/busy-after-load", "/attack/alerts", "/attack/memory", "/attack/gzip-bomb"} {
		testBrowser.cfg.PageTimeout = 2 * time.Second
		start := time.Now()
		shot, err := testBrowser.Page(context.Background(), publicURL+p)
		t.Logf("%s: %q, %v after %v", p, shot.Title, err, time.Since(start))
		if d := time.Since(start); d > 4*time.Second {
			t.Errorf("%s took %v with a 2 s cap", p, d)
		}
		testBrowser.cfg.PageTimeout = 10 * time.Second
		if shot, err := testBrowser.Page(context.Background(), publicURL+"/page"); err != nil || shot.Title != "A test page" {
			t.Errorf("after %s: %q, %v", p, shot.Title, err)
		}
	}
}

// TestLateNavigationToRefused: a page that goes, once loaded, to a refused
// address is not kept as a capture of the proxy's refusal at that address.
// The navigation races the capture, so it is tried a few times.
func TestLateNavigationToRefused(t *testing.T) {
	needBrowser(t)
	for i := range 6 {
		p := []string{"/attack/refresh-header", "/attack/meta-refresh", "/attack/location-after-load"}[i%3]
		shot, err := testBrowser.Page(context.Background(), publicURL+p)
		t.Logf("%s: %q at %s, %v", p, shot.Title, shot.FinalURL, err)
		if err == nil && !strings.HasPrefix(shot.FinalURL, publicURL) {
			t.Errorf("%s: captured %q at %s", p, shot.Title, shot.FinalURL)
		}
	}
	noCanaryHits(t)
}

var gzipBomb = sync.OnceValue(func() []byte {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	zw.Write([]byte("<!doctype html><title>Bomb</title><p>"))
	chunk := bytes.Repeat([]byte("a"), 1<<20)
	for range 1 << 8 { // 256 MB, from 256 kB
		zw.Write(chunk)
	}
	zw.Close()
	return buf.Bytes()
})
