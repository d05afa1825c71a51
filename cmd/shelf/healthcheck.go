package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"time"
)

// healthcheckCommand asks the server that the same settings would start for
// /healthz, and fails unless it answers 200. The container image runs it as
// its health check: a scratch image has no curl.
func healthcheckCommand(ctx context.Context, args, environ []string, stdout io.Writer) error {
	var timeout time.Duration
	cfg, _, err := loadConfig("shelf healthcheck", args, environ, func(fs *flag.FlagSet) {
		fs.DurationVar(&timeout, "timeout", 5*time.Second, "how long to wait for the answer")
	})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	url := healthURL(cfg.Addr)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	// No proxy: the server is on this machine whatever HTTP_PROXY says.
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: GET %s: %s", url, resp.Status)
	}
	fmt.Fprintf(stdout, "GET %s: %s\n", url, resp.Status)
	return nil
}

// healthURL is where a server listening on addr answers /healthz. A server
// on every interface (":8080", "0.0.0.0:8080", "[::]:8080") is asked on
// 127.0.0.1, which works whether or not the host has IPv6.
func healthURL(addr string) string {
	host, port, _ := net.SplitHostPort(addr) // loadConfig checked it
	if ip, err := netip.ParseAddr(host); host == "" || (err == nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port) + "/healthz"
}
