package outbox_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"log/slog"
	"math/big"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"shelf/store/outbox"
)

// selfSigned returns a server certificate for 127.0.0.1 and a client
// config that trusts it.
func selfSigned(t *testing.T) (server, client *tls.Config) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{netip.MustParseAddr("127.0.0.1").AsSlice()},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}},
		&tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}
}

func TestUsesSTARTTLSWhenOffered(t *testing.T) {
	serverTLS, clientTLS := selfSigned(t)
	srv := newTestSMTP(t)
	srv.down()
	srv.tls = serverTLS
	srv.up()
	db := openDB(t, "")
	enqueue(t, db, welcome("reader@example.com"))
	cfg := srv.config()
	cfg.TLSConfig = clientTLS
	startSender(t, db, cfg, fastOptions(t))
	srv.waitFor(1, 5*time.Second)
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if !srv.tlsSeen[0] {
		t.Fatal("message was sent in clear although the server offered STARTTLS")
	}
}

// TestSTARTTLSRequiredByDefault: smtp://host without credentials must not
// fall back to cleartext when the server (or a man in the middle stripping
// the offer) does not offer STARTTLS. The message stays pending and the
// reason is logged.
func TestSTARTTLSRequiredByDefault(t *testing.T) {
	srv := newTestSMTP(t) // offers no STARTTLS
	db := openDB(t, "")
	enqueue(t, db, welcome("reader@example.com"))
	cfg, err := outbox.ParseSMTPURL("smtp://" + srv.addr)
	if err != nil {
		t.Fatal(err)
	}
	var logs lockedBuffer
	opt := fastOptions(t)
	opt.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	startSender(t, db, cfg, opt)
	c := waitCounts(t, db, 5*time.Second, func(c outbox.Counts) bool { return c.Retrying == 1 })
	time.Sleep(100 * time.Millisecond) // a few more attempts
	if srv.count() != 0 {
		t.Fatalf("sent %d messages in clear to a server without STARTTLS", srv.count())
	}
	if c.Sent != 0 || c.Pending != 1 || c.Failed != 0 {
		t.Errorf("outbox = %+v, want the message pending", c)
	}
	var lastErr string
	db.Read.QueryRow(`SELECT last_error FROM outbox`).Scan(&lastErr)
	if !strings.Contains(strings.ToLower(lastErr), "tls") {
		t.Errorf("last_error = %q, want it to say TLS was not available", lastErr)
	}
	if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(strings.ToLower(logs.String()), "tls") {
		t.Errorf("log does not say why:\n%s", logs.String())
	}
}

// TestTLSNoneSendsInClear: ?tls=none is the explicit opt-out for a relay
// that speaks no TLS.
func TestTLSNoneSendsInClear(t *testing.T) {
	srv := newTestSMTP(t)
	db := openDB(t, "")
	enqueue(t, db, welcome("reader@example.com"))
	cfg, err := outbox.ParseSMTPURL("smtp://" + srv.addr + "?tls=none")
	if err != nil {
		t.Fatal(err)
	}
	startSender(t, db, cfg, fastOptions(t))
	srv.waitFor(1, 5*time.Second)
	waitCounts(t, db, 5*time.Second, func(c outbox.Counts) bool { return c.Sent == 1 })
}

// lockedBuffer is a bytes.Buffer safe for a logger and a test to share.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestImplicitTLS(t *testing.T) {
	serverTLS, clientTLS := selfSigned(t)
	srv := newTestSMTP(t)
	srv.down()
	srv.tls, srv.implicit = serverTLS, true
	srv.up()
	db := openDB(t, "")
	enqueue(t, db, welcome("reader@example.com"))
	cfg := srv.config()
	cfg.ImplicitTLS, cfg.TLSConfig = true, clientTLS
	startSender(t, db, cfg, fastOptions(t))
	srv.waitFor(1, 5*time.Second)
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if !srv.tlsSeen[0] {
		t.Fatal("not sent over TLS")
	}
}
