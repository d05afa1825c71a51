package accounts

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"shelf/store"
)

// Account errors, mapped to messages by the handlers.
var (
	// ErrDuplicateEmail means the address already belongs to an account.
	ErrDuplicateEmail = errors.New("accounts: email already registered")
	// ErrInvalidCredentials means the address is unknown or the password wrong.
	ErrInvalidCredentials = errors.New("accounts: invalid credentials")
)

// User is one account.
type User struct {
	ID          int64
	Email       string
	IsAdmin     bool
	CreatedAt   time.Time
	ConfirmedAt time.Time // zero until the address is confirmed
	// Where the sign-up came from: the client IP and a short summary of
	// its browser. Empty for accounts made by create-admin.
	CreatedIP, CreatedBrowser string
	// DevicesValidAfter is when the password was last changed: device
	// cookies issued before it are not trusted. Zero if never changed.
	DevicesValidAfter time.Time
}

// Confirmed reports whether the account's address has been confirmed.
func (u User) Confirmed() bool { return !u.ConfirmedAt.IsZero() }

// NewUser is what InsertUser writes. PasswordHash comes from Hasher.Hash.
type NewUser struct {
	Email        string
	PasswordHash string
	IsAdmin      bool
	Confirmed    bool
	// CreatedIP and CreatedBrowser record where a sign-up came from.
	CreatedIP, CreatedBrowser string
}

// timeLayout is how account times are stored: UTC, sortable, and understood
// by SQLite's date functions (the outbox uses the same shape).
const timeLayout = "2006-01-02 15:04:05.000"

func ts(t time.Time) string { return t.UTC().Format(timeLayout) }

func parseTS(s sql.NullString) time.Time {
	if !s.Valid || s.String == "" {
		return time.Time{}
	}
	t, err := time.Parse(timeLayout, s.String)
	if err != nil {
		return time.Time{}
	}
	return t
}

// InsertUser creates an account inside tx and returns its id. An address
// already taken (in any case, in any script: see store.CaseFold) gives
// ErrDuplicateEmail, also when two sign-ups race: the UNIQUE constraint on
// email_key decides. The conflict is skipped rather than raised, so tx goes
// on, on PostgreSQL too (where a refused statement ends the transaction).
func InsertUser(ctx context.Context, tx *sql.Tx, u NewUser, now time.Time) (int64, error) {
	var confirmed any
	if u.Confirmed {
		confirmed = ts(now)
	}
	var id int64
	err := tx.QueryRowContext(ctx, `INSERT INTO users (email, email_key, password_hash, is_admin, created_at, confirmed_at, created_ip, created_browser)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING RETURNING id`,
		u.Email, store.CaseFold(u.Email), u.PasswordHash, u.IsAdmin, ts(now), confirmed, u.CreatedIP, u.CreatedBrowser).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, ErrDuplicateEmail
	}
	if err != nil {
		return 0, fmt.Errorf("insert user: %w", err)
	}
	return id, nil
}

const userColumns = `id, email, is_admin, created_at, confirmed_at, created_ip, created_browser, devices_valid_after`

func scanUser(row interface{ Scan(...any) error }) (User, error) {
	var u User
	var created, confirmed, devicesValidAfter sql.NullString
	if err := row.Scan(&u.ID, &u.Email, &u.IsAdmin, &created, &confirmed, &u.CreatedIP, &u.CreatedBrowser, &devicesValidAfter); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return User{}, store.ErrNotFound
		}
		return User{}, err
	}
	u.CreatedAt, u.ConfirmedAt, u.DevicesValidAfter = parseTS(created), parseTS(confirmed), parseTS(devicesValidAfter)
	return u, nil
}

// UserByID returns the account with id, or store.ErrNotFound.
func (a *Accounts) UserByID(ctx context.Context, id int64) (User, error) {
	return scanUser(a.db.Read.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE id = $1`, id))
}

// UserByEmail returns the account for a normalised address (case ignored in
// every script), or store.ErrNotFound.
func (a *Accounts) UserByEmail(ctx context.Context, email string) (User, error) {
	return scanUser(a.db.Read.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE email_key = $1`, store.CaseFold(email)))
}

// UserByEmailTx reads the account for a normalised address inside a write
// transaction, or returns store.ErrNotFound.
func UserByEmailTx(ctx context.Context, tx *sql.Tx, email string) (User, error) {
	return scanUser(tx.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE email_key = $1`, store.CaseFold(email)))
}

// ClaimSignUpNotice reports whether the owner of account id may be told now
// that someone tried to sign up with their address, and if so records now:
// at most one such notice per interval, so sign-up attempts cannot be used
// to flood someone's mailbox.
func ClaimSignUpNotice(ctx context.Context, tx *sql.Tx, id int64, now time.Time, interval time.Duration) (bool, error) {
	res, err := tx.ExecContext(ctx, `UPDATE users SET signup_notice_at = $1
		WHERE id = $2 AND (signup_notice_at IS NULL OR signup_notice_at <= $3)`, ts(now), id, ts(now.Add(-interval)))
	if err != nil {
		return false, fmt.Errorf("claim sign-up notice: %w", err)
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// ErrAccountConfirmed refuses to delete a confirmed account through its
// confirmation link.
var ErrAccountConfirmed = errors.New("accounts: account already confirmed")

// DeleteUnconfirmedUser deletes the account if its address is still
// unconfirmed; its tokens and every session holding it go with it (ON DELETE
// CASCADE). A confirmed account gives ErrAccountConfirmed, a missing one
// store.ErrNotFound.
func DeleteUnconfirmedUser(ctx context.Context, tx *sql.Tx, id int64) error {
	res, err := tx.ExecContext(ctx, `DELETE FROM users WHERE id = $1 AND confirmed_at IS NULL`, id)
	if err != nil {
		return fmt.Errorf("delete user: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n > 0 {
		return err
	}
	if _, err := UserByIDTx(ctx, tx, id); err != nil {
		return err
	}
	return ErrAccountConfirmed
}

// Credentials is what a password sign-in checks.
type Credentials struct {
	UserID            int64
	PasswordHash      string
	Confirmed         bool
	DevicesValidAfter time.Time // see User
}

// CredentialsByEmail reads, in one query, what a sign-in to the account of
// a normalised address checks, or returns store.ErrNotFound.
func (a *Accounts) CredentialsByEmail(ctx context.Context, email string) (Credentials, error) {
	var c Credentials
	var devicesValidAfter sql.NullString
	err := a.db.Read.QueryRowContext(ctx, `SELECT id, password_hash, confirmed_at IS NOT NULL, devices_valid_after FROM users WHERE email_key = $1`, store.CaseFold(email)).
		Scan(&c.UserID, &c.PasswordHash, &c.Confirmed, &devicesValidAfter)
	if errors.Is(err, sql.ErrNoRows) {
		return Credentials{}, store.ErrNotFound
	}
	c.DevicesValidAfter = parseTS(devicesValidAfter)
	return c, err
}

// PasswordHashByEmail returns the account id and stored hash of a
// normalised address, or store.ErrNotFound.
func (a *Accounts) PasswordHashByEmail(ctx context.Context, email string) (int64, string, error) {
	c, err := a.CredentialsByEmail(ctx, email)
	return c.UserID, c.PasswordHash, err
}

// ConfirmUser marks the account confirmed at now. It reports false when the
// account was already confirmed (its first confirmation time is kept).
func ConfirmUser(ctx context.Context, tx *sql.Tx, id int64, now time.Time) (bool, error) {
	res, err := tx.ExecContext(ctx, `UPDATE users SET confirmed_at = $1 WHERE id = $2 AND confirmed_at IS NULL`, ts(now), id)
	if err != nil {
		return false, fmt.Errorf("confirm user: %w", err)
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// SetPasswordHash replaces the account's password hash at now, which also
// ends the trust of every device cookie issued before now.
func SetPasswordHash(ctx context.Context, tx *sql.Tx, id int64, hash string, now time.Time) error {
	if _, err := tx.ExecContext(ctx, `UPDATE users SET password_hash = $1, devices_valid_after = $2 WHERE id = $3`, hash, ts(now), id); err != nil {
		return fmt.Errorf("set password: %w", err)
	}
	return nil
}

// UserByIDTx reads an account inside a write transaction.
func UserByIDTx(ctx context.Context, tx *sql.Tx, id int64) (User, error) {
	return scanUser(tx.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE id = $1`, id))
}
