package main

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"shelf/store"
	"shelf/store/outbox"
	"shelf/store/storetest"
)

func applyMailSettings(t *testing.T, env map[string]string) (mailConfig, error) {
	t.Helper()
	var m mailConfig
	for _, s := range m.settings() {
		v, ok := env[s.env]
		if !ok {
			v = s.def
		}
		if err := s.set(v); err != nil {
			return m, err
		}
	}
	return m, nil
}

func TestMailSettings(t *testing.T) {
	m, err := applyMailSettings(t, nil)
	if err != nil || m.SMTP != nil || m.From.String() != `"Shelf" <shelf@localhost>` {
		t.Fatalf("defaults = %+v, %v", m, err)
	}
	m, err = applyMailSettings(t, map[string]string{"SHELF_SMTP_URL": "smtps://u:p@mail.example.com", "SHELF_MAIL_FROM": "books@example.com"})
	if err != nil || m.SMTP == nil || !m.SMTP.ImplicitTLS || m.SMTP.Port != 465 || m.From.Address != "books@example.com" {
		t.Fatalf("set = %+v, %v", m, err)
	}
	for _, env := range []map[string]string{
		{"SHELF_SMTP_URL": "mail.example.com:25"},
		{"SHELF_MAIL_FROM": "not an address"},
	} {
		if _, err := applyMailSettings(t, env); err == nil || strings.Contains(err.Error(), "\n") {
			t.Errorf("%v: error %v, want one line", env, err)
		}
	}
}

func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"smtp://u:secret@mail.example.com:587": "smtp://u:xxxxx@mail.example.com:587",
		"smtp://mail.example.com":              "smtp://mail.example.com",
		"u:secret@mail example.com":            "(value hidden: it may contain a password)",
	} {
		if got := redactURL(in); got != want {
			t.Errorf("redactURL(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestStartMailDevInbox(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		var logs bytes.Buffer
		log := slog.New(slog.NewTextHandler(&logs, nil))
		cfg, _ := applyMailSettings(t, nil)
		base, _ := url.Parse("http://localhost:8080")
		ms, err := startMail(cfg, base, db, log)
		if err != nil {
			t.Fatal(err)
		}
		defer ms.Stop(log)
		if ms.DevInbox == nil {
			t.Fatal("no dev inbox without SHELF_SMTP_URL")
		}
		if !strings.Contains(logs.String(), "mail: dev inbox at http://localhost:8080/dev/mail (no SHELF_SMTP_URL set)") {
			t.Errorf("start log:\n%s", logs.String())
		}
		changed := ms.DevInbox.Changed()
		enqueueMail(t, db, outbox.Mail{To: "a@example.com", Subject: "Hi", Text: "t", HTML: "<p>h</p>"})
		ms.Sender.Notify()
		select {
		case <-changed:
		case <-time.After(5 * time.Second):
			t.Fatal("dev inbox caught nothing")
		}
		if got, err := ms.DevInbox.Messages(ctx); err != nil || len(got) != 1 || got[0].Subject != "Hi" {
			t.Fatalf("caught %+v, %v", got, err)
		}
	})
}

// TestStartMailDevInboxOfSeveralInstances: instances sharing a database
// without SHELF_SMTP_URL each deliver to their own dev inbox, and each
// instance's inbox shows the mail, whichever instance's sender took it.
func TestStartMailDevInboxOfSeveralInstances(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		log := slog.New(slog.DiscardHandler)
		cfg, _ := applyMailSettings(t, nil)
		source := db.Path
		if db.Backend == store.Postgres {
			source = db.URL
		}
		var instances []*mailService
		for range 3 {
			other, err := store.Open(ctx, source)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { other.Close() })
			ms, err := startMail(cfg, nil, other, log)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { ms.Stop(log) }) // before the database closes
			instances = append(instances, ms)
		}
		const n = 6
		for i := range n {
			enqueueMail(t, db, outbox.Mail{To: fmt.Sprintf("r%d@example.com", i), Subject: "Hi", Text: "t", HTML: "<p>h</p>"})
		}
		for _, ms := range instances {
			ms.Sender.Notify()
		}
		for i, ms := range instances {
			deadline := time.Now().Add(10 * time.Second)
			for {
				got, err := ms.DevInbox.Messages(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if len(got) == n {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("instance %d's dev inbox shows %d messages, want all %d", i, len(got), n)
				}
				time.Sleep(10 * time.Millisecond)
			}
		}
	})
}

func enqueueMail(t *testing.T, db *store.DB, m outbox.Mail) {
	t.Helper()
	err := db.InTx(context.Background(), func(tx *sql.Tx) error {
		_, err := outbox.Enqueue(context.Background(), tx, m)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestStartMailSMTP(t *testing.T) {
	db, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "shelf.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	cfg, _ := applyMailSettings(t, map[string]string{"SHELF_SMTP_URL": "smtp://u:secret@127.0.0.1:2525"})
	ms, err := startMail(cfg, nil, db, log)
	if err != nil {
		t.Fatal(err)
	}
	ms.Stop(log)
	if ms.DevInbox != nil {
		t.Error("dev inbox on although SMTP is configured")
	}
	if !strings.Contains(logs.String(), "mail: sending via smtp 127.0.0.1:2525") || strings.Contains(logs.String(), "secret") {
		t.Errorf("start log:\n%s", logs.String())
	}
}

// TestStartMailWarnsOfCleartextRelay: ?tls=none to a relay on another
// machine is allowed (a relay container on a private network, say), but
// never silently.
func TestStartMailWarnsOfCleartextRelay(t *testing.T) {
	db, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "shelf.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for url, warn := range map[string]bool{"smtp://relay.internal:25?tls=none": true, "smtp://127.0.0.1:25?tls=none": false, "smtp://relay.internal:25": false} {
		var logs bytes.Buffer
		log := slog.New(slog.NewTextHandler(&logs, nil))
		cfg, err := applyMailSettings(t, map[string]string{"SHELF_SMTP_URL": url})
		if err != nil {
			t.Fatal(err)
		}
		ms, err := startMail(cfg, nil, db, log)
		if err != nil {
			t.Fatal(err)
		}
		ms.Stop(log)
		if got := strings.Contains(logs.String(), "level=WARN") && strings.Contains(logs.String(), "in clear"); got != warn {
			t.Errorf("%s: warned %v, want %v:\n%s", url, got, warn, logs.String())
		}
	}
}
