package outbox

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	netmail "net/mail"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
)

// SMTPConfig says how to reach the SMTP server.
type SMTPConfig struct {
	Host     string
	Port     int
	Username string // empty: no authentication
	Password string
	// ImplicitTLS speaks TLS from the first byte (smtps://). Otherwise
	// STARTTLS is required: a server that does not offer it gets no mail.
	ImplicitTLS bool
	// NoTLS sends in clear and never starts TLS: smtp://…?tls=none, for a
	// relay without TLS, and the in-process dev inbox.
	NoTLS bool
	// TLSConfig overrides the TLS settings (tests use it to trust their
	// own certificate); nil verifies the server against Host.
	TLSConfig *tls.Config
}

// Addr is host:port.
func (c SMTPConfig) Addr() string { return net.JoinHostPort(c.Host, strconv.Itoa(c.Port)) }

// String describes the server without the password, for logs.
func (c SMTPConfig) String() string {
	scheme := "smtp"
	if c.ImplicitTLS {
		scheme = "smtps"
	}
	user := ""
	if c.Username != "" {
		user = url.User(c.Username).String() + "@"
	}
	query := ""
	if c.NoTLS {
		query = "?" + noTLSQuery
	}
	return scheme + "://" + user + c.Addr() + query
}

// noTLSQuery is the only query SHELF_SMTP_URL takes: send without TLS.
const noTLSQuery = "tls=none"

// ParseSMTPURL parses smtp://[user:pass@]host[:port] (STARTTLS required,
// port 587 by default) or smtps://[user:pass@]host[:port] (implicit TLS,
// port 465 by default). smtp://host[:port]?tls=none opts out of TLS for a
// relay that has none; with a password it is allowed only to a relay on
// this machine, since the password would cross the network in clear.
// Errors never repeat the password.
func ParseSMTPURL(raw string) (SMTPConfig, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return SMTPConfig{}, errors.New("want smtp://user:pass@host:port or smtps://…")
	}
	var c SMTPConfig
	switch u.Scheme {
	case "smtp":
		c.Port = 587
	case "smtps":
		c.ImplicitTLS, c.Port = true, 465
	default:
		return SMTPConfig{}, errors.New("scheme must be smtp:// (STARTTLS) or smtps:// (implicit TLS)")
	}
	if u.Opaque != "" || u.Hostname() == "" {
		return SMTPConfig{}, errors.New("missing host, want e.g. smtp://user:pass@mail.example.com:587")
	}
	if (u.Path != "" && u.Path != "/") || u.Fragment != "" {
		return SMTPConfig{}, errors.New("want no path or fragment after host:port")
	}
	c.Host = u.Hostname()
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return SMTPConfig{}, fmt.Errorf("port %q is not a number from 1 to 65535", p)
		}
		c.Port = n
	}
	if u.User != nil {
		c.Username = u.User.Username()
		c.Password, _ = u.User.Password()
		if c.Username == "" {
			return SMTPConfig{}, errors.New("password given without a user name")
		}
	}
	switch u.RawQuery {
	case "":
	case noTLSQuery:
		if c.ImplicitTLS {
			return SMTPConfig{}, errors.New("?tls=none contradicts smtps:// (implicit TLS); use smtp://")
		}
		if c.Password != "" && !IsLocalHost(c.Host) {
			return SMTPConfig{}, fmt.Errorf("?tls=none would send the password in clear to %s; "+
				"it is allowed with a password only for a relay on this machine", c.Host)
		}
		c.NoTLS = true
	default:
		return SMTPConfig{}, errors.New("the only query allowed is ?tls=none (send in clear, for a relay without TLS)")
	}
	return c, nil
}

// DefaultFrom is the sender address when none is configured.
const DefaultFrom = "Shelf <shelf@localhost>"

// ParseFrom parses a From address such as "Shelf <shelf@example.com>" or
// "shelf@example.com".
func ParseFrom(raw string) (*netmail.Address, error) {
	a, err := netmail.ParseAddress(strings.TrimSpace(raw))
	if err != nil {
		return nil, errors.New(`want an email address, e.g. "Shelf <shelf@example.com>"`)
	}
	if _, domain, _ := strings.Cut(a.Address, "@"); domain == "" {
		return nil, errors.New("the address needs a domain")
	}
	return a, nil
}

// IsLocalHost reports whether host (a name or an IP address, without a
// port) names this machine: localhost, a name under .localhost (RFC 6761)
// or a loopback address.
func IsLocalHost(host string) bool {
	host = strings.ToLower(host)
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}
