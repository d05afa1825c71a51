package outbox_test

import (
	"crypto/tls"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"shelf/store/outbox"
	"shelf/store/outbox/devinbox"
)

// testSMTP is a real SMTP server for tests. It records what it accepts and
// can be taken down (connection refused) or told to refuse with a reply
// code, for every recipient or for one.
type testSMTP struct {
	t        testing.TB
	addr     string
	tls      *tls.Config // offered with STARTTLS, or
	implicit bool        // spoken from the first byte (smtps)

	mu       sync.Mutex
	server   *smtp.Server
	listener net.Listener
	received [][]byte
	tlsSeen  []bool                     // per received message: did it arrive over TLS
	refuse   *smtp.SMTPError            // answer to every RCPT when set
	refuseTo map[string]*smtp.SMTPError // answer to RCPT for one address
	delay    time.Duration              // before accepting DATA
	arrived  chan struct{}
	// holdFrom, when > 0, holds the message with that number (1-based)
	// and every later one after reading it, before accepting it, until
	// release is closed; held receives a value as each one is held.
	holdFrom int
	release  chan struct{}
	held     chan struct{}
	// holdSender, when set, holds every message whose envelope sender it
	// is the same way, until release is closed.
	holdSender string
	senders    []string // per received message: the envelope sender
}

func newTestSMTP(t testing.TB) *testSMTP {
	t.Helper()
	s := &testSMTP{t: t, refuseTo: map[string]*smtp.SMTPError{}, arrived: make(chan struct{}, 1<<16)}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.addr = ln.Addr().String()
	s.serve(ln)
	t.Cleanup(s.down)
	return s
}

func (s *testSMTP) serve(ln net.Listener) {
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &testSession{s: s, conn: c}, nil
	}))
	srv.Domain = "test.localhost"
	srv.ErrorLog = discardPrinter{}
	if s.implicit {
		ln = tls.NewListener(ln, s.tls)
	} else {
		srv.TLSConfig = s.tls
	}
	s.mu.Lock()
	s.server, s.listener = srv, ln
	s.mu.Unlock()
	go srv.Serve(ln)
}

// config is how a outbox.Sender reaches this server: in clear unless the server
// speaks TLS (set tls before calling it).
func (s *testSMTP) config() outbox.SMTPConfig {
	host, port, _ := net.SplitHostPort(s.addr)
	var p int
	for _, c := range port {
		p = p*10 + int(c-'0')
	}
	return outbox.SMTPConfig{Host: host, Port: p, NoTLS: s.tls == nil}
}

// down stops the server: connections are refused until up.
func (s *testSMTP) down() {
	s.mu.Lock()
	srv, ln := s.server, s.listener
	s.server, s.listener = nil, nil
	s.mu.Unlock()
	if srv != nil {
		// Close the listener too: Serve may not have registered it yet.
		ln.Close()
		srv.Close()
	}
}

// up listens again on the same address.
func (s *testSMTP) up() {
	s.t.Helper()
	var ln net.Listener
	var err error
	for range 50 { // the port can take a moment to be free again
		if ln, err = net.Listen("tcp", s.addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		s.t.Fatalf("smtp server up: %v", err)
	}
	s.serve(ln)
}

func (s *testSMTP) setRefuse(code int, msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if code == 0 {
		s.refuse = nil
		return
	}
	s.refuse = &smtp.SMTPError{Code: code, Message: msg}
}

func (s *testSMTP) refuseRecipient(addr string, code int, msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refuseTo[addr] = &smtp.SMTPError{Code: code, Message: msg}
}

// holdFromMessage holds message n and all after it, unaccepted, until the
// returned function is called (also at cleanup).
func (s *testSMTP) holdFromMessage(n int) (release func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.holdFrom, s.release, s.held = n, make(chan struct{}), make(chan struct{}, 1<<10)
	ch := s.release
	var once sync.Once
	release = func() { once.Do(func() { close(ch) }) }
	s.t.Cleanup(release)
	return release
}

// holdMailFrom holds every message from the envelope sender from,
// unaccepted, until the returned function is called (also at cleanup).
func (s *testSMTP) holdMailFrom(from string) (release func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.holdSender, s.release, s.held = from, make(chan struct{}), make(chan struct{}, 1<<10)
	ch := s.release
	var once sync.Once
	release = func() { once.Do(func() { close(ch) }) }
	s.t.Cleanup(release)
	return release
}

// envelopeSenders returns the envelope sender of each accepted message, in
// the order of messages().
func (s *testSMTP) envelopeSenders() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.senders...)
}

// waitHeld waits until a message is being held.
func (s *testSMTP) waitHeld(timeout time.Duration) {
	s.t.Helper()
	s.mu.Lock()
	held := s.held
	s.mu.Unlock()
	select {
	case <-held:
	case <-time.After(timeout):
		s.t.Fatalf("no message held within %v", timeout)
	}
}

func (s *testSMTP) setDelay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delay = d
}

// messages parses what the server accepted, in order.
func (s *testSMTP) messages() []devinbox.Message {
	s.mu.Lock()
	raws := append([][]byte(nil), s.received...)
	s.mu.Unlock()
	out := make([]devinbox.Message, len(raws))
	for i, r := range raws {
		out[i] = devinbox.ParseMessage(r)
	}
	return out
}

func (s *testSMTP) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.received)
}

// waitFor waits until the server has accepted n messages.
func (s *testSMTP) waitFor(n int, timeout time.Duration) {
	s.t.Helper()
	deadline := time.After(timeout)
	for s.count() < n {
		select {
		case <-s.arrived:
		case <-deadline:
			s.t.Fatalf("smtp server got %d messages in %v, want %d", s.count(), timeout, n)
		}
	}
}

type testSession struct {
	s    *testSMTP
	conn *smtp.Conn
	from string
	to   []string
}

func (ts *testSession) Mail(from string, _ *smtp.MailOptions) error {
	ts.from = from
	return nil
}

func (ts *testSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	ts.s.mu.Lock()
	defer ts.s.mu.Unlock()
	if e := ts.s.refuseTo[to]; e != nil {
		return e
	}
	if ts.s.refuse != nil {
		return ts.s.refuse
	}
	ts.to = append(ts.to, to)
	return nil
}

func (ts *testSession) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	ts.s.mu.Lock()
	delay := ts.s.delay
	var release chan struct{}
	if ts.s.holdFrom > 0 && len(ts.s.received)+1 >= ts.s.holdFrom ||
		ts.s.holdSender != "" && ts.s.holdSender == ts.from {
		release = ts.s.release
		ts.s.held <- struct{}{}
	}
	ts.s.mu.Unlock()
	if release != nil {
		<-release
	}
	time.Sleep(delay)
	ts.s.mu.Lock()
	ts.s.received = append(ts.s.received, raw)
	ts.s.senders = append(ts.s.senders, ts.from)
	_, isTLS := ts.conn.TLSConnectionState()
	ts.s.tlsSeen = append(ts.s.tlsSeen, isTLS)
	ts.s.mu.Unlock()
	ts.s.arrived <- struct{}{}
	return nil
}

func (ts *testSession) Reset()        { ts.from, ts.to = "", nil }
func (ts *testSession) Logout() error { return nil }

type discardPrinter struct{}

func (discardPrinter) Printf(string, ...any) {}
func (discardPrinter) Println(...any)        {}
