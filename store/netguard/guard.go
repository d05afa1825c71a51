// Package netguard decides which network addresses Shelf may connect to on
// behalf of what a reader typed, and connects only to those: it resolves
// names itself, refuses every address that is not public (loopback,
// private, link-local with the cloud metadata endpoints, unique-local,
// multicast, reserved, and the IPv6 forms that embed such an IPv4
// address), and connects to the address it checked, so a second DNS answer
// cannot swap it. An allowlist, empty by default, admits chosen addresses
// (a test's local server).
package netguard

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// RefusedError is a connection the guard refused, with why.
type RefusedError struct {
	Host   string // as asked for; empty when only an address was checked
	Addr   netip.Addr
	Reason string // "private address", "loopback address", …
}

func (e *RefusedError) Error() string {
	s := e.Reason + " " + e.Addr.String()
	if e.Host != "" && e.Host != e.Addr.String() {
		s += " (" + e.Host + ")"
	}
	return s
}

// Public says what Error says without the address a name resolved to: a
// refusal shown to readers must not map the network inside for them.
func (e *RefusedError) Public() string {
	if e.Host == "" || e.Host == e.Addr.String() {
		return e.Reason + " " + e.Addr.String()
	}
	if _, err := netip.ParseAddr(strings.Trim(e.Host, "[]")); err == nil {
		return e.Reason + " " + e.Host
	}
	// A name that points inside reads as one that does not exist at all
	// (see NoPublicSite), so previews cannot be used to learn which inside
	// names exist.
	return e.Host + ": " + NoPublicSite
}

// NoPublicSite is what readers are told of a name that does not resolve,
// or resolves to an address that is not public.
const NoPublicSite = "no public site by that name"

// IsRefused reports whether err is, or wraps, a refusal by the guard.
func IsRefused(err error) bool {
	var r *RefusedError
	return errors.As(err, &r)
}

type block struct {
	prefix netip.Prefix
	reason string
}

func mustPrefix(s string) netip.Prefix { return netip.MustParsePrefix(s) }

// blocked4 are the IPv4 ranges that are not the public internet.
var blocked4 = []block{
	{mustPrefix("0.0.0.0/8"), "unspecified address"},
	{mustPrefix("10.0.0.0/8"), "private address"},
	{mustPrefix("100.64.0.0/10"), "shared (CGNAT) address"},
	{mustPrefix("127.0.0.0/8"), "loopback address"},
	{mustPrefix("169.254.0.0/16"), "link-local address"},
	{mustPrefix("172.16.0.0/12"), "private address"},
	{mustPrefix("192.0.0.0/24"), "reserved address"},
	{mustPrefix("192.0.2.0/24"), "documentation address"},
	{mustPrefix("192.88.99.0/24"), "reserved address"},
	{mustPrefix("192.168.0.0/16"), "private address"},
	{mustPrefix("198.18.0.0/15"), "benchmarking address"},
	{mustPrefix("198.51.100.0/24"), "documentation address"},
	{mustPrefix("203.0.113.0/24"), "documentation address"},
	{mustPrefix("224.0.0.0/4"), "multicast address"},
	{mustPrefix("240.0.0.0/4"), "reserved address"}, // 255.255.255.255 included
}

// blocked6 are the IPv6 ranges that are not the public internet, or that
// reach IPv4 ranges the guard cannot see through (checked after the
// embedded IPv4 address is).
var blocked6 = []block{
	{mustPrefix("::/128"), "unspecified address"},
	{mustPrefix("::1/128"), "loopback address"},
	{mustPrefix("::/96"), "IPv4-compatible address"},
	{mustPrefix("64:ff9b:1::/48"), "local NAT64 address"},
	{mustPrefix("100::/64"), "discard address"},
	{mustPrefix("2001::/23"), "reserved address"}, // Teredo, benchmarking, ORCHID…
	{mustPrefix("2001:db8::/32"), "documentation address"},
	{mustPrefix("fc00::/7"), "unique-local address"},
	{mustPrefix("fe80::/10"), "link-local address"},
	{mustPrefix("fec0::/10"), "site-local address"},
	{mustPrefix("ff00::/8"), "multicast address"},
}

// CheckAddr returns nil when a is a public unicast address, and a
// *RefusedError saying what it is otherwise. IPv6 addresses that embed an
// IPv4 address (IPv4-mapped ::ffff:a.b.c.d, NAT64 64:ff9b::/96, 6to4
// 2002::/16) are judged by that address too.
func CheckAddr(a netip.Addr) error {
	a = a.WithZone("")
	if !a.IsValid() {
		return &RefusedError{Addr: a, Reason: "invalid address"}
	}
	if a.Is4In6() {
		return check4(a.Unmap(), a)
	}
	if a.Is4() {
		return check4(a, a)
	}
	b := a.As16()
	switch {
	case mustPrefix("64:ff9b::/96").Contains(a):
		if err := check4(netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]}), a); err != nil {
			return err
		}
	case mustPrefix("2002::/16").Contains(a):
		if err := check4(netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]}), a); err != nil {
			return err
		}
	}
	for _, bl := range blocked6 {
		if bl.prefix.Contains(a) {
			return &RefusedError{Addr: a, Reason: bl.reason}
		}
	}
	if !a.IsGlobalUnicast() {
		return &RefusedError{Addr: a, Reason: "non-public address"}
	}
	return nil
}

// check4 judges the IPv4 address v4, found in (or equal to) a.
func check4(v4, a netip.Addr) error {
	for _, bl := range blocked4 {
		if bl.prefix.Contains(v4) {
			return &RefusedError{Addr: a, Reason: bl.reason}
		}
	}
	return nil
}

// Allowlist admits addresses the guard would refuse: addresses, prefixes,
// or one port of an address ("127.0.0.1:8089").
type Allowlist struct {
	prefixes []netip.Prefix
	ports    []netip.AddrPort
}

// ParseAllowlist reads a comma-separated list of IP addresses, CIDR
// prefixes and ip:port pairs ("127.0.0.1:8089, [::1]:8089, 10.1.0.0/16").
// An empty string is an empty list.
func ParseAllowlist(s string) (Allowlist, error) {
	var l Allowlist
	for item := range strings.SplitSeq(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		if p, err := netip.ParsePrefix(item); err == nil {
			l.prefixes = append(l.prefixes, p.Masked())
		} else if a, err := netip.ParseAddr(item); err == nil {
			l.prefixes = append(l.prefixes, netip.PrefixFrom(a, a.BitLen()))
		} else if ap, err := netip.ParseAddrPort(item); err == nil {
			l.ports = append(l.ports, ap)
		} else {
			return Allowlist{}, fmt.Errorf("allowlist: %q is not an address, a prefix or address:port", item)
		}
	}
	return l, nil
}

// Empty reports whether the list admits nothing.
func (l Allowlist) Empty() bool { return len(l.prefixes) == 0 && len(l.ports) == 0 }

// Admits reports whether ap is on the list.
func (l Allowlist) Admits(ap netip.AddrPort) bool {
	a := ap.Addr().Unmap().WithZone("")
	for _, p := range l.prefixes {
		if p.Contains(a) {
			return true
		}
	}
	for _, p := range l.ports {
		if p.Addr().Unmap() == a && p.Port() == ap.Port() {
			return true
		}
	}
	return false
}

// Resolver looks up a host's addresses; *net.Resolver is one.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// Guard checks addresses and dials only those it admits.
type Guard struct {
	Resolver Resolver  // net.DefaultResolver when nil
	Allow    Allowlist // admitted although not public; empty by default
	Logger   *slog.Logger
	// Timeout bounds one connection attempt (10 s when zero).
	Timeout time.Duration
	// LocalAddrs lists this host's own addresses (those of its network
	// interfaces when nil).
	LocalAddrs func() ([]netip.Addr, error)
}

// Check returns nil when ap may be connected to: a public address that is
// not one of this host's own, or one on the allowlist.
func (g *Guard) Check(ap netip.AddrPort) error {
	if g.Allow.Admits(ap) {
		return nil
	}
	if err := CheckAddr(ap.Addr()); err != nil {
		return err
	}
	return g.checkNotLocal(ap.Addr())
}

// checkNotLocal refuses a public address of this host's own interfaces:
// the kernel delivers it locally, over lo, past firewall rules that trust
// lo, to services that listen on every address.
func (g *Guard) checkNotLocal(a netip.Addr) error {
	a = a.Unmap().WithZone("")
	local := g.LocalAddrs
	if local == nil {
		local = interfaceAddrs
	}
	addrs, err := local()
	if err != nil {
		return &RefusedError{Addr: a, Reason: "this host's addresses unknown (" + err.Error() + ")"}
	}
	for _, l := range addrs {
		if l.Unmap().WithZone("") == a {
			return &RefusedError{Addr: a, Reason: "this host's address"}
		}
	}
	return nil
}

func interfaceAddrs() ([]netip.Addr, error) {
	as, err := net.InterfaceAddrs()
	if err != nil {
		return nil, err
	}
	out := make([]netip.Addr, 0, len(as))
	for _, a := range as {
		if p, err := netip.ParsePrefix(a.String()); err == nil {
			out = append(out, p.Addr())
		}
	}
	return out, nil
}

// DialContext connects to address ("host:port") over network ("tcp",
// "tcp4", "tcp6"): it resolves host, refuses if any of its addresses is
// refused (a name with one private address is not trusted with the
// others), and connects to the checked addresses in turn, by address. The
// address is checked again on the socket itself before it connects.
// Every refusal is logged, with what asks in about.
func (g *Guard) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	return g.dial(ctx, network, address, "")
}

// DialFor is DialContext logging about (the URL being fetched) with a
// refusal.
func (g *Guard) DialFor(ctx context.Context, network, address, about string) (net.Conn, error) {
	return g.dial(ctx, network, address, about)
}

func (g *Guard) dial(ctx context.Context, network, address, about string) (net.Conn, error) {
	switch network {
	case "tcp", "tcp4", "tcp6":
	default:
		return nil, g.refuse(about, &RefusedError{Host: address, Reason: "network " + network})
	}
	host, portText, err := net.SplitHostPort(address)
	if err != nil {
		return nil, err
	}
	port, err := strconv.ParseUint(portText, 10, 16)
	if err != nil || port == 0 {
		return nil, fmt.Errorf("netguard: bad port in %q", address)
	}
	addrs, err := g.resolve(ctx, host)
	if err != nil {
		return nil, err
	}
	var targets []netip.AddrPort
	for _, a := range addrs {
		a = a.Unmap()
		if network == "tcp4" && !a.Is4() || network == "tcp6" && !a.Is6() {
			continue
		}
		ap := netip.AddrPortFrom(a, uint16(port))
		if err := g.Check(ap); err != nil {
			var r *RefusedError
			if errors.As(err, &r) {
				r.Host = host
			}
			return nil, g.refuse(about, err)
		}
		targets = append(targets, ap)
	}
	if len(targets) == 0 {
		return nil, fmt.Errorf("netguard: no address for %s", host)
	}
	timeout := g.Timeout
	if timeout == 0 {
		timeout = 10 * time.Second
	}
	d := net.Dialer{Timeout: timeout, Control: g.control(host, about)}
	var errs []error
	for _, ap := range targets {
		conn, err := d.DialContext(ctx, "tcp", ap.String())
		if err == nil {
			return conn, nil
		}
		if IsRefused(err) || ctx.Err() != nil {
			return nil, err
		}
		errs = append(errs, err)
	}
	return nil, errors.Join(errs...)
}

// control checks the address the socket is about to connect to: the last
// word, whatever led to it.
func (g *Guard) control(host, about string) func(network, address string, _ syscall.RawConn) error {
	return func(network, address string, _ syscall.RawConn) error {
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			return g.refuse(about, &RefusedError{Host: host, Reason: "unreadable address " + address})
		}
		if err := g.Check(ap); err != nil {
			var r *RefusedError
			if errors.As(err, &r) {
				r.Host = host
			}
			return g.refuse(about, err)
		}
		return nil
	}
}

func (g *Guard) resolve(ctx context.Context, host string) ([]netip.Addr, error) {
	if a, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")); err == nil {
		return []netip.Addr{a}, nil
	}
	r := g.Resolver
	if r == nil {
		r = net.DefaultResolver
	}
	addrs, err := r.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return nil, fmt.Errorf("resolve %s: %w", host, err)
	}
	return addrs, nil
}

// refuse logs the refusal err and returns it.
func (g *Guard) refuse(about string, err error) error {
	if g.Logger != nil {
		g.Logger.Warn("connection refused by the guard", "url", about, "reason", err.Error())
	}
	return err
}
