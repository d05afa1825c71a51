package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// server is a shelf process started from the built binary.
type server struct {
	cmd        *exec.Cmd
	addr, base string
	logPath    string
	ready      time.Duration // process start to the first 200 from /healthz
	startupLog time.Duration // what the server logged as startup=
	indexReady time.Duration // process start to "search index ready" in the log
	done       chan error
	stopped    bool
}

// serverEnv is the parent's environment without SHELF_* settings (shelf
// rejects unknown ones), plus the database and, when set, the address.
func serverEnv(db, addr string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SHELF_") {
			env = append(env, kv)
		}
	}
	env = append(env, "SHELF_DB="+db)
	if addr != "" {
		env = append(env, "SHELF_ADDR="+addr, "SHELF_BASE_URL=http://"+addr)
	}
	return env
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// startServer starts the binary on a free port and waits until /healthz
// answers 200. The first start on an empty database imports the bundled
// catalog, so the wait is generous.
//
// With split set the server runs on CPU 0 only, with GOMAXPROCS=1 (see the
// -split flag).
func startServer(ctx context.Context, bin, db, logPath string, split bool) (*server, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "serve")
	cmd.Env = serverEnv(db, addr)
	if split {
		cmd = exec.Command("taskset", "-c", "0", bin, "serve")
		cmd.Env = append(serverEnv(db, addr), "GOMAXPROCS=1")
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	s := &server{cmd: cmd, addr: addr, base: "http://" + addr, logPath: logPath, done: make(chan error, 1)}
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	go func() {
		s.done <- cmd.Wait()
		logFile.Close()
	}()

	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(5 * time.Minute)
	healthy := func() bool {
		resp, err := client.Get(s.base + "/healthz")
		if err != nil {
			return false
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}
	if err := s.waitUntil(ctx, deadline, 2*time.Millisecond, "answering /healthz", healthy); err != nil {
		return nil, err
	}
	s.ready = time.Since(t0)
	s.startupLog = loggedStartup(logPath)
	// Searches are measured on the in-memory index, which the server
	// builds after it starts answering.
	indexed := func() bool { return logContains(logPath, "search index ready") }
	if err := s.waitUntil(ctx, deadline, 10*time.Millisecond, "having its search index ready", indexed); err != nil {
		return nil, err
	}
	s.indexReady = time.Since(t0)
	return s, nil
}

// waitUntil checks ready every interval until it holds, stopping the server
// and failing when the server exits, ctx ends or deadline passes.
func (s *server) waitUntil(ctx context.Context, deadline time.Time, interval time.Duration, what string, ready func() bool) error {
	for !ready() {
		select {
		case err := <-s.done:
			s.stopped = true
			return fmt.Errorf("server exited before %s (%v); log:\n%s", what, err, tail(s.logPath, 20))
		case <-ctx.Done():
			s.stop()
			return ctx.Err()
		case <-time.After(interval):
		}
		if time.Now().After(deadline) {
			s.stop()
			return fmt.Errorf("server still not %s after 5 minutes; log:\n%s", what, tail(s.logPath, 20))
		}
	}
	return nil
}

func (s *server) pid() int { return s.cmd.Process.Pid }

// stop sends SIGTERM and waits for a graceful exit, killing after 15 s.
func (s *server) stop() error {
	if s == nil || s.stopped {
		return nil
	}
	s.stopped = true
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-s.done:
		if err != nil {
			return fmt.Errorf("server exited with %v; log:\n%s", err, tail(s.logPath, 20))
		}
		return nil
	case <-time.After(15 * time.Second):
		s.cmd.Process.Kill()
		<-s.done
		return errors.New("server did not stop within 15 s of SIGTERM; killed")
	}
}

var startupRE = regexp.MustCompile(`startup=(\S+)`)

func loggedStartup(logPath string) time.Duration {
	b, err := os.ReadFile(logPath)
	if err != nil {
		return 0
	}
	m := startupRE.FindSubmatch(b)
	if m == nil {
		return 0
	}
	d, _ := time.ParseDuration(strings.Trim(string(m[1]), `"`))
	return d
}

func logContains(path, s string) bool {
	b, err := os.ReadFile(path)
	return err == nil && strings.Contains(string(b), s)
}

func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// memory is what /proc/PID/status says about resident memory, in kB.
type memory struct {
	RSS, HWM int64
}

func readMemory(pid int) (memory, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return memory{}, err
	}
	defer f.Close()
	return parseStatus(f)
}

func parseStatus(r io.Reader) (memory, error) {
	var m memory
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		f := strings.Fields(v)
		if len(f) == 0 {
			continue
		}
		n, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			continue
		}
		switch k {
		case "VmRSS":
			m.RSS = n
		case "VmHWM":
			m.HWM = n
		}
	}
	if m.RSS == 0 {
		return m, errors.New("no VmRSS in /proc status")
	}
	return m, sc.Err()
}

// preflight checks that every query of the mix answers 200 as an HTMX
// fragment, so wrk's error counts only have to catch trouble under load. It
// also times each query alone (best of 3, one connection): the slowest ones
// explain a long p99 tail.
func preflight(ctx context.Context, base string, res *sizeResult) error {
	client := &http.Client{Timeout: 10 * time.Second}
	var bad []string
	var total int64
	paths := queryPaths()
	res.alone = nil
	for _, p := range paths {
		best := time.Duration(math.MaxInt64)
		for range 3 {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+p, nil)
			req.Header.Set("HX-Request", "true")
			req.Header.Set("Accept-Encoding", "gzip")
			t0 := time.Now()
			resp, err := client.Do(req)
			if err != nil {
				return fmt.Errorf("preflight %s: %w", p, err)
			}
			n, _ := io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			best = min(best, time.Since(t0))
			if resp.StatusCode != http.StatusOK {
				bad = append(bad, fmt.Sprintf("%s: %d", p, resp.StatusCode))
				break
			}
			total += n
		}
		res.alone = append(res.alone, timedQuery{p, best})
	}
	res.fragmentBytes = total / int64(3*len(paths))
	if len(bad) > 0 {
		return fmt.Errorf("preflight: queries not answering 200:\n  %s", strings.Join(bad, "\n  "))
	}
	return nil
}

type timedQuery struct {
	path string
	took time.Duration
}

// pageWeight is the wire size of GET / with gzip plus what it references.
type pageWeight struct {
	items []weighedItem
}

type weighedItem struct {
	path  string
	wire  int64 // status line, headers and body as sent
	body  int64 // body as sent (compressed when gzip)
	plain int64 // body decompressed
	gzip  bool
}

func (p pageWeight) total() int64 {
	var n int64
	for _, it := range p.items {
		n += it.wire
	}
	return n
}

var assetRE = regexp.MustCompile(`(?:src|href)="(/static/[^"]+)"`)

// firstPage fetches / and each /static/ asset it references over raw
// HTTP/1.1 with Accept-Encoding: gzip and counts the bytes received.
func firstPage(ctx context.Context, addr string) (pageWeight, error) {
	var pw pageWeight
	page, html, err := fetchRaw(ctx, addr, "/")
	if err != nil {
		return pw, err
	}
	pw.items = append(pw.items, page)
	seen := map[string]bool{}
	for _, m := range assetRE.FindAllSubmatch(html, -1) {
		p := string(m[1])
		if seen[p] {
			continue
		}
		seen[p] = true
		it, _, err := fetchRaw(ctx, addr, p)
		if err != nil {
			return pw, err
		}
		pw.items = append(pw.items, it)
	}
	return pw, nil
}

func fetchRaw(ctx context.Context, addr, path string) (weighedItem, []byte, error) {
	it := weighedItem{path: path}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return it, nil, err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: shelf-loadtest\r\nAccept: text/html,*/*\r\n"+
		"Accept-Encoding: gzip, deflate, br\r\nConnection: close\r\n\r\n", path, addr)
	raw, err := io.ReadAll(conn)
	if err != nil {
		return it, nil, err
	}
	it.wire = int64(len(raw))
	resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(raw)), nil)
	if err != nil {
		return it, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return it, nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return it, nil, fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	it.body = int64(len(body))
	plain := body
	if resp.Header.Get("Content-Encoding") == "gzip" {
		it.gzip = true
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			return it, nil, fmt.Errorf("GET %s: %w", path, err)
		}
		if plain, err = io.ReadAll(zr); err != nil {
			return it, nil, fmt.Errorf("GET %s: %w", path, err)
		}
	}
	it.plain = int64(len(plain))
	return it, plain, nil
}
