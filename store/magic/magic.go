// Package magic keeps sign-in by email: requests, recorded the same way for
// every address and handled off the request path, and the sign-ins they
// issue, each a link token and a code mailed together. Both are single use,
// expire after TTL, are stored only as hashes, and are voided by a newer
// request for the address, or when every session of the account ends
// (VoidUser). The code works only in the browser that asked
// (its binding secret, which the database holds only hashed, is part of the
// code's hash) and allows MaxFailures wrong tries in all.
package magic

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"

	"shelf/store"
	"shelf/store/accounts"
	"shelf/store/outbox"
	"shelf/store/security"
)

const (
	// TTL is how long a link and its code work.
	TTL = 15 * time.Minute
	// MaxFailures wrong codes void a request.
	MaxFailures = 5
	// NoticeInterval is the least time between two mails telling an
	// address without an account that it has none.
	NoticeInterval = 24 * time.Hour
)

// Why a sign-in was refused.
var (
	ErrUnknown   = errors.New("magic: no such sign-in") // never issued, or malformed
	ErrExpired   = errors.New("magic: sign-in expired")
	ErrUsed      = errors.New("magic: sign-in already used")
	ErrVoided    = errors.New("magic: sign-in voided (a newer request, or the account signed out everywhere)")
	ErrTooMany   = errors.New("magic: too many wrong codes")
	ErrWrongCode = errors.New("magic: wrong code")
)

// Mails renders the two mails of sign-in by email.
type Mails interface {
	// SignIn carries the link token and the code, valid for ttl.
	SignIn(ctx context.Context, to, token, code string, ttl time.Duration) (outbox.Mail, error)
	// NoAccount tells an address that it has no account here.
	NoAccount(ctx context.Context, to string) (outbox.Mail, error)
}

// Store keeps requests and sign-ins in db.
type Store struct {
	db       *store.DB
	mails    Mails
	notifier interface{ Notify() } // may be nil
}

// New returns the sign-ins kept in db, mailed with mails; notifier (may be
// nil) is told when mail has been enqueued.
func New(db *store.DB, mails Mails, notifier interface{ Notify() }) *Store {
	return &Store{db: db, mails: mails, notifier: notifier}
}

const timeLayout = "2006-01-02 15:04:05.000"

func ts(t time.Time) string { return t.UTC().Format(timeLayout) }

// NewBinding returns a browser's binding secret, for its cookie, and what
// is stored of it. The code is tied to it.
func NewBinding() (secret string, hash []byte, err error) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", nil, err
	}
	secret = base64.RawURLEncoding.EncodeToString(raw)
	return secret, BindingHash(secret), nil
}

// BindingHash is what is stored of a binding secret.
func BindingHash(secret string) []byte {
	h := sha256.Sum256([]byte("shelf magic binding\x00" + secret))
	return h[:]
}

// addressHash keys an address: no address without an account is kept in
// clear beyond its request.
func addressHash(email string) []byte {
	h := sha256.Sum256([]byte(store.CaseFold(email)))
	return h[:]
}

// Record stores a request from the browser whose binding hash is browser,
// for a normalised address. It is the only work the request itself does,
// the same for every address, so its timing says nothing about whether the
// address has an account; HandleRequests issues the sign-in.
func (s *Store) Record(ctx context.Context, email string, browser []byte, now time.Time) error {
	if _, err := s.db.Write.ExecContext(ctx, `INSERT INTO magic_requests (email, browser, requested_at) VALUES ($1, $2, $3)`,
		email, browser, ts(now)); err != nil {
		return fmt.Errorf("record sign-in request: %w", err)
	}
	return nil
}

// HandleRequests handles every recorded request, oldest first, each in a
// transaction with the sign-in it issues and the mail it enqueues. Every
// request voids the address's earlier sign-ins and issues a new one; only
// an address with an account is mailed it. An address without one is told
// so, at most once per NoticeInterval.
func (s *Store) HandleRequests(ctx context.Context, now func() time.Time) error {
	if err := s.sweep(ctx, now()); err != nil {
		return err
	}
	for {
		var done, sent bool
		err := s.db.InTx(ctx, func(tx *sql.Tx) error {
			done, sent = false, false // a run again starts afresh
			var ok bool
			var err error
			sent, ok, err = s.handleOne(store.WithTx(ctx, tx), tx, now())
			done = !ok
			return err
		})
		if err != nil {
			return err
		}
		if sent && s.notifier != nil {
			s.notifier.Notify()
		}
		if done {
			return nil
		}
	}
}

// sweepAfter is how long sign-ins are kept after they expire (to tell
// "expired" from "unknown"), and notices after they were sent.
const sweepAfter = 24 * time.Hour

// sweep deletes sign-ins expired, and notices sent, more than sweepAfter
// (NoticeInterval) ago: they say nothing any more.
func (s *Store) sweep(ctx context.Context, now time.Time) error {
	if _, err := s.db.Write.ExecContext(ctx, `DELETE FROM magic_tokens WHERE expires_at < $1`, ts(now.Add(-sweepAfter))); err != nil {
		return fmt.Errorf("sweep sign-ins: %w", err)
	}
	if _, err := s.db.Write.ExecContext(ctx, `DELETE FROM magic_notices WHERE sent_at < $1`, ts(now.Add(-NoticeInterval))); err != nil {
		return fmt.Errorf("sweep notices: %w", err)
	}
	return nil
}

func (s *Store) handleOne(ctx context.Context, tx *sql.Tx, now time.Time) (sent, ok bool, err error) {
	var id int64
	var email string
	var browser []byte
	err = tx.QueryRowContext(ctx, `SELECT id, email, browser FROM magic_requests ORDER BY id LIMIT 1`).Scan(&id, &email, &browser)
	if errors.Is(err, sql.ErrNoRows) {
		return false, false, nil
	}
	if err != nil {
		return false, false, fmt.Errorf("take sign-in request: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM magic_requests WHERE id = $1`, id); err != nil {
		return false, true, fmt.Errorf("take sign-in request: %w", err)
	}
	var userID sql.NullInt64
	u, err := accounts.UserByEmailTx(ctx, tx, email)
	switch {
	case err == nil:
		userID = sql.NullInt64{Int64: u.ID, Valid: true}
	case !errors.Is(err, store.ErrNotFound):
		return false, true, err
	}
	token, code, err := issue(ctx, tx, email, userID, browser, now)
	if err != nil {
		return false, true, err
	}
	if userID.Valid {
		m, err := s.mails.SignIn(ctx, u.Email, token, code, TTL)
		if err != nil {
			return false, true, err
		}
		_, err = outbox.Enqueue(ctx, tx, m)
		return true, true, err
	}
	claimed, err := claimNotice(ctx, tx, email, now)
	if err != nil || !claimed {
		return false, true, err
	}
	m, err := s.mails.NoAccount(ctx, email)
	if err != nil {
		return false, true, err
	}
	_, err = outbox.Enqueue(ctx, tx, m)
	return true, true, err
}

// issue voids the address's open sign-ins and stores a new one, for
// userID or, when it is null, for no account (it can then never sign in:
// neither its link nor its code leaves the server).
func issue(ctx context.Context, tx *sql.Tx, email string, userID sql.NullInt64, browser []byte, now time.Time) (token, code string, err error) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", "", err
	}
	token = base64.RawURLEncoding.EncodeToString(raw)
	if code, err = NewCode(); err != nil {
		return "", "", err
	}
	addr := addressHash(email)
	if _, err := tx.ExecContext(ctx, `UPDATE magic_tokens SET voided_at = $1
		WHERE address = $2 AND used_at IS NULL AND voided_at IS NULL`, ts(now), addr); err != nil {
		return "", "", fmt.Errorf("void sign-ins: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO magic_tokens (link, browser, address, user_id, code, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, linkHash(token), browser, addr, userID, codeHash(browser, code), ts(now), ts(now.Add(TTL))); err != nil {
		return "", "", fmt.Errorf("issue sign-in: %w", err)
	}
	return token, code, nil
}

// claimNotice reports whether the address may be told now that it has no
// account, and records it when so.
func claimNotice(ctx context.Context, tx *sql.Tx, email string, now time.Time) (bool, error) {
	res, err := tx.ExecContext(ctx, `INSERT INTO magic_notices (address, sent_at) VALUES ($1, $2)
		ON CONFLICT (address) DO UPDATE SET sent_at = excluded.sent_at WHERE magic_notices.sent_at <= $3`,
		addressHash(email), ts(now), ts(now.Add(-NoticeInterval)))
	if err != nil {
		return false, fmt.Errorf("claim no-account notice: %w", err)
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// codeAlphabet has no characters people mistake for others (0/O, 1/I/L,
// U/V): 29 symbols, about 39 bits in 8 of them.
const codeAlphabet = "23456789ABCDEFGHJKMNPQRSTWXYZ"

// NewCode returns a random code, XXXX-XXXX.
func NewCode() (string, error) {
	var b strings.Builder
	n := big.NewInt(int64(len(codeAlphabet)))
	for i := range 8 {
		if i == 4 {
			b.WriteByte('-')
		}
		k, err := rand.Int(rand.Reader, n)
		if err != nil {
			return "", err
		}
		b.WriteByte(codeAlphabet[k.Int64()])
	}
	return b.String(), nil
}

// NormalizeCode is a typed code as issued: upper case, without spaces or
// dashes, the dash put back.
func NormalizeCode(typed string) string {
	var b strings.Builder
	for _, r := range strings.ToUpper(typed) {
		if r == ' ' || r == '-' || r == '\t' {
			continue
		}
		b.WriteRune(r)
	}
	s := b.String()
	if len(s) != 8 {
		return s
	}
	return s[:4] + "-" + s[4:]
}

func linkHash(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// codeHash ties the code to the browser's binding: a code read from the
// database is no use without the cookie whose hash is stored beside it.
func codeHash(browser []byte, code string) []byte {
	h := sha256.New()
	h.Write([]byte("shelf magic code\x00"))
	h.Write(browser)
	h.Write([]byte(NormalizeCode(code)))
	return h.Sum(nil)
}

// sign-in row, as read for use.
type row struct {
	link      []byte
	userID    sql.NullInt64
	code      []byte
	failures  int
	expires   string
	used      sql.NullString
	voided    sql.NullString
	createdAt string
}

func (r row) usable(now time.Time) error {
	switch {
	case r.used.Valid:
		return ErrUsed
	case r.failures >= MaxFailures:
		return ErrTooMany
	case r.voided.Valid:
		return ErrVoided
	case ts(now) >= r.expires:
		return ErrExpired
	case !r.userID.Valid:
		return ErrUnknown
	}
	return nil
}

const rowColumns = `link, user_id, code, failures, expires_at, used_at, voided_at, created_at`

func scanRow(s interface{ Scan(...any) error }) (row, error) {
	var r row
	err := s.Scan(&r.link, &r.userID, &r.code, &r.failures, &r.expires, &r.used, &r.voided, &r.createdAt)
	if errors.Is(err, sql.ErrNoRows) {
		return row{}, ErrUnknown
	}
	return r, err
}

type queryRower interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func byLink(ctx context.Context, q queryRower, token string) (row, error) {
	if len(token) != 43 {
		return row{}, ErrUnknown
	}
	return scanRow(q.QueryRowContext(ctx, `SELECT `+rowColumns+` FROM magic_tokens WHERE link = $1`, linkHash(token)))
}

// VoidUser voids the open sign-ins (link and code) of account userID, in
// the transaction ctx carries if any, and returns how many it voided. An
// unused sign-in starts a session whenever it is used: when every session
// of an account ends, so must they.
func (s *Store) VoidUser(ctx context.Context, userID int64, now time.Time) (int64, error) {
	res, err := s.db.Writer(ctx).ExecContext(ctx, `UPDATE magic_tokens SET voided_at = $1
		WHERE user_id = $2 AND used_at IS NULL AND voided_at IS NULL`, ts(now), userID)
	if err != nil {
		return 0, fmt.Errorf("void sign-ins: %w", err)
	}
	return res.RowsAffected()
}

// CheckLink returns the account a link would sign in to now, without using
// it (the page behind the link calls it, so mail scanners use up nothing).
func (s *Store) CheckLink(ctx context.Context, token string, now time.Time) (int64, error) {
	r, err := byLink(ctx, s.db.Read, token)
	if err != nil {
		return 0, err
	}
	return r.userID.Int64, r.usable(now)
}

// UseLink uses a link: it confirms the account's address (the link came by
// mail) and runs save, last, in the same transaction. signedUp is the
// account the browser using the link signed up for, or 0 (see use).
func (s *Store) UseLink(ctx context.Context, token string, now time.Time, save accounts.SaveSession, signedUp int64) (accounts.User, error) {
	var u accounts.User
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		r, err := byLink(ctx, tx, token)
		if err != nil {
			return err
		}
		if err := r.usable(now); err != nil {
			return err
		}
		u, err = use(ctx, tx, r, now, save, signedUp)
		return err
	})
	return u, err
}

// UseCode uses the code of the newest sign-in issued to the browser whose
// binding hash is browser. A wrong code is counted (ErrWrongCode, with the
// tries left); the MaxFailures-th voids the sign-in, its link too.
// signedUp is as for UseLink.
func (s *Store) UseCode(ctx context.Context, browser []byte, code string, now time.Time, save accounts.SaveSession, signedUp int64) (u accounts.User, left int, err error) {
	wrong := false
	err = s.db.InTx(ctx, func(tx *sql.Tx) error {
		wrong, left, u = false, 0, accounts.User{}
		r, err := scanRow(tx.QueryRowContext(ctx, `SELECT `+rowColumns+` FROM magic_tokens WHERE browser = $1
			ORDER BY created_at DESC LIMIT 1`, browser))
		if err != nil {
			return err
		}
		if r.used.Valid || r.voided.Valid || ts(now) >= r.expires {
			return r.usable(now)
		}
		if subtle.ConstantTimeCompare(r.code, codeHash(browser, code)) != 1 || !r.userID.Valid {
			// An address without an account counts wrong codes alike.
			wrong, left = true, MaxFailures-r.failures-1
			var voided any
			if left <= 0 {
				voided = ts(now)
			}
			_, err := tx.ExecContext(ctx, `UPDATE magic_tokens SET failures = failures + 1, voided_at = $1 WHERE link = $2`, voided, r.link)
			return err
		}
		u, err = use(ctx, tx, r, now, save, signedUp)
		return err
	})
	if err == nil && wrong {
		if left <= 0 {
			return accounts.User{}, 0, ErrTooMany
		}
		return accounts.User{}, left, ErrWrongCode
	}
	return u, left, err
}

// use uses a sign-in and confirms its account's address. An account it
// confirms was signed up for by someone who never proved the mailbox: the
// password they chose does not sign in until the owner resets it, unless
// the browser signing in now is the one that signed up (signedUp), which
// chose it.
func use(ctx context.Context, tx *sql.Tx, r row, now time.Time, save accounts.SaveSession, signedUp int64) (accounts.User, error) {
	res, err := tx.ExecContext(ctx, `UPDATE magic_tokens SET used_at = $1 WHERE link = $2 AND used_at IS NULL AND voided_at IS NULL`, ts(now), r.link)
	if err != nil {
		return accounts.User{}, fmt.Errorf("use sign-in: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return accounts.User{}, errors.Join(err, ErrUsed)
	}
	confirmed, err := accounts.ConfirmUser(ctx, tx, r.userID.Int64, now)
	if err != nil {
		return accounts.User{}, err
	}
	if confirmed && r.userID.Int64 != signedUp {
		if err := security.BlockPassword(ctx, tx, r.userID.Int64, now); err != nil {
			return accounts.User{}, err
		}
	}
	u, err := accounts.UserByIDTx(ctx, tx, r.userID.Int64)
	if err != nil {
		return accounts.User{}, err
	}
	if save != nil {
		if err := save(store.WithTx(ctx, tx), u); err != nil {
			return accounts.User{}, err
		}
	}
	return u, nil
}
