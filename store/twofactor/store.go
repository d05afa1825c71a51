package twofactor

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"shelf/store"
	"shelf/store/sealed"
)

// Freezing: FreezeAfter wrong codes (app or recovery) within FailWindow,
// from anywhere, freeze the account's second step for FreezeFor.
const (
	FreezeAfter = 10
	FailWindow  = time.Hour
	FreezeFor   = 15 * time.Minute
)

const (
	secretPurpose = "totp-secret"
	timeLayout    = "2006-01-02 15:04:05.000"
)

// KeepDisabled is how long a disabled factor is kept, so that it can be
// restored (Restore): as long as the "This wasn't me" link of the mail
// about turning it off works.
const KeepDisabled = 7 * 24 * time.Hour

// ErrNotEnabled is returned for an account without a second factor.
var ErrNotEnabled = errors.New("twofactor: not enabled for this account")

// Store is the accounts' second factors in db, sealed under keys.
type Store struct {
	db   *store.DB
	keys *sealed.Keys
}

// New returns the store of second factors.
func New(db *store.DB, keys *sealed.Keys) *Store { return &Store{db: db, keys: keys} }

// Keys are the secret key's sealing and hashing keys.
func (s *Store) Keys() *sealed.Keys { return s.keys }

func ts(t time.Time) string { return t.UTC().Format(timeLayout) }

func parseTS(v sql.NullString) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	t, _ := time.Parse(timeLayout, v.String)
	return t
}

// Enabled reports whether the account has an authenticator app.
func (s *Store) Enabled(ctx context.Context, userID int64) (bool, error) {
	var n int
	err := s.db.Read.QueryRowContext(ctx, `SELECT count(*) FROM totp_factors WHERE user_id = $1 AND disabled_at IS NULL`, userID).Scan(&n)
	return n > 0, err
}

// EnabledTx is Enabled in tx.
func (s *Store) EnabledTx(ctx context.Context, tx *sql.Tx, userID int64) (bool, error) {
	var n int
	err := tx.QueryRowContext(ctx, `SELECT count(*) FROM totp_factors WHERE user_id = $1 AND disabled_at IS NULL`, userID).Scan(&n)
	return n > 0, err
}

// Enable stores the account's secret, with step (the enrolment code's) as
// the last used, so that code does not work again at sign-in. A factor
// kept after it was disabled is replaced; an enabled one is a unique
// violation.
func (s *Store) Enable(ctx context.Context, tx *sql.Tx, userID int64, secret string, step int64, now time.Time) error {
	if err := s.purgeDisabled(ctx, tx, userID, now); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO totp_factors (user_id, secret, last_step, enabled_at) VALUES ($1, $2, $3, $4)`,
		userID, s.keys.Seal([]byte(secret), userID, secretPurpose), step, ts(now))
	return err
}

// Disable turns the account's second factor off (ErrNotEnabled if it is
// not on). Its sealed secret and recovery codes are kept for KeepDisabled,
// unusable, so that Restore can turn it back on as it was.
func (s *Store) Disable(ctx context.Context, tx *sql.Tx, userID int64, now time.Time) error {
	if err := s.purgeDisabled(ctx, tx, userID, now); err != nil {
		return err
	}
	res, err := tx.ExecContext(ctx, `UPDATE totp_factors SET disabled_at = $1 WHERE user_id = $2 AND disabled_at IS NULL`, ts(now), userID)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return ErrNotEnabled
	}
	return nil
}

// Restore turns back on the account's second factor disabled at or after
// since (and within KeepDisabled of now), with its secret, last used step
// and recovery codes as they were. It reports whether there was one.
func (s *Store) Restore(ctx context.Context, tx *sql.Tx, userID int64, since, now time.Time) (bool, error) {
	res, err := tx.ExecContext(ctx, `UPDATE totp_factors SET disabled_at = NULL
		WHERE user_id = $1 AND disabled_at IS NOT NULL AND disabled_at >= $2 AND disabled_at > $3`,
		userID, ts(since), ts(now.Add(-KeepDisabled)))
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// RemoveEnabledBy removes, for good, the account's second factor if it is
// on and was turned on at or before t. It reports whether it did.
func (s *Store) RemoveEnabledBy(ctx context.Context, tx *sql.Tx, userID int64, t time.Time) (bool, error) {
	res, err := tx.ExecContext(ctx, `DELETE FROM totp_factors WHERE user_id = $1 AND disabled_at IS NULL AND enabled_at <= $2`, userID, ts(t))
	if err != nil {
		return false, err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return false, err
	}
	_, err = tx.ExecContext(ctx, `DELETE FROM recovery_codes WHERE user_id = $1`, userID)
	return err == nil, err
}

// purgeDisabled deletes the disabled factor of the account, if any, and
// every factor disabled more than KeepDisabled ago, with their recovery
// codes.
func (s *Store) purgeDisabled(ctx context.Context, tx *sql.Tx, userID int64, now time.Time) error {
	const which = `disabled_at IS NOT NULL AND (user_id = $1 OR disabled_at <= $2)`
	if _, err := tx.ExecContext(ctx, `DELETE FROM recovery_codes WHERE user_id IN (SELECT user_id FROM totp_factors WHERE `+which+`)`,
		userID, ts(now.Add(-KeepDisabled))); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `DELETE FROM totp_factors WHERE `+which, userID, ts(now.Add(-KeepDisabled)))
	return err
}

// UseCode consumes code for the account: it reports true only when code
// is the app's code for a step within SignInSkew of now that is later than
// the last one used, and records that step as used, in tx. Of two
// transactions using one code, one only commits with true: the update is
// conditional on the step still being unused.
func (s *Store) UseCode(ctx context.Context, tx *sql.Tx, userID int64, code string, now time.Time) (bool, error) {
	var sealedSecret []byte
	var last int64
	err := tx.QueryRowContext(ctx, `SELECT secret, last_step FROM totp_factors WHERE user_id = $1 AND disabled_at IS NULL`, userID).Scan(&sealedSecret, &last)
	if errors.Is(err, sql.ErrNoRows) {
		return false, ErrNotEnabled
	}
	if err != nil {
		return false, err
	}
	secret, err := s.keys.Open(sealedSecret, userID, secretPurpose)
	if err != nil {
		return false, err
	}
	step, ok := MatchStep(string(secret), code, now, SignInSkew, last)
	if !ok {
		return false, nil
	}
	res, err := tx.ExecContext(ctx, `UPDATE totp_factors SET last_step = $1 WHERE user_id = $2 AND last_step < $1`, step, userID)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// UseRecoveryCode consumes one of the account's unused recovery codes, in
// tx; it reports whether code was one.
func (s *Store) UseRecoveryCode(ctx context.Context, tx *sql.Tx, userID int64, code string, now time.Time) (bool, error) {
	norm, ok := NormalizeRecoveryCode(code)
	if !ok {
		return false, nil
	}
	res, err := tx.ExecContext(ctx, `UPDATE recovery_codes SET used_at = $1 WHERE user_id = $2 AND code_hash = $3 AND used_at IS NULL
		AND EXISTS (SELECT 1 FROM totp_factors f WHERE f.user_id = $2 AND f.disabled_at IS NULL)`,
		ts(now), userID, s.keys.Hash([]byte(norm), userID, recoveryPurpose))
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// ReplaceRecoveryCodes voids the account's recovery codes and returns
// RecoveryCodes new ones, of which only keyed hashes are stored.
func (s *Store) ReplaceRecoveryCodes(ctx context.Context, tx *sql.Tx, userID int64) ([]string, error) {
	if _, err := tx.ExecContext(ctx, `DELETE FROM recovery_codes WHERE user_id = $1`, userID); err != nil {
		return nil, err
	}
	codes := make([]string, 0, RecoveryCodes)
	for len(codes) < RecoveryCodes {
		c, err := NewRecoveryCode()
		if err != nil {
			return nil, err
		}
		norm, _ := NormalizeRecoveryCode(c)
		res, err := tx.ExecContext(ctx, `INSERT INTO recovery_codes (user_id, code_hash) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
			userID, s.keys.Hash([]byte(norm), userID, recoveryPurpose))
		if err != nil {
			return nil, err
		}
		if n, _ := res.RowsAffected(); n == 1 {
			codes = append(codes, c)
		}
	}
	return codes, nil
}

// RecoveryCodesLeft counts the account's unused recovery codes.
func (s *Store) RecoveryCodesLeft(ctx context.Context, userID int64) (int, error) {
	var n int
	err := s.db.Read.QueryRowContext(ctx, `SELECT count(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL
		AND EXISTS (SELECT 1 FROM totp_factors f WHERE f.user_id = $1 AND f.disabled_at IS NULL)`, userID).Scan(&n)
	return n, err
}

// FrozenUntil is when the account's frozen second step opens again, or
// zero when it is not frozen at now.
func (s *Store) FrozenUntil(ctx context.Context, userID int64, now time.Time) (time.Time, error) {
	return frozenUntil(ctx, s.db.Read, userID, now)
}

// FrozenUntilTx is FrozenUntil read in tx: checked there before a code, and
// counted there by RecordFailure when the code is wrong, the freeze holds
// however many codes arrive at once.
func (s *Store) FrozenUntilTx(ctx context.Context, tx *sql.Tx, userID int64, now time.Time) (time.Time, error) {
	return frozenUntil(ctx, tx, userID, now)
}

func frozenUntil(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, userID int64, now time.Time) (time.Time, error) {
	var until sql.NullString
	err := q.QueryRowContext(ctx, `SELECT frozen_until FROM totp_factors WHERE user_id = $1 AND disabled_at IS NULL`, userID).Scan(&until)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, nil
	}
	if t := parseTS(until); err == nil && t.After(now) {
		return t, nil
	}
	return time.Time{}, err
}

// RecordFailure counts a wrong code for the account, in tx. The
// FreezeAfter-th within FailWindow freezes the second step for FreezeFor
// and starts the count again; froze reports that this failure did it.
func (s *Store) RecordFailure(ctx context.Context, tx *sql.Tx, userID int64, now time.Time) (froze bool, err error) {
	var fails int
	var since sql.NullString
	err = tx.QueryRowContext(ctx, `SELECT fails, fails_since FROM totp_factors WHERE user_id = $1 AND disabled_at IS NULL`, userID).Scan(&fails, &since)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	start := parseTS(since)
	if start.IsZero() || now.Sub(start) >= FailWindow {
		fails, start = 0, now
	}
	fails++
	if fails >= FreezeAfter {
		_, err = tx.ExecContext(ctx, `UPDATE totp_factors SET fails = 0, fails_since = NULL, frozen_until = $1 WHERE user_id = $2`,
			ts(now.Add(FreezeFor)), userID)
		return err == nil, err
	}
	_, err = tx.ExecContext(ctx, `UPDATE totp_factors SET fails = $1, fails_since = $2 WHERE user_id = $3`, fails, ts(start), userID)
	return false, err
}
