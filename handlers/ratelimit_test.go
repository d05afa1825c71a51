package handlers

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
)

func TestClientNetwork(t *testing.T) {
	for _, tc := range []struct{ ip, want string }{
		{"192.0.2.7", "192.0.2.7"},
		{"127.0.0.1", "127.0.0.1"},
		{"::ffff:192.0.2.7", "192.0.2.7"},
		{"::ffff:c000:207", "192.0.2.7"},
		{"2001:db8:1:2::1", "2001:db8:1:2::/64"},
		{"2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"},
		{"2001:DB8:1:2:0:0:0:9", "2001:db8:1:2::/64"},
		{"2001:db8:1:3::1", "2001:db8:1:3::/64"},
		{"fe80::1%eth0", "fe80::/64"},
		{"::1", "::/64"},
		{"not an address", "not an address"},
	} {
		if got := networkOf(tc.ip); got != tc.want {
			t.Errorf("networkOf(%q) = %q, want %q", tc.ip, got, tc.want)
		}
	}
	// Through a request: the client's address as Echo reads it.
	e := echo.New()
	e.IPExtractor = echo.ExtractIPDirect()
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.RemoteAddr = "[2001:db8:1:2::77]:5000"
	if got := clientNetwork(e.NewContext(req, httptest.NewRecorder())); got != "2001:db8:1:2::/64" {
		t.Errorf("clientNetwork = %q", got)
	}
}

func TestAddressKey(t *testing.T) {
	long := strings.Repeat("a", 1<<20) + "@example.org"
	if len(addressKey(long)) != 32 || len(addressKey("a@example.org")) != 32 {
		t.Fatal("keys are not fixed-size")
	}
	if addressKey("Ann@example.org") != addressKey("ann@example.org") {
		t.Fatal("keys differ in case")
	}
	if addressKey("ann@example.org") == addressKey("bob@example.org") {
		t.Fatal("keys collide")
	}
}

// The device cookie's attributes, on http and https sites.
func TestDeviceCookieAttributes(t *testing.T) {
	for _, tc := range []struct {
		base, name string
		secure     bool
	}{
		{"http://localhost:8080", "shelf_device", false},
		{"https://shelf.example", "__Host-shelf_device", true},
	} {
		base, _ := url.Parse(tc.base)
		now := time.Unix(1_800_000_000, 0)
		a := &App{BaseURL: base, signer: newSigner([]byte("test key")), Now: func() time.Time { return now }}
		e := echo.New()
		rec := httptest.NewRecorder()
		a.issueDevice(e.NewContext(httptest.NewRequest(http.MethodPost, "/login", nil), rec), 42)
		cs := rec.Result().Cookies()
		if len(cs) != 1 {
			t.Fatalf("%s: cookies %v", tc.base, cs)
		}
		c := cs[0]
		if c.Name != tc.name || c.Secure != tc.secure || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode ||
			c.Path != "/" || c.Domain != "" || c.MaxAge < 364*24*3600 {
			t.Errorf("%s: cookie %+v", tc.base, c)
		}
		// It is recognised for its account only, and only until it expires.
		read := func(at time.Time, uid int64) bool {
			now = at
			req := httptest.NewRequest(http.MethodPost, "/login", nil)
			req.AddCookie(c)
			_, ok := a.deviceFor(e.NewContext(req, httptest.NewRecorder()), uid, time.Time{})
			return ok
		}
		issued := now
		if !read(issued, 42) || read(issued, 43) || read(issued, 0) {
			t.Errorf("%s: recognised for the wrong accounts", tc.base)
		}
		if !read(issued.Add(deviceCookieTTL-time.Second), 42) || read(issued.Add(deviceCookieTTL+time.Second), 42) {
			t.Errorf("%s: wrong lifetime", tc.base)
		}
		// Signed for another purpose: not a device cookie.
		now = issued
		req := httptest.NewRequest(http.MethodPost, "/login", nil)
		req.AddCookie(&http.Cookie{Name: tc.name, Value: a.signer.Sign("csrf", "42|abc|1800000000")})
		if _, ok := a.deviceFor(e.NewContext(req, httptest.NewRecorder()), 42, time.Time{}); ok {
			t.Errorf("%s: a value signed for another purpose was accepted", tc.base)
		}
	}
}
