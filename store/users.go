package store

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"time"

	"golang.org/x/crypto/argon2"
)

// Account errors, mapped to messages by the handlers.
var (
	// ErrDuplicateEmail means the address already belongs to an account.
	ErrDuplicateEmail = errors.New("store: email already registered")
	// ErrInvalidCredentials means the address is unknown or the password wrong.
	ErrInvalidCredentials = errors.New("store: invalid credentials")
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
// already taken (in any ASCII case) gives ErrDuplicateEmail, also when two
// sign-ups race: the UNIQUE constraint decides.
func InsertUser(ctx context.Context, tx *sql.Tx, u NewUser, now time.Time) (int64, error) {
	var confirmed any
	if u.Confirmed {
		confirmed = ts(now)
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO users (email, password_hash, is_admin, created_at, confirmed_at, created_ip, created_browser)
		VALUES (?, ?, ?, ?, ?, ?, ?)`,
		u.Email, u.PasswordHash, u.IsAdmin, ts(now), confirmed, u.CreatedIP, u.CreatedBrowser)
	if err != nil {
		if isUniqueViolation(err) {
			return 0, ErrDuplicateEmail
		}
		return 0, fmt.Errorf("insert user: %w", err)
	}
	return res.LastInsertId()
}

// isUniqueViolation recognises SQLite's UNIQUE constraint error without
// importing the driver's error codes.
func isUniqueViolation(err error) bool {
	return err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed")
}

const userColumns = `id, email, is_admin, created_at, confirmed_at, created_ip, created_browser, devices_valid_after`

func scanUser(row interface{ Scan(...any) error }) (User, error) {
	var u User
	var created, confirmed, devicesValidAfter sql.NullString
	if err := row.Scan(&u.ID, &u.Email, &u.IsAdmin, &created, &confirmed, &u.CreatedIP, &u.CreatedBrowser, &devicesValidAfter); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return User{}, ErrNotFound
		}
		return User{}, err
	}
	u.CreatedAt, u.ConfirmedAt, u.DevicesValidAfter = parseTS(created), parseTS(confirmed), parseTS(devicesValidAfter)
	return u, nil
}

// UserByID returns the account with id, or ErrNotFound.
func (db *DB) UserByID(ctx context.Context, id int64) (User, error) {
	return scanUser(db.Read.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE id = ?`, id))
}

// UserByEmail returns the account for a normalised address (ASCII case
// ignored), or ErrNotFound.
func (db *DB) UserByEmail(ctx context.Context, email string) (User, error) {
	return scanUser(db.Read.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE email = ?`, email))
}

// UserByEmailTx reads the account for a normalised address inside a write
// transaction, or returns ErrNotFound.
func UserByEmailTx(ctx context.Context, tx *sql.Tx, email string) (User, error) {
	return scanUser(tx.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE email = ?`, email))
}

// ClaimSignUpNotice reports whether the owner of account id may be told now
// that someone tried to sign up with their address, and if so records now:
// at most one such notice per interval, so sign-up attempts cannot be used
// to flood someone's mailbox.
func ClaimSignUpNotice(ctx context.Context, tx *sql.Tx, id int64, now time.Time, interval time.Duration) (bool, error) {
	res, err := tx.ExecContext(ctx, `UPDATE users SET signup_notice_at = ?
		WHERE id = ? AND (signup_notice_at IS NULL OR signup_notice_at <= ?)`, ts(now), id, ts(now.Add(-interval)))
	if err != nil {
		return false, fmt.Errorf("claim sign-up notice: %w", err)
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// ErrAccountConfirmed refuses to delete a confirmed account through its
// confirmation link.
var ErrAccountConfirmed = errors.New("store: account already confirmed")

// DeleteUnconfirmedUser deletes the account if its address is still
// unconfirmed; its tokens and every session holding it go with it (ON DELETE
// CASCADE). A confirmed account gives ErrAccountConfirmed, a missing one
// ErrNotFound.
func DeleteUnconfirmedUser(ctx context.Context, tx *sql.Tx, id int64) error {
	res, err := tx.ExecContext(ctx, `DELETE FROM users WHERE id = ? AND confirmed_at IS NULL`, id)
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
// a normalised address checks, or returns ErrNotFound.
func (db *DB) CredentialsByEmail(ctx context.Context, email string) (Credentials, error) {
	var c Credentials
	var devicesValidAfter sql.NullString
	err := db.Read.QueryRowContext(ctx, `SELECT id, password_hash, confirmed_at IS NOT NULL, devices_valid_after FROM users WHERE email = ?`, email).
		Scan(&c.UserID, &c.PasswordHash, &c.Confirmed, &devicesValidAfter)
	if errors.Is(err, sql.ErrNoRows) {
		return Credentials{}, ErrNotFound
	}
	c.DevicesValidAfter = parseTS(devicesValidAfter)
	return c, err
}

// PasswordHashByEmail returns the account id and stored hash of a
// normalised address, or ErrNotFound.
func (db *DB) PasswordHashByEmail(ctx context.Context, email string) (int64, string, error) {
	c, err := db.CredentialsByEmail(ctx, email)
	return c.UserID, c.PasswordHash, err
}

// ConfirmUser marks the account confirmed at now. It reports false when the
// account was already confirmed (its first confirmation time is kept).
func ConfirmUser(ctx context.Context, tx *sql.Tx, id int64, now time.Time) (bool, error) {
	res, err := tx.ExecContext(ctx, `UPDATE users SET confirmed_at = ? WHERE id = ? AND confirmed_at IS NULL`, ts(now), id)
	if err != nil {
		return false, fmt.Errorf("confirm user: %w", err)
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// SetPasswordHash replaces the account's password hash at now, which also
// ends the trust of every device cookie issued before now.
func SetPasswordHash(ctx context.Context, tx *sql.Tx, id int64, hash string, now time.Time) error {
	if _, err := tx.ExecContext(ctx, `UPDATE users SET password_hash = ?, devices_valid_after = ? WHERE id = ?`, hash, ts(now), id); err != nil {
		return fmt.Errorf("set password: %w", err)
	}
	return nil
}

// UserByIDTx reads an account inside a write transaction.
func UserByIDTx(ctx context.Context, tx *sql.Tx, id int64) (User, error) {
	return scanUser(tx.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE id = ?`, id))
}

// Passwords are hashed with argon2id (RFC 9106), OWASP's first choice, at
// OWASP's minimum of 19 MiB memory, 2 passes, 1 lane. Why not bcrypt cost 12:
// bcrypt reads only the first 72 bytes of a password and we accept up to 128
// characters (up to 512 bytes), and at cost 12 it takes ~250 ms of CPU per
// hash against ~30-50 ms here. argon2id's cost is memory, so on a 2-core
// server 100 concurrent sign-ups could ask for 100 × 19 MiB = 1.9 GB at once;
// the Hasher therefore lets only GOMAXPROCS hashes run at a time (the rest
// queue), bounding memory to 2 × 19 MiB while keeping both cores busy.
// Parameters are stored in each PHC string, so they can be raised later
// without invalidating existing hashes.

// HashParams are argon2id's cost parameters.
type HashParams struct {
	Time    uint32 // passes over memory
	Memory  uint32 // KiB
	Threads uint8
}

// DefaultHashParams is what production uses (see the comment above).
var DefaultHashParams = HashParams{Time: 2, Memory: 19 * 1024, Threads: 1}

// Hasher hashes and verifies passwords, running at most a fixed number of
// hashes at once.
type Hasher struct {
	params HashParams
	slots  chan struct{}
	dummy  string // a real hash of a random password, for unknown accounts
}

// NewHasher returns a Hasher using p, running up to GOMAXPROCS hashes at once.
func NewHasher(p HashParams) *Hasher {
	h := &Hasher{params: p, slots: make(chan struct{}, max(1, runtime.GOMAXPROCS(0)))}
	var pw [16]byte
	_, _ = rand.Read(pw[:])
	h.dummy, _ = h.Hash(context.Background(), base64.RawStdEncoding.EncodeToString(pw[:]))
	return h
}

const saltLen, keyLen = 16, 32

// Hash returns a PHC string: $argon2id$v=19$m=19456,t=2,p=1$SALT$KEY.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(password), salt, h.params.Time, h.params.Memory, h.params.Threads, keyLen)
	h.release()
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, h.params.Memory, h.params.Time, h.params.Threads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key)), nil
}

// Verify reports whether password matches the PHC string hash.
func (h *Hasher) Verify(ctx context.Context, hash, password string) (bool, error) {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false, errors.New("password hash: not an argon2id PHC string")
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false, fmt.Errorf("password hash: unsupported version %q", parts[2])
	}
	var p HashParams
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &p.Threads); err != nil {
		return false, fmt.Errorf("password hash: bad parameters %q", parts[3])
	}
	salt, err := base64.RawStdEncoding.DecodeString(parts[4])
	if err != nil {
		return false, errors.New("password hash: bad salt")
	}
	want, err := base64.RawStdEncoding.DecodeString(parts[5])
	if err != nil || len(want) == 0 {
		return false, errors.New("password hash: bad key")
	}
	if err := h.acquire(ctx); err != nil {
		return false, err
	}
	got := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, uint32(len(want)))
	h.release()
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// VerifyDummy spends the time of one verification, so an unknown address
// answers as slowly as a wrong password.
func (h *Hasher) VerifyDummy(ctx context.Context, password string) {
	_, _ = h.Verify(ctx, h.dummy, password)
}

func (h *Hasher) acquire(ctx context.Context) error {
	select {
	case h.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (h *Hasher) release() { <-h.slots }
