package devinbox

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"shelf/store"
	"shelf/store/outbox"
	"shelf/store/storetest"
)

// The outbox's tests hold the full set of sender helpers; these are the
// few the dev inbox's own test needs.

func openDB(t testing.TB) *store.DB {
	return storetest.Open(t)
}

func testLogger(testing.TB) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return nil
}

// startSender delivers db's outbox to cfg until the test ends, polling
// often so the test takes milliseconds.
func startSender(t testing.TB, db *store.DB, cfg outbox.SMTPConfig) {
	t.Helper()
	from, err := outbox.ParseFrom("Shelf <shelf@shelf.test>")
	if err != nil {
		t.Fatal(err)
	}
	opt := outbox.SenderOptions{PollInterval: 10 * time.Millisecond, Timeout: 5 * time.Second, Logger: testLogger(t)}
	s, err := outbox.NewSender(outbox.NewQueue(db), cfg, from, opt)
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.Stop(ctx); err != nil {
			t.Errorf("stop: %v", err)
		}
	})
}

func enqueue(t testing.TB, db *store.DB, m outbox.Mail) {
	t.Helper()
	err := db.InTx(context.Background(), func(tx *sql.Tx) error {
		_, err := outbox.Enqueue(context.Background(), tx, m)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func welcome(to string) outbox.Mail {
	return outbox.Mail{
		To:      to,
		Subject: "Confirm your Shelf account",
		Text:    "Welcome!\n\nConfirm: https://shelf.test/confirm?token=abc&x=1\n",
		HTML:    `<p>Welcome!</p><p><a href="https://shelf.test/confirm?token=abc&amp;x=1">Confirm</a></p>`,
	}
}

// waitCounts polls the outbox until ok accepts its counts.
func waitCounts(t testing.TB, db *store.DB, timeout time.Duration, ok func(outbox.Counts) bool) {
	t.Helper()
	q := outbox.NewQueue(db)
	deadline := time.Now().Add(timeout)
	for {
		c, err := q.Counts(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if ok(c) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("outbox counts still %+v after %v", c, timeout)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestDevInboxCatchesWhatTheSenderSends(t *testing.T) {
	inbox, err := Start(3, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { inbox.Close() })
	db := openDB(t)
	changed := inbox.Changed()
	enqueue(t, db, welcome("reader@example.com"))
	startSender(t, db, inbox.SMTP())
	select {
	case <-changed:
	case <-time.After(5 * time.Second):
		t.Fatal("dev inbox caught nothing")
	}
	msgs := inbox.Messages()
	if len(msgs) != 1 {
		t.Fatalf("caught %d", len(msgs))
	}
	m := msgs[0]
	if m.N != 1 || m.Subject != "Confirm your Shelf account" || m.Envelope.From != "shelf@shelf.test" ||
		len(m.Envelope.To) != 1 || m.Envelope.To[0] != "reader@example.com" || m.ParseErr != "" {
		t.Fatalf("caught %+v", m)
	}
	if !strings.Contains(m.Text, "token=abc&x=1") || !strings.Contains(m.HTML, "<a href=") {
		t.Fatalf("parts: text %q html %q", m.Text, m.HTML)
	}
	if got, ok := inbox.Message(1); !ok || got.MessageID != m.MessageID {
		t.Fatalf("Message(1) = %v, %v", got.MessageID, ok)
	}

	// Bounded: only the last three are kept, newest first, numbers not reused.
	for i := range 4 {
		enqueue(t, db, welcome(fmt.Sprintf("r%d@example.com", i)))
	}
	waitCounts(t, db, 5*time.Second, func(c outbox.Counts) bool { return c.Sent == 5 })
	deadline := time.Now().Add(5 * time.Second)
	for {
		msgs = inbox.Messages()
		if msgs[0].N == 5 || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if len(msgs) != 3 || msgs[0].N != 5 || msgs[2].N != 3 {
		t.Fatalf("kept %d, first N %d", len(msgs), msgs[0].N)
	}
	if _, ok := inbox.Message(1); ok {
		t.Fatal("message 1 should have been dropped")
	}
}

func TestParseMessage(t *testing.T) {
	raw := "From: =?utf-8?q?Sh=C3=A9lf?= <shelf@x.test>\r\n" +
		"To: a@x.test, \"B\" <b@x.test>\r\n" +
		"Subject: =?utf-8?b?SMOpbGxv?=\r\n" +
		"Date: Mon, 02 Jan 2006 15:04:05 +0000\r\n" +
		"Message-ID: <id1@x.test>\r\n" +
		"MIME-Version: 1.0\r\n" +
		"Content-Type: multipart/mixed; boundary=outer\r\n\r\n" +
		"--outer\r\n" +
		"Content-Type: multipart/alternative; boundary=inner\r\n\r\n" +
		"--inner\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\n" +
		"Content-Transfer-Encoding: quoted-printable\r\n\r\n" +
		"caf=C3=A9 https://x.test/a=3Db\r\n" +
		"--inner\r\n" +
		"Content-Type: text/html; charset=utf-8\r\n" +
		"Content-Transfer-Encoding: base64\r\n\r\n" +
		"PHA+aMOp\r\nPC9wPg==\r\n" +
		"--inner--\r\n" +
		"--outer--\r\n"
	m := ParseMessage([]byte(raw))
	if m.ParseErr != "" {
		t.Fatal(m.ParseErr)
	}
	if m.From != "Shélf <shelf@x.test>" || m.Subject != "Héllo" || m.MessageID != "id1@x.test" || len(m.To) != 2 || m.Date.IsZero() {
		t.Errorf("headers %+v", m)
	}
	if m.Text != "café https://x.test/a=b" {
		t.Errorf("text %q", m.Text)
	}
	if m.HTML != "<p>hé</p>" {
		t.Errorf("html %q", m.HTML)
	}

	bad := ParseMessage([]byte("not a message"))
	if bad.ParseErr == "" || bad.Text != "not a message" {
		t.Errorf("unparsable: %+v", bad)
	}
}
