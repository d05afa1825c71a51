package links

import (
	"net/url"
	"strings"
	"testing"
)

var testBase, _ = url.Parse("https://shelf.example.org")

func TestNormalizeTarget(t *testing.T) {
	long := "https://example.com/" + strings.Repeat("a", MaxTargetLen)
	tests := []struct {
		raw      string
		want     string // "" when refused
		external bool
		message  string // a part of the refusal's message
	}{
		{raw: "https://example.com", want: "https://example.com/", external: true},
		{raw: "https://example.com/a?b=c#d", want: "https://example.com/a?b=c#d", external: true},
		{raw: "HTTPS://EXAMPLE.COM/Path", want: "https://example.com/Path", external: true},
		{raw: "http://example.com:80/x", want: "http://example.com/x", external: true},
		{raw: "https://example.com:443/x", want: "https://example.com/x", external: true},
		{raw: "https://example.com:8443/x", want: "https://example.com:8443/x", external: true},
		{raw: "http://example.com:/x", want: "http://example.com/x", external: true},
		{raw: "https://example.com./x", want: "https://example.com/x", external: true},
		{raw: "https://bücher.de/", want: "https://xn--bcher-kva.de/", external: true},
		{raw: "https://BÜCHER.de/", want: "https://xn--bcher-kva.de/", external: true},
		{raw: "https://аpple.com/", want: "https://xn--pple-43d.com/", external: true}, // Cyrillic а: shown as punycode
		{raw: "https://93.184.215.14/", want: "https://93.184.215.14/", external: true},
		{raw: "https://[2606:4700::1111]/", want: "https://[2606:4700::1111]/", external: true},
		{raw: "https://example.com/a b", want: "https://example.com/a%20b", external: true},

		// Shelf's own pages, rebuilt on the base URL.
		{raw: "/books/12", want: "https://shelf.example.org/books/12"},
		{raw: "/search?q=tolkien", want: "https://shelf.example.org/search?q=tolkien"},
		{raw: "https://SHELF.example.org:443/books/12", want: "https://shelf.example.org/books/12"},
		{raw: "/s/abc", message: "another short link"},
		{raw: "/s", message: "another short link"},
		{raw: "/x/../s/abc", message: "another short link"},
		{raw: "/api/v1/books", message: "API"},
		{raw: "https://shelf.example.org/s/abc", message: "another short link"},

		// Other schemes.
		{raw: "javascript:alert(1)", message: "Only web addresses"},
		{raw: "JaVaScRiPt:alert(1)", message: "Only web addresses"},
		{raw: "data:text/html,<script>alert(1)</script>", message: "Only web addresses"},
		{raw: "vbscript:msgbox(1)", message: "Only web addresses"},
		{raw: "file:///etc/passwd", message: "Only web addresses"},
		{raw: "ftp://example.com/", message: "Only web addresses"},
		{raw: "java\tscript:alert(1)", message: "control characters"},
		{raw: "java\nscript:alert(1)", message: "control characters"},
		{raw: "ht\x00tp://example.com", message: "control characters"},
		{raw: " https://example.com", message: "spaces"},
		{raw: "https://example.com ", message: "spaces"},
		{raw: "\x01https://example.com", message: "control characters"},
		{raw: "example.com", message: "Start the address"},
		{raw: "", message: "Enter the address"},

		// Another site by other means.
		{raw: "//evil.com", message: "Start the address"},
		{raw: "//evil.com/s", message: "Start the address"},
		{raw: `\\evil.com`, message: "backslash"},
		{raw: `/\evil.com`, message: "backslash"},
		{raw: `https://example.com\@evil.com`, message: "backslash"},
		{raw: "http:evil.com", message: "site's name"},
		{raw: "https:///x", message: "site's name"},
		{raw: "https://", message: "site's name"},

		// Credentials, ports, hosts.
		{raw: "https://user:pass@example.com/", message: "user name"},
		{raw: "https://user@example.com/", message: "user name"},
		{raw: "https://shelf.example.org@evil.com/", message: "user name"},
		{raw: "https://example.com:0/", message: "port"},
		{raw: "https://example.com:65536/", message: "port"},
		{raw: "https://example.com:99999999999999999999/", message: "port"},
		{raw: "https://exa mple.com/", message: "not a valid address"},
		{raw: "https://-example.com/", message: "host name"},
		{raw: "https://ex_ample.com/", message: "host name"},
		{raw: "https://xn--zz.com/", message: "host name"},
		{raw: "https://intranet/", message: "with a dot"},
		{raw: long, message: "at most 2048"},

		// The visitor's own machine or network.
		{raw: "http://localhost/", message: "localhost"},
		{raw: "http://LOCALHOST:8080/", message: "localhost"},
		{raw: "http://admin.localhost/", message: "localhost"},
		{raw: "http://127.0.0.1/", message: "own computer"},
		{raw: "http://127.1/", message: "own computer"},
		{raw: "http://2130706433/", message: "own computer"},
		{raw: "http://0x7f000001/", message: "own computer"},
		{raw: "http://0177.0.0.1/", message: "own computer"},
		{raw: "http://0.0.0.0/", message: "own computer"},
		{raw: "http://[::1]/", message: "own computer"},
		{raw: "http://123/", message: "own computer"},
		{raw: "http://0.1.2.3/", message: "own computer"},
		{raw: "http://255.255.255.255/", message: "shared"},
		{raw: "http://[::ffff:127.0.0.1]/", message: "own computer"},
		{raw: "http://[::]/", message: "own computer"},
		{raw: "http://192.168.1.1/", message: "private"},
		{raw: "http://10.0.0.5/admin", message: "private"},
		{raw: "http://172.16.0.1/", message: "private"},
		{raw: "http://169.254.169.254/latest/meta-data/", message: "private"},
		{raw: "http://[fe80::1]/", message: "private"},
		{raw: "http://[fd00::1]/", message: "private"},
		{raw: "http://[fe80::1%25eth0]/", message: "not valid"},
		{raw: "http://224.0.0.1/", message: "private"},
		{raw: "http://100.64.0.1/", message: "shared"},
		{raw: "http://256.1.1.1/", message: "not valid"},
		{raw: "http://1.2.3.4.5/", message: "not valid"},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			got, external, msg := NormalizeTarget(tt.raw, testBase)
			if tt.want == "" {
				if got != "" || msg == "" || !strings.Contains(msg, tt.message) {
					t.Fatalf("NormalizeTarget(%q) = %q, %q; want a refusal saying %q", tt.raw, got, msg, tt.message)
				}
				return
			}
			if got != tt.want || external != tt.external || msg != "" {
				t.Fatalf("NormalizeTarget(%q) = %q, %v, %q; want %q, %v", tt.raw, got, external, msg, tt.want, tt.external)
			}
			// Normalising is idempotent.
			again, _, msg := NormalizeTarget(got, testBase)
			if again != got || msg != "" {
				t.Fatalf("NormalizeTarget(%q) = %q, %q; want it unchanged", got, again, msg)
			}
		})
	}
}

func TestNormalizeTargetLocalBase(t *testing.T) {
	// A development base URL on localhost: its own pages are internal, not
	// refused as the visitor's machine.
	base, _ := url.Parse("http://localhost:8080")
	got, external, msg := NormalizeTarget("http://localhost:8080/books/1", base)
	if got != "http://localhost:8080/books/1" || external || msg != "" {
		t.Fatalf("got %q, %v, %q", got, external, msg)
	}
	if _, _, msg := NormalizeTarget("http://localhost:9090/", base); msg == "" {
		t.Fatal("another port on localhost was accepted")
	}
}

func TestCheckID(t *testing.T) {
	tests := []struct {
		id      string
		message string // "" when valid, else a part of the message
	}{
		{"abc", ""},
		{"My-Books_2026", ""},
		{strings.Repeat("a", MaxIDLen), ""},
		{"ab", "at least 3"},
		{strings.Repeat("a", MaxIDLen+1), "at most 32"},
		{"", "Choose an id"},
		{"-abc", "Start and end"},
		{"abc_", "Start and end"},
		{"a b c", "Use only"},
		{"abc/def", "Use only"},
		{"abc.def", "Use only"},
		{"bücher", "Use only"},
		{"abc\x00", "Use only"},
		{"login", "reserved"},
		{"LOGIN", "reserved"},
		{"Api", "reserved"},
		{"my-links", "reserved"},
		{"healthz", "reserved"},
		{"links", "reserved"},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			msg := CheckID(tt.id)
			if tt.message == "" && msg != "" || tt.message != "" && !strings.Contains(msg, tt.message) {
				t.Fatalf("CheckID(%q) = %q; want %q", tt.id, msg, tt.message)
			}
		})
	}
}

func TestGenerateID(t *testing.T) {
	seen := map[string]bool{}
	for range 200 {
		id, err := generateID(cryptoReader{})
		if err != nil {
			t.Fatal(err)
		}
		if len(id) != GeneratedIDLen || CheckID(id) != "" {
			t.Fatalf("generated %q", id)
		}
		if strings.ContainsAny(id, "0o1liIO") {
			t.Fatalf("generated %q with a look-alike character", id)
		}
		seen[id] = true
	}
	if len(seen) < 199 {
		t.Fatalf("%d distinct ids in 200", len(seen))
	}
}

func TestCandidates(t *testing.T) {
	for _, id := range []string{"abc", strings.Repeat("x", MaxIDLen), strings.Repeat("x", 29) + "-y"} {
		cs := candidates(id)
		if len(cs) < 2 {
			t.Fatalf("candidates(%q) = %q", id, cs)
		}
		for _, c := range cs {
			if CheckID(c) != "" {
				t.Fatalf("candidate %q of %q is not a valid id: %s", c, id, CheckID(c))
			}
		}
	}
}

// Shelf served under a path (SHELF_BASE_URL=https://host/shelf): a full
// address on Shelf keeps its path once, short links under the prefix are
// refused like /s/…, and another application on the same host is another
// site, not a page of Shelf's.
func TestNormalizeTargetBaseWithPath(t *testing.T) {
	base, _ := url.Parse("https://host.example/shelf")
	tests := []struct {
		raw, want string
		external  bool
		message   string
	}{
		{raw: "/books/1", want: "https://host.example/shelf/books/1"},
		{raw: "https://host.example/shelf/books/1", want: "https://host.example/shelf/books/1"},
		{raw: "https://HOST.example/shelf", want: "https://host.example/shelf/"},
		{raw: "https://host.example/shelf/s/abc", message: "another short link"},
		{raw: "https://host.example/shelf/api/v1/books", message: "API"},
		{raw: "https://host.example/other/x", want: "https://host.example/other/x", external: true},
		{raw: "https://host.example/shelfish/x", want: "https://host.example/shelfish/x", external: true},
		{raw: "https://host.example/", want: "https://host.example/", external: true},
	}
	for _, tt := range tests {
		got, external, msg := NormalizeTarget(tt.raw, base)
		if got != tt.want || external != tt.external || tt.message == "" && msg != "" || !strings.Contains(msg, tt.message) {
			t.Errorf("NormalizeTarget(%q) = %q, %v, %q; want %q, %v, %q", tt.raw, got, external, msg, tt.want, tt.external, tt.message)
		}
	}
}

// A query is kept as typed but for what a browser would escape anyway:
// spaces, quotes, angle brackets and non-ASCII characters, among them the
// invisible ones that reorder text (U+202E), which would make the address
// shown before leaving Shelf read as another.
func TestNormalizeTargetEscapesQuery(t *testing.T) {
	tests := map[string]string{
		"https://example.com/?a=b&c=%41":               "https://example.com/?a=b&c=%41",
		"https://example.com/?a b":                     "https://example.com/?a%20b",
		"https://example.com/?q=\"><script>":           "https://example.com/?q=%22%3E%3Cscript%3E",
		"https://example.com/?x=\u202emoc.elgoog":      "https://example.com/?x=%E2%80%AEmoc.elgoog",
		"https://example.com/?q=bücher":                "https://example.com/?q=b%C3%BCcher",
		"/search?q=\"><script>":                        "https://shelf.example.org/search?q=%22%3E%3Cscript%3E",
		"/search?q=a\u200bb":                           "https://shelf.example.org/search?q=a%E2%80%8Bb",
		"https://example.com/?a='b'&c=(d)|{e}^`~!$*,;": "https://example.com/?a='b'&c=(d)|{e}^`~!$*,;",
	}
	for raw, want := range tests {
		if got, _, msg := NormalizeTarget(raw, testBase); got != want {
			t.Errorf("NormalizeTarget(%q) = %q (%q), want %q", raw, got, msg, want)
		}
	}
}

// A path is kept as its site wrote it: an escaped slash (%2F) names
// another resource than a slash, on GitLab among others.
func TestNormalizeTargetKeepsEscapedPath(t *testing.T) {
	for raw, want := range map[string]string{
		"https://gitlab.example/api/v4/projects/group%2Fproject": "https://gitlab.example/api/v4/projects/group%2Fproject",
		"https://example.com/a%3Fb":                              "https://example.com/a%3Fb",
		"https://example.com/b%C3%BCcher":                        "https://example.com/b%C3%BCcher",
		"https://example.com/bücher":                             "https://example.com/b%C3%BCcher",
		"https://example.com/a%2fb":                              "https://example.com/a%2fb",
	} {
		if got, _, msg := NormalizeTarget(raw, testBase); got != want {
			t.Errorf("NormalizeTarget(%q) = %q (%q), want %q", raw, got, msg, want)
		}
	}
}

func TestPathWithin(t *testing.T) {
	for _, c := range []struct {
		dir, p string
		want   bool
	}{
		{"", "/", true}, {"", "/anything", true}, {"/", "/x", true}, {"", "", true},
		{"/shelf", "/shelf", true}, {"/shelf", "/shelf/", true}, {"/shelf/", "/shelf/books/1", true},
		{"/shelf", "/shelfx", false}, {"/shelf", "/", false}, {"/shelf", "/other/shelf", false}, {"/shelf", "", false},
		{"/s", "/s/abc", true}, {"/s", "/sx/abc", false},
	} {
		if got := PathWithin(c.dir, c.p); got != c.want {
			t.Errorf("PathWithin(%q, %q) = %v, want %v", c.dir, c.p, got, c.want)
		}
	}
}

// ShelfPath finds the page on Shelf a stored target is, below the base
// URL's path, as it was escaped; another site's address is not one.
func TestShelfPath(t *testing.T) {
	base, _ := url.Parse("https://host.example/shelf")
	for target, want := range map[string]string{
		"https://host.example/shelf/books/7":         "/books/7",
		"https://host.example/shelf/books/7?a=1#top": "/books/7",
		"https://host.example/shelf/":                "/",
		"https://host.example/shelf/books/%37":       "/books/%37",
		"https://host.example/other/books/7":         "",
		"https://host.example/shelfish/books/7":      "",
		"http://host.example/shelf/books/7":          "",
		"https://host.example:8443/shelf/books/7":    "",
		"https://elsewhere.example/shelf/books/7":    "",
		"not a url\x7f":                              "",
	} {
		got, ok := ShelfPath(target, base)
		if got != want || ok != (want != "") {
			t.Errorf("ShelfPath(%q) = %q, %v; want %q", target, got, ok, want)
		}
	}
	if got, ok := ShelfPath("https://shelf.example.org/books/7", testBase); got != "/books/7" || !ok {
		t.Errorf("at the root: %q, %v", got, ok)
	}
}
