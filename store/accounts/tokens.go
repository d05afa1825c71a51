package accounts

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"time"
)

// Purpose scopes a token: a confirmation link cannot reset a password.
type Purpose string

const (
	PurposeConfirm Purpose = "confirm"
	PurposeReset   Purpose = "reset"
)

// Why a token was refused. Each gets its own page.
var (
	ErrTokenMalformed  = errors.New("accounts: token malformed") // cut off or altered: the checksum fails
	ErrTokenUnknown    = errors.New("accounts: token unknown")   // well formed but never issued (or for another purpose)
	ErrTokenExpired    = errors.New("accounts: token expired")
	ErrTokenUsed       = errors.New("accounts: token already used")
	ErrTokenSuperseded = errors.New("accounts: token superseded by a newer one")
	// ErrTokenRetired is a confirmation link of a sign-up that changed its
	// address since (see ChangeAddress); it comes without an account id.
	ErrTokenRetired = errors.New("accounts: token retired: its sign-up changed address")
)

// Resend limits for confirmation mail, per account.
const (
	ResendInterval = time.Minute
	ResendPerDay   = 5
)

// A token is 32 random bytes (256 bits) followed by the first 4 bytes of
// their SHA-256, base64url-encoded: 48 characters. The checksum lets a link
// that was cut off or altered be told apart from one never issued. Only the
// SHA-256 of the whole token is stored.
const (
	tokenRandom   = 32
	tokenChecksum = 4
	tokenChars    = 48
)

func newToken() (string, []byte, error) {
	raw := make([]byte, tokenRandom, tokenRandom+tokenChecksum)
	if _, err := rand.Read(raw); err != nil {
		return "", nil, err
	}
	sum := sha256.Sum256(raw)
	raw = append(raw, sum[:tokenChecksum]...)
	h := sha256.Sum256(raw)
	return base64.RawURLEncoding.EncodeToString(raw), h[:], nil
}

// tokenHash checks a token's shape and checksum and returns what is stored.
func tokenHash(token string) ([]byte, error) {
	if len(token) != tokenChars {
		return nil, ErrTokenMalformed
	}
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(raw) != tokenRandom+tokenChecksum {
		return nil, ErrTokenMalformed
	}
	sum := sha256.Sum256(raw[:tokenRandom])
	if !bytes.Equal(sum[:tokenChecksum], raw[tokenRandom:]) {
		return nil, ErrTokenMalformed
	}
	h := sha256.Sum256(raw)
	return h[:], nil
}

// IssueToken creates a token for userID valid for ttl from now, inside tx
// (with the mail that carries it), and supersedes the account's older unused
// tokens of the same purpose: only the newest link works. resent marks a
// confirmation asked for with "Resend", which the daily limit counts.
func IssueToken(ctx context.Context, tx *sql.Tx, userID int64, purpose Purpose, now time.Time, ttl time.Duration, resent bool) (string, error) {
	token, hash, err := newToken()
	if err != nil {
		return "", err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE user_tokens SET superseded_at = $1
		WHERE user_id = $2 AND purpose = $3 AND used_at IS NULL AND superseded_at IS NULL`, ts(now), userID, string(purpose)); err != nil {
		return "", fmt.Errorf("supersede tokens: %w", err)
	}
	resentFlag := 0 // an integer column on both backends
	if resent {
		resentFlag = 1
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO user_tokens (hash, user_id, purpose, resent, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)`,
		hash, userID, string(purpose), resentFlag, ts(now), ts(now.Add(ttl))); err != nil {
		return "", fmt.Errorf("issue token: %w", err)
	}
	return token, nil
}

type queryRower interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// lookupToken returns the token's account and nil when it can be used now,
// or the reason it cannot. The account id is returned with ErrTokenExpired,
// ErrTokenUsed and ErrTokenSuperseded too (to say "already confirmed").
func lookupToken(ctx context.Context, q queryRower, token string, purpose Purpose, now time.Time) (int64, []byte, error) {
	hash, err := tokenHash(token)
	if err != nil {
		return 0, nil, err
	}
	var userID int64
	var expires string
	var used, superseded sql.NullString
	err = q.QueryRowContext(ctx, `SELECT user_id, expires_at, used_at, superseded_at FROM user_tokens WHERE hash = $1 AND purpose = $2`,
		hash, string(purpose)).Scan(&userID, &expires, &used, &superseded)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil, retiredOrUnknown(ctx, q, hash, purpose)
	}
	if err != nil {
		return 0, nil, fmt.Errorf("look up token: %w", err)
	}
	switch {
	case used.Valid:
		return userID, hash, ErrTokenUsed
	case superseded.Valid:
		return userID, hash, ErrTokenSuperseded
	case ts(now) >= expires:
		return userID, hash, ErrTokenExpired
	}
	return userID, hash, nil
}

// CheckToken reports whether token could be used now, without using it (the
// GET pages behind mailed links call it, so mail scanners use up nothing).
func (a *Accounts) CheckToken(ctx context.Context, token string, purpose Purpose, now time.Time) (int64, error) {
	id, _, err := lookupToken(ctx, a.db.Read, token, purpose, now)
	return id, err
}

// UseToken consumes token inside tx and returns its account. It fails, with
// the reason, unless the token is known, of this purpose, unused, the newest
// and unexpired.
func UseToken(ctx context.Context, tx *sql.Tx, token string, purpose Purpose, now time.Time) (int64, error) {
	id, hash, err := lookupToken(ctx, tx, token, purpose, now)
	if err != nil {
		return id, err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE user_tokens SET used_at = $1 WHERE hash = $2`, ts(now), hash); err != nil {
		return 0, fmt.Errorf("use token: %w", err)
	}
	return id, nil
}

// RevokeTokens supersedes every unused token of purpose for the account (a
// password reset also ends other pending reset links).
func RevokeTokens(ctx context.Context, tx *sql.Tx, userID int64, purpose Purpose, now time.Time) error {
	_, err := tx.ExecContext(ctx, `UPDATE user_tokens SET superseded_at = $1
		WHERE user_id = $2 AND purpose = $3 AND used_at IS NULL AND superseded_at IS NULL`, ts(now), userID, string(purpose))
	return err
}

// ResendWait says how long the account must wait before another
// confirmation mail may be sent: zero when it may be sent now. It allows one
// mail a minute (counting the sign-up mail) and ResendPerDay resends in any
// 24 hours. Run it in the transaction that issues the token, so two clicks
// cannot both pass.
func ResendWait(ctx context.Context, tx *sql.Tx, userID int64, now time.Time) (time.Duration, error) {
	var last sql.NullString
	if err := tx.QueryRowContext(ctx, `SELECT max(created_at) FROM user_tokens WHERE user_id = $1 AND purpose = 'confirm'`, userID).Scan(&last); err != nil {
		return 0, err
	}
	resends, err := recentResends(ctx, tx, userID, now)
	if err != nil {
		return 0, err
	}
	return ResendWaitAfter(parseTS(last), resends, now), nil
}

// recentResends returns when confirmation links were resent to account
// userID in the day before now.
func recentResends(ctx context.Context, tx *sql.Tx, userID int64, now time.Time) ([]time.Time, error) {
	rows, err := tx.QueryContext(ctx, `SELECT created_at FROM user_tokens
		WHERE user_id = $1 AND purpose = 'confirm' AND resent = 1 AND created_at > $2 ORDER BY created_at DESC`,
		userID, ts(now.Add(-24*time.Hour)))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var resends []time.Time
	for rows.Next() {
		var s sql.NullString
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		resends = append(resends, parseTS(s))
	}
	return resends, rows.Err()
}

// ResendWaitAfter applies the resend rules to a history: last is when the
// latest confirmation mail was sent (zero if none), resends the times of
// resends, in any order. It is the whole wait, the longer of the two
// rules', so a countdown to it ends when a resend is accepted. Sessions
// that hold a pending sign-up use it on their own history, so their
// answers do not depend on the database.
func ResendWaitAfter(last time.Time, resends []time.Time, now time.Time) time.Duration {
	var wait time.Duration
	if !last.IsZero() {
		wait = max(last.Add(ResendInterval).Sub(now), 0)
	}
	var recent []time.Time
	for _, t := range resends {
		if t.After(now.Add(-24 * time.Hour)) {
			recent = append(recent, t)
		}
	}
	if len(recent) < ResendPerDay {
		return wait
	}
	slices.SortFunc(recent, func(a, b time.Time) int { return b.Compare(a) })
	// The oldest of the last ResendPerDay resends must leave the window.
	return max(recent[ResendPerDay-1].Add(24*time.Hour).Sub(now), wait)
}
