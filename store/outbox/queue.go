package outbox

import (
	"cmp"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"shelf/store"
)

// Mail is one message to send.
type Mail struct {
	To      string
	Subject string
	Text    string
	HTML    string
}

// Enqueue writes m to the outbox inside tx, so it is sent if and only if
// tx commits. It returns the outbox row id.
func Enqueue(ctx context.Context, tx *sql.Tx, m Mail) (int64, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return 0, err
	}
	var id int64
	err := tx.QueryRowContext(ctx, `INSERT INTO outbox (message_id, recipient, subject, text_body, html_body) VALUES ($1, $2, $3, $4, $5)
		RETURNING id`, hex.EncodeToString(b[:]), m.To, m.Subject, m.Text, m.HTML).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("enqueue mail: %w", err)
	}
	return id, nil
}

// sqlTimeLayout is how every outbox time is stored: the text strftime's %f
// produces, in UTC, so that stored times and parameters compare as text.
// (Passing a time.Time would be written with a "+00:00" suffix, which does
// not compare correctly with strftime's output.)
const sqlTimeLayout = "2006-01-02 15:04:05.000"

// sqlTime formats t the way the outbox stores times.
func sqlTime(t time.Time) string { return t.UTC().Format(sqlTimeLayout) }

func parseSQLTime(s string) (time.Time, error) {
	t, err := time.ParseInLocation(sqlTimeLayout, s, time.UTC)
	if err != nil {
		return time.Time{}, fmt.Errorf("outbox time %q: %w", s, err)
	}
	return t, nil
}

// Message is one outbox row.
type Message struct {
	ID        int64
	MessageID string // stable across attempts: the Message-ID header is built from it
	Mail
	CreatedAt     time.Time
	Attempts      int // delivery attempts started, including the current one
	NextAttemptAt time.Time
	SentAt        time.Time // zero until sent
	FailedAt      time.Time // zero unless failed permanently
	LastError     string
}

// Counts summarises the outbox for the admin page.
type Counts struct {
	Pending  int64 // waiting to be sent, including those waiting to be retried
	Retrying int64 // pending messages that have failed at least once
	Sent     int64
	Failed   int64
	// OldestPending is when the oldest pending message was queued; zero
	// when nothing is pending.
	OldestPending time.Time
}

// Queue is the durable queue of mail. Enqueue adds to it inside the
// caller's transaction; a sender claims due messages and records outcomes.
// Several senders, in one process or several, may share it: each keeps its
// claims by renewing a heartbeat (Heartbeat), and the claims of one that
// stops renewing are due again once its lease lapses.
type Queue struct {
	db *store.DB
}

// NewQueue returns the outbox over db.
func NewQueue(db *store.DB) *Queue { return &Queue{db: db} }

const outboxColumns = `id, message_id, recipient, subject, text_body, html_body, created_at, attempts,
	next_attempt_at, coalesce(sent_at, ''), coalesce(failed_at, ''), last_error`

func scanOutbox(row interface{ Scan(...any) error }) (Message, error) {
	var (
		m                             Message
		created, next, sent, failedAt string
	)
	if err := row.Scan(&m.ID, &m.MessageID, &m.To, &m.Subject, &m.Text, &m.HTML, &created, &m.Attempts,
		&next, &sent, &failedAt, &m.LastError); err != nil {
		return m, err
	}
	var errs []error
	var err error
	m.CreatedAt, err = parseSQLTime(created)
	errs = append(errs, err)
	m.NextAttemptAt, err = parseSQLTime(next)
	errs = append(errs, err)
	if sent != "" {
		m.SentAt, err = parseSQLTime(sent)
		errs = append(errs, err)
	}
	if failedAt != "" {
		m.FailedAt, err = parseSQLTime(failedAt)
		errs = append(errs, err)
	}
	return m, errors.Join(errs...)
}

// Claim takes up to limit messages due at now for sender, oldest first. A
// message is due when it is neither sent nor failed, its next_attempt_at
// has come, and no live sender holds it: unclaimed, or claimed by a sender
// whose heartbeat lapsed (see Heartbeat). Each claimed message has its
// attempts counted and names sender as its holder. The caller then records
// the outcome with MarkSent, Postpone, MarkFailed or Release.
//
// Senders on several instances may claim at once. SQLite has one writer at
// a time. On PostgreSQL the rows are chosen and locked with FOR UPDATE SKIP
// LOCKED: a row another claim is taking is passed over rather than waited
// for, and a row another claim took since this statement began is checked
// again once locked, and left out, since it now names a live sender.
// (Without the lock in the row-choosing query, PostgreSQL re-checks only
// the UPDATE's own condition, not the subquery's, and two instances could
// claim the same row.)
func (o *Queue) Claim(ctx context.Context, sender string, now time.Time, limit int) ([]Message, error) {
	lock := ""
	if o.db.Backend == store.Postgres {
		lock = "FOR UPDATE SKIP LOCKED"
	}
	rows, err := o.db.Write.QueryContext(ctx, `WITH due AS MATERIALIZED (
			SELECT id FROM outbox
			WHERE sent_at IS NULL AND failed_at IS NULL AND next_attempt_at <= $2
				AND (claimed_by IS NULL OR claimed_by NOT IN (SELECT id FROM mail_senders WHERE alive_until > $2))
			ORDER BY next_attempt_at, id LIMIT $3 `+lock+`)
		UPDATE outbox SET attempts = attempts + 1, claimed_by = $1
		WHERE id IN (SELECT id FROM due)
		RETURNING `+outboxColumns,
		sender, sqlTime(now), limit)
	if err != nil {
		return nil, fmt.Errorf("claim outbox: %w", err)
	}
	out, err := scanMessages(rows)
	if err != nil {
		return nil, fmt.Errorf("claim outbox: %w", err)
	}
	// RETURNING does not promise an order.
	slices.SortFunc(out, func(a, b Message) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}

// Heartbeat records that sender is alive at now and holds its claims until
// now+lease. A sender renews it well within its lease while it runs.
func (o *Queue) Heartbeat(ctx context.Context, sender string, now time.Time, lease time.Duration) error {
	_, err := o.db.Write.ExecContext(ctx, `INSERT INTO mail_senders (id, alive_until) VALUES ($1, $2)
		ON CONFLICT (id) DO UPDATE SET alive_until = excluded.alive_until`, sender, sqlTime(now.Add(lease)))
	if err != nil {
		return fmt.Errorf("mail sender heartbeat: %w", err)
	}
	return nil
}

// Leave forgets sender, which has stopped: any claim it still holds is due
// at once.
func (o *Queue) Leave(ctx context.Context, sender string) error {
	if _, err := o.db.Write.ExecContext(ctx, `DELETE FROM mail_senders WHERE id = $1`, sender); err != nil {
		return fmt.Errorf("mail sender leave: %w", err)
	}
	return nil
}

// MarkSent records that the SMTP server accepted the messages ids. The
// bodies are emptied: they hold one-time links that should not outlive
// their delivery.
//
// A sender records each message before sending the next, so this commit is
// paid once per message. On PostgreSQL it does not wait for the disk
// (synchronous_commit off, for this transaction only), the durability
// SQLite's WAL with synchronous=NORMAL gives every write: the record is
// visible at once and survives this process dying; only a crash of the
// database server within a fraction of a second can lose it, and the
// message is then sent again, with the same Message-ID.
func (o *Queue) MarkSent(ctx context.Context, now time.Time, ids ...int64) error {
	if len(ids) == 0 {
		return nil
	}
	args := []any{sqlTime(now)}
	for _, id := range ids {
		args = append(args, id)
	}
	mark := `UPDATE outbox SET sent_at = $1, last_error = '', text_body = '', html_body = '', claimed_by = NULL
		WHERE sent_at IS NULL AND id IN (` + store.Params(2, len(ids)) + `)`
	var err error
	if o.db.Backend == store.Postgres {
		err = store.InTxOn(ctx, o.db.Write, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, `SET LOCAL synchronous_commit = off`); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, mark, args...)
			return err
		})
	} else {
		_, err = o.db.Write.ExecContext(ctx, mark, args...)
	}
	if err != nil {
		return fmt.Errorf("mark mail sent: %w", err)
	}
	return nil
}

// Postpone records a temporary failure of message id and makes it due
// again at next.
func (o *Queue) Postpone(ctx context.Context, id int64, next time.Time, reason string) error {
	_, err := o.db.Write.ExecContext(ctx, `UPDATE outbox SET next_attempt_at = $1, last_error = $2, claimed_by = NULL
		WHERE id = $3 AND sent_at IS NULL AND failed_at IS NULL`, sqlTime(next), truncateError(reason), id)
	if err != nil {
		return fmt.Errorf("postpone mail %d: %w", id, err)
	}
	return nil
}

// MarkFailed records that message id will never be delivered: the server
// refused it permanently, or it kept failing for too long.
func (o *Queue) MarkFailed(ctx context.Context, id int64, now time.Time, reason string) error {
	_, err := o.db.Write.ExecContext(ctx, `UPDATE outbox SET failed_at = $1, last_error = $2, claimed_by = NULL
		WHERE id = $3 AND sent_at IS NULL AND failed_at IS NULL`, sqlTime(now), truncateError(reason), id)
	if err != nil {
		return fmt.Errorf("mark mail %d failed: %w", id, err)
	}
	return nil
}

// gaveUp starts the reason of a message that failed for good because it
// kept failing for a while (see Sender.temporary), not because the server
// refused it.
const gaveUp = "gave up after "

// sqlRefused holds for a message the mail server refused for good: failed,
// and not given up on (see gaveUp).
const sqlRefused = `failed_at IS NOT NULL AND last_error NOT LIKE '` + gaveUp + `%'`

// Newest is the id of the newest message, 0 when there is none. A message
// queued after the call has a greater id: it marks where a flow's mail
// starts, for Refused.
func (o *Queue) Newest(ctx context.Context) (int64, error) {
	var id int64
	if err := o.db.Read.QueryRowContext(ctx, `SELECT coalesce(max(id), 0) FROM outbox`).Scan(&id); err != nil {
		return 0, fmt.Errorf("newest mail: %w", err)
	}
	return id, nil
}

// Refused reports whether the mail server refused for good a message to
// the address to (in any case) queued after message after (see Newest):
// that message is known never to arrive. A message given up on after many
// temporary failures does not count: the server did not refuse it.
func (o *Queue) Refused(ctx context.Context, to string, after int64) (bool, error) {
	var n int
	err := o.db.Read.QueryRowContext(ctx, `SELECT count(*) FROM outbox
		WHERE id > $1 AND lower(recipient) = lower($2) AND `+sqlRefused,
		after, to).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("refused mail: %w", err)
	}
	return n > 0, nil
}

// LatestRefused reports whether the newest message to the address to (in
// any case) was refused for good by the mail server, as Refused counts
// refusals: the latest mail asked for to that address is known never to
// arrive. A newer message still waiting, or sent, makes it false.
func (o *Queue) LatestRefused(ctx context.Context, to string) (bool, error) {
	var n int
	err := o.db.Read.QueryRowContext(ctx, sqlLatestRefused, to).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("latest mail refused: %w", err)
	}
	return n > 0, nil
}

// sqlLatestRefused counts the newest message to $1 if it was refused, found
// through outbox_recipient (its expression must stay lower(recipient)).
const sqlLatestRefused = `SELECT count(*) FROM outbox
	WHERE id = (SELECT max(id) FROM outbox WHERE lower(recipient) = lower($1)) AND ` + sqlRefused

// Release hands back claimed messages that were not tried (the sender is
// stopping, or lost its connection first): they are due again at now and
// the claim does not count as an attempt.
func (o *Queue) Release(ctx context.Context, ids []int64, now time.Time) error {
	if len(ids) == 0 {
		return nil
	}
	args := []any{sqlTime(now)}
	for _, id := range ids {
		args = append(args, id)
	}
	_, err := o.db.Write.ExecContext(ctx, `UPDATE outbox SET next_attempt_at = $1, attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END, claimed_by = NULL
		WHERE sent_at IS NULL AND failed_at IS NULL AND id IN (`+store.Params(2, len(ids))+`)`, args...)
	if err != nil {
		return fmt.Errorf("release mail: %w", err)
	}
	return nil
}

// ReleaseClaims hands back every message sender still holds. A sender
// calls it when recording an outcome failed: those claims name a live
// sender, so neither it nor any other would claim them again while it
// runs. A message that was sent before its record failed goes out again,
// with the same Message-ID, as after a crash.
func (o *Queue) ReleaseClaims(ctx context.Context, sender string) error {
	_, err := o.db.Write.ExecContext(ctx, `UPDATE outbox SET claimed_by = NULL
		WHERE claimed_by = $1 AND sent_at IS NULL AND failed_at IS NULL`, sender)
	if err != nil {
		return fmt.Errorf("release claims of %s: %w", sender, err)
	}
	return nil
}

// Requeue gives a failed message another chance: it is due at now, with its
// attempts reset. It returns store.ErrNotFound unless id is a failed message.
func (o *Queue) Requeue(ctx context.Context, id int64, now time.Time) error {
	res, err := o.db.Write.ExecContext(ctx, `UPDATE outbox SET failed_at = NULL, attempts = 0, next_attempt_at = $1, claimed_by = NULL
		WHERE id = $2 AND failed_at IS NOT NULL`, sqlTime(now), id)
	if err != nil {
		return fmt.Errorf("requeue mail %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return store.ErrNotFound
	}
	return nil
}

// Get returns outbox message id, or store.ErrNotFound.
func (o *Queue) Get(ctx context.Context, id int64) (Message, error) {
	m, err := scanOutbox(o.db.Read.QueryRowContext(ctx, `SELECT `+outboxColumns+` FROM outbox WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Message{}, store.ErrNotFound
	}
	if err != nil {
		return Message{}, fmt.Errorf("get mail %d: %w", id, err)
	}
	return m, nil
}

// Failed lists up to limit permanently failed messages, most recent first.
func (o *Queue) Failed(ctx context.Context, limit int) ([]Message, error) {
	rows, err := o.db.Read.QueryContext(ctx, `SELECT `+outboxColumns+` FROM outbox
		WHERE failed_at IS NOT NULL ORDER BY failed_at DESC, id DESC LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("list failed mail: %w", err)
	}
	out, err := scanMessages(rows)
	if err != nil {
		return nil, fmt.Errorf("list failed mail: %w", err)
	}
	return out, nil
}

// scanMessages reads every row of rows, then closes them.
func scanMessages(rows *sql.Rows) ([]Message, error) {
	defer rows.Close()
	var out []Message
	for rows.Next() {
		m, err := scanOutbox(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// Counts returns how many messages are pending, sent and failed.
func (o *Queue) Counts(ctx context.Context) (Counts, error) {
	var (
		c      Counts
		oldest string
	)
	err := o.db.Read.QueryRowContext(ctx, `SELECT
		(SELECT count(*) FROM outbox WHERE sent_at IS NULL AND failed_at IS NULL),
		(SELECT count(*) FROM outbox WHERE sent_at IS NULL AND failed_at IS NULL AND last_error <> ''),
		(SELECT count(*) FROM outbox WHERE sent_at IS NOT NULL),
		(SELECT count(*) FROM outbox WHERE failed_at IS NOT NULL),
		(SELECT coalesce(min(created_at), '') FROM outbox WHERE sent_at IS NULL AND failed_at IS NULL)`).
		Scan(&c.Pending, &c.Retrying, &c.Sent, &c.Failed, &oldest)
	if err != nil {
		return c, fmt.Errorf("count outbox: %w", err)
	}
	if oldest != "" {
		if c.OldestPending, err = parseSQLTime(oldest); err != nil {
			return c, err
		}
	}
	return c, nil
}

// PurgeSent deletes messages sent before before and returns how many.
func (o *Queue) PurgeSent(ctx context.Context, before time.Time) (int64, error) {
	res, err := o.db.Write.ExecContext(ctx, `DELETE FROM outbox WHERE sent_at IS NOT NULL AND sent_at < $1`, sqlTime(before))
	if err != nil {
		return 0, fmt.Errorf("purge sent mail: %w", err)
	}
	return res.RowsAffected()
}

// PurgeSenders forgets senders whose lease lapsed before before: they
// stopped without leaving (they crashed). Their claims are due either way.
func (o *Queue) PurgeSenders(ctx context.Context, before time.Time) error {
	if _, err := o.db.Write.ExecContext(ctx, `DELETE FROM mail_senders WHERE alive_until < $1`, sqlTime(before)); err != nil {
		return fmt.Errorf("purge mail senders: %w", err)
	}
	return nil
}

// truncateError keeps last_error readable and bounded.
func truncateError(s string) string {
	const limit = 1000
	s = strings.ToValidUTF8(s, "?")
	if len(s) <= limit {
		return s
	}
	cut := limit
	for cut > 0 && !utf8RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }
