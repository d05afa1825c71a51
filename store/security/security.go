// Package security keeps an account's security events (a sign-in from a new
// device, a password reset, a second factor or passkey added or removed…),
// each with the single-use "This wasn't me" token mailed to the owner, and
// the block on password sign-in that using such a token sets.
package security

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"time"
)

// UndoTTL is how long a "This wasn't me" link works.
const UndoTTL = 7 * 24 * time.Hour

// Why a "This wasn't me" token was refused.
var (
	ErrTokenMalformed = errors.New("security: token malformed")
	ErrTokenUnknown   = errors.New("security: token unknown")
	ErrTokenExpired   = errors.New("security: token expired")
	ErrTokenUsed      = errors.New("security: token already used")
)

// Event is one security event of an account.
type Event struct {
	ID     int64
	UserID int64
	Kind   string
	// Details say more about the event for the owner (a passkey's name);
	// an undo hook may read them too.
	Details string
	// Ref names what the event acted on (a passkey's credential id), for
	// the undo hook; it is never shown.
	Ref string
	At  time.Time
	// Where it came from: the client's address, a summary of its browser,
	// and the device cookie's id (empty for a device without one).
	IP, Browser, Device string
	UndoExpires         time.Time
	UndoUsed            time.Time // zero until "This wasn't me" was used
}

// The token is 32 random bytes, base64url: 43 characters. Only its SHA-256
// is stored.
const (
	tokenBytes = 32
	tokenChars = 43
)

func newToken() (string, []byte, error) {
	raw := make([]byte, tokenBytes)
	if _, err := rand.Read(raw); err != nil {
		return "", nil, err
	}
	h := sha256.Sum256(raw)
	return base64.RawURLEncoding.EncodeToString(raw), h[:], nil
}

func tokenHash(token string) ([]byte, error) {
	if len(token) != tokenChars {
		return nil, ErrTokenMalformed
	}
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(raw) != tokenBytes {
		return nil, ErrTokenMalformed
	}
	h := sha256.Sum256(raw)
	return h[:], nil
}

// timeLayout is the accounts' time format.
const timeLayout = "2006-01-02 15:04:05.000"

func ts(t time.Time) string { return t.UTC().Format(timeLayout) }

func parseTS(s sql.NullString) time.Time {
	if !s.Valid {
		return time.Time{}
	}
	t, _ := time.Parse(timeLayout, s.String)
	return t
}

// Record stores e (its At is the time) in tx, with a new "This wasn't me"
// token valid for UndoTTL, and returns the token and the event's id.
func Record(ctx context.Context, tx *sql.Tx, e Event) (string, int64, error) {
	token, hash, err := newToken()
	if err != nil {
		return "", 0, err
	}
	var id int64
	err = tx.QueryRowContext(ctx, `INSERT INTO security_events (user_id, kind, details, ref, created_at, ip, browser, device, undo_hash, undo_expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id`,
		e.UserID, e.Kind, e.Details, e.Ref, ts(e.At), e.IP, e.Browser, e.Device, hash, ts(e.At.Add(UndoTTL))).Scan(&id)
	if err != nil {
		return "", 0, fmt.Errorf("record security event: %w", err)
	}
	return token, id, nil
}

type queryRower interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

const eventColumns = `id, user_id, kind, details, ref, created_at, ip, browser, device, undo_expires_at, undo_used_at`

func scanEvent(row interface{ Scan(...any) error }) (Event, error) {
	var e Event
	var at, expires, used sql.NullString
	err := row.Scan(&e.ID, &e.UserID, &e.Kind, &e.Details, &e.Ref, &at, &e.IP, &e.Browser, &e.Device, &expires, &used)
	if err != nil {
		return Event{}, err
	}
	e.At, e.UndoExpires, e.UndoUsed = parseTS(at), parseTS(expires), parseTS(used)
	return e, nil
}

// lookup returns the token's event, and why it cannot be used now, if so.
func lookup(ctx context.Context, q queryRower, token string, now time.Time) (Event, []byte, error) {
	hash, err := tokenHash(token)
	if err != nil {
		return Event{}, nil, err
	}
	e, err := scanEvent(q.QueryRowContext(ctx, `SELECT `+eventColumns+` FROM security_events WHERE undo_hash = $1`, hash))
	if errors.Is(err, sql.ErrNoRows) {
		return Event{}, nil, ErrTokenUnknown
	}
	if err != nil {
		return Event{}, nil, fmt.Errorf("look up security event: %w", err)
	}
	switch {
	case !e.UndoUsed.IsZero():
		return e, hash, ErrTokenUsed
	case !now.Before(e.UndoExpires):
		return e, hash, ErrTokenExpired
	}
	return e, hash, nil
}

// Check returns the token's event and whether the token could be used now,
// without using it (for the page a mail scanner may fetch).
func Check(ctx context.Context, q queryRower, token string, now time.Time) (Event, error) {
	e, _, err := lookup(ctx, q, token, now)
	return e, err
}

// Use consumes the token in tx and returns its event. Of two uses at once,
// one fails with ErrTokenUsed.
func Use(ctx context.Context, tx *sql.Tx, token string, now time.Time) (Event, error) {
	e, hash, err := lookup(ctx, tx, token, now)
	if err != nil {
		return e, err
	}
	res, err := tx.ExecContext(ctx, `UPDATE security_events SET undo_used_at = $1 WHERE undo_hash = $2 AND undo_used_at IS NULL`, ts(now), hash)
	if err != nil {
		return e, fmt.Errorf("use security token: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return e, err
	} else if n == 0 {
		return e, ErrTokenUsed
	}
	e.UndoUsed = now
	return e, nil
}

type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// BlockPassword refuses password sign-in to the account until
// UnblockPassword (a password reset), and ends the trust of its device
// cookies: whoever caused the event keeps no exemption from the limits.
func BlockPassword(ctx context.Context, tx execer, userID int64, now time.Time) error {
	if _, err := tx.ExecContext(ctx, `UPDATE users SET password_blocked_at = $1, devices_valid_after = $1 WHERE id = $2`, ts(now), userID); err != nil {
		return fmt.Errorf("block password: %w", err)
	}
	return nil
}

// UnblockPassword lets password sign-in to the account work again.
func UnblockPassword(ctx context.Context, tx execer, userID int64) error {
	if _, err := tx.ExecContext(ctx, `UPDATE users SET password_blocked_at = NULL WHERE id = $1`, userID); err != nil {
		return fmt.Errorf("unblock password: %w", err)
	}
	return nil
}

// PasswordBlocked reports whether password sign-in to the account is
// blocked.
func PasswordBlocked(ctx context.Context, q queryRower, userID int64) (bool, error) {
	var at sql.NullString
	err := q.QueryRowContext(ctx, `SELECT password_blocked_at FROM users WHERE id = $1`, userID).Scan(&at)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("password blocked: %w", err)
	}
	return at.Valid, nil
}
