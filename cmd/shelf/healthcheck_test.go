package main

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestHealthURL(t *testing.T) {
	for addr, want := range map[string]string{
		"0.0.0.0:8080":   "http://127.0.0.1:8080/healthz",
		":8080":          "http://127.0.0.1:8080/healthz",
		"[::]:8080":      "http://127.0.0.1:8080/healthz",
		"localhost:9000": "http://localhost:9000/healthz",
		"127.0.0.1:1":    "http://127.0.0.1:1/healthz",
		"10.1.2.3:8080":  "http://10.1.2.3:8080/healthz",
		"[fe80::1]:8080": "http://[fe80::1]:8080/healthz",
	} {
		if got := healthURL(addr); got != want {
			t.Errorf("healthURL(%q) = %q, want %q", addr, got, want)
		}
	}
}

// TestHealthcheckCommand runs `shelf healthcheck` against a stand-in server
// on every interface, as in the container image.
func TestHealthcheckCommand(t *testing.T) {
	var status atomic.Int64 // 0: never answer
	status.Store(http.StatusOK)
	var gotPath atomic.Value
	hang := make(chan struct{})
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotPath.Store(r.URL.Path)
		if status.Load() == 0 {
			<-hang
			return
		}
		w.WriteHeader(int(status.Load()))
	}))
	ln, err := net.Listen("tcp", "0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	srv.Listener = ln
	srv.Start()
	defer srv.Close()
	defer close(hang) // before Close, which waits for the hanging request
	_, port, _ := net.SplitHostPort(ln.Addr().String())

	healthcheck := func(args ...string) (int, string) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		env := []string{"SHELF_ADDR=0.0.0.0:" + port, "SHELF_SMTP_URL=smtp://127.0.0.1:1?tls=none"}
		var out bytes.Buffer
		code := run(ctx, append([]string{"healthcheck"}, args...), env, strings.NewReader(""), &out, &out)
		return code, out.String()
	}

	if code, out := healthcheck(); code != 0 || gotPath.Load() != "/healthz" {
		t.Errorf("healthy server: exit %d, path %v, want 0 and /healthz\n%s", code, gotPath.Load(), out)
	}

	status.Store(http.StatusServiceUnavailable)
	if code, out := healthcheck(); code != 1 || !strings.Contains(out, "503") {
		t.Errorf("server answering 503: exit %d, want 1 with a message naming 503\n%s", code, out)
	}

	// The -addr flag wins over SHELF_ADDR, as for serve.
	free := freeLocalAddr(t)
	if code, out := healthcheck("-addr", free); code != 1 || !strings.Contains(out, free) {
		t.Errorf("no server at %s: exit %d, want 1 with a message naming the address\n%s", free, code, out)
	}

	// A server that does not answer is unhealthy once the timeout passes.
	status.Store(0)
	start := time.Now()
	if code, out := healthcheck("-timeout", "200ms"); code != 1 || time.Since(start) > 5*time.Second {
		t.Errorf("hanging server: exit %d after %s, want 1 soon after 200ms\n%s", code, time.Since(start), out)
	}
}
