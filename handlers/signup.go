package handlers

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"shelf/components"
	"shelf/components/paths"
	"shelf/store"
	"shelf/store/accounts"
)

// A sign-up does not sign the browser in. It leaves a pending sign-up in a
// new session: the address typed, the new account's id (0 when the address
// already had an account, which the browser cannot tell), and the history
// of confirmation mails this browser asked for. /check-email and its resend
// button serve it; confirming in this browser signs it in, confirming in
// another asks this one to sign in. So a session started by someone who
// typed another person's address never holds that person's account.

// Session keys of a pending sign-up.
const (
	sessPendingEmail   = "pending_email"   // string
	sessPendingUser    = "pending_user"    // int64, 0 when the address already had an account
	sessPendingSent    = "pending_sent"    // int64 Unix ms of the latest confirmation mail asked for
	sessPendingResends = "pending_resends" // string, comma-separated Unix ms of resends
	sessPendingNext    = "pending_next"    // string, where the reader was going (a local path), "" for the account page
	// sessPendingMailAfter is the outbox's newest message (int64, see
	// outbox.Queue.Newest) just before the latest mail of this sign-up was
	// asked for: a refusal of mail to the address after it is this
	// sign-up's (see pendingRefused).
	sessPendingMailAfter = "pending_mail_after"
)

type pendingSignUp struct {
	email        string
	userID       int64
	lastSent     time.Time
	resends      []time.Time
	passwordHash string // see sessPendingHash
	key          string // see sessPendingKey
	next         string // see sessPendingNext
	mailAfter    int64  // see sessPendingMailAfter
	mailMarked   bool   // mailAfter is set (not by a sign-up from before it was kept)
}

// startPendingSignUp gives the browser a new session (a new token, as at
// sign-in) holding the pending sign-up.
// startPendingSignUp keeps p (its email, userID, passwordHash, lastSent
// and next) as the session's sign-up, under a new session token, with no
// resends yet and a new key.
func (a *App) startPendingSignUp(c echo.Context, p pendingSignUp) error {
	ctx := c.Request().Context()
	if err := a.Sessions.RenewToken(ctx); err != nil {
		return err
	}
	a.Sessions.Put(ctx, sessPendingEmail, p.email)
	a.Sessions.Put(ctx, sessPendingUser, p.userID)
	a.Sessions.Put(ctx, sessPendingSent, p.lastSent.UnixMilli())
	a.Sessions.Put(ctx, sessPendingResends, "")
	a.Sessions.Put(ctx, sessPendingHash, p.passwordHash)
	a.Sessions.Put(ctx, sessPendingKey, newPendingKey())
	a.Sessions.Put(ctx, sessPendingNext, p.next)
	a.Sessions.Put(ctx, sessPendingMailAfter, p.mailAfter)
	return nil
}

func (a *App) pendingSignUp(c echo.Context) (pendingSignUp, bool) {
	if !a.sessionLoaded(c) {
		return pendingSignUp{}, false
	}
	ctx := c.Request().Context()
	p := pendingSignUp{email: a.Sessions.GetString(ctx, sessPendingEmail), userID: a.Sessions.GetInt64(ctx, sessPendingUser),
		lastSent:     time.UnixMilli(a.Sessions.GetInt64(ctx, sessPendingSent)),
		passwordHash: a.Sessions.GetString(ctx, sessPendingHash), key: a.Sessions.GetString(ctx, sessPendingKey),
		next: a.Sessions.GetString(ctx, sessPendingNext), mailAfter: a.Sessions.GetInt64(ctx, sessPendingMailAfter),
		mailMarked: a.Sessions.Exists(ctx, sessPendingMailAfter)}
	for ms := range strings.SplitSeq(a.Sessions.GetString(ctx, sessPendingResends), ",") {
		if n, err := strconv.ParseInt(ms, 10, 64); err == nil {
			p.resends = append(p.resends, time.UnixMilli(n))
		}
	}
	return p, p.email != ""
}

func (a *App) endPendingSignUp(c echo.Context) {
	ctx := c.Request().Context()
	for _, k := range []string{sessPendingEmail, sessPendingUser, sessPendingSent, sessPendingResends, sessPendingHash, sessPendingKey, sessPendingNext, sessPendingMailAfter} {
		a.Sessions.Remove(ctx, k)
	}
}

// pendingConfirmed reports whether the pending sign-up's account has been
// confirmed (from another browser).
func (a *App) pendingConfirmed(c echo.Context, p pendingSignUp) bool {
	if p.userID == 0 {
		return false
	}
	u, err := a.Accounts.UserByID(c.Request().Context(), p.userID)
	return err == nil && u.Confirmed()
}

// signInPendingSignUp signs this browser in to u, just confirmed, if this
// is the browser that signed it up.
func (a *App) signInPendingSignUp(c echo.Context, u accounts.User) error {
	p, ok := a.pendingSignUp(c)
	if !ok || p.userID != u.ID {
		return nil
	}
	if cur, signedIn := a.currentUser(c); signedIn && cur.ID == u.ID {
		a.endPendingSignUp(c)
		return nil
	}
	a.endPendingSignUp(c)
	// The browser that made the account is not new to it: no mail.
	on, err := a.TwoFactor.Enabled(c.Request().Context(), u.ID)
	switch {
	case err != nil:
		return err
	case on:
		return a.startSecondStep(c, u, false)
	}
	return a.startSession(c, u, false)
}

// resendToPending answers from this browser's own history, the same for a
// new account and for an address that already had one; a mail goes out
// only for a new account still unconfirmed, and within the account's own
// limits.
func (a *App) resendToPending(c echo.Context, p pendingSignUp) error {
	now := a.now()
	wait := pendingResendWait(p, now)
	if wait == 0 {
		ctx := c.Request().Context()
		mark, err := a.outbox.Newest(ctx)
		if err != nil {
			return err
		}
		a.Sessions.Put(ctx, sessPendingMailAfter, mark)
		resends := a.Sessions.GetString(ctx, sessPendingResends)
		a.Sessions.Put(ctx, sessPendingResends, strings.TrimPrefix(resends+","+strconv.FormatInt(now.UnixMilli(), 10), ","))
		a.Sessions.Put(ctx, sessPendingSent, now.UnixMilli())
		if p.userID != 0 {
			// Only to a new account still unconfirmed, within its limits.
			_, err := a.Accounts.Resend(ctx, p.userID)
			if err != nil && !errors.Is(err, store.ErrNotFound) && !errors.Is(err, accounts.ErrAccountConfirmed) {
				return err
			}
		}
	}
	return a.renderResent(c, wait)
}

// pendingRefused reports whether the mail server refused, for good, mail
// to the pending sign-up's address sent since its latest mail was asked
// for: no link will reach that address. It looks at every mail to the
// address, not at the sign-up's own, so it does not tell whether the
// address had an account: the confirmation link and the notice to an
// account's owner are refused alike. (A confirmed account whose owner was
// told within the hour gets no notice, so none is refused; but its address
// took mail when it was confirmed.)
func (a *App) pendingRefused(c echo.Context, p pendingSignUp) (bool, error) {
	if !p.mailMarked {
		return false, nil
	}
	return a.outbox.Refused(c.Request().Context(), p.email, p.mailAfter)
}

// userRefused reports whether the mail server refused, for good, the
// newest mail to the address of u, signed in and not yet confirmed. That
// mail is their latest confirmation link (or a newer mail to the same
// address): no mail to an unconfirmed account's address comes after it
// but another link. The account is the reader's own, so the answer tells
// nothing they do not know; and it holds whichever browser asked for the
// link, this one or another, before or after signing in.
func (a *App) userRefused(c echo.Context, u accounts.User) (bool, error) {
	if u.Confirmed() {
		return false, nil
	}
	return a.outbox.LatestRefused(c.Request().Context(), u.Email)
}

// notMe is "I didn't create this account" on the confirmation page: with a
// usable confirmation link it deletes the still unconfirmed account, which
// ends every session holding it (signed in, or its pending sign-up). A used,
// expired or superseded link deletes nothing, nor does any link of a
// confirmed account.
func (a *App) notMe(c echo.Context) error {
	noStore(c)
	ctx := c.Request().Context()
	u, err := a.Accounts.NotMe(ctx, c.Param("token"))
	uid, email := u.ID, u.Email
	if errors.Is(err, accounts.ErrAccountConfirmed) {
		return a.alreadyConfirmed(c, uid)
	}
	if err != nil {
		return a.tokenProblem(c, accounts.PurposeConfirm, uid, err)
	}
	// This browser's session, if it held the account, was deleted with it;
	// forget it here too so it is not written back.
	if u, ok := a.currentUser(c); ok && u.ID == uid {
		if err := a.Sessions.Destroy(ctx); err != nil {
			return err
		}
		c.Set(ctxUser, nil)
	} else if p, ok := a.pendingSignUp(c); ok && p.userID == uid {
		a.endPendingSignUp(c)
	}
	a.Logger.Info("unconfirmed account deleted from its confirmation link", "user_id", uid)
	o := components.Outcome{Kind: "deleted", Heading: "Account deleted",
		Message: "The account for " + email + " has been deleted, and whoever created it has been signed out. " +
			"Nothing else is needed. You can create your own account with this address at any time."}
	return render(c, http.StatusOK, components.OutcomePage(a.meta(c, "Account deleted"), o))
}

// afterConfirmation is where this pending sign-up goes once its address is
// confirmed: where the reader was going when they signed up, or their
// account.
func (p pendingSignUp) afterConfirmation() string {
	if p.next == "" || p.next == paths.Home {
		return paths.Account
	}
	return p.next
}
