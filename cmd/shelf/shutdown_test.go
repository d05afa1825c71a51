package main

// The real binary, as the container image runs it: built once per test run
// (CGO_ENABLED=0, static) and shared by the shutdown and image tests.

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var staticBinary struct {
	once      sync.Once
	dir, path string
	err       error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if staticBinary.dir != "" {
		os.RemoveAll(staticBinary.dir)
	}
	os.Exit(code)
}

// shelfBinary returns the path of a static shelf binary built from this
// package (CGO_ENABLED=0, as in the image), building it on first use.
func shelfBinary(t *testing.T) string {
	t.Helper()
	b := &staticBinary
	b.once.Do(func() {
		if b.dir, b.err = os.MkdirTemp("", "shelf-bin-"); b.err != nil {
			return
		}
		b.path = filepath.Join(b.dir, "shelf")
		start := time.Now()
		cmd := exec.Command("go", "build", "-o", b.path, ".")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			b.err = fmt.Errorf("CGO_ENABLED=0 go build: %v\n%s", err, out)
			return
		}
		t.Logf("built a static shelf binary in %s", time.Since(start).Round(time.Millisecond))
	})
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.path
}

// TestSIGTERMFinishesRequestsInFlight starts the real binary, holds a sign-up
// request open with its body half sent, and sends SIGTERM: the server stops
// taking connections at once, answers the request once its body arrives, and
// exits 0 well within the 10 s a container runtime waits before SIGKILL.
func TestSIGTERMFinishesRequestsInFlight(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the real binary: skipped under -short")
	}
	bin := shelfBinary(t)
	addr := freeLocalAddr(t)
	logs := &syncBuffer{}
	cmd := exec.Command(bin, "serve")
	cmd.Env = []string{
		"SHELF_DB=" + filepath.Join(t.TempDir(), "shelf.db"),
		"SHELF_ADDR=" + addr,
		"SHELF_BASE_URL=http://" + addr,
	}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("server log:\n%s", tailLines(logs.String(), 40))
		}
	})
	base := "http://" + addr
	waitForOK(t, base+"/healthz", time.Minute)

	// A CSRF cookie and token, so the server reads the sign-up's body.
	client := newClient(t, base)
	_, page, _ := client.get("/register")
	token := csrfFrom(t, page)
	var cookies []string
	u, _ := url.Parse(base)
	for _, c := range client.http.Jar.Cookies(u) {
		cookies = append(cookies, c.String())
	}
	body := url.Values{"_csrf": {token}, "email": {"in.flight@example.org"},
		"password": {"correct horse battery"}, "password_confirm": {"correct horse battery"}}.Encode()

	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	// Expect: 100-continue makes the server say when the handler starts
	// reading the body: from then on the request is in flight.
	fmt.Fprintf(conn, "POST /register HTTP/1.1\r\nHost: %s\r\nCookie: %s\r\n"+
		"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\nExpect: 100-continue\r\n\r\n",
		addr, strings.Join(cookies, "; "), len(body))
	half := len(body) / 2
	fmt.Fprint(conn, body[:half])
	r := bufio.NewReader(conn)
	if line, err := r.ReadString('\n'); err != nil || !strings.HasPrefix(line, "HTTP/1.1 100 ") {
		t.Fatalf("want 100 Continue once the handler reads the body, got %q (%v)", line, err)
	}
	if _, err := r.ReadString('\n'); err != nil { // the blank line after it
		t.Fatal(err)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	signalled := time.Now()

	// Shutdown closes the listener at once...
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			break
		}
		c.Close()
		if time.Since(signalled) > 5*time.Second {
			t.Fatal("the server still accepts connections 5 s after SIGTERM")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// ...but waits for the request in flight.
	select {
	case err := <-exited:
		t.Fatalf("the server exited (%v) with a request in flight", err)
	case <-time.After(300 * time.Millisecond):
	}

	fmt.Fprint(conn, body[half:])
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		t.Fatalf("the request in flight got no answer: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/check-email" {
		t.Errorf("sign-up during shutdown: %s, Location %q; want 303 to /check-email", resp.Status, resp.Header.Get("Location"))
	}

	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("the server exited with %v, want exit status 0", err)
		}
	case <-time.After(10*time.Second - time.Since(signalled)):
		t.Fatal("the server did not exit within 10 s of SIGTERM")
	}
	t.Logf("exited %s after SIGTERM", time.Since(signalled).Round(time.Millisecond))
	for _, want := range []string{"msg=\"shutting down\"", "msg=stopped"} {
		if logs.Count(want) != 1 {
			t.Errorf("the log should say %s once", want)
		}
	}
}
