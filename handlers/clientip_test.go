package handlers

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"

	"github.com/labstack/echo/v4"
)

// The address rate limits count under is the connection's unless a
// configured load balancer made the request; a client can't pick its own
// by sending X-Forwarded-For.
func TestClientIP(t *testing.T) {
	lb := []netip.Prefix{netip.MustParsePrefix("10.1.0.0/16")}
	tests := []struct {
		name    string
		proxies []netip.Prefix
		remote  string
		xff     string
		want    string
	}{
		{"direct, header ignored", nil, "203.0.113.9:5000", "198.51.100.1", "203.0.113.9"},
		{"through the balancer", lb, "10.1.2.3:5000", "198.51.100.1", "198.51.100.1"},
		{"spoofed entry before the balancer's", lb, "10.1.2.3:5000", "192.0.2.66, 198.51.100.1", "198.51.100.1"},
		{"not from the balancer", lb, "203.0.113.9:5000", "198.51.100.1", "203.0.113.9"},
		{"private address not trusted unless listed", lb, "192.168.0.5:5000", "198.51.100.1", "192.168.0.5"},
		{"loopback not trusted unless listed", lb, "127.0.0.1:5000", "198.51.100.1", "127.0.0.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			req.RemoteAddr = tt.remote
			req.Header.Set(echo.HeaderXForwardedFor, tt.xff)
			if got := clientIP(tt.proxies)(req); got != tt.want {
				t.Errorf("client IP = %s, want %s", got, tt.want)
			}
		})
	}
}
