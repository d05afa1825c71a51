// Package addresscheck judges an address typed for a new account, offline
// and deterministically: its syntax (syntax.go), throwaway domains
// (disposable.go), likely typos of big providers (suggest.go), and, only
// when asked for, whether its domain can receive mail at all (mx.go).
package addresscheck

import (
	"context"
	"strings"
	"time"
)

// Kind is what a verdict asks of sign-up.
type Kind int

const (
	// OK: go on (a Suggestion may still be offered; it never blocks).
	OK Kind = iota
	// Refused: the address cannot be used; Problem says why.
	Refused
	// Confirm: the domain is a known typo of a big provider that does
	// receive mail; go on only after the reader says "Yes, use this
	// address" for exactly this address.
	Confirm
)

// Verdict is the judgement of one address.
type Verdict struct {
	// Address is the normalised address (see Normalize): the one to store.
	Address string
	Kind    Kind
	// Problem is why it is refused, or what to confirm.
	Problem Problem
	// Suggestion is the address with the provider's domain the reader
	// probably meant ("ann@gmail.com" for "ann@gmial.com"), or "". Never
	// Address itself.
	Suggestion string
}

// The verdicts' messages besides syntax.
const (
	// Throwaway is neutral: it neither accuses nor names the list.
	Throwaway Problem = "We can't create accounts with addresses at this domain. Please use another email address."
	NoMail    Problem = "This domain does not receive email. Check the part after the @, or use another address."
)

// TypoSquatProblem says what to confirm for an address at a typo domain.
func TypoSquatProblem(domain, meant string) Problem {
	if meant == "" {
		return Problem("Is " + domain + " right? It is a common typo, and mail sent there may reach a stranger.")
	}
	return Problem("Is " + domain + " right? It is a common typo of " + meant + ", and mail sent there may reach a stranger.")
}

// Options configure a Checker. The zero value checks with the shipped
// lists and no DNS.
type Options struct {
	// Allow and Deny are domains, each with its subdomains, taken off or
	// added to the throwaway list (SHELF_EMAIL_ALLOW_DOMAINS,
	// SHELF_EMAIL_DENY_DOMAINS). The most specific domain listed decides;
	// Deny wins over Allow for the same domain.
	Allow, Deny []string
	// Resolver, when set, is asked whether the domain receives mail
	// (SHELF_CHECK_MX). Nil: no DNS at all.
	Resolver Resolver
	// MXTimeout bounds the DNS check; DefaultMXTimeout when zero.
	MXTimeout time.Duration
}

// DefaultMXTimeout bounds the opt-in DNS check: past it, the address is
// taken as it is.
const DefaultMXTimeout = 2 * time.Second

// Checker judges addresses. It is safe for concurrent use.
type Checker struct {
	allow, deny map[string]struct{}
	resolver    Resolver
	mxTimeout   time.Duration
}

// New returns a Checker with o's lists and resolver. Domains in the lists
// are normalised like addresses' (lower case, ASCII form); ones that are
// not domains are skipped.
func New(o Options) *Checker {
	c := &Checker{allow: domainSet(o.Allow), deny: domainSet(o.Deny), resolver: o.Resolver, mxTimeout: o.MXTimeout}
	if c.mxTimeout <= 0 {
		c.mxTimeout = DefaultMXTimeout
	}
	return c
}

// ParseDomains splits a comma-separated list of domains and returns the
// ones that are not domain names.
func ParseDomains(list string) (domains, bad []string) {
	for d := range strings.SplitSeq(list, ",") {
		if d = strings.TrimSpace(d); d == "" {
			continue
		}
		if asciiDomain(d) == "" {
			bad = append(bad, d)
			continue
		}
		domains = append(domains, d)
	}
	return domains, bad
}

func asciiDomain(d string) string {
	d = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(d)), ".")
	if _, ascii := parse("x@" + d); ascii != "" {
		return strings.ToLower(ascii)
	}
	return ""
}

func domainSet(domains []string) map[string]struct{} {
	m := map[string]struct{}{}
	for _, d := range domains {
		if a := asciiDomain(d); a != "" {
			m[a] = struct{}{}
		}
	}
	return m
}

// Check normalises raw and judges it: syntax, then the domain lists, then
// (only with a Resolver) DNS. A suggestion comes with any verdict past the
// syntax.
func (c *Checker) Check(ctx context.Context, raw string) Verdict {
	v := Verdict{Address: Normalize(raw)}
	problem, ascii := parse(v.Address)
	if problem != "" {
		v.Kind, v.Problem = Refused, problem
		return v
	}
	ascii = strings.ToLower(ascii)
	local := v.Address[:strings.LastIndexByte(v.Address, '@')]
	if s := suggest(ascii); s != "" {
		if refused, _ := c.throwaway(s); !refused { // "yahoo.us" is one
			v.Suggestion = local + "@" + s
		}
	}
	throwaway, denied := c.throwaway(ascii)
	if _, ok := typoSquats[ascii]; ok && !denied {
		// Before the shipped throwaway list, which holds some of these:
		// the reader more likely mistyped their provider than chose a
		// throwaway. The local deny list still wins.
		v.Kind, v.Problem = Confirm, TypoSquatProblem(v.domain(), strings.TrimPrefix(v.Suggestion, local+"@"))
		return v
	}
	if throwaway {
		// Chosen, not mistyped: no suggestion.
		v.Kind, v.Problem, v.Suggestion = Refused, Throwaway, ""
		return v
	}
	if c.resolver != nil && !c.receivesMail(ctx, ascii) {
		v.Kind, v.Problem = Refused, NoMail
	}
	return v
}

func (v Verdict) domain() string { return v.Address[strings.LastIndexByte(v.Address, '@')+1:] }

// throwaway decides by the most specific of domain and its parents that a
// list names: the local deny list (denied), then the relays and the local
// allow list, then the shipped lists.
func (c *Checker) throwaway(domain string) (refused, denied bool) {
	for d := domain; ; {
		if _, ok := c.deny[d]; ok {
			return true, true
		}
		if _, ok := c.allow[d]; ok {
			return false, false
		}
		if _, ok := relays[d]; ok {
			return false, false
		}
		if isDisposable(d) {
			return true, false
		}
		_, parent, ok := strings.Cut(d, ".")
		if !ok {
			return false, false
		}
		d = parent
	}
}
