package main

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"shelf/handlers"
	"shelf/store"
	"shelf/store/addresscheck"
	"shelf/store/outbox"
	"shelf/store/sealed"
	"shelf/store/search"
)

// config is everything Shelf reads from flags and SHELF_* environment
// variables. A flag wins over its variable; a variable wins over the default.
type config struct {
	Addr    string
	DB      string
	BaseURL *url.URL

	Mail mailConfig
	// SearchCache is how many pages of search results are kept in memory.
	SearchCache int
	// TrustedProxies are the load balancers in front of Shelf, whose
	// X-Forwarded-For is believed.
	TrustedProxies []netip.Prefix

	// SecretKey seals second-factor secrets (SHELF_SECRET_KEY); nil means
	// the key file beside a SQLite database (see secretKey).
	SecretKey []byte

	// Accounts.
	SessionIdle     time.Duration
	SessionLifetime time.Duration
	ConfirmTTL      time.Duration
	// AddressCheck judges new addresses at sign-up: local allow and deny
	// lists of domains, and whether to ask DNS (SHELF_CHECK_MX).
	AddressCheck addresscheck.Options

	// JWTKeyRotation is how long each key signing the API's access tokens
	// is used (SHELF_JWT_KEY_ROTATION).
	JWTKeyRotation time.Duration
	// APICORSOrigins may call the JSON API from their scripts
	// (SHELF_API_CORS_ORIGINS); none turns CORS off.
	APICORSOrigins []string

	// LinksPerDay and LinksPerIPPerDay bound the short links made per
	// reader and per client network in a day (SHELF_LINKS_PER_DAY,
	// SHELF_LINKS_PER_IP_PER_DAY).
	LinksPerDay, LinksPerIPPerDay int
}

// limitCount parses a limit: a whole number from 1 to 1000000.
func limitCount(dst *int) func(string) error {
	return func(v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1_000_000 {
			return errors.New("want a whole number from 1 to 1000000")
		}
		*dst = n
		return nil
	}
}

// positiveDuration parses a Go duration ("12h", "90m") that must be > 0.
func positiveDuration(dst *time.Duration) func(string) error {
	return func(v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return errors.New("want a positive Go duration, e.g. 12h or 90m")
		}
		*dst = d
		return nil
	}
}

// domainList parses a comma-separated list of domains.
func domainList(dst *[]string) func(string) error {
	return func(v string) error {
		domains, bad := addresscheck.ParseDomains(v)
		if len(bad) > 0 {
			return fmt.Errorf("%q is not a domain name (want e.g. example.com)", bad[0])
		}
		*dst = domains
		return nil
	}
}

// setting is one configurable value: its flag, its variable and how to parse it.
type setting struct {
	flag, env, def, usage string
	set                   func(string) error
}

func (c *config) settings() []setting {
	return append([]setting{
		{"addr", "SHELF_ADDR", "localhost:8080", "address to listen on (host:port)", func(v string) error {
			if _, _, err := net.SplitHostPort(v); err != nil {
				return fmt.Errorf("want host:port, e.g. localhost:8080")
			}
			c.Addr = v
			return nil
		}},
		{"db", "SHELF_DB", "shelf.db", "SQLite database file, or a postgres:// URL for PostgreSQL", func(v string) error {
			src, err := dbSource(v)
			c.DB = src
			return err
		}},
		{"base-url", "SHELF_BASE_URL", "http://localhost:8080", "public address links are built from", func(v string) error {
			u, err := url.Parse(v)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
				return errors.New("want an absolute http(s) URL without query, e.g. https://shelf.example.com")
			}
			if u.User != nil {
				// http://evil.com@localhost leads to localhost, but a reader
				// of a mailed link sees evil.com first.
				return errors.New("want no user name or password before the host (user@host): links built from it would mislead readers")
			}
			u.Path = strings.TrimSuffix(u.Path, "/")
			c.BaseURL = u
			return nil
		}},
		{"search-cache", "SHELF_SEARCH_CACHE", strconv.Itoa(search.DefaultResultCache), "pages of search results kept in memory (0 turns the cache off)", func(v string) error {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 || n > 1_000_000 {
				return errors.New("want a whole number from 0 to 1000000")
			}
			c.SearchCache = n
			return nil
		}},
		{"trusted-proxies", "SHELF_TRUSTED_PROXIES", "", "load balancers in front of Shelf (comma-separated addresses or CIDR ranges): the client's address is read from the X-Forwarded-For they add, for logs and rate limits", func(v string) error {
			c.TrustedProxies = nil
			for _, f := range strings.Split(v, ",") {
				if f = strings.TrimSpace(f); f == "" {
					continue
				}
				p, err := netip.ParsePrefix(f)
				if err != nil {
					a, aerr := netip.ParseAddr(f)
					if aerr != nil {
						return fmt.Errorf("%q is not an IP address or CIDR range (e.g. 10.0.0.0/8)", f)
					}
					p = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
				}
				if p.Bits() == 0 {
					return fmt.Errorf("%q would trust every address: anyone could pick the address their requests are counted under", f)
				}
				c.TrustedProxies = append(c.TrustedProxies, p.Masked())
			}
			return nil
		}},
		{"secret-key", "SHELF_SECRET_KEY", "", "32 random bytes, as 64 hex digits or base64 (openssl rand -base64 32), sealing two-factor secrets; " +
			"kept out of the database. Required with PostgreSQL; with SQLite a key file is created beside the database when unset", func(v string) error {
			c.SecretKey = nil
			if v == "" {
				return nil
			}
			k, err := sealed.ParseKey(v)
			c.SecretKey = k
			return err
		}},
		{"session-idle", "SHELF_SESSION_IDLE", "12h", "sign out after this long without a request (unless \"Remember me\")", positiveDuration(&c.SessionIdle)},
		{"session-lifetime", "SHELF_SESSION_LIFETIME", "720h", "longest a session lasts; \"Remember me\" keeps it this long", positiveDuration(&c.SessionLifetime)},
		{"confirm-ttl", "SHELF_CONFIRM_TTL", "48h", "how long an email confirmation link works", positiveDuration(&c.ConfirmTTL)},
		{"jwt-key-rotation", "SHELF_JWT_KEY_ROTATION", "24h", "how long each key signing the API's access tokens (JWTs) is used before the next takes over; at least 1h", func(v string) error {
			d, err := time.ParseDuration(v)
			if err != nil || d < time.Hour {
				return errors.New("want a Go duration of at least 1h, e.g. 24h")
			}
			c.JWTKeyRotation = d
			return nil
		}},
		{"email-allow-domains", "SHELF_EMAIL_ALLOW_DOMAINS", "", "domains (comma-separated, each with its subdomains) accepted at sign-up even though the shipped throwaway list names them", domainList(&c.AddressCheck.Allow)},
		{"email-deny-domains", "SHELF_EMAIL_DENY_DOMAINS", "", "domains (comma-separated, each with its subdomains) refused at sign-up like throwaway ones", domainList(&c.AddressCheck.Deny)},
		{"check-mx", "SHELF_CHECK_MX", "0", "1 to refuse, at sign-up, addresses whose domain has no MX and no address record (asks DNS; a DNS failure or timeout never refuses)", func(v string) error {
			on, err := strconv.ParseBool(v)
			if err != nil {
				return errors.New("want 1 or 0")
			}
			c.AddressCheck.Resolver = nil
			if on {
				c.AddressCheck.Resolver = net.DefaultResolver
			}
			return nil
		}},
		{"api-cors-origins", "SHELF_API_CORS_ORIGINS", "", "origins (comma-separated, exact: https://app.example.com) whose scripts may call the JSON API under /api/v1; empty turns CORS off", func(v string) error {
			origins, err := handlers.ParseCORSOrigins(v)
			c.APICORSOrigins = origins
			return err
		}},
		{"links-per-day", "SHELF_LINKS_PER_DAY", strconv.Itoa(handlers.DefaultLinksPerDay), "short links a reader may make in a day", limitCount(&c.LinksPerDay)},
		{"links-per-ip-per-day", "SHELF_LINKS_PER_IP_PER_DAY", strconv.Itoa(handlers.DefaultLinksPerIPPerDay), "short links one client network (an IPv4 address, an IPv6 /64) may make in a day, all readers together", limitCount(&c.LinksPerIPPerDay)},
	}, c.Mail.settings()...)
}

// loadConfig parses args and the environment. Unknown SHELF_* variables and
// malformed values are errors naming what is wrong in one line.
// extra registers a subcommand's own flags (create-admin's --email, say).
func loadConfig(name string, args []string, environ []string, extra ...func(*flag.FlagSet)) (*config, *flag.FlagSet, error) {
	c := &config{}
	settings := c.settings()
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(os.Stderr)
	known := map[string]bool{}
	values := map[string]string{}
	for _, s := range settings {
		known[s.env] = true
		values[s.flag] = s.def
	}
	for _, kv := range environ {
		k, v, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(k, "SHELF_") {
			continue
		}
		if !known[k] {
			return nil, fs, fmt.Errorf("unknown setting %s (known: %s)", k, strings.Join(envNames(settings), ", "))
		}
		for _, s := range settings {
			if s.env == k {
				values[s.flag] = v
			}
		}
	}
	for _, s := range settings {
		fs.Func(s.flag, fmt.Sprintf("%s (env %s, default %q)", s.usage, s.env, s.def), func(v string) error {
			values[s.flag] = v
			return nil
		})
	}
	for _, f := range extra {
		f(fs)
	}
	if err := fs.Parse(args); err != nil {
		return nil, fs, err
	}
	for _, s := range settings {
		if err := s.set(values[s.flag]); err != nil {
			shown := values[s.flag]
			switch s.env {
			case "SHELF_SECRET_KEY":
				shown = "(value hidden)"
			case "SHELF_SMTP_URL", "SHELF_BASE_URL":
				shown = redactURL(shown)
			case "SHELF_DB":
				if shown != "" {
					shown = "(value hidden: it may contain a password)"
				}
			}
			return nil, fs, fmt.Errorf("%s=%q: %v", s.env, shown, err)
		}
	}
	return c, fs, nil
}

// checkServe refuses settings a serving instance must not run with: no
// SMTP server (so the dev inbox at /dev/mail catches all mail) on a public
// base URL or a non-loopback address would show everyone's mail to anyone.
// Other subcommands (import, create-admin) serve nothing, so they may run
// with a serving instance's settings, in its container say.
func (c *config) checkServe() error {
	if c.Mail.SMTP != nil {
		return nil
	}
	if !outbox.IsLocalHost(c.BaseURL.Hostname()) {
		return fmt.Errorf("SHELF_SMTP_URL is required when SHELF_BASE_URL (%s) is not a local address: "+
			"without it the dev inbox at /dev/mail would show everyone's mail", c.BaseURL)
	}
	host, _, _ := net.SplitHostPort(c.Addr)
	if !isLoopbackListenHost(host) {
		return devInboxListenError(c.Addr)
	}
	return nil
}

// isLoopbackListenHost reports whether listening on host reaches only this
// machine: "localhost" or a loopback IP. An empty host or 0.0.0.0 means
// every interface. Other names are refused rather than resolved here; the
// server checks the address it really bound too (listensOnLoopback).
func isLoopbackListenHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}

// listensOnLoopback reports whether a bound listener address is loopback.
func listensOnLoopback(addr net.Addr) bool {
	tcp, ok := addr.(*net.TCPAddr)
	return ok && tcp.IP.IsLoopback()
}

// devInboxListenError explains, in one line, why the dev inbox may not be
// served on addr.
func devInboxListenError(addr string) error {
	return fmt.Errorf("SHELF_ADDR=%q can be reached from other machines, but without SHELF_SMTP_URL mail goes to the dev inbox "+
		"at /dev/mail, which shows every message, password-reset links included: listen on localhost or 127.0.0.1, "+
		"or set SHELF_SMTP_URL", addr)
}

func envNames(ss []setting) []string {
	var out []string
	for _, s := range ss {
		out = append(out, s.env)
	}
	return out
}

var (
	urlScheme = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9+.-]*)://`)
	// libpq's key=value connection strings ("host=db dbname=shelf").
	keywordDSN = regexp.MustCompile(`(^|\s)(host|hostaddr|port|dbname|user|password|passfile|sslmode|service)\s*=`)
)

// dbSource checks SHELF_DB: a postgres:// or postgresql:// URL (the scheme
// in any case), or else a SQLite file path. Anything else that names a
// server, a key=value connection string or another scheme, would
// otherwise open a SQLite file of that name: an instance alone with its
// own data, and the password in a file name and in the log.
func dbSource(v string) (string, error) {
	if strings.TrimSpace(v) == "" {
		return "", errors.New("must not be empty")
	}
	if m := urlScheme.FindStringSubmatch(v); m != nil {
		scheme := strings.ToLower(m[1])
		if scheme != "postgres" && scheme != "postgresql" {
			return "", fmt.Errorf("a URL with the scheme %q: want a postgres:// URL for PostgreSQL, or a SQLite file path", m[1])
		}
		v = scheme + v[len(m[1]):]
		if _, err := pgx.ParseConfig(v); err != nil {
			// pgx's message can quote the URL, password included.
			return "", errors.New("not a valid PostgreSQL connection URL: want postgres://user:password@host:5432/database (a password's special characters %-encoded)")
		}
		return v, nil
	}
	if keywordDSN.MatchString(v) {
		return "", errors.New("a key=value connection string: write it as a URL, postgres://user:password@host:5432/database")
	}
	return v, nil
}

// secretKey is SHELF_SECRET_KEY, or else, for a SQLite database, the key in
// the file beside it (its path plus ".key"), created with a fresh key on
// first start. Instances on one PostgreSQL database must share one key, and
// no file is beside a server's database, so PostgreSQL needs the variable.
func (c *config) secretKey() ([]byte, error) {
	if c.SecretKey != nil {
		return c.SecretKey, nil
	}
	if store.IsPostgresURL(c.DB) {
		return nil, errors.New("SHELF_SECRET_KEY is required with PostgreSQL: every instance must seal and open two-factor secrets " +
			"with the same key, kept outside the database. Make one with: openssl rand -base64 32")
	}
	return sealed.LoadOrCreateKeyFile(c.DB + ".key")
}
