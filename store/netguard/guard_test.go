package netguard

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestCheckAddr(t *testing.T) {
	refused := []struct{ addr, reason string }{
		{"127.0.0.1", "loopback"},
		{"127.255.255.254", "loopback"},
		{"10.0.0.5", "private"},
		{"172.16.0.1", "private"},
		{"172.31.255.255", "private"},
		{"192.168.1.1", "private"},
		{"100.64.0.1", "CGNAT"},
		{"100.127.255.255", "CGNAT"},
		{"169.254.169.254", "link-local"},
		{"0.0.0.0", "unspecified"},
		{"0.1.2.3", "unspecified"},
		{"255.255.255.255", "reserved"},
		{"240.0.0.1", "reserved"},
		{"224.0.0.1", "multicast"},
		{"239.255.255.250", "multicast"},
		{"198.18.0.1", "benchmarking"},
		{"198.19.255.255", "benchmarking"},
		{"192.0.0.8", "reserved"},
		{"192.0.2.1", "documentation"},
		{"::", "unspecified"},
		{"::1", "loopback"},
		{"fe80::1", "link-local"},
		{"fe80::1%eth0", "link-local"},
		{"febf::1", "link-local"},
		{"fc00::1", "unique-local"},
		{"fd12:3456::1", "unique-local"},
		{"ff02::1", "multicast"},
		{"::ffff:127.0.0.1", "loopback"},
		{"::ffff:169.254.169.254", "link-local"},
		{"::ffff:10.0.0.1", "private"},
		{"::127.0.0.1", "IPv4-compatible"},
		{"::10.0.0.1", "IPv4-compatible"},
		{"::8.8.8.8", "IPv4-compatible"},
		{"64:ff9b::127.0.0.1", "loopback"},
		{"64:ff9b::a9fe:a9fe", "link-local"}, // 169.254.169.254
		{"64:ff9b::10.1.2.3", "private"},
		{"64:ff9b:1::1", "NAT64"},
		{"2002:7f00:1::1", "loopback"},      // 6to4 of 127.0.0.1
		{"2002:a9fe:a9fe::1", "link-local"}, // 6to4 of 169.254.169.254
		{"2002:c0a8:0101::1", "private"},    // 6to4 of 192.168.1.1
		{"2001:db8::1", "documentation"},
		{"2001::1", "reserved"}, // Teredo
		{"100::1", "discard"},
	}
	for _, c := range refused {
		err := CheckAddr(netip.MustParseAddr(c.addr))
		if err == nil {
			t.Errorf("CheckAddr(%s) = nil, want refused (%s)", c.addr, c.reason)
			continue
		}
		if !IsRefused(err) || !strings.Contains(err.Error(), c.reason) {
			t.Errorf("CheckAddr(%s) = %v, want a refusal saying %q", c.addr, err, c.reason)
		}
	}
	allowed := []string{"8.8.8.8", "1.1.1.1", "93.184.216.34", "172.32.0.1", "100.128.0.1", "169.255.0.1",
		"2606:4700:4700::1111", "2a00:1450:4001:81c::200e", "::ffff:8.8.8.8", "64:ff9b::8.8.8.8", "2002:0808:0808::1"}
	for _, a := range allowed {
		if err := CheckAddr(netip.MustParseAddr(a)); err != nil {
			t.Errorf("CheckAddr(%s) = %v, want nil", a, err)
		}
	}
}

func TestParseAllowlist(t *testing.T) {
	l, err := ParseAllowlist(" 127.0.0.1:8089, 10.1.0.0/16 ,::1, [::1]:99 ")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		ap   string
		want bool
	}{
		{"127.0.0.1:8089", true},
		{"127.0.0.1:8090", false},
		{"127.0.0.2:8089", false},
		{"10.1.200.3:80", true},
		{"10.2.0.1:80", false},
		{"[::1]:1234", true},
		{"[::ffff:127.0.0.1]:8089", true},
		{"[::ffff:127.0.0.1]:8090", false},
	} {
		if got := l.Admits(netip.MustParseAddrPort(c.ap)); got != c.want {
			t.Errorf("Admits(%s) = %v, want %v", c.ap, got, c.want)
		}
	}
	if l, err := ParseAllowlist(""); err != nil || !l.Empty() {
		t.Errorf("ParseAllowlist(\"\") = %v, %v; want empty", l, err)
	}
	for _, bad := range []string{"localhost", "127.0.0.1:", "10.0.0.0/33", "example.com:80"} {
		if _, err := ParseAllowlist(bad); err == nil {
			t.Errorf("ParseAllowlist(%q) accepted", bad)
		}
	}
}

// canary is a server on a refused address that counts its hits.
func canary(t *testing.T, addr string) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var hits atomic.Int64
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("listen %s: %v", addr, err)
	}
	s := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		io.WriteString(w, "canary")
	}))
	s.Listener.Close()
	s.Listener = ln
	s.Start()
	t.Cleanup(s.Close)
	return s, &hits
}

// answers is a resolver that gives each lookup the next answer, and counts
// lookups.
type answers struct {
	mu    sync.Mutex
	addrs [][]netip.Addr
	calls int
}

func (r *answers) LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	a := r.addrs[min(r.calls, len(r.addrs)-1)]
	r.calls++
	return a, nil
}

func logged() (*slog.Logger, *bytes.Buffer) {
	var buf bytes.Buffer
	var mu sync.Mutex
	return slog.New(slog.NewTextHandler(lockedWriter{&mu, &buf}, nil)), &buf
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func TestDialRefusesAndLogs(t *testing.T) {
	c, hits := canary(t, "127.0.0.1:0")
	port := c.Listener.Addr().(*net.TCPAddr).Port
	log, buf := logged()
	// The name's first address is admitted, its second is not: the
	// guard refuses the name before connecting to either.
	allow, _ := ParseAllowlist("127.0.0.2")
	g := &Guard{Logger: log, Allow: allow, Resolver: &answers{addrs: [][]netip.Addr{{netip.MustParseAddr("127.0.0.2"), netip.MustParseAddr("127.0.0.1")}}}}
	for _, addr := range []string{
		c.Listener.Addr().String(),
		net.JoinHostPort("::1", "80"),
		"169.254.169.254:80",
		net.JoinHostPort("canary.example", itoa(port)),
	} {
		conn, err := g.DialFor(context.Background(), "tcp", addr, "http://"+addr+"/")
		if err == nil {
			conn.Close()
			t.Errorf("dial %s: connected, want refused", addr)
			continue
		}
		if !IsRefused(err) {
			t.Errorf("dial %s: %v, want a refusal", addr, err)
		}
		if !strings.Contains(buf.String(), "url=http://"+addr+"/") {
			t.Errorf("refusal of %s not logged with its URL:\n%s", addr, buf.String())
		}
	}
	if _, err := g.DialContext(context.Background(), "udp", "127.0.0.2:53"); !IsRefused(err) {
		t.Errorf("udp dial: %v, want refused", err)
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("canary hit %d times", n)
	}
}

// TestDialPinsTheCheckedAddress: the name resolves to an admitted address,
// then (DNS rebinding) to the canary's; the connection goes where the
// check looked, and the next one, resolving anew, is refused.
func TestDialPinsTheCheckedAddress(t *testing.T) {
	public, _ := canary(t, "127.0.0.2:0")
	port := public.Listener.Addr().(*net.TCPAddr).Port
	_, hits := canary(t, "127.0.0.1:"+itoa(port))
	allow, err := ParseAllowlist("127.0.0.2")
	if err != nil {
		t.Fatal(err)
	}
	r := &answers{addrs: [][]netip.Addr{{netip.MustParseAddr("127.0.0.2")}, {netip.MustParseAddr("127.0.0.1")}}}
	g := &Guard{Resolver: r, Allow: allow}
	tr := &http.Transport{DialContext: g.DialContext}
	defer tr.CloseIdleConnections()
	res, err := (&http.Client{Transport: tr}).Get("http://rebind.example:" + itoa(port) + "/")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if r.calls != 1 {
		t.Errorf("%d lookups for one connection, want 1", r.calls)
	}
	tr.CloseIdleConnections()
	if _, err := (&http.Client{Transport: tr}).Get("http://rebind.example:" + itoa(port) + "/"); !IsRefused(err) {
		t.Errorf("second connection after rebinding: %v, want refused", err)
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("canary hit %d times", n)
	}
}

// TestControlChecksTheSocket: even handed an address directly, the dialer's
// Control refuses a refused address.
func TestControlChecksTheSocket(t *testing.T) {
	g := &Guard{}
	if err := g.control("x", "")("tcp4", "127.0.0.1:80", nil); !IsRefused(err) {
		t.Errorf("control on loopback: %v, want refused", err)
	}
	if err := g.control("x", "")("tcp4", "8.8.8.8:80", nil); err != nil {
		t.Errorf("control on a public address: %v", err)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestRefusedPublicHidesResolvedAddress(t *testing.T) {
	cases := []struct {
		err  RefusedError
		want string
	}{
		{RefusedError{Host: "intranet.corp", Addr: netip.MustParseAddr("10.1.2.3"), Reason: "private address"}, "intranet.corp: no public site by that name"},
		{RefusedError{Host: "127.0.0.1", Addr: netip.MustParseAddr("127.0.0.1"), Reason: "loopback address"}, "loopback address 127.0.0.1"},
		{RefusedError{Host: "[::1]", Addr: netip.MustParseAddr("::1"), Reason: "loopback address"}, "loopback address [::1]"},
		{RefusedError{Addr: netip.MustParseAddr("169.254.169.254"), Reason: "link-local address"}, "link-local address 169.254.169.254"},
	}
	for _, c := range cases {
		if got := c.err.Public(); got != c.want {
			t.Errorf("Public() = %q, want %q", got, c.want)
		}
	}
}

// TestRefusesThisHostsOwnAddresses: a public address of this host's own
// interfaces is delivered locally (over lo, past firewalls that trust lo),
// so it is refused like loopback.
func TestRefusesThisHostsOwnAddresses(t *testing.T) {
	log, buf := logged()
	g := &Guard{Logger: log, LocalAddrs: func() ([]netip.Addr, error) {
		return []netip.Addr{netip.MustParseAddr("198.51.100.7"), netip.MustParseAddr("8.8.8.8"), netip.MustParseAddr("2606:4700:4700::1111")}, nil
	}}
	for _, addr := range []string{"8.8.8.8:80", "[2606:4700:4700::1111]:443", "[::ffff:8.8.8.8]:80"} {
		if err := g.control("x", "")("tcp", addr, nil); !IsRefused(err) || !strings.Contains(err.Error(), "this host's address") {
			t.Errorf("control on %s, an address of this host: %v, want refused", addr, err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		conn, err := g.DialContext(ctx, "tcp", addr)
		cancel()
		if err == nil {
			conn.Close()
		}
		if !IsRefused(err) {
			t.Errorf("dial %s, an address of this host: %v, want refused", addr, err)
		}
	}
	if err := g.control("x", "")("tcp4", "1.1.1.1:80", nil); err != nil {
		t.Errorf("control on a public address not this host's: %v", err)
	}
	if !strings.Contains(buf.String(), "8.8.8.8") {
		t.Errorf("refusal not logged:\n%s", buf.String())
	}
}
