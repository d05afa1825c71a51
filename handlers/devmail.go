package handlers

import (
	"errors"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"shelf/components"
	"shelf/components/paths"
	"shelf/store"
	"shelf/store/outbox"
	"shelf/store/outbox/devinbox"
)

// MailPages serves the development inbox (/dev/mail…) and the admin
// outbox page. Build it in routes.go from the App's dependencies.
type MailPages struct {
	App *App
	// Inbox is nil when SHELF_SMTP_URL is set: the dev inbox is off and
	// every /dev/mail address answers 404. It answers 404 too to any
	// request not from this machine (see fromThisMachine).
	Inbox *devinbox.Inbox
	// Outbox and Sender serve the admin page; Sender may be nil.
	Outbox *outbox.Queue
	Sender interface{ Notify() }
}

// htmlPartPolicy is the Content-Security-Policy of a caught message's HTML
// part: it may style itself and show inline images, nothing else. No
// script, no fetches, no forms; "sandbox" gives it an opaque origin even
// when opened on its own; only Shelf's own pages may frame it.
const htmlPartPolicy = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; font-src data:; " +
	"sandbox allow-popups allow-popups-to-escape-sandbox; base-uri 'none'; form-action 'none'; frame-ancestors 'self'"

// inbox returns the dev inbox when it runs and the request comes from this
// machine. Anyone else gets a 404, as if it were off: the inbox shows
// password-reset links.
func (p *MailPages) inbox(c echo.Context) (*devinbox.Inbox, error) {
	if p.Inbox == nil {
		return nil, echo.ErrNotFound
	}
	r := c.Request()
	if !fromThisMachine(r) {
		p.App.Logger.Warn("dev inbox: refused a request not from this machine", "remote", r.RemoteAddr, "host", r.Host)
		return nil, echo.ErrNotFound
	}
	return p.Inbox, nil
}

// fromThisMachine reports whether r came over a loopback connection and
// names a local host. The address is the connection's, never a header's.
// The Host check stops DNS rebinding: a page on an attacker's name that
// resolves to 127.0.0.1 would otherwise read the inbox through the
// developer's browser.
func fromThisMachine(r *http.Request) bool {
	remote, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil || !remote.Addr().Unmap().IsLoopback() {
		return false
	}
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	} else {
		host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	}
	return outbox.IsLocalHost(host)
}

// DevInbox lists caught messages, newest first. GET /dev/mail
func (p *MailPages) DevInbox(c echo.Context) error {
	inbox, err := p.inbox(c)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	msgs, err := inbox.Messages(c.Request().Context())
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, components.DevInboxPage(p.App.meta(c, "Dev inbox"), msgs))
}

// DevMessage shows one caught message. GET /dev/mail/:n
func (p *MailPages) DevMessage(c echo.Context) error {
	msg, err := p.devMessage(c)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	title := msg.Subject
	if title == "" {
		title = "Message " + strconv.Itoa(msg.N)
	}
	return render(c, http.StatusOK, components.DevMessagePage(p.App.meta(c, title), msg))
}

// DevMessageHTML answers with a caught message's HTML part as its own
// document under htmlPartPolicy, for the sandboxed frame on the message
// page. GET /dev/mail/:n/html
func (p *MailPages) DevMessageHTML(c echo.Context) error {
	msg, err := p.devMessage(c)
	if err != nil {
		return err
	}
	if msg.HTML == "" {
		return echo.ErrNotFound
	}
	h := c.Response().Header()
	h.Set("Content-Security-Policy", htmlPartPolicy)
	h.Set("X-Frame-Options", "SAMEORIGIN") // replaces DENY: the message page frames it
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	return c.Blob(http.StatusOK, "text/html; charset=utf-8", linksInNewTab(msg.HTML))
}

// linksInNewTab returns an HTML part whose links open in a new tab, as a
// mail client's do: in the frame they would load the linked page into it,
// and Shelf's pages refuse to be framed, so "Confirm my address" showed a
// broken frame. The sandbox lets that tab, and nothing else, out (no
// scripts, no forms, no navigation of the message page).
func linksInNewTab(html string) []byte {
	const base = `<base target="_blank">`
	lower := strings.ToLower(html)
	for _, open := range []string{"<head>", "<head "} {
		if i := strings.Index(lower, open); i >= 0 {
			if end := strings.IndexByte(html[i:], '>'); end >= 0 {
				at := i + end + 1
				return []byte(html[:at] + base + html[at:])
			}
		}
	}
	return []byte(base + html) // the first base with a target counts, wherever it is
}

func (p *MailPages) devMessage(c echo.Context) (devinbox.Message, error) {
	inbox, err := p.inbox(c)
	if err != nil {
		return devinbox.Message{}, err
	}
	n, err := strconv.Atoi(c.Param("n"))
	if err != nil || n < 1 {
		return devinbox.Message{}, echo.ErrNotFound
	}
	msg, err := inbox.Message(c.Request().Context(), n)
	if errors.Is(err, store.ErrNotFound) {
		return devinbox.Message{}, echo.ErrNotFound
	}
	return msg, err
}

// outboxFailuresShown bounds the failure list on the admin page.
const outboxFailuresShown = 200

// AdminOutbox shows outbox counts and failed messages. GET /admin/outbox
// (behind the admin guard).
func (p *MailPages) AdminOutbox(c echo.Context) error {
	ctx := c.Request().Context()
	counts, err := p.Outbox.Counts(ctx)
	if err != nil {
		return err
	}
	failed, err := p.Outbox.Failed(ctx, outboxFailuresShown)
	if err != nil {
		return err
	}
	m := p.App.meta(c, "Outbox")
	if tok := p.App.csrfToken(c); tok != "" { // the retry buttons are forms
		m.CSRFToken = tok
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return render(c, http.StatusOK, components.AdminOutboxPage(m, counts, failed))
}

// AdminOutboxRetry queues a failed message again and wakes the sender.
// POST /admin/outbox/:id/retry (behind the admin guard and CSRF check).
func (p *MailPages) AdminOutboxRetry(c echo.Context) error {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		return echo.ErrNotFound
	}
	err = p.Outbox.Requeue(c.Request().Context(), id, time.Now())
	if errors.Is(err, store.ErrNotFound) {
		return echo.ErrNotFound
	}
	if err != nil {
		return err
	}
	if p.Sender != nil {
		p.Sender.Notify()
	}
	p.App.Logger.Info("mail: requeued failed message", "id", id)
	return c.Redirect(http.StatusSeeOther, paths.AdminOutbox)
}
