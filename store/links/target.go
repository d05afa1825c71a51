package links

import (
	"fmt"
	"net/netip"
	"net/url"
	"path"
	"strconv"
	"strings"

	"golang.org/x/net/idna"
)

// MaxTargetLen is the longest target a link may have, in bytes, as typed
// and as normalised.
const MaxTargetLen = 2048

// NormalizeTarget checks raw as a link's target and returns it normalised:
// an absolute http or https URL with its scheme and host in lower case, an
// international host name in punycode and no default port. A path on Shelf
// ("/books/12"), or a URL on base's origin, is internal (external false)
// and is rebuilt on base. On refusal target is "" and message says why, to
// show the reader.
func NormalizeTarget(raw string, base *url.URL) (target string, external bool, message string) {
	switch {
	case raw == "":
		return "", false, "Enter the address to link to."
	case len(raw) > MaxTargetLen:
		return "", false, fmt.Sprintf("An address can be at most %d characters long.", MaxTargetLen)
	case strings.TrimSpace(raw) != raw:
		return "", false, "Remove the spaces before or after the address."
	}
	for _, r := range raw {
		if r < 0x20 || r == 0x7f || r >= 0x80 && r < 0xa0 {
			return "", false, "The address contains control characters (a tab or a line break?)."
		}
	}
	if strings.ContainsRune(raw, '\\') {
		// Browsers read \ as / in web addresses: "/\evil.com" is
		// "//evil.com", another site.
		return "", false, "Write a backslash in an address as %5C."
	}
	if strings.HasPrefix(raw, "/") {
		if strings.HasPrefix(raw, "//") {
			return "", false, "Start the address with https:// (or with a single / for a page on Shelf)."
		}
		u, err := url.Parse(raw)
		if err != nil {
			return "", false, "This is not a valid address."
		}
		u.RawQuery = escapeQuery(u.RawQuery)
		return internal(u, base)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", false, "This is not a valid address."
	}
	if u.Scheme == "" {
		return "", false, "Start the address with https:// (or with / for a page on Shelf)."
	}
	u.Scheme = strings.ToLower(u.Scheme)
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", false, "Only web addresses (http:// or https://) can be linked to."
	}
	if u.Opaque != "" || u.Host == "" {
		return "", false, "Write the address with the site's name after " + u.Scheme + "://, as in https://example.com/."
	}
	if u.User != nil {
		return "", false, "An address may not contain a user name or password."
	}
	host, msg := normalizeHost(u.Hostname())
	if msg != "" {
		return "", false, msg
	}
	port := u.Port()
	if strings.HasSuffix(u.Host, ":") {
		port = ""
	}
	if port != "" {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 {
			return "", false, "The port (the number after “:”) must be from 1 to 65535."
		}
		port = strconv.Itoa(n)
		if u.Scheme == "http" && n == 80 || u.Scheme == "https" && n == 443 {
			port = ""
		}
	}
	u.Host = host
	if port != "" {
		u.Host = host + ":" + port
	}
	u.RawQuery = escapeQuery(u.RawQuery)
	if p, ok := belowBase(u, u.Path, base); ok {
		u.Path, u.RawPath = p, ""
		return internal(u, base)
	}
	if msg := checkAddress(host); msg != "" {
		return "", false, msg
	}
	if u.Path == "" {
		u.Path = "/"
	}
	s := u.String()
	if len(s) > MaxTargetLen {
		return "", false, fmt.Sprintf("An address can be at most %d characters long.", MaxTargetLen)
	}
	return s, true, ""
}

// internal rebuilds a path on Shelf from the base URL, never from the
// request: only the path, query and fragment of u are kept.
func internal(u *url.URL, base *url.URL) (string, bool, string) {
	if base == nil {
		return "", false, "Links to Shelf's own pages are not available."
	}
	p := u.Path
	if p == "" {
		p = "/"
	}
	clean := path.Clean(p)
	if clean == "/s" || strings.HasPrefix(clean, "/s/") {
		return "", false, "A short link cannot point at another short link."
	}
	if clean == "/api" || strings.HasPrefix(clean, "/api/") {
		return "", false, "A short link cannot point at Shelf's API."
	}
	out := url.URL{Scheme: base.Scheme, Host: base.Host, Path: strings.TrimSuffix(base.Path, "/") + p,
		RawQuery: u.RawQuery, Fragment: u.Fragment}
	s := out.String()
	if len(s) > MaxTargetLen {
		return "", false, fmt.Sprintf("An address can be at most %d characters long.", MaxTargetLen)
	}
	return s, false, ""
}

// ShelfPath is the path, as escaped, of the page on Shelf that target (as
// stored: normalised) goes to, below base's path, without its query and
// fragment; ok is false for another site's address.
func ShelfPath(target string, base *url.URL) (path string, ok bool) {
	u, err := url.Parse(target)
	if err != nil {
		return "", false
	}
	p, ok := belowBase(u, u.EscapedPath(), base)
	if ok && p == "" {
		p = "/"
	}
	return p, ok
}

// belowBase returns p, the path of u (escaped or not), less base's path
// when u is on Shelf: base's origin and, under a base URL with a path,
// below it (the rest of the host is another application).
func belowBase(u *url.URL, p string, base *url.URL) (string, bool) {
	if !sameOrigin(u, base) {
		return "", false
	}
	prefix := strings.TrimSuffix(base.Path, "/")
	if !PathWithin(prefix, p) {
		return "", false
	}
	return strings.TrimPrefix(p, prefix), true
}

// escapeQuery percent-encodes what a browser would in a query (spaces,
// quotes, angle brackets, non-ASCII bytes) and leaves the rest as typed,
// escapes included. A target shown before leaving Shelf must read as what
// it is: a raw U+202E in its query would show the rest of it reversed.
func escapeQuery(q string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(q); i++ {
		c := q[i]
		if c <= ' ' || c >= 0x7f || c == '"' || c == '<' || c == '>' {
			if b.Len() == 0 {
				b.Grow(len(q) + 8)
				b.WriteString(q[:i])
			}
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(c)
		}
	}
	if b.Len() == 0 {
		return q
	}
	return b.String()
}

// PathWithin reports whether path p is dir or below it: "/shelf" holds
// "/shelf" and "/shelf/x" but not "/shelfx", and "" or "/" holds every path.
// Under a base URL with a path, only the paths within it are Shelf's.
func PathWithin(dir, p string) bool {
	dir = strings.TrimSuffix(dir, "/")
	return dir == "" || p == dir || strings.HasPrefix(p, dir+"/")
}

// sameOrigin reports whether u (scheme and host already normalised) is on
// base's origin.
func sameOrigin(u, base *url.URL) bool {
	if base == nil {
		return false
	}
	return u.Scheme == strings.ToLower(base.Scheme) && u.Host == originHost(base)
}

// originHost is base's host in lower case without its default port.
func originHost(base *url.URL) string {
	h, p := strings.ToLower(base.Hostname()), base.Port()
	if base.Scheme == "http" && p == "80" || base.Scheme == "https" && p == "443" {
		p = ""
	}
	if strings.Contains(h, ":") {
		h = "[" + h + "]"
	}
	if p != "" {
		return h + ":" + p
	}
	return h
}

// normalizeHost returns host as it is linked to: an IP address in its
// canonical form (IPv6 in brackets), a name in lower-case punycode.
func normalizeHost(host string) (string, string) {
	if host == "" {
		return "", "The address has no site name."
	}
	if strings.Contains(host, ":") { // IPv6, from within brackets
		a, err := netip.ParseAddr(host)
		if err != nil || a.Zone() != "" {
			return "", "The address's IP address is not valid."
		}
		return "[" + a.String() + "]", ""
	}
	host = strings.TrimSuffix(host, ".")
	// Browsers read a host whose last label is a number as an IPv4
	// address, in decimal, octal or hex, whole or in parts:
	// http://2130706433/ and http://0x7f.1/ are 127.0.0.1.
	labels := strings.Split(host, ".")
	if numeric(labels[len(labels)-1]) {
		a, ok := parseIPv4(labels)
		if !ok {
			return "", "The address's IP address is not valid."
		}
		return a.String(), ""
	}
	ascii, err := idna.Lookup.ToASCII(host)
	if err != nil || ascii == "" {
		return "", "The site's name is not a valid host name."
	}
	return strings.ToLower(ascii), ""
}

func numeric(label string) bool {
	if label == "" {
		return false
	}
	if l := strings.ToLower(label); strings.HasPrefix(l, "0x") {
		for _, c := range l[2:] {
			if !strings.ContainsRune("0123456789abcdef", c) {
				return false
			}
		}
		return true
	}
	for _, c := range label {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// parseIPv4 is the WHATWG URL standard's IPv4 parser: up to four parts,
// each decimal, octal (leading 0) or hex (0x); the last fills the bytes
// the others leave.
func parseIPv4(parts []string) (netip.Addr, bool) {
	if len(parts) > 4 {
		return netip.Addr{}, false
	}
	nums := make([]uint64, len(parts))
	for i, p := range parts {
		base, digits := 10, p
		switch l := strings.ToLower(p); {
		case strings.HasPrefix(l, "0x"):
			base, digits = 16, l[2:]
			if digits == "" {
				digits = "0"
			}
		case len(p) > 1 && p[0] == '0':
			base, digits = 8, p[1:]
		}
		n, err := strconv.ParseUint(digits, base, 64)
		if err != nil || p == "" {
			return netip.Addr{}, false
		}
		nums[i] = n
	}
	var v uint64
	for i, n := range nums[:len(nums)-1] {
		if n > 255 {
			return netip.Addr{}, false
		}
		v |= n << (8 * (3 - i))
	}
	last := nums[len(nums)-1]
	if last >= 1<<(8*(5-len(nums))) {
		return netip.Addr{}, false
	}
	v |= last
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), true
}

// checkAddress refuses targets on the visitor's own machine or network: a
// short link to a router's admin page is an attack on whoever follows it.
func checkAddress(host string) string {
	if h := strings.ToLower(host); h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return "Links to localhost (the visitor's own computer) are not allowed."
	}
	a, err := netip.ParseAddr(strings.Trim(host, "[]"))
	if err != nil {
		if !strings.Contains(host, ".") {
			return "Write the site's full name, with a dot (example.com), not a name on a local network."
		}
		return ""
	}
	a = a.Unmap()
	switch {
	case a.IsLoopback(), a.IsUnspecified(), thisNetwork.Contains(a):
		return "Links to the visitor's own computer (" + a.String() + ") are not allowed."
	case a.IsPrivate(), a.IsLinkLocalUnicast(), a.IsLinkLocalMulticast(), a.IsInterfaceLocalMulticast(), a.IsMulticast():
		return "Links to private or local network addresses (" + a.String() + ") are not allowed: they would reach a visitor's own network."
	case cgnat.Contains(a), a == broadcast:
		return "Links to shared network addresses (" + a.String() + ") are not allowed."
	}
	return ""
}

var (
	cgnat       = netip.MustParsePrefix("100.64.0.0/10")
	thisNetwork = netip.MustParsePrefix("0.0.0.0/8") // "this host on this network"
	broadcast   = netip.MustParseAddr("255.255.255.255")
)
