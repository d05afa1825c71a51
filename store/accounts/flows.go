package accounts

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"shelf/store"
	"shelf/store/apitokens"
	"shelf/store/outbox"
)

// The account flows. Each runs in one write transaction with the mail it
// sends (the outbox is a table in the same database), so a flow happens
// whole or not at all. Password hashing, which takes tens of milliseconds,
// is done before the transaction, so it does not hold the single writer.

// Mails renders the mails the flows send. The handlers supply it: the
// contents, and the links built from the configured address, are theirs.
type Mails interface {
	// Confirm is the mail carrying a confirmation token, valid for ttl.
	Confirm(ctx context.Context, to, token string, ttl time.Duration) (outbox.Mail, error)
	// Reset is the mail carrying a password-reset token, valid for ttl.
	Reset(ctx context.Context, to, token string, ttl time.Duration) (outbox.Mail, error)
	// SignUpAttempt tells the owner of an address that someone tried to
	// sign up with it.
	SignUpAttempt(ctx context.Context, to string) (outbox.Mail, error)
}

// SaveSession is run by a flow inside its transaction, last, with the
// account as the flow left it and ctx carrying the transaction
// (store.WithTx), so the session store's writes join it: the account change
// and the browser's session that carries it are committed together.
type SaveSession func(ctx context.Context, u User) error

// signUpNoticeInterval is the least time between two mails telling an
// account's owner that someone tried to sign up with their address.
const signUpNoticeInterval = time.Hour

// inTx runs fn in a write transaction, with ctx carrying it.
func (a *Accounts) inTx(ctx context.Context, fn func(ctx context.Context, tx *sql.Tx) error) error {
	return a.db.InTx(ctx, func(tx *sql.Tx) error { return fn(store.WithTx(ctx, tx), tx) })
}

// mailSent wakes the outbox sender, if there is one.
func (a *Accounts) mailSent() {
	if a.cfg.Notifier != nil {
		a.cfg.Notifier.Notify()
	}
}

// NewAccount is what a sign-up asks for.
type NewAccount struct {
	Email    string // normalised, and checked by CheckEmail
	Password string // checked by CheckPassword
	// Where the sign-up came from: the client IP and a short summary of
	// its browser.
	CreatedIP, CreatedBrowser string
}

// SignUp does the same work whether or not the address already has an
// account, so its answer and its time do not tell: the password is hashed
// either way. A new address gets its account and a confirmation mail. An
// address whose account is still unconfirmed is taken over by this sign-up
// (see retakeUnconfirmed). An address with a confirmed account (also one a
// concurrent sign-up took first) gets a mail telling its owner, at most once
// per signUpNoticeInterval. save gets the new or retaken account, or one
// with only the address when it is a confirmed one's. SignUp returns the
// new or retaken account's id, or 0 and the confirmed account's.
func (a *Accounts) SignUp(ctx context.Context, n NewAccount, save SaveSession) (created, existing int64, err error) {
	hash, err := a.Hasher.Hash(ctx, n.Password)
	if err != nil {
		return 0, 0, err
	}
	return a.SignUpHashed(ctx, NewUser{Email: n.Email, PasswordHash: hash, CreatedIP: n.CreatedIP, CreatedBrowser: n.CreatedBrowser}, save)
}

// SignUpHashed is SignUp with the password already hashed (Hasher.Hash),
// for a caller that keeps the hash (see ChangeAddress).
func (a *Accounts) SignUpHashed(ctx context.Context, nu NewUser, save SaveSession) (created, existing int64, err error) {
	now := a.now()
	err = a.inTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var err error
		if created, existing, err = a.signUpTx(ctx, tx, nu, now); err != nil {
			return err
		}
		return save(ctx, User{ID: created, Email: nu.Email})
	})
	if err != nil {
		return 0, 0, err
	}
	a.mailSent()
	return created, existing, nil
}

// signUpTx is the sign-up of nu in tx: see SignUp.
func (a *Accounts) signUpTx(ctx context.Context, tx *sql.Tx, nu NewUser, now time.Time) (created, existing int64, err error) {
	id, err := InsertUser(ctx, tx, nu, now)
	switch {
	case errors.Is(err, ErrDuplicateEmail):
		u, err := UserByEmailTx(ctx, tx, nu.Email)
		if err != nil {
			return 0, 0, err
		}
		if !u.Confirmed() {
			// Nobody has proved this mailbox yet: the latest sign-up
			// takes the account over, so an owner who signs up after
			// someone else typed their address gets a link for their
			// own password, and the earlier sign-up's link and
			// password stop working.
			if err := a.retakeUnconfirmed(ctx, tx, u.ID, nu, now); err != nil {
				return 0, 0, err
			}
			return u.ID, 0, nil
		}
		existing, err = a.noticeSignUpAttempt(ctx, tx, u, now)
		return 0, existing, err
	case err != nil:
		return 0, 0, err
	}
	return id, 0, a.sendToken(ctx, tx, id, nu.Email, PurposeConfirm, now, false)
}

// retakeUnconfirmed gives unconfirmed account id the new sign-up's
// password and origin, in tx, ends the links sent before, and mails a new
// one, as a resend. It goes at once, not a minute after the last: the
// links before were just ended, and the sign-up's browser is told a link is
// on its way (a double submit used to leave only a dead link). The day's
// cap of ResendPerDay still holds, so repeated sign-ups cannot flood the
// mailbox. The caller's session hook ends the sessions of the earlier
// sign-up.
func (a *Accounts) retakeUnconfirmed(ctx context.Context, tx *sql.Tx, id int64, nu NewUser, now time.Time) error {
	if _, err := tx.ExecContext(ctx, `UPDATE users SET email = $1, email_key = $2, password_hash = $3, created_at = $4,
		created_ip = $5, created_browser = $6, devices_valid_after = $7 WHERE id = $8 AND confirmed_at IS NULL`,
		nu.Email, store.CaseFold(nu.Email), nu.PasswordHash, ts(now), nu.CreatedIP, nu.CreatedBrowser, ts(now), id); err != nil {
		return fmt.Errorf("retake unconfirmed account: %w", err)
	}
	if err := RevokeTokens(ctx, tx, id, PurposeConfirm, now); err != nil {
		return err
	}
	resends, err := recentResends(ctx, tx, id, now)
	if err != nil || ResendWaitAfter(time.Time{}, resends, now) > 0 {
		return err
	}
	return a.sendToken(ctx, tx, id, nu.Email, PurposeConfirm, now, true)
}

// noticeSignUpAttempt tells the owner of confirmed account u, in tx, that
// someone tried to sign up with its address, unless told within the
// interval; it returns the account's id.
func (a *Accounts) noticeSignUpAttempt(ctx context.Context, tx *sql.Tx, u User, now time.Time) (int64, error) {
	// Rendered even when not sent, so this path costs about what a new
	// account's (which renders its confirmation mail) does.
	m, err := a.cfg.Mails.SignUpAttempt(ctx, u.Email)
	if err != nil {
		return 0, err
	}
	if ok, err := ClaimSignUpNotice(ctx, tx, u.ID, now, signUpNoticeInterval); err != nil || !ok {
		return u.ID, err
	}
	_, err = outbox.Enqueue(ctx, tx, m)
	return u.ID, err
}

// sendToken issues a token and enqueues the mail carrying it, in tx.
func (a *Accounts) sendToken(ctx context.Context, tx *sql.Tx, userID int64, to string, purpose Purpose, now time.Time, resent bool) error {
	ttl, render := a.cfg.ConfirmTTL, a.cfg.Mails.Confirm
	if purpose == PurposeReset {
		ttl, render = a.cfg.ResetTTL, a.cfg.Mails.Reset
	}
	token, err := IssueToken(ctx, tx, userID, purpose, now, ttl, resent)
	if err != nil {
		return err
	}
	m, err := render(ctx, to, token, ttl)
	if err != nil {
		return err
	}
	_, err = outbox.Enqueue(ctx, tx, m)
	return err
}

// Authenticate checks a password sign-in to the account of a normalised
// address. admit runs between the lookup and the check, given the account's
// credentials (zero for an unknown address), and may refuse the attempt with
// its own error (the handlers' rate limits do). Unknown addresses, wrong
// passwords and unconfirmed accounts all give ErrInvalidCredentials after
// the same work: otherwise signing up and then in would tell whether the
// address already had an account.
func (a *Accounts) Authenticate(ctx context.Context, email, password string, admit func(Credentials) error) (User, error) {
	cred, err := a.CredentialsByEmail(ctx, email)
	found := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return User{}, err
	}
	if err := admit(cred); err != nil {
		return User{}, err
	}
	ok := false
	if !found {
		a.Hasher.VerifyDummy(ctx, password) // same time as a wrong password
	} else if ok, err = a.Hasher.Verify(ctx, cred.PasswordHash, password); err != nil {
		return User{}, err
	}
	if !ok || !cred.Confirmed {
		return User{}, ErrInvalidCredentials
	}
	return a.UserByID(ctx, cred.UserID)
}

// Confirm uses a confirmation token and confirms its account; first is
// false when it already was. The account's id is returned with the token
// errors that have one (see CheckToken).
func (a *Accounts) Confirm(ctx context.Context, token string, save SaveSession) (uid int64, first bool, err error) {
	now := a.now()
	err = a.inTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var err error
		if uid, err = UseToken(ctx, tx, token, PurposeConfirm, now); err != nil {
			return err
		}
		if first, err = ConfirmUser(ctx, tx, uid, now); err != nil {
			return err
		}
		u, err := UserByIDTx(ctx, tx, uid)
		if err != nil {
			return err
		}
		return save(ctx, u)
	})
	return uid, first, err
}

// NotMe uses a confirmation token to delete its still unconfirmed account
// ("I didn't create this account"), and returns the account deleted. Its
// tokens and every session holding it go with it. A confirmed account gives
// ErrAccountConfirmed; token errors come with the account's id, as from
// Confirm.
func (a *Accounts) NotMe(ctx context.Context, token string) (User, error) {
	var u User
	err := a.inTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		uid, err := UseToken(ctx, tx, token, PurposeConfirm, a.now())
		u.ID = uid
		if err != nil {
			return err
		}
		if u, err = UserByIDTx(ctx, tx, uid); err != nil {
			return err
		}
		return DeleteUnconfirmedUser(ctx, tx, uid)
	})
	return u, err
}

// Resend sends account id a new confirmation link, within its limits (see
// ResendWait); otherwise it returns how long to wait. An account already
// confirmed gives ErrAccountConfirmed, a missing one store.ErrNotFound.
func (a *Accounts) Resend(ctx context.Context, id int64) (time.Duration, error) {
	now := a.now()
	var wait time.Duration
	err := a.inTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		u, err := UserByIDTx(ctx, tx, id)
		if err != nil {
			return err
		}
		if u.Confirmed() {
			return ErrAccountConfirmed
		}
		if wait, err = ResendWait(ctx, tx, id, now); err != nil || wait > 0 {
			return err
		}
		return a.sendToken(ctx, tx, id, u.Email, PurposeConfirm, now, true)
	})
	if err == nil && wait == 0 {
		a.mailSent()
	}
	return wait, err
}

// RequestReset records a password-reset request for a normalised address.
// It is the only work the request itself does, the same for every address,
// so its timing says nothing about whether the address has an account;
// HandleResetRequests, run off the request path, sends the link.
func (a *Accounts) RequestReset(ctx context.Context, email string) error {
	return a.RecordResetRequest(ctx, email, a.now())
}

// HandleResetRequests handles every recorded reset request, oldest first,
// each in its own transaction with the token and mail it produces: an
// address with an account gets a reset link, any other nothing.
func (a *Accounts) HandleResetRequests(ctx context.Context) error {
	for {
		var done, sent bool
		err := a.inTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
			done, sent = false, false // a run again starts afresh
			email, ok, err := TakeResetRequest(ctx, tx)
			if err != nil || !ok {
				done = !ok
				return err
			}
			u, err := UserByEmailTx(ctx, tx, email)
			if errors.Is(err, store.ErrNotFound) {
				return nil // nothing to send; the request is consumed
			}
			if err != nil {
				return err
			}
			sent = true
			return a.sendToken(ctx, tx, u.ID, u.Email, PurposeReset, a.now(), false)
		})
		if err != nil {
			return err
		}
		if sent {
			a.mailSent()
		}
		if done {
			return nil
		}
	}
}

// CompleteReset uses a reset token to set a new password (checked by
// CheckPassword). The password, the end of the account's other reset links,
// of its API tokens (and the access tokens issued for them) and of the
// trust of its devices, and the confirmation of its address (the
// link arrived by mail, which proves it) are stored together with what save
// does, or none of them.
func (a *Accounts) CompleteReset(ctx context.Context, token, password string, save SaveSession) (User, error) {
	hash, err := a.Hasher.Hash(ctx, password)
	if err != nil {
		return User{}, err
	}
	now := a.now()
	var u User
	err = a.inTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		uid, err := UseToken(ctx, tx, token, PurposeReset, now)
		if err != nil {
			return err
		}
		if err := SetPasswordHash(ctx, tx, uid, hash, now); err != nil {
			return err
		}
		if err := RevokeTokens(ctx, tx, uid, PurposeReset, now); err != nil {
			return err
		}
		if err := apitokens.RevokeAll(ctx, tx, uid, now); err != nil {
			return err
		}
		if _, err := ConfirmUser(ctx, tx, uid, now); err != nil {
			return err
		}
		if u, err = UserByIDTx(ctx, tx, uid); err != nil {
			return err
		}
		return save(ctx, u)
	})
	return u, err
}

// CreateAdmin creates a confirmed admin account for a normalised address
// and password that the caller has checked with the rules, and returns its
// id; an address already taken gives ErrDuplicateEmail.
func (a *Accounts) CreateAdmin(ctx context.Context, email, password string) (int64, error) {
	hash, err := a.Hasher.Hash(ctx, password)
	if err != nil {
		return 0, err
	}
	var id int64
	err = a.inTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var err error
		id, err = InsertUser(ctx, tx, NewUser{Email: email, PasswordHash: hash, IsAdmin: true, Confirmed: true}, a.now())
		return err
	})
	return id, err
}

// ChangePassword sets a new password (checked by CheckPassword) for an
// account whose current one the caller has checked. The password, the end
// of the trust of its devices and of its unused reset links, and what save
// does are stored together, or none of them.
func (a *Accounts) ChangePassword(ctx context.Context, id int64, password string, save SaveSession) (User, error) {
	hash, err := a.Hasher.Hash(ctx, password)
	if err != nil {
		return User{}, err
	}
	now := a.now()
	var u User
	err = a.inTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if err := SetPasswordHash(ctx, tx, id, hash, now); err != nil {
			return err
		}
		// A reset link mailed before the change would otherwise still
		// replace the new password, and sign out the reader who chose it.
		if err := RevokeTokens(ctx, tx, id, PurposeReset, now); err != nil {
			return err
		}
		var err error
		if u, err = UserByIDTx(ctx, tx, id); err != nil {
			return err
		}
		return save(ctx, u)
	})
	return u, err
}
