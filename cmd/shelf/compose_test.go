package main

// compose.yaml and the load balancer's Caddyfile, checked without running
// them: their images come from a registry.

import (
	"bufio"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// composeFile is the part of compose.yaml the test checks.
type composeFile struct {
	Services map[string]composeService `yaml:"services"`
	Configs  map[string]struct {
		Content string `yaml:"content"`
	} `yaml:"configs"`
	Volumes map[string]any `yaml:"volumes"`
}

type composeService struct {
	Build       any               `yaml:"build"`
	Image       string            `yaml:"image"`
	Environment map[string]string `yaml:"environment"`
	Ports       []string          `yaml:"ports"`
	Volumes     []string          `yaml:"volumes"`
	Configs     []struct {
		Source string `yaml:"source"`
		Target string `yaml:"target"`
	} `yaml:"configs"`
	DependsOn   map[string]map[string]string `yaml:"depends_on"`
	Healthcheck map[string]any               `yaml:"healthcheck"`
	StopGrace   string                       `yaml:"stop_grace_period"`
	Networks    map[string]struct {
		IPv4 string `yaml:"ipv4_address"`
	} `yaml:"networks"`
}

// TestComposeWiring checks compose.yaml without running it (its images come
// from a registry): two Shelf instances built from the Dockerfile, whose
// settings, with the image's, are ones `shelf serve` accepts; their
// database is the postgres service, their mail goes to the mailpit service,
// their base URL is the load balancer's published address; the balancer's
// Caddyfile spreads requests over both, checking /healthz.
func TestComposeWiring(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(repoRoot, "compose.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var f composeFile
	if err := yaml.Unmarshal(raw, &f); err != nil {
		t.Fatalf("compose.yaml: %v", err)
	}
	for _, name := range []string{"shelf1", "shelf2", "postgres", "mailpit", "lb"} {
		if _, ok := f.Services[name]; !ok {
			t.Fatalf("compose.yaml has no service %q", name)
		}
	}
	pg, lb := f.Services["postgres"], f.Services["lb"]

	// The balancer's published address, which the base URL must name.
	if len(lb.Ports) != 1 {
		t.Fatalf("lb publishes %v, want one port", lb.Ports)
	}
	hostPort, containerPort, ok := strings.Cut(strings.TrimPrefix(lb.Ports[0], "127.0.0.1:"), ":")
	if !ok || containerPort != "80" {
		t.Fatalf("lb publishes %q, want HOST_PORT:80", lb.Ports[0])
	}

	imageEnv := dockerfileEnv(t)
	for _, name := range []string{"shelf1", "shelf2"} {
		s := f.Services[name]
		if s.Build != "." || s.Image != f.Services["shelf1"].Image {
			t.Errorf("%s: build %v, image %q; want both built from . as one image", name, s.Build, s.Image)
		}
		if s.StopGrace == "" {
			t.Errorf("%s: no stop_grace_period: shutdown may take longer than Docker's default 10 s", name)
		}
		environ := slices.Clone(imageEnv)
		for k, v := range s.Environment {
			environ = append(environ, k+"="+v)
		}
		cfg, _, err := loadConfig("shelf serve", nil, environ)
		if err == nil {
			err = cfg.checkServe()
		}
		if err != nil {
			t.Errorf("%s: shelf serve refuses its settings: %v", name, err)
			continue
		}
		// Every request comes through lb: its address must be the one
		// trusted, or all readers would share one rate limit.
		lbIP, err := netip.ParseAddr(lb.Networks["default"].IPv4)
		if err != nil || !slices.ContainsFunc(cfg.TrustedProxies, func(p netip.Prefix) bool { return p.Contains(lbIP) }) {
			t.Errorf("%s: SHELF_TRUSTED_PROXIES %v does not hold lb's fixed address %q", name, cfg.TrustedProxies, lb.Networks["default"].IPv4)
		}
		db, err := url.Parse(cfg.DB)
		if err != nil || db.Scheme != "postgres" || db.Hostname() != "postgres" || db.Port() != "5432" ||
			db.User.Username() != pg.Environment["POSTGRES_USER"] || db.Path != "/"+pg.Environment["POSTGRES_DB"] {
			t.Errorf("%s: SHELF_DB=%q is not the postgres service's database (%v)", name, cfg.DB, pg.Environment)
		} else if p, _ := db.User.Password(); p != pg.Environment["POSTGRES_PASSWORD"] {
			t.Errorf("%s: SHELF_DB's password is not POSTGRES_PASSWORD", name)
		}
		if smtp := cfg.Mail.SMTP; smtp == nil || smtp.Host != "mailpit" || smtp.Port != 1025 {
			t.Errorf("%s: SHELF_SMTP_URL does not lead to mailpit:1025 (%+v)", name, smtp)
		}
		if _, err := cfg.secretKey(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		if cfg.BaseURL.String() != "http://localhost:"+hostPort {
			t.Errorf("%s: SHELF_BASE_URL=%s, want the balancer's http://localhost:%s", name, cfg.BaseURL, hostPort)
		}
		if _, port, _ := net.SplitHostPort(cfg.Addr); port != "8080" {
			t.Errorf("%s listens on %s, want port 8080 (the Caddyfile's)", name, cfg.Addr)
		}
	}
	if c := f.Services["shelf1"].DependsOn["postgres"]["condition"]; c != "service_healthy" || pg.Healthcheck == nil {
		t.Errorf("shelf1 must wait for postgres to be healthy (condition %q, healthcheck %v)", c, pg.Healthcheck)
	}
	// shelf1 migrates and imports the bundled catalog before shelf2 starts.
	if c := f.Services["shelf2"].DependsOn["shelf1"]["condition"]; c != "service_healthy" {
		t.Errorf("shelf2 must wait for shelf1 to be healthy, has condition %q", c)
	}
	if !slices.ContainsFunc(pg.Volumes, func(v string) bool { return strings.HasSuffix(v, ":/var/lib/postgresql/data") }) {
		t.Errorf("postgres keeps its data in no volume: %v", pg.Volumes)
	}

	// The balancer's configuration, written in compose.yaml itself.
	var conf []byte
	for _, c := range lb.Configs {
		if c.Target == "/etc/caddy/Caddyfile" {
			conf = []byte(f.Configs[c.Source].Content)
		}
	}
	if len(conf) == 0 {
		t.Fatalf("lb is given no Caddyfile: %+v", lb.Configs)
	}
	proxy := regexp.MustCompile(`(?m)^\s*reverse_proxy\s+(.+?)\s*\{`).FindSubmatch(conf)
	if proxy == nil || !slices.Equal(strings.Fields(string(proxy[1])), []string{"shelf1:8080", "shelf2:8080"}) {
		t.Errorf("the Caddyfile's reverse_proxy does not name shelf1:8080 and shelf2:8080:\n%s", conf)
	}
	for _, line := range []string{"lb_policy round_robin", "health_uri /healthz"} {
		if !regexp.MustCompile(`(?m)^\s*` + regexp.QuoteMeta(line) + `\s*$`).Match(conf) {
			t.Errorf("the Caddyfile lacks %q", line)
		}
	}
	if !regexp.MustCompile(`(?m)^:80\s*\{`).Match(conf) {
		t.Errorf("the Caddyfile does not serve :80, the port lb publishes")
	}
}

// dockerfileEnv returns the SHELF_* settings the Dockerfile's final stage
// sets with ENV, as KEY=VALUE.
func dockerfileEnv(t *testing.T) []string {
	t.Helper()
	f, err := os.Open(filepath.Join(repoRoot, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var env []string
	var inEnv, continued bool
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "FROM ") {
			env, inEnv = nil, false // only the last stage counts
		}
		if !continued {
			inEnv = strings.HasPrefix(line, "ENV ")
			line = strings.TrimPrefix(line, "ENV ")
		}
		continued = strings.HasSuffix(line, `\`)
		if !inEnv {
			continue
		}
		for _, kv := range strings.Fields(strings.TrimSuffix(line, `\`)) {
			if strings.HasPrefix(kv, "SHELF_") && strings.Contains(kv, "=") {
				env = append(env, kv)
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(env, "SHELF_ADDR=0.0.0.0:8080") || !slices.Contains(env, "SHELF_DB=/data/shelf.db") {
		t.Fatalf("the Dockerfile's final stage sets %v, want SHELF_ADDR=0.0.0.0:8080 and SHELF_DB=/data/shelf.db", env)
	}
	return env
}
