package accounts

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// RecordResetRequest stores a password-reset request for a normalised
// address. It is the only work the request itself does, the same for every
// address, so its timing says nothing about whether the address has an
// account; TakeResetRequest hands it to a background worker.
func (a *Accounts) RecordResetRequest(ctx context.Context, email string, now time.Time) error {
	if _, err := a.db.Write.ExecContext(ctx, `INSERT INTO reset_requests (email, requested_at) VALUES ($1, $2)`, email, ts(now)); err != nil {
		return fmt.Errorf("record reset request: %w", err)
	}
	return nil
}

// TakeResetRequest removes the oldest pending reset request inside tx and
// returns its address; ok is false when none is pending. Done in the
// transaction that issues the token and enqueues the mail, a request is
// handled exactly once, also across a crash.
func TakeResetRequest(ctx context.Context, tx *sql.Tx) (email string, ok bool, err error) {
	var id int64
	err = tx.QueryRowContext(ctx, `SELECT id, email FROM reset_requests ORDER BY id LIMIT 1`).Scan(&id, &email)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("take reset request: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM reset_requests WHERE id = $1`, id); err != nil {
		return "", false, fmt.Errorf("take reset request: %w", err)
	}
	return email, true, nil
}
