package handlers

import (
	"bytes"
	"context"
	"errors"
	"net/url"
	"strings"
	"time"

	"github.com/a-h/templ"

	"shelf/components"
	"shelf/components/paths"
	"shelf/store/outbox"
)

// accountMails renders the account flows' mails (accounts.Mails). Links are
// built from the configured base URL, never from the request's Host header.
type accountMails struct {
	baseURL *url.URL
}

func (m accountMails) link(path string) (string, error) {
	if m.baseURL == nil {
		return "", errors.New("accounts: BaseURL not configured")
	}
	return strings.TrimSuffix(m.baseURL.String(), "/") + path, nil
}

func (m accountMails) Confirm(ctx context.Context, to, token string, ttl time.Duration) (outbox.Mail, error) {
	link, err := m.link(paths.ConfirmLink(token))
	if err != nil {
		return outbox.Mail{}, err
	}
	l := components.EmailLink{To: to, URL: link, Valid: humanTTL(ttl)}
	return renderMail(ctx, to, "Confirm your Shelf account", components.ConfirmEmailHTML(l), components.ConfirmEmailText(l))
}

func (m accountMails) Reset(ctx context.Context, to, token string, ttl time.Duration) (outbox.Mail, error) {
	link, err := m.link(paths.ResetPasswordLink(token))
	if err != nil {
		return outbox.Mail{}, err
	}
	l := components.EmailLink{To: to, URL: link, Valid: humanTTL(ttl)}
	return renderMail(ctx, to, "Reset your Shelf password", components.ResetEmailHTML(l), components.ResetEmailText(l))
}

func (m accountMails) SignUpAttempt(ctx context.Context, to string) (outbox.Mail, error) {
	signIn, err := m.link(paths.Login)
	if err != nil {
		return outbox.Mail{}, err
	}
	reset, _ := m.link(paths.ForgotPassword)
	l := components.SignUpAttemptLinks{To: to, SignInURL: signIn, ResetURL: reset}
	return renderMail(ctx, to, "Someone tried to sign up at Shelf with your address",
		components.SignUpAttemptEmailHTML(l), components.SignUpAttemptEmailText(l))
}

func renderMail(ctx context.Context, to, subject string, html, text templ.Component) (outbox.Mail, error) {
	var hb, tb bytes.Buffer
	if err := html.Render(ctx, &hb); err != nil {
		return outbox.Mail{}, err
	}
	if err := text.Render(ctx, &tb); err != nil {
		return outbox.Mail{}, err
	}
	return outbox.Mail{To: to, Subject: subject, HTML: hb.String(), Text: tb.String()}, nil
}
