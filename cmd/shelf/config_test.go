package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLoadConfig(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		env     []string
		wantErr string
		check   func(*testing.T, *config)
	}{
		{name: "defaults", check: func(t *testing.T, c *config) {
			if c.Addr != "localhost:8080" || c.DB != "shelf.db" || c.BaseURL.String() != "http://localhost:8080" {
				t.Errorf("defaults = %+v", c)
			}
		}},
		{name: "env", env: []string{"SHELF_ADDR=:9000", "SHELF_DB=/tmp/x.db", "SHELF_BASE_URL=https://books.example.com/", "SHELF_SMTP_URL=smtp://mail.example.com"}, check: func(t *testing.T, c *config) {
			if c.Addr != ":9000" || c.DB != "/tmp/x.db" || c.BaseURL.String() != "https://books.example.com" {
				t.Errorf("env = %+v", c)
			}
		}},
		{name: "flag beats env", args: []string{"-addr", "127.0.0.1:1"}, env: []string{"SHELF_ADDR=:9000"}, check: func(t *testing.T, c *config) {
			if c.Addr != "127.0.0.1:1" {
				t.Errorf("addr = %q", c.Addr)
			}
		}},
		{name: "unknown variable", env: []string{"SHELF_PROT=1"}, wantErr: "unknown setting SHELF_PROT"},
		{name: "address check off the network by default", check: func(t *testing.T, c *config) {
			if c.AddressCheck.Resolver != nil || c.AddressCheck.Allow != nil || c.AddressCheck.Deny != nil {
				t.Errorf("AddressCheck = %+v", c.AddressCheck)
			}
		}},
		{name: "address check lists and MX", env: []string{"SHELF_EMAIL_ALLOW_DOMAINS= a.example ,b.example", "SHELF_EMAIL_DENY_DOMAINS=c.example", "SHELF_CHECK_MX=1"}, check: func(t *testing.T, c *config) {
			if strings.Join(c.AddressCheck.Allow, ",") != "a.example,b.example" || strings.Join(c.AddressCheck.Deny, ",") != "c.example" || c.AddressCheck.Resolver == nil {
				t.Errorf("AddressCheck = %+v", c.AddressCheck)
			}
		}},
		{name: "bad allow list", env: []string{"SHELF_EMAIL_ALLOW_DOMAINS=a.example,not a domain"}, wantErr: "SHELF_EMAIL_ALLOW_DOMAINS"},
		{name: "bad deny list", env: []string{"SHELF_EMAIL_DENY_DOMAINS=@example.com"}, wantErr: "SHELF_EMAIL_DENY_DOMAINS"},
		{name: "bad check-mx", env: []string{"SHELF_CHECK_MX=maybe"}, wantErr: "SHELF_CHECK_MX"},
		{name: "jwt key rotation", env: []string{"SHELF_JWT_KEY_ROTATION=6h"}, check: func(t *testing.T, c *config) {
			if c.JWTKeyRotation != 6*time.Hour {
				t.Errorf("JWTKeyRotation = %v", c.JWTKeyRotation)
			}
		}},
		{name: "jwt key rotation by default", check: func(t *testing.T, c *config) {
			if c.JWTKeyRotation != 24*time.Hour {
				t.Errorf("JWTKeyRotation = %v", c.JWTKeyRotation)
			}
		}},
		{name: "jwt key rotation too short", env: []string{"SHELF_JWT_KEY_ROTATION=10m"}, wantErr: "SHELF_JWT_KEY_ROTATION"},
		{name: "API CORS off by default", check: func(t *testing.T, c *config) {
			if c.APICORSOrigins != nil {
				t.Errorf("APICORSOrigins = %v", c.APICORSOrigins)
			}
		}},
		{name: "API CORS origins", env: []string{"SHELF_API_CORS_ORIGINS=https://app.example.com, http://localhost:3000"}, check: func(t *testing.T, c *config) {
			if strings.Join(c.APICORSOrigins, " ") != "https://app.example.com http://localhost:3000" {
				t.Errorf("APICORSOrigins = %v", c.APICORSOrigins)
			}
		}},
		{name: "link limits by default", check: func(t *testing.T, c *config) {
			if c.LinksPerDay != 50 || c.LinksPerIPPerDay != 200 {
				t.Errorf("link limits %d, %d", c.LinksPerDay, c.LinksPerIPPerDay)
			}
		}},
		{name: "link limits", env: []string{"SHELF_LINKS_PER_DAY=5", "SHELF_LINKS_PER_IP_PER_DAY=7"}, check: func(t *testing.T, c *config) {
			if c.LinksPerDay != 5 || c.LinksPerIPPerDay != 7 {
				t.Errorf("link limits %d, %d", c.LinksPerDay, c.LinksPerIPPerDay)
			}
		}},
		{name: "zero links per day", env: []string{"SHELF_LINKS_PER_DAY=0"}, wantErr: "SHELF_LINKS_PER_DAY"},
		{name: "bad links per IP", env: []string{"SHELF_LINKS_PER_IP_PER_DAY=many"}, wantErr: "SHELF_LINKS_PER_IP_PER_DAY"},
		{name: "API CORS wildcard", env: []string{"SHELF_API_CORS_ORIGINS=*"}, wantErr: "SHELF_API_CORS_ORIGINS"},
		{name: "bad addr", env: []string{"SHELF_ADDR=8080"}, wantErr: `SHELF_ADDR="8080"`},
		{name: "bad base url", env: []string{"SHELF_BASE_URL=localhost:8080"}, wantErr: "SHELF_BASE_URL"},
		{name: "base url with query", env: []string{"SHELF_BASE_URL=http://a.example/?x=1"}, wantErr: "SHELF_BASE_URL"},
		{name: "base url with userinfo", env: []string{"SHELF_BASE_URL=http://evil.com@localhost"}, wantErr: "SHELF_BASE_URL"},
		{name: "base url with user and password", env: []string{"SHELF_BASE_URL=https://u:hunter2@books.example.com", "SHELF_SMTP_URL=smtps://mail.example.com"}, wantErr: "SHELF_BASE_URL"},
		{name: "empty db", env: []string{"SHELF_DB="}, wantErr: "SHELF_DB"},
		// A PostgreSQL connection string Shelf does not take must not become
		// a SQLite file named after it (each instance alone, the password
		// in a file name and in the log), nor be quoted in the error.
		{name: "db as key=value string", env: []string{"SHELF_DB=host=db user=shelf password=hunter2 dbname=shelf"}, wantErr: "postgres://"},
		{name: "db with another scheme", env: []string{"SHELF_DB=pgsql://shelf:hunter2@db/shelf"}, wantErr: "postgres://"},
		{name: "db with an unparsable postgres URL", env: []string{"SHELF_DB=postgresql://shelf:hunter2%@db/shelf"}, wantErr: "SHELF_DB"},
		{name: "db scheme in capitals", env: []string{"SHELF_DB=POSTGRES://shelf:hunter2@db:5432/shelf"}, check: func(t *testing.T, c *config) {
			if c.DB != "postgres://shelf:hunter2@db:5432/shelf" {
				t.Errorf("DB = %q, want the scheme in lower case", c.DB)
			}
		}},
		{name: "db file name with an equals sign", env: []string{"SHELF_DB=/data/a=b.db"}, check: func(t *testing.T, c *config) {
			if c.DB != "/data/a=b.db" {
				t.Errorf("DB = %q", c.DB)
			}
		}},
		{name: "public base url needs smtp", env: []string{"SHELF_BASE_URL=https://books.example.com"}, wantErr: "SHELF_SMTP_URL is required"},
		{name: "public base url with smtp", env: []string{"SHELF_BASE_URL=https://books.example.com", "SHELF_SMTP_URL=smtps://u:p@mail.example.com"}, check: func(t *testing.T, c *config) {
			if c.Mail.SMTP == nil {
				t.Error("SMTP not configured")
			}
		}},
		{name: "smtp password never echoed", env: []string{"SHELF_SMTP_URL=ftp://user:hunter2@mail.example.com"}, wantErr: "SHELF_SMTP_URL"},
		{name: "search cache off", env: []string{"SHELF_SEARCH_CACHE=0"}, check: func(t *testing.T, c *config) {
			if c.SearchCache != 0 {
				t.Errorf("SearchCache = %d", c.SearchCache)
			}
		}},
		{name: "bad search cache", env: []string{"SHELF_SEARCH_CACHE=lots"}, wantErr: "SHELF_SEARCH_CACHE"},
		{name: "trusted proxies", env: []string{"SHELF_TRUSTED_PROXIES=10.0.0.0/8, 192.168.1.7,::ffff:172.16.0.1"}, check: func(t *testing.T, c *config) {
			got := fmt.Sprint(c.TrustedProxies)
			if got != "[10.0.0.0/8 192.168.1.7/32 172.16.0.1/32]" {
				t.Errorf("TrustedProxies = %s", got)
			}
		}},
		{name: "no trusted proxies by default", check: func(t *testing.T, c *config) {
			if len(c.TrustedProxies) != 0 {
				t.Errorf("TrustedProxies = %v", c.TrustedProxies)
			}
		}},
		{name: "bad trusted proxy", env: []string{"SHELF_TRUSTED_PROXIES=lb.internal"}, wantErr: "not an IP address or CIDR range"},
		{name: "trusting everyone", env: []string{"SHELF_TRUSTED_PROXIES=0.0.0.0/0"}, wantErr: "would trust every address"},
		{name: "unrelated env ignored", env: []string{"HOME=/root", "SHELFX=1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _, err := loadConfig("shelf", tt.args, tt.env)
			if err == nil {
				err = c.checkServe() // what serve adds to every subcommand's checks
			}
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to mention %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "hunter2") {
					t.Errorf("error shows a password: %q", err)
				}
				if strings.Contains(err.Error(), "\n") {
					t.Errorf("error spans lines: %q", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.check != nil {
				tt.check(t, c)
			}
		})
	}
}

// TestDevInboxNeedsLoopbackListen: without SHELF_SMTP_URL, mail (reset
// links included) is shown at /dev/mail, so the server must not listen
// beyond this machine.
func TestDevInboxNeedsLoopbackListen(t *testing.T) {
	for _, addr := range []string{":8080", "0.0.0.0:8080", "[::]:8080", "192.0.2.10:8080", "[2001:db8::1]:8080", "shelf.example.com:8080"} {
		err := serveConfig([]string{"SHELF_ADDR=" + addr})
		if err == nil {
			t.Errorf("SHELF_ADDR=%s without SHELF_SMTP_URL: accepted", addr)
			continue
		}
		for _, want := range []string{"SHELF_ADDR", "SHELF_SMTP_URL", "/dev/mail"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("SHELF_ADDR=%s: error %q does not mention %s", addr, err, want)
			}
		}
		if strings.Contains(err.Error(), "\n") {
			t.Errorf("error spans lines: %q", err)
		}
	}
	for _, addr := range []string{"localhost:8080", "127.0.0.1:8080", "127.0.0.2:0", "[::1]:8080"} {
		if err := serveConfig([]string{"SHELF_ADDR=" + addr}); err != nil {
			t.Errorf("SHELF_ADDR=%s: %v", addr, err)
		}
	}
	// With a real SMTP server there is no dev inbox, and any address will do.
	if err := serveConfig([]string{"SHELF_ADDR=0.0.0.0:8080", "SHELF_SMTP_URL=smtps://mail.example.com"}); err != nil {
		t.Errorf("0.0.0.0 with SHELF_SMTP_URL: %v", err)
	}
}

// serveConfig checks environ as shelf serve does: loadConfig, then checkServe.
func serveConfig(environ []string) error {
	c, _, err := loadConfig("shelf serve", nil, environ)
	if err != nil {
		return err
	}
	return c.checkServe()
}

func TestListensOnLoopback(t *testing.T) {
	for addr, want := range map[net.Addr]bool{
		&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8080}: true,
		&net.TCPAddr{IP: net.IPv6loopback, Port: 8080}:       true,
		&net.TCPAddr{IP: net.IPv4zero, Port: 8080}:           false,
		&net.TCPAddr{IP: net.IPv6unspecified, Port: 8080}:    false,
		&net.TCPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 8080}: false,
		&net.UnixAddr{Name: "/tmp/shelf.sock"}:               false,
	} {
		if got := listensOnLoopback(addr); got != want {
			t.Errorf("listensOnLoopback(%v) = %v", addr, got)
		}
	}
}

// TestServeRefusesDevInboxOnAllInterfaces: the server does not start, and
// says why in one line, rather than serve the dev inbox to the network.
func TestServeRefusesDevInboxOnAllInterfaces(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var out bytes.Buffer
	env := []string{"SHELF_ADDR=0.0.0.0:0", "SHELF_DB=" + filepath.Join(t.TempDir(), "shelf.db")}
	if code := run(ctx, []string{"serve"}, env, strings.NewReader(""), &out, &out); code != 1 {
		t.Fatalf("exit %d, want 1\n%s", code, out.String())
	}
	msg := strings.TrimSpace(out.String())
	if strings.Contains(msg, "\n") || !strings.Contains(msg, "SHELF_ADDR") || !strings.Contains(msg, "SHELF_SMTP_URL") {
		t.Errorf("message = %q, want one line naming SHELF_ADDR and SHELF_SMTP_URL", msg)
	}
}

// import and create-admin serve nothing: a container's settings (all
// interfaces, a public base URL, no SMTP) don't stop them, but serve refuses.
func TestOnlyServeNeedsSMTPOnAPublicAddress(t *testing.T) {
	env := []string{"SHELF_ADDR=0.0.0.0:8080", "SHELF_DB=" + filepath.Join(t.TempDir(), "shelf.db"), "SHELF_BASE_URL=https://books.example.com"}
	var out bytes.Buffer
	csv := filepath.Join(t.TempDir(), "b.csv")
	if err := os.WriteFile(csv, []byte("title,authors\nDune,Frank Herbert\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code := run(context.Background(), []string{"import", csv}, env, strings.NewReader(""), &out, &out); code != 0 {
		t.Fatalf("import: exit %d\n%s", code, out.String())
	}
	out.Reset()
	if code := run(context.Background(), []string{"serve"}, env, strings.NewReader(""), &out, &out); code == 0 || !strings.Contains(out.String(), "SHELF_SMTP_URL is required") {
		t.Fatalf("serve: exit %d, want a refusal naming SHELF_SMTP_URL:\n%s", code, out.String())
	}
}

func TestSecretKey(t *testing.T) {
	hexKey := strings.Repeat("ab", 32)
	cfg, _, err := loadConfig("shelf serve", nil, []string{"SHELF_SECRET_KEY=" + hexKey})
	if err != nil {
		t.Fatal(err)
	}
	if k, err := cfg.secretKey(); err != nil || len(k) != 32 || k[0] != 0xab {
		t.Fatalf("key %x, %v", k, err)
	}
	for _, bad := range []string{"short", strings.Repeat("ab", 31), "c2hvcnQ="} {
		_, _, err := loadConfig("shelf serve", nil, []string{"SHELF_SECRET_KEY=" + bad})
		if err == nil || !strings.Contains(err.Error(), "SHELF_SECRET_KEY") || strings.Contains(err.Error(), bad) {
			t.Errorf("SHELF_SECRET_KEY=%q: err %v, want one naming the setting, not its value", bad, err)
		}
	}

	// PostgreSQL: instances must share the key, so there is no file to fall back on.
	cfg, _, err = loadConfig("shelf serve", nil, []string{"SHELF_DB=postgres://u:p@db:5432/shelf"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cfg.secretKey(); err == nil || !strings.Contains(err.Error(), "SHELF_SECRET_KEY is required with PostgreSQL") {
		t.Fatalf("PostgreSQL without a key: %v", err)
	}

	// SQLite: a 0600 file beside the database, the same key at every start.
	db := filepath.Join(t.TempDir(), "shelf.db")
	cfg, _, err = loadConfig("shelf serve", nil, []string{"SHELF_DB=" + db})
	if err != nil {
		t.Fatal(err)
	}
	first, err := cfg.secretKey()
	if err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(db + ".key")
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, %v", info, err)
	}
	if again, err := cfg.secretKey(); err != nil || !bytes.Equal(again, first) {
		t.Fatalf("second start: %x, %v; want %x", again, err, first)
	}
}
