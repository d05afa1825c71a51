package outbox

import (
	"context"
	cryptorand "crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	netmail "net/mail"
	"os"
	"sync"
	"time"

	gomail "github.com/wneessen/go-mail"
	"github.com/wneessen/go-mail/smtp"
)

// SenderOptions tune a Sender. Zero fields take the defaults shown.
type SenderOptions struct {
	BatchSize    int           // messages claimed and sent over one SMTP connection (100)
	PollInterval time.Duration // how often to look for due mail without a Notify (1s)
	BaseBackoff  time.Duration // wait after the first temporary failure; doubles each time (5s)
	MaxBackoff   time.Duration // longest wait between attempts (15m)
	MaxAttempts  int           // attempts before a message fails for good (20)
	MaxAge       time.Duration // age after which a message that still fails fails for good (72h)
	// Lease is how long this sender's claims hold after its last
	// heartbeat. It renews the heartbeat every Lease/5 while it runs, so a
	// live sender keeps its claims however long a send takes; the claims
	// of one that died are due again, for any sender, within Lease (10s).
	Lease   time.Duration
	Timeout time.Duration // SMTP dial and per-command timeout (15s)
	// KeepSent is how long sent rows are kept (for counts) before being
	// purged (30 days).
	KeepSent time.Duration
	Logger   *slog.Logger // nil discards
}

func (o SenderOptions) withDefaults() SenderOptions {
	def := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 100
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 20
	}
	def(&o.PollInterval, time.Second)
	def(&o.BaseBackoff, 5*time.Second)
	def(&o.MaxBackoff, 15*time.Minute)
	def(&o.MaxAge, 72*time.Hour)
	def(&o.Lease, 10*time.Second)
	def(&o.Timeout, 15*time.Second)
	def(&o.KeepSent, 30*24*time.Hour)
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// Sender delivers due outbox messages in the background. Start it once,
// call Notify after committing a transaction that enqueued mail, and Stop
// it on shutdown. Delivery is at least once: a message is marked sent only
// after the SMTP server accepted it, so a crash between the two sends it
// again (with the same Message-ID). Several senders may share an outbox.
type Sender struct {
	id     string // names this sender's heartbeat and claims in the outbox
	queue  *Queue
	client *gomail.Client
	from   *netmail.Address
	opt    SenderOptions
	log    *slog.Logger

	wake      chan struct{} // buffered(1): a pending Notify
	quit      chan struct{} // closed by Stop
	done      chan struct{} // closed when the loop has returned
	startOnce sync.Once
	stopOnce  sync.Once

	lastPurge time.Time
	// unrecorded: a batch ended on a database error, so some of this
	// sender's claims may still stand in the outbox (see ReleaseClaims).
	// Only the loop's goroutine uses it.
	unrecorded bool
}

// NewSender returns a sender that delivers outbox messages to the SMTP
// server described by smtp, from the address from.
func NewSender(queue *Queue, smtp SMTPConfig, from *netmail.Address, opt SenderOptions) (*Sender, error) {
	if from == nil {
		return nil, errors.New("mail: no From address")
	}
	opt = opt.withDefaults()
	client, err := newClient(smtp, opt.Timeout)
	if err != nil {
		return nil, err
	}
	return &Sender{
		id:     newSenderID(),
		queue:  queue,
		client: client,
		from:   from,
		opt:    opt,
		log:    opt.Logger,
		wake:   make(chan struct{}, 1),
		quit:   make(chan struct{}),
		done:   make(chan struct{}),
	}, nil
}

func newClient(c SMTPConfig, timeout time.Duration) (*gomail.Client, error) {
	opts := []gomail.Option{
		gomail.WithPort(c.Port),
		gomail.WithTimeout(timeout),
		// One message per SendWithSMTPClient call: skip the NOOP before
		// each call and the RSET after each accepted message (the SMTP
		// transaction is over once DATA is accepted). Each saves a round
		// trip per message.
		gomail.WithoutNoop(),
		gomail.WithoutRset(),
	}
	switch {
	case c.ImplicitTLS:
		opts = append(opts, gomail.WithSSL())
	case c.NoTLS:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	default:
		// Never fall back to cleartext: mail carries live sign-in links,
		// and a man in the middle can hide the server's STARTTLS offer.
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	}
	if c.TLSConfig != nil {
		opts = append(opts, gomail.WithTLSConfig(c.TLSConfig))
	}
	if c.Username != "" {
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover),
			gomail.WithUsername(c.Username), gomail.WithPassword(c.Password))
	}
	client, err := gomail.NewClient(c.Host, opts...)
	if err != nil {
		return nil, fmt.Errorf("mail: smtp client for %s: %w", c, err)
	}
	return client, nil
}

// Start runs the delivery loop in the background. It first delivers
// whatever is already due, such as mail left over from before a restart.
func (s *Sender) Start() {
	s.startOnce.Do(func() {
		go s.loop()
	})
}

// Notify wakes the sender to deliver newly enqueued mail now rather than
// at the next poll. It never blocks and is safe from any goroutine, also
// before Start and after Stop.
func (s *Sender) Notify() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Stop asks the sender to finish the message it is sending and return.
// Messages claimed but not yet tried are handed back to the outbox. It
// waits until the sender has stopped or ctx ends.
func (s *Sender) Stop(ctx context.Context) error {
	s.stopOnce.Do(func() { close(s.quit) })
	s.startOnce.Do(func() { close(s.done) }) // never started: nothing to wait for
	select {
	case <-s.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("mail: stop sender: %w", ctx.Err())
	}
}

func (s *Sender) stopping() bool {
	select {
	case <-s.quit:
		return true
	default:
		return false
	}
}

func (s *Sender) loop() {
	defer close(s.done)
	stopHeartbeat := s.keepAlive()
	defer func() {
		stopHeartbeat()
		// Every claim was resolved or released: nothing is left to hold.
		if err := s.queue.Leave(context.Background(), s.id); err != nil {
			s.log.Warn("mail: leave outbox", "err", err)
		}
	}()
	poll := time.NewTicker(s.opt.PollInterval)
	defer poll.Stop()
	for {
		s.drain()
		select {
		case <-s.quit:
			return
		case <-s.wake:
		case <-poll.C:
		}
	}
}

// keepAlive renews this sender's heartbeat now and every Lease/5 until the
// returned function is called, so its claims hold while it runs.
func (s *Sender) keepAlive() (stop func()) {
	s.heartbeat()
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(max(s.opt.Lease/5, time.Millisecond))
		defer tick.Stop()
		for {
			select {
			case <-quit:
				return
			case <-tick.C:
				s.heartbeat()
			}
		}
	}()
	return func() { close(quit); <-done }
}

func (s *Sender) heartbeat() {
	if err := s.queue.Heartbeat(context.Background(), s.id, time.Now(), s.opt.Lease); err != nil {
		s.log.Warn("mail: heartbeat not renewed; other senders may take this one's claims", "err", err)
	}
}

// newSenderID names a sender uniquely; the host and process id help an
// operator reading the outbox tell senders apart.
func newSenderID() string {
	host, _ := os.Hostname()
	var b [6]byte
	_, _ = cryptorand.Read(b[:])
	return fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b[:]))
}

// drain delivers batches until nothing is due or the sender is stopping.
func (s *Sender) drain() {
	// Database work uses its own context: an outcome must be recorded even
	// while shutting down.
	ctx := context.Background()
	if s.unrecorded {
		if err := s.queue.ReleaseClaims(ctx, s.id); err != nil {
			s.log.Error("mail: outbox", "err", err)
			return
		}
		s.unrecorded = false
	}
	var sent, retried, failed int
	for !s.stopping() {
		st, err := s.deliverBatch(ctx)
		sent, retried, failed = sent+st.sent, retried+st.retried, failed+st.failed
		if err != nil {
			// Some claim may not have been resolved in the database.
			s.unrecorded = true
			s.log.Error("mail: outbox", "err", err)
			break
		}
		if st.claimed == 0 || st.unreachable {
			break
		}
	}
	if sent+retried+failed > 0 {
		s.log.Info("mail: delivered", "sent", sent, "retrying", retried, "failed", failed)
	}
	s.purge(ctx)
}

func (s *Sender) purge(ctx context.Context) {
	if time.Since(s.lastPurge) < time.Hour {
		return
	}
	s.lastPurge = time.Now()
	if n, err := s.queue.PurgeSent(ctx, time.Now().Add(-s.opt.KeepSent)); err != nil {
		s.log.Error("mail: purge sent", "err", err)
	} else if n > 0 {
		s.log.Info("mail: purged sent messages", "count", n)
	}
	if err := s.queue.PurgeSenders(ctx, time.Now().Add(-time.Hour)); err != nil {
		s.log.Error("mail: purge senders", "err", err)
	}
}

type batchStats struct {
	claimed, sent, retried, failed int
	unreachable                    bool // could not connect: stop draining until the next poll
}

// deliverBatch claims due messages and sends them over one connection.
func (s *Sender) deliverBatch(ctx context.Context) (st batchStats, err error) {
	rows, err := s.queue.Claim(ctx, s.id, time.Now(), s.opt.BatchSize)
	if err != nil {
		return st, err
	}
	st.claimed = len(rows)
	if len(rows) == 0 {
		return st, nil
	}

	conn, dialErr := s.client.DialToSMTPClientWithContext(ctx)
	if dialErr != nil {
		// Could not reach or talk to the server (refused, timeout, TLS,
		// authentication): every claimed message waits and tries again.
		for i, row := range rows {
			if err := s.temporary(ctx, row, fmt.Errorf("connect to smtp server: %w", dialErr)); err != nil {
				return st, errors.Join(err, s.release(ctx, rows[i+1:]))
			}
			st.retried++
		}
		st.unreachable = true
		return st, nil
	}
	defer func() {
		if cerr := s.client.CloseWithSMTPClient(conn); cerr != nil {
			s.log.Debug("mail: close smtp connection", "err", cerr)
		}
	}()

	for i, row := range rows {
		if s.stopping() {
			return st, s.release(ctx, rows[i:])
		}
		sendErr := s.send(conn, row)
		switch outcome := classify(sendErr); outcome {
		case delivered:
			// Recorded before the next message goes out, so a crash
			// repeats at most the message in flight (same Message-ID).
			err = s.queue.MarkSent(ctx, time.Now(), row.ID)
			st.sent++
			s.log.Debug("mail: sent", "id", row.ID, "to", row.To)
		case permanent:
			err = s.queue.MarkFailed(ctx, row.ID, time.Now(), sendErr.Error())
			st.failed++
			s.log.Error("mail: message refused for good", "id", row.ID, "to", row.To, "err", sendErr)
		case temporary, connectionLost:
			err = s.temporary(ctx, row, sendErr)
			st.retried++
			if err == nil && outcome == connectionLost {
				// The connection is gone: hand the rest back untried, so
				// the next batch reconnects.
				return st, s.release(ctx, rows[i+1:])
			}
		}
		if err != nil {
			return st, errors.Join(err, s.release(ctx, rows[i+1:]))
		}
	}
	return st, nil
}

func (s *Sender) send(conn smtpConn, row Message) error {
	msg, err := buildMessage(s.from, row)
	if err != nil {
		return err
	}
	return s.client.SendWithSMTPClient(conn, msg)
}

// temporary records a temporary failure: retry after a backoff, or give up
// once the message has been tried too often or for too long.
func (s *Sender) temporary(ctx context.Context, row Message, cause error) error {
	now := time.Now()
	if row.Attempts >= s.opt.MaxAttempts || now.Sub(row.CreatedAt) >= s.opt.MaxAge {
		s.log.Error("mail: giving up", "id", row.ID, "to", row.To, "attempts", row.Attempts, "err", cause)
		return s.queue.MarkFailed(ctx, row.ID, now,
			fmt.Sprintf(gaveUp+"%d attempts: %v", row.Attempts, cause))
	}
	wait := Backoff(row.Attempts, s.opt.BaseBackoff, s.opt.MaxBackoff)
	s.log.Warn("mail: will retry", "id", row.ID, "to", row.To, "attempt", row.Attempts, "in", wait.Round(time.Millisecond), "err", cause)
	return s.queue.Postpone(ctx, row.ID, now.Add(wait), cause.Error())
}

func (s *Sender) release(ctx context.Context, rows []Message) error {
	ids := make([]int64, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	return s.queue.Release(ctx, ids, time.Now())
}

// Backoff is the wait after the given number of failed attempts: base,
// doubled per further attempt, capped at limit, then spread by ±20% so
// messages that failed together do not retry in lockstep.
func Backoff(attempts int, base, limit time.Duration) time.Duration {
	d := base
	for i := 1; i < attempts && d < limit; i++ {
		d *= 2
	}
	d = min(d, limit)
	jitter := 0.8 + 0.4*rand.Float64()
	return time.Duration(float64(d) * jitter)
}

// smtpConn is one open SMTP connection.
type smtpConn = *smtp.Client

type outcome int

const (
	delivered      outcome = iota
	temporary              // try again later (4xx)
	connectionLost         // try again later, on a new connection (421, I/O error)
	permanent              // never (5xx, malformed message)
)

// classify decides what a send error means for the message.
func classify(err error) outcome {
	if err == nil {
		return delivered
	}
	var invalid invalidMessageError
	if errors.As(err, &invalid) {
		return permanent
	}
	var se *gomail.SendError
	if !errors.As(err, &se) {
		return connectionLost
	}
	switch code := se.ErrorCode(); {
	case code == 421: // service closing the channel
		return connectionLost
	case code == 530 || code == 534 || code == 535:
		// Authentication required or refused: Shelf's configuration is
		// wrong, not the message. Keep it until an operator fixes it.
		return temporary
	case code >= 400 && code < 500:
		return temporary
	case code >= 500 && code < 600:
		return permanent
	}
	// No SMTP reply code: the message itself is unusable, or the
	// connection failed mid-conversation.
	switch se.Reason {
	case gomail.ErrGetSender, gomail.ErrGetRcpts, gomail.ErrNoUnencoded:
		return permanent
	}
	return connectionLost
}
