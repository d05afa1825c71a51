package handlers

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
)

func TestLimiterReserveAndCancel(t *testing.T) {
	l := NewLimiter(2, time.Minute)
	now := time.Unix(1000, 0)
	r1, w1 := l.Reserve("k", now)
	_, w2 := l.Reserve("k", now)
	if w1 != 0 || w2 != 0 {
		t.Fatal("first two refused")
	}
	if _, w := l.Reserve("k", now); w != time.Minute {
		t.Fatalf("third: wait %v, want 1m", w)
	}
	r1.Cancel()
	r1.Cancel() // twice is once
	if _, w := l.Reserve("k", now); w != 0 {
		t.Fatalf("after a cancel: wait %v", w)
	}
	if _, w := l.Reserve("k", now); w == 0 {
		t.Fatal("a second cancel gave back another event")
	}
	var zero Reservation
	zero.Cancel()
}

// Concurrent reservations never exceed the limit, and cancelled ones are
// given back exactly.
func TestLimiterReserveConcurrent(t *testing.T) {
	l := NewLimiter(5, time.Minute)
	now := time.Unix(1000, 0)
	var passed atomic.Int64
	var wg sync.WaitGroup
	for range 100 {
		wg.Go(func() {
			if _, w := l.Reserve("k", now); w == 0 {
				passed.Add(1)
			}
		})
	}
	wg.Wait()
	if passed.Load() != 5 {
		t.Fatalf("%d passed, want 5", passed.Load())
	}
}

func TestBackoff(t *testing.T) {
	b := NewBackoff(3, time.Second, 10*time.Second, time.Minute)
	now := time.Unix(1000, 0)
	for i := range 3 {
		if _, w := b.Reserve("k", now); w != 0 {
			t.Fatalf("free attempt %d: wait %v", i, w)
		}
	}
	for _, want := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 10 * time.Second, 10 * time.Second} {
		if _, w := b.Reserve("k", now); w != want {
			t.Fatalf("wait %v, want %v", w, want)
		}
		now = now.Add(want)
		if _, w := b.Reserve("k", now); w != 0 {
			t.Fatalf("after %v: wait %v", want, w)
		}
	}
	if _, w := b.Reserve("other", now); w != 0 {
		t.Fatal("keys share a backoff")
	}
	// A cancelled attempt (a right password) is not counted.
	c := NewBackoff(1, time.Second, time.Hour, time.Hour)
	for range 3 {
		r, w := c.Reserve("k", now)
		if w != 0 {
			t.Fatalf("after cancelled attempts: wait %v", w)
		}
		r.Cancel()
	}
	c.Reserve("k", now)
	if _, w := c.Reserve("k", now); w != time.Second {
		t.Fatalf("after one failure: wait %v, want 1s", w)
	}
	// Forgotten after a minute without attempts: free again.
	now = now.Add(time.Minute)
	for i := range 3 {
		if _, w := b.Reserve("k", now); w != 0 {
			t.Fatalf("after Forget, attempt %d: wait %v", i, w)
		}
	}
	// Idle keys are swept.
	b.Reserve("idle", now)
	b.Reserve("x", now.Add(3*time.Minute))
	b.mu.Lock()
	_, kept := b.keys["idle"]
	b.mu.Unlock()
	if kept {
		t.Fatal("idle key not swept")
	}
}

func TestBackoffConcurrent(t *testing.T) {
	b := NewBackoff(5, time.Second, time.Minute, time.Hour)
	now := time.Unix(1000, 0)
	var passed atomic.Int64
	var wg sync.WaitGroup
	for range 100 {
		wg.Go(func() {
			if _, w := b.Reserve("k", now); w == 0 {
				passed.Add(1)
			}
		})
	}
	wg.Wait()
	if passed.Load() != 5 {
		t.Fatalf("%d passed, want 5", passed.Load())
	}
}

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
