package addresscheck

import (
	"context"
	"errors"
	"net"
	"strings"
)

// Resolver is the DNS the opt-in check asks; *net.Resolver is one. Tests
// give a fake, so no test touches the network.
type Resolver interface {
	LookupMX(ctx context.Context, name string) ([]*net.MX, error)
	LookupHost(ctx context.Context, host string) ([]string, error)
}

// receivesMail reports whether the ASCII domain can receive mail: it has
// an MX record, or else an address record (RFC 5321 5.1's implicit MX).
// Only a definite answer refuses: a domain that does not exist, or has
// neither record, or publishes the null MX ("." RFC 7505). A timeout or
// any other DNS failure says nothing about the domain, and the address is
// taken: sign-up never fails because DNS did.
func (c *Checker) receivesMail(ctx context.Context, domain string) bool {
	ctx, cancel := context.WithTimeout(ctx, c.mxTimeout)
	defer cancel()
	mxs, err := c.resolver.LookupMX(ctx, domain)
	switch {
	case err == nil && len(mxs) == 1 && strings.TrimSuffix(mxs[0].Host, ".") == "":
		return false // the null MX: "no mail here"
	case err == nil && len(mxs) > 0:
		return true
	case err != nil && !notFound(err):
		return true
	}
	return c.hasHost(ctx, domain)
}

func (c *Checker) hasHost(ctx context.Context, domain string) bool {
	addrs, err := c.resolver.LookupHost(ctx, domain)
	if err != nil {
		return !notFound(err)
	}
	return len(addrs) > 0
}

func notFound(err error) bool {
	var dnsErr *net.DNSError
	return errors.As(err, &dnsErr) && dnsErr.IsNotFound
}
