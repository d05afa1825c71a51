package devinbox

import (
	"context"
	"database/sql"
	"errors"
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

func startInbox(t *testing.T, db *store.DB, capacity int) *Inbox {
	t.Helper()
	inbox, err := Start(db, capacity, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { inbox.Close() })
	return inbox
}

func TestDevInboxCatchesWhatTheSenderSends(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		inbox := startInbox(t, db, 3)
		changed := inbox.Changed()
		enqueue(t, db, welcome("reader@example.com"))
		startSender(t, db, inbox.SMTP())
		select {
		case <-changed:
		case <-time.After(5 * time.Second):
			t.Fatal("dev inbox caught nothing")
		}
		msgs, err := inbox.Messages(ctx)
		if err != nil || len(msgs) != 1 {
			t.Fatalf("caught %d, %v", len(msgs), err)
		}
		m := msgs[0]
		if m.N != 1 || m.Subject != "Confirm your Shelf account" || m.Envelope.From != "shelf@shelf.test" ||
			len(m.Envelope.To) != 1 || m.Envelope.To[0] != "reader@example.com" || m.ParseErr != "" {
			t.Fatalf("caught %+v", m)
		}
		if time.Since(m.Received) > time.Minute || time.Since(m.Received) < 0 {
			t.Errorf("received at %v, want just now", m.Received)
		}
		if !strings.Contains(m.Text, "token=abc&x=1") || !strings.Contains(m.HTML, "<a href=") {
			t.Fatalf("parts: text %q html %q", m.Text, m.HTML)
		}
		if got, err := inbox.Message(ctx, 1); err != nil || got.MessageID != m.MessageID {
			t.Fatalf("Message(1) = %v, %v", got.MessageID, err)
		}

		// Bounded: only the last three are kept, newest first, numbers not reused.
		for i := range 4 {
			enqueue(t, db, welcome(fmt.Sprintf("r%d@example.com", i)))
		}
		waitCounts(t, db, 5*time.Second, func(c outbox.Counts) bool { return c.Sent == 5 })
		deadline := time.Now().Add(5 * time.Second)
		for {
			if msgs, err = inbox.Messages(ctx); err != nil {
				t.Fatal(err)
			}
			if msgs[0].N == 5 || time.Now().After(deadline) {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		if len(msgs) != 3 || msgs[0].N != 5 || msgs[2].N != 3 {
			t.Fatalf("kept %d, first N %d", len(msgs), msgs[0].N)
		}
		if _, err := inbox.Message(ctx, 1); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("message 1 = %v, want it dropped (store.ErrNotFound)", err)
		}
	})
}

// TestDevInboxSharedByInstances: several instances on one database each
// run a dev inbox, and the mail one instance's sender delivered shows in
// every instance's inbox: a reset link is found wherever it is looked for.
func TestDevInboxSharedByInstances(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		source := db.Path
		if db.Backend == store.Postgres {
			source = db.URL
		}
		other, err := store.Open(ctx, source)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { other.Close() })
		here, there := startInbox(t, db, 0), startInbox(t, other, 0)

		changed := there.Changed()
		enqueue(t, db, welcome("reader@example.com"))
		startSender(t, other, there.SMTP()) // only the other instance sends
		select {
		case <-changed:
		case <-time.After(5 * time.Second):
			t.Fatal("the other instance's inbox caught nothing")
		}
		for name, inbox := range map[string]*Inbox{"this instance": here, "the other instance": there} {
			msgs, err := inbox.Messages(ctx)
			if err != nil || len(msgs) != 1 || msgs[0].Envelope.To[0] != "reader@example.com" {
				t.Fatalf("%s's inbox shows %+v, %v; want the one message", name, msgs, err)
			}
			if m, err := inbox.Message(ctx, msgs[0].N); err != nil || m.MessageID != msgs[0].MessageID {
				t.Fatalf("%s's Message(%d) = %+v, %v", name, msgs[0].N, m, err)
			}
		}
	})
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
