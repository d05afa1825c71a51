package mail

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"net/netip"
	"testing"
	"time"

	"shelf/store"
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

func TestPlainWhenSTARTTLSNotOffered(t *testing.T) {
	srv := newTestSMTP(t)
	db := openDB(t, "")
	enqueue(t, db, welcome("reader@example.com"))
	startSender(t, db, srv.config(), fastOptions(t))
	srv.waitFor(1, 5*time.Second)
	waitCounts(t, db, 5*time.Second, func(c store.OutboxCounts) bool { return c.Sent == 1 })
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

func TestClientKeepsConfiguredPort(t *testing.T) {
	for _, c := range []SMTPConfig{{Host: "mail.example.com", Port: 25}, {Host: "mail.example.com", Port: 587}, {Host: "mail.example.com", Port: 465, ImplicitTLS: true}} {
		client, err := newClient(c, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if got := client.ServerAddr(); got != c.Addr() {
			t.Errorf("client for %v dials %s", c, got)
		}
	}
}
