package main

import (
	"context"
	"fmt"
	"log/slog"
	netmail "net/mail"
	"net/url"
	"strings"

	"shelf/store"
	"shelf/store/outbox"
	"shelf/store/outbox/devinbox"
)

// mailConfig is where outgoing mail goes and whom it is from.
type mailConfig struct {
	// SMTP is nil when SHELF_SMTP_URL is unset: mail is then caught by the
	// in-process dev inbox, kept in the database and shown at /dev/mail (of
	// every instance on that database).
	SMTP *outbox.SMTPConfig
	From *netmail.Address
}

// fromAddress is the bare address mail comes from, as readers' mailboxes
// show and search it.
func (m mailConfig) fromAddress() string {
	if m.From != nil {
		return m.From.Address
	}
	if from, err := outbox.ParseFrom(outbox.DefaultFrom); err == nil {
		return from.Address
	}
	return ""
}

// settings are the mail settings, for config.settings().
func (m *mailConfig) settings() []setting {
	return []setting{
		{"smtp-url", "SHELF_SMTP_URL", "",
			"SMTP server for outgoing mail: smtp://user:pass@host:port (STARTTLS required) or smtps://… (implicit TLS); " +
				"smtp://host:port?tls=none sends in clear to a relay without TLS; " +
				"unset: catch all mail in the dev inbox at /dev/mail",
			func(v string) error {
				if strings.TrimSpace(v) == "" {
					m.SMTP = nil
					return nil
				}
				c, err := outbox.ParseSMTPURL(v)
				if err != nil {
					return err
				}
				m.SMTP = &c
				return nil
			}},
		{"mail-from", "SHELF_MAIL_FROM", outbox.DefaultFrom, "From address of outgoing mail", func(v string) error {
			a, err := outbox.ParseFrom(v)
			if err != nil {
				return err
			}
			m.From = a
			return nil
		}},
	}
}

// redactURL hides the password in a URL-valued setting (SHELF_SMTP_URL,
// SHELF_BASE_URL), for error messages that repeat the value.
func redactURL(v string) string {
	u, err := url.Parse(strings.TrimSpace(v))
	if err != nil || u.User == nil {
		if i := strings.LastIndex(v, "@"); i >= 0 && strings.Contains(v[:i], ":") {
			return "(value hidden: it may contain a password)"
		}
		return v
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}

// mailService is the running mail machinery.
type mailService struct {
	Outbox *outbox.Queue
	// Sender delivers the outbox; give it to handlers.App.Mailer so sign-up
	// can wake it after committing.
	Sender *outbox.Sender
	// DevInbox is nil when SHELF_SMTP_URL is set.
	DevInbox *devinbox.Inbox
}

// startMail starts delivering the outbox: to the configured SMTP server,
// or, without one, to an in-process dev inbox. Call Stop on shutdown,
// after the HTTP server has stopped and before the database closes.
func startMail(cfg mailConfig, baseURL *url.URL, db *store.DB, log *slog.Logger) (*mailService, error) {
	from := cfg.From
	if from == nil {
		var err error
		if from, err = outbox.ParseFrom(outbox.DefaultFrom); err != nil {
			return nil, err
		}
	}
	ms := &mailService{Outbox: outbox.NewQueue(db)}
	var smtp outbox.SMTPConfig
	if cfg.SMTP != nil {
		smtp = *cfg.SMTP
		log.Info("mail: sending via smtp "+smtp.Addr(), "server", smtp.String(), "from", from.String())
		if smtp.NoTLS && !outbox.IsLocalHost(smtp.Host) {
			log.Warn("mail: tls=none: mail to " + smtp.Host + " crosses the network in clear, sign-in and reset links included; " +
				"use it only for a relay on a network you trust")
		}
	} else {
		inbox, err := devinbox.Start(db, 200, log)
		if err != nil {
			return nil, err
		}
		ms.DevInbox = inbox
		smtp = inbox.SMTP()
		where := "/dev/mail"
		if baseURL != nil {
			where = baseURL.String() + where
		}
		log.Info(fmt.Sprintf("mail: dev inbox at %s (no SHELF_SMTP_URL set)", where), "smtp", smtp.Addr())
		if baseURL != nil && !outbox.IsLocalHost(baseURL.Hostname()) {
			log.Warn("mail: the dev inbox shows every message, password-reset links included, to anyone who can open " +
				where + "; set SHELF_SMTP_URL for a public site")
		}
	}
	sender, err := outbox.NewSender(ms.Outbox, smtp, from, outbox.SenderOptions{Logger: log})
	if err != nil {
		if ms.DevInbox != nil {
			ms.DevInbox.Close()
		}
		return nil, err
	}
	ms.Sender = sender
	if c, err := ms.Outbox.Counts(context.Background()); err == nil && (c.Pending > 0 || c.Failed > 0) {
		log.Info("mail: outbox", "pending", c.Pending, "failed", c.Failed)
	}
	sender.Start()
	return ms, nil
}

// Stop lets the sender finish the message in hand (waiting at most 10
// seconds), then stops the dev inbox. Mail not yet sent stays in the outbox
// for the next start.
func (ms *mailService) Stop(log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	ms.StopBy(ctx, log)
}

// StopBy is Stop that gives up on the sender when ctx ends; the message it
// was sending then goes out again, with the same Message-ID, from the next
// sender to claim it. It can run more than once.
func (ms *mailService) StopBy(ctx context.Context, log *slog.Logger) {
	if err := ms.Sender.Stop(ctx); err != nil {
		log.Warn("mail: sender did not stop in time", "err", err)
	}
	if ms.DevInbox != nil {
		if err := ms.DevInbox.Close(); err != nil {
			log.Warn("mail: dev inbox close", "err", err)
		}
	}
}
