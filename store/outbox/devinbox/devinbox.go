// Package devinbox is the SMTP server Shelf runs in development: it catches
// every message the outbox's Sender delivers, so the mail can be read at
// /dev/mail and nothing leaves the machine.
//
// Caught mail is kept in the database, not in the process that caught it:
// with several instances on one database, each instance's sender delivers
// to its own dev inbox, and every instance's /dev/mail shows all of it.
package devinbox

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	netmail "net/mail"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-smtp"

	"shelf/store"
	"shelf/store/outbox"
)

// Message is one message caught by the dev inbox.
type Message struct {
	N         int // 1 for the first message caught, and so on; never reused
	Received  time.Time
	Envelope  Envelope
	From      string
	To        []string
	Subject   string
	Date      time.Time // zero when missing or malformed
	MessageID string
	Text      string // the text/plain part
	HTML      string // the text/html part: untrusted markup, never inline it
	Raw       []byte // the message as received
	ParseErr  string // why the message could not be fully parsed, if it could not
}

// Envelope is what the SMTP client said, as opposed to the headers.
type Envelope struct {
	From string
	To   []string
}

// Inbox is an SMTP server on 127.0.0.1 that catches every message sent to
// it and keeps the most recent ones in the database, for reading at
// /dev/mail while developing. Nothing it catches leaves the machine.
type Inbox struct {
	db       *store.DB
	server   *smtp.Server
	listener net.Listener
	capacity int
	log      *slog.Logger

	mu      sync.Mutex
	changed chan struct{} // closed and replaced whenever this inbox catches a message
}

// devInboxMaxBytes bounds each caught message.
const devInboxMaxBytes = 2 << 20

// Start starts a dev inbox on 127.0.0.1 at a random port that keeps what
// it catches in db, the last capacity messages (200 when capacity <= 0).
func Start(db *store.DB, capacity int, log *slog.Logger) (*Inbox, error) {
	if capacity <= 0 {
		capacity = 200
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("mail: dev inbox: %w", err)
	}
	d := &Inbox{db: db, listener: ln, capacity: capacity, log: log, changed: make(chan struct{})}
	s := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) {
		return &devSession{inbox: d}, nil
	}))
	s.Domain = "localhost"
	s.MaxMessageBytes = devInboxMaxBytes
	s.MaxRecipients = 50
	s.ReadTimeout = time.Minute
	s.WriteTimeout = time.Minute
	s.ErrorLog = slogPrinter{log}
	d.server = s
	go func() {
		if err := s.Serve(ln); err != nil && !errors.Is(err, smtp.ErrServerClosed) && !errors.Is(err, net.ErrClosed) {
			log.Error("mail: dev inbox stopped", "err", err)
		}
	}()
	return d, nil
}

// SMTP is how to reach the dev inbox: plain SMTP, no authentication.
func (d *Inbox) SMTP() outbox.SMTPConfig {
	addr := d.listener.Addr().(*net.TCPAddr)
	return outbox.SMTPConfig{Host: addr.IP.String(), Port: addr.Port, NoTLS: true}
}

// Close stops the SMTP server; caught messages stay readable.
func (d *Inbox) Close() error {
	err := d.server.Close()
	if errors.Is(err, smtp.ErrServerClosed) {
		return nil
	}
	return err
}

const timeLayout = "2006-01-02 15:04:05.000" // the outbox's, UTC

const columns = `id, received_at, envelope_from, envelope_to, raw`

// Messages returns the caught messages, newest first: those every dev
// inbox on the database caught.
func (d *Inbox) Messages(ctx context.Context) ([]Message, error) {
	rows, err := d.db.Read.QueryContext(ctx, `SELECT `+columns+` FROM dev_mail ORDER BY id DESC LIMIT $1`, d.capacity)
	if err != nil {
		return nil, fmt.Errorf("dev inbox: %w", err)
	}
	defer rows.Close()
	var out []Message
	for rows.Next() {
		m, err := scanMessage(rows)
		if err != nil {
			return nil, fmt.Errorf("dev inbox: %w", err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("dev inbox: %w", err)
	}
	return out, nil
}

// Message returns message number n, or store.ErrNotFound when it is not
// kept (any more).
func (d *Inbox) Message(ctx context.Context, n int) (Message, error) {
	m, err := scanMessage(d.db.Read.QueryRowContext(ctx, `SELECT `+columns+` FROM dev_mail WHERE id = $1`, n))
	if errors.Is(err, sql.ErrNoRows) {
		return Message{}, store.ErrNotFound
	}
	if err != nil {
		return Message{}, fmt.Errorf("dev inbox message %d: %w", n, err)
	}
	return m, nil
}

func scanMessage(row interface{ Scan(...any) error }) (Message, error) {
	var (
		n            int
		received, to string
		env          Envelope
		raw          []byte
	)
	if err := row.Scan(&n, &received, &env.From, &to, &raw); err != nil {
		return Message{}, err
	}
	m := ParseMessage(raw)
	m.N = n
	if to != "" {
		env.To = strings.Split(to, "\n")
	}
	m.Envelope = env
	t, err := time.ParseInLocation(timeLayout, received, time.UTC)
	if err != nil {
		return Message{}, fmt.Errorf("received at %q: %w", received, err)
	}
	m.Received = t
	return m, nil
}

// Changed returns a channel closed when this inbox next catches a message,
// so a caller (a test, say) can wait for mail without polling. Mail other
// instances' inboxes catch does not close it.
func (d *Inbox) Changed() <-chan struct{} {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.changed
}

// add keeps a caught message, dropping the oldest beyond capacity.
func (d *Inbox) add(ctx context.Context, env Envelope, raw []byte) error {
	var n int64
	err := d.db.Write.QueryRowContext(ctx, `INSERT INTO dev_mail (received_at, envelope_from, envelope_to, raw)
		VALUES ($1, $2, $3, $4) RETURNING id`,
		time.Now().UTC().Format(timeLayout), env.From, strings.Join(env.To, "\n"), raw).Scan(&n)
	if err != nil {
		return fmt.Errorf("dev inbox: keep message: %w", err)
	}
	if _, err := d.db.Write.ExecContext(ctx, `DELETE FROM dev_mail WHERE id <= $1 AND id NOT IN
		(SELECT id FROM dev_mail ORDER BY id DESC LIMIT $2)`, n, d.capacity); err != nil {
		d.log.Warn("mail: dev inbox: drop old messages", "err", err)
	}
	d.mu.Lock()
	close(d.changed)
	d.changed = make(chan struct{})
	d.mu.Unlock()
	m := ParseMessage(raw)
	d.log.Info("mail: dev inbox caught a message", "n", n, "to", strings.Join(m.To, ", "), "subject", m.Subject)
	return nil
}

type devSession struct {
	inbox *Inbox
	env   Envelope
}

func (s *devSession) Mail(from string, _ *smtp.MailOptions) error {
	s.env.From = from
	return nil
}

func (s *devSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.env.To = append(s.env.To, to)
	return nil
}

func (s *devSession) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if err := s.inbox.add(context.Background(), s.env, raw); err != nil {
		s.inbox.log.Error("mail: dev inbox", "err", err)
		// Temporary: the sender keeps the message and tries again.
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "could not keep the message; try again later"}
	}
	return nil
}

func (s *devSession) Reset()        { s.env = Envelope{} }
func (s *devSession) Logout() error { return nil }

// ParseMessage reads a message's headers and its text and HTML parts. What
// cannot be parsed is described in ParseErr; Raw always holds the input.
func ParseMessage(raw []byte) Message {
	m := Message{Raw: raw}
	msg, err := netmail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		m.ParseErr = err.Error()
		m.Text = string(raw)
		return m
	}
	dec := new(mime.WordDecoder)
	header := func(name string) string {
		v := msg.Header.Get(name)
		if d, err := dec.DecodeHeader(v); err == nil {
			return d
		}
		return v
	}
	m.From = header("From")
	if list, err := msg.Header.AddressList("To"); err == nil {
		for _, a := range list {
			m.To = append(m.To, a.String())
		}
	} else if to := header("To"); to != "" {
		m.To = []string{to}
	}
	m.Subject = header("Subject")
	m.MessageID = strings.Trim(msg.Header.Get("Message-ID"), "<> ")
	if t, err := msg.Header.Date(); err == nil {
		m.Date = t
	}
	if err := collectParts(&m, mailHeader(msg.Header), msg.Body, 0); err != nil {
		m.ParseErr = err.Error()
	}
	return m
}

// mailHeader adapts a mail header to the part-header interface.
type mailHeader netmail.Header

func (h mailHeader) Get(k string) string { return netmail.Header(h).Get(k) }

type partHeader interface{ Get(string) string }

// collectParts walks the MIME tree, keeping the first text/plain and first
// text/html part.
func collectParts(m *Message, h partHeader, body io.Reader, depth int) error {
	if depth > 10 {
		return errors.New("MIME parts nested too deeply")
	}
	ctype := h.Get("Content-Type")
	if ctype == "" {
		ctype = "text/plain"
	}
	mediaType, params, err := mime.ParseMediaType(ctype)
	if err != nil {
		return fmt.Errorf("content type %q: %w", ctype, err)
	}
	if strings.HasPrefix(mediaType, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			// NextRawPart: decoding is done below, the same way for
			// single-part messages.
			p, err := mr.NextRawPart()
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				return fmt.Errorf("%s: %w", mediaType, err)
			}
			if err := collectParts(m, p.Header, p, depth+1); err != nil {
				return err
			}
		}
	}
	if mediaType != "text/plain" && mediaType != "text/html" {
		return nil
	}
	var r io.Reader = body
	switch strings.ToLower(strings.TrimSpace(h.Get("Content-Transfer-Encoding"))) {
	case "quoted-printable":
		r = quotedprintable.NewReader(body)
	case "base64":
		r = base64.NewDecoder(base64.StdEncoding, newlineStripper{body})
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return fmt.Errorf("%s part: %w", mediaType, err)
	}
	// Shelf sends UTF-8; other charsets are shown as they are.
	text := strings.ToValidUTF8(string(b), "\uFFFD")
	if mediaType == "text/plain" && m.Text == "" {
		m.Text = text
	} else if mediaType == "text/html" && m.HTML == "" {
		m.HTML = text
	}
	return nil
}

// newlineStripper drops CR and LF so base64 lines decode as one stream.
type newlineStripper struct{ r io.Reader }

func (n newlineStripper) Read(p []byte) (int, error) {
	for {
		c, err := n.r.Read(p)
		j := 0
		for _, b := range p[:c] {
			if b != '\r' && b != '\n' {
				p[j] = b
				j++
			}
		}
		if j > 0 || err != nil {
			return j, err
		}
	}
}

// slogPrinter routes go-smtp's server log to slog.
type slogPrinter struct{ log *slog.Logger }

func (p slogPrinter) Printf(format string, v ...any) {
	p.log.Warn("mail: dev inbox: " + fmt.Sprintf(format, v...))
}

func (p slogPrinter) Println(v ...any) {
	p.log.Warn("mail: dev inbox: " + strings.TrimSuffix(fmt.Sprintln(v...), "\n"))
}
