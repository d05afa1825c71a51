package accounts

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"shelf/store"
)

// AddressChange moves a pending sign-up to another address ("Wrong
// address? Change it" on the check-your-mailbox page).
type AddressChange struct {
	// From is the sign-up's account, still unconfirmed, or 0 when its
	// address already had a confirmed account (which is left alone), and
	// FromEmail the address the sign-up holds: From is retired only while
	// it still has that address (an id can be reused once its account is
	// gone).
	From      int64
	FromEmail string
	// The sign-up again: the new address (normalised, and checked by
	// CheckEmail), the password hash the sign-up computed, and where the
	// change came from.
	NewUser
}

// ChangeAddress retires the pending sign-up's account, if it has one, and
// signs up the new address with the same password hash, in one
// transaction with what save does. Retiring deletes the account, which was
// never confirmed, and remembers its confirmation links as retired, so
// they say "no longer works" (ErrTokenRetired). The new address is then
// signed up exactly as SignUp would: a new account and its link, a retaken
// unconfirmed one, or a notice to the owner of a confirmed one; the return
// values are SignUp's. ErrAccountConfirmed means From was confirmed
// meanwhile (nothing changed), store.ErrNotFound that it is gone.
func (a *Accounts) ChangeAddress(ctx context.Context, ch AddressChange, save SaveSession) (created, existing int64, err error) {
	now := a.now()
	err = a.inTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if ch.From != 0 {
			if err := retireSignUp(ctx, tx, ch.From, ch.FromEmail, now); err != nil {
				return err
			}
		}
		var err error
		if created, existing, err = a.signUpTx(ctx, tx, ch.NewUser, now); err != nil {
			return err
		}
		return save(ctx, User{ID: created, Email: ch.Email})
	})
	if err != nil {
		return 0, 0, err
	}
	a.mailSent()
	return created, existing, nil
}

// retireSignUp deletes unconfirmed account id, in tx, keeping the hashes of
// its confirmation tokens as retired until they expire; retired tokens
// already expired are forgotten. An account id that no longer has address
// email is store.ErrNotFound.
func retireSignUp(ctx context.Context, tx *sql.Tx, id int64, email string, now time.Time) error {
	u, err := UserByIDTx(ctx, tx, id)
	if err != nil {
		return err
	}
	if store.CaseFold(u.Email) != store.CaseFold(email) {
		return store.ErrNotFound
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM retired_tokens WHERE expires_at <= $1`, ts(now)); err != nil {
		return fmt.Errorf("forget retired tokens: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO retired_tokens (hash, purpose, expires_at)
		SELECT hash, purpose, expires_at FROM user_tokens WHERE user_id = $1 AND purpose = $2
		ON CONFLICT (hash) DO NOTHING`, id, string(PurposeConfirm)); err != nil {
		return fmt.Errorf("retire tokens: %w", err)
	}
	return DeleteUnconfirmedUser(ctx, tx, id)
}

// retiredOrUnknown is the error for a token hash that user_tokens does not
// hold: ErrTokenRetired if its sign-up changed address, else
// ErrTokenUnknown.
func retiredOrUnknown(ctx context.Context, q queryRower, hash []byte, purpose Purpose) error {
	var one int
	err := q.QueryRowContext(ctx, `SELECT 1 FROM retired_tokens WHERE hash = $1 AND purpose = $2`, hash, string(purpose)).Scan(&one)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return ErrTokenUnknown
	case err != nil:
		return fmt.Errorf("look up token: %w", err)
	}
	return ErrTokenRetired
}

// ResendWaitNow is ResendWait for account id read now, outside a flow: how
// long until Resend would send (the check-your-mailbox page counts down to
// it).
func (a *Accounts) ResendWaitNow(ctx context.Context, id int64, now time.Time) (time.Duration, error) {
	var wait time.Duration
	// A read-only transaction on the readers: its two queries see one state.
	err := store.InTxOn(ctx, readOnly{a.db.Read}, func(tx *sql.Tx) error {
		var err error
		wait, err = ResendWait(ctx, tx, id, now)
		return err
	})
	return wait, err
}

type readOnly struct{ db *sql.DB }

func (r readOnly) BeginTx(ctx context.Context, _ *sql.TxOptions) (*sql.Tx, error) {
	return r.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
}
