package capture

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"shelf/store/netguard"
)

// proxy is the one way a capture's browser context reaches the network: an
// HTTP proxy on loopback that forwards plain HTTP requests, and tunnels
// CONNECT (HTTPS, WebSockets), only over connections the guard dialled. It
// never follows redirects: Chromium does, and each hop comes back here. It
// counts the bytes both ways against one budget; past it, nothing more
// passes. Each capture has its own.
type proxy struct {
	guard     *netguard.Guard
	log       *slog.Logger
	ln        net.Listener
	srv       *http.Server
	transport *http.Transport
	budget    atomic.Int64 // bytes left
	over      atomic.Bool  // the budget ran out

	mu      sync.Mutex
	refused map[string]string // host:port refused → why
	failed  map[string]string // host:port not reached → why
	tunnels map[net.Conn]struct{}
	closed  bool
}

// startProxy listens on a random loopback port; budget bounds the bytes
// transferred. With a nil guard it forwards nothing: the browser-wide
// proxy, and RenderHTML's.
func startProxy(guard *netguard.Guard, log *slog.Logger, budget int64) (*proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &proxy{guard: guard, log: log, ln: ln, refused: map[string]string{}, failed: map[string]string{}, tunnels: map[net.Conn]struct{}{}}
	p.budget.Store(budget)
	p.transport = &http.Transport{
		Proxy: nil, // never another proxy from the environment
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			about, _ := ctx.Value(aboutKey{}).(string)
			return p.dial(ctx, network, addr, about)
		},
		DisableCompression:     true, // pass Chromium's Accept-Encoding through; count bytes as sent
		ResponseHeaderTimeout:  15 * time.Second,
		MaxResponseHeaderBytes: 64 << 10,
		IdleConnTimeout:        15 * time.Second,
	}
	p.srv = &http.Server{Handler: p, ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelDebug)}
	go p.srv.Serve(ln)
	return p, nil
}

type aboutKey struct{}

// URL is the proxy's address for Chromium.
func (p *proxy) URL() string { return "http://" + p.ln.Addr().String() }

// Close stops the proxy and cuts every connection through it.
func (p *proxy) Close() {
	p.mu.Lock()
	p.closed = true
	for c := range p.tunnels {
		c.Close()
	}
	p.mu.Unlock()
	p.srv.Close()
	p.transport.CloseIdleConnections()
}

// refusal is why host:port was refused, if it was.
func (p *proxy) refusal(hostport string) (string, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	r, ok := p.refused[strings.ToLower(hostport)]
	return r, ok
}

// failure is why host:port could not be reached, if it could not.
func (p *proxy) failure(hostport string) (string, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	r, ok := p.failed[strings.ToLower(hostport)]
	return r, ok
}

func (p *proxy) dial(ctx context.Context, network, addr, about string) (net.Conn, error) {
	if p.over.Load() {
		return nil, errOverBudget
	}
	conn, err := p.guard.DialFor(ctx, network, addr, about)
	if err != nil {
		seen, why := p.failed, publicCause(err)
		var r *netguard.RefusedError
		if errors.As(err, &r) {
			seen, why = p.refused, r.Public()
		} else {
			p.log.Info("capture connection failed", "url", about, "err", err)
		}
		p.mu.Lock()
		if _, ok := seen[strings.ToLower(addr)]; !ok {
			seen[strings.ToLower(addr)] = why
		}
		p.mu.Unlock()
	}
	return conn, err
}

// publicCause names why a connection failed in words that may be shown to
// anyone: not the resolver's address, nor what the name resolved to.
func publicCause(err error) string {
	var dnsErr *net.DNSError
	var netErr net.Error
	switch {
	case errors.As(err, &dnsErr) && dnsErr.IsNotFound:
		return netguard.NoPublicSite
	case errors.As(err, &dnsErr):
		return "the name could not be resolved"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return "timed out"
	case errors.Is(err, errOverBudget):
		return "page too large"
	}
	return "unreachable"
}

var errOverBudget = errors.New("capture: byte budget spent")

// spend takes n bytes from the budget and reports whether it held them.
func (p *proxy) spend(n int) bool {
	if p.budget.Add(-int64(n)) < 0 {
		p.over.Store(true)
		return false
	}
	return true
}

// hopHeaders are for one connection only, never forwarded.
var hopHeaders = []string{"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate",
	"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade"}

func removeHopHeaders(h http.Header) {
	for _, f := range h.Values("Connection") {
		for name := range strings.SplitSeq(f, ",") {
			h.Del(strings.TrimSpace(name))
		}
	}
	for _, name := range hopHeaders {
		h.Del(name)
	}
}

func (p *proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if p.guard == nil {
		// Chromium's own traffic (updates, sign-in) lands here too.
		p.log.Warn("request refused: no network outside a page capture", "url", truncate(r.RequestURI, 300))
		http.Error(w, "refused", http.StatusForbidden)
		return
	}
	if r.Method == http.MethodConnect {
		p.tunnel(w, r)
		return
	}
	if r.URL.Scheme != "http" || r.URL.Host == "" {
		p.log.Warn("capture request refused", "url", r.URL.String(), "reason", "not an http URL")
		http.Error(w, "refused: not an http URL", http.StatusForbidden)
		return
	}
	if !p.spend(len(r.URL.String()) + 200) {
		http.Error(w, "refused: page too large", http.StatusForbidden)
		return
	}
	out := r.Clone(context.WithValue(r.Context(), aboutKey{}, r.URL.String()))
	out.RequestURI = ""
	removeHopHeaders(out.Header)
	if r.Body != nil && r.ContentLength != 0 {
		out.Body = io.NopCloser(&budgetReader{r: r.Body, p: p})
	}
	res, err := p.transport.RoundTrip(out)
	if err != nil {
		var refused *netguard.RefusedError
		if errors.As(err, &refused) {
			w.Header().Set("X-Capture-Refused", "1")
			http.Error(w, "refused: "+refused.Public(), http.StatusForbidden)
			return
		}
		http.Error(w, "bad gateway", http.StatusBadGateway)
		return
	}
	defer res.Body.Close()
	removeHopHeaders(res.Header)
	for k, vs := range res.Header {
		for _, v := range vs {
			if !p.spend(len(k) + len(v) + 4) {
				http.Error(w, "refused: page too large", http.StatusForbidden)
				return
			}
			w.Header().Add(k, v)
		}
	}
	w.WriteHeader(res.StatusCode)
	io.Copy(w, &budgetReader{r: res.Body, p: p})
}

// budgetReader reads r, spending what it reads, until the budget runs out.
type budgetReader struct {
	r io.Reader
	p *proxy
}

func (b *budgetReader) Read(buf []byte) (int, error) {
	if b.p.over.Load() {
		return 0, errOverBudget
	}
	n, err := b.r.Read(buf)
	if !b.p.spend(n) {
		return 0, errOverBudget
	}
	return n, err
}

// tunnel answers CONNECT host:port with a guarded connection to it.
func (p *proxy) tunnel(w http.ResponseWriter, r *http.Request) {
	target := r.Host
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	conn, err := p.dial(ctx, "tcp", target, "https://"+target+"/")
	cancel()
	if err != nil {
		code := http.StatusBadGateway
		if netguard.IsRefused(err) {
			code = http.StatusForbidden
		}
		http.Error(w, http.StatusText(code), code)
		return
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		conn.Close()
		http.Error(w, "no tunnel", http.StatusInternalServerError)
		return
	}
	client, rw, err := hj.Hijack()
	if err != nil {
		conn.Close()
		return
	}
	if !p.track(client, conn) {
		return
	}
	defer p.untrack(client, conn)
	if _, err := client.Write([]byte("HTTP/1.1 200 Connection established\r\n\r\n")); err != nil {
		return
	}
	done := make(chan struct{}, 2)
	go func() { p.pipe(conn, rw.Reader); done <- struct{}{} }()
	go func() { p.pipe(client, conn); done <- struct{}{} }()
	<-done
	client.Close()
	conn.Close()
	<-done
}

// pipe copies from src to dst within the budget.
func (p *proxy) pipe(dst net.Conn, src io.Reader) {
	io.Copy(dst, &budgetReader{r: src, p: p})
	if tc, ok := dst.(*net.TCPConn); ok {
		tc.CloseWrite()
	}
}

func (p *proxy) track(conns ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		for _, c := range conns {
			c.Close()
		}
		return false
	}
	for _, c := range conns {
		p.tunnels[c] = struct{}{}
	}
	return true
}

func (p *proxy) untrack(conns ...net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range conns {
		delete(p.tunnels, c)
		c.Close()
	}
}
