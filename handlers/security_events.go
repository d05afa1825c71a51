package handlers

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"shelf/components"
	"shelf/components/paths"
	"shelf/store"
	"shelf/store/accounts"
	"shelf/store/apitokens"
	"shelf/store/outbox"
	"shelf/store/passkeys"
	"shelf/store/security"
)

// Security events: each is recorded and mailed to the account's owner with
// its time, address and browser, and a "This wasn't me" link (single use,
// security.UndoTTL). Using the link ends every session of the account, runs
// the kind's undo hook, blocks password sign-in until a reset link is used,
// and mails a confirmation; it never signs anyone in.

// Kinds of security event.
const (
	EventNewDevice           = "new-device"
	EventPasswordReset       = "password-reset"
	EventPasswordChanged     = "password-changed"
	Event2FAOn               = "2fa-on"
	Event2FAOff              = "2fa-off"
	EventRecoveryRegenerated = "recovery-regenerated"
	EventRecoveryUsed        = "recovery-used"
	EventPasskeyAdded        = "passkey-added"
	EventPasskeyRemoved      = "passkey-removed"
	EventPasskeyCounter      = "passkey-counter"
	EventSecondStepFrozen    = "second-step-frozen"
	EventAPITokenCreated     = "api-token-created"
)

// eventTexts are each kind's mail subject and what it says happened.
var eventTexts = map[string]struct{ subject, what string }{
	EventNewDevice: {"New sign-in to your Shelf account",
		"Someone signed in to your Shelf account from a device that had not signed in to it before."},
	EventPasswordReset: {"Your Shelf password was reset",
		"The password of your Shelf account was reset with a link sent to this address."},
	EventPasswordChanged: {"Your Shelf password was changed",
		"The password of your Shelf account was changed."},
	Event2FAOn: {"Two-factor sign-in turned on",
		"Two-factor sign-in was turned on for your Shelf account: signing in now needs a code from an authenticator app."},
	Event2FAOff: {"Two-factor sign-in turned off",
		"Two-factor sign-in was turned off for your Shelf account: your password alone now signs in."},
	EventRecoveryRegenerated: {"New recovery codes for your Shelf account",
		"New recovery codes were made for your Shelf account; the earlier ones no longer work."},
	EventRecoveryUsed:   {"A recovery code was used", "A recovery code was used to sign in to your Shelf account."},
	EventPasskeyAdded:   {"A passkey was added to your Shelf account", "A passkey was added to your Shelf account."},
	EventPasskeyRemoved: {"A passkey was removed from your Shelf account", "A passkey was removed from your Shelf account."},
	EventPasskeyCounter: {"One of your passkeys may have been copied",
		"A sign-in to your Shelf account was refused: the passkey's signature counter did not rise, so a copy of it may exist. Remove it from your account and make a new one."},
	EventAPITokenCreated: {"A new API token for your Shelf account",
		"A personal access token was created for your Shelf account: it lets a script use the API as you."},
	EventSecondStepFrozen: {"Too many wrong codes for your Shelf account",
		"Someone who knew your password entered too many wrong codes at the second step of signing in to your Shelf account, so that step is locked for a while. Change your password now."},
}

func eventText(kind, details string) (subject, what string) {
	t, ok := eventTexts[kind]
	if !ok {
		t.subject, t.what = "A security change to your Shelf account", "A security setting of your Shelf account was changed."
	}
	if details != "" {
		t.what += " (" + details + ")"
	}
	return t.subject, t.what
}

// UndoHook undoes, in tx (ctx carries it), what a security event did, when
// its owner says it wasn't them: it removes the passkey just added, turns
// back on the 2FA just turned off. It returns a sentence for the
// confirmation mail saying what it undid, or "". Like any work in a
// transaction, it may run more than once (store.DB.InTx): it must do
// nothing outside tx.
type UndoHook func(ctx context.Context, tx *sql.Tx, ev security.Event) (string, error)

// OnNotMe registers the undo hook of a kind of security event. Call it
// while setting up, before serving.
func (a *App) OnNotMe(kind string, hook UndoHook) {
	if a.undoHooks == nil {
		a.undoHooks = map[string]UndoHook{}
	}
	a.undoHooks[kind] = hook
}

// securityEvent records a security event of account u and mails its owner,
// in the transaction the request's context carries (an account flow's, see
// withSession), or else in its own. details, joined, say more (a passkey's
// name).
func (a *App) securityEvent(c echo.Context, u accounts.User, kind string, details ...string) error {
	return a.securityEventOn(c, u, kind, "", details...)
}

// securityEventOn is securityEvent for an event that acted on something
// its undo hook must find again: ref names it (a passkey's credential id),
// and reaches the hook as security.Event.Ref.
func (a *App) securityEventOn(c echo.Context, u accounts.User, kind, ref string, details ...string) error {
	ctx := c.Request().Context()
	e := security.Event{UserID: u.ID, Kind: kind, Details: strings.Join(details, ", "), Ref: ref, At: a.now(),
		IP: c.RealIP(), Browser: browserSummary(c.Request().UserAgent())}
	if d, ok := a.device(c); ok && d.UserID == u.ID {
		e.Device = d.ID
	}
	record := func(tx *sql.Tx) error {
		token, _, err := security.Record(ctx, tx, e)
		if err != nil {
			return err
		}
		m, err := a.securityMail(ctx, u.Email, e, token)
		if err != nil {
			return err
		}
		_, err = outbox.Enqueue(ctx, tx, m)
		return err
	}
	var err error
	if tx, ok := a.DB.Writer(ctx).(*sql.Tx); ok {
		err = record(tx)
	} else {
		err = a.DB.InTx(ctx, record)
	}
	if err != nil {
		return err
	}
	// By the time the answer goes out, the transaction has committed.
	c.Response().Before(a.notifyMail)
	return nil
}

func (a *App) notifyMail() {
	if a.Mailer != nil {
		a.Mailer.Notify()
	}
}

func (a *App) securityMail(ctx context.Context, to string, e security.Event, token string) (outbox.Mail, error) {
	m := accountMails{baseURL: a.BaseURL}
	link, err := m.link(paths.NotMeLink(token))
	if err != nil {
		return outbox.Mail{}, err
	}
	subject, what := eventText(e.Kind, e.Details)
	v := components.SecurityMail{To: to, Subject: subject, What: what, When: e.At.UTC().Format(displayTime),
		IP: cmp.Or(e.IP, "not recorded"), Browser: cmp.Or(e.Browser, "an unknown browser"), NotMeURL: link, Valid: undoValid}
	return renderMail(ctx, to, subject, components.SecurityEmailHTML(v), components.SecurityEmailText(v))
}

// undoValid says how long a "This wasn't me" link works.
var undoValid = fmt.Sprintf("%d days", security.UndoTTL/(24*time.Hour))

// noteSignIn mails the owner about a sign-in from a browser that holds no
// device cookie of the account (issued since its password last changed).
// completeSignIn calls it, before it gives the browser one.
func (a *App) noteSignIn(c echo.Context, u accounts.User) error {
	if _, known := a.deviceFor(c, u.ID, u.DevicesValidAfter); known {
		return nil
	}
	return a.securityEvent(c, u, EventNewDevice)
}

// msgPasswordBlocked answers the right password to an account whose owner
// used "This wasn't me": only someone who knows the password sees it.
const msgPasswordBlocked = "Signing in with a password is paused for this account, because its owner reported activity they did not recognise. Choose a new password with \"Forgot your password?\" to sign in again."

// passwordBlocked reports whether password sign-in to the account is
// blocked (see securityNotMe).
func (a *App) passwordBlocked(c echo.Context, userID int64) (bool, error) {
	return security.PasswordBlocked(c.Request().Context(), a.DB.Read, userID)
}

// unblockPassword lets password sign-in work again (a reset link was used),
// in the transaction the request's context carries, if any.
func (a *App) unblockPassword(c echo.Context, userID int64) error {
	ctx := c.Request().Context()
	return security.UnblockPassword(ctx, a.DB.Writer(ctx), userID)
}

// securityNotMePage describes the event and asks for a click; it changes nothing,
// so mail scanners that open links use up nothing.
func (a *App) securityNotMePage(c echo.Context) error {
	noStore(c)
	token := c.Param("token")
	e, err := security.Check(c.Request().Context(), a.DB.Read, token, a.now())
	if err != nil {
		return a.notMeProblem(c, err)
	}
	_, what := eventText(e.Kind, e.Details)
	m := a.formMeta(c, "Wasn't this you?")
	return render(c, http.StatusOK, components.NotMePage(m, components.NotMeView{CSRF: m.CSRFToken, Token: token, What: what,
		When: e.At.UTC().Format(displayTime), IP: cmp.Or(e.IP, "not recorded"), Browser: cmp.Or(e.Browser, "an unknown browser")}))
}

// securityNotMe secures the account of the event: in one transaction it uses the
// token, ends every session of the account, undoes what the event's hook
// can, blocks password sign-in until a reset, and mails a confirmation.
func (a *App) securityNotMe(c echo.Context) error {
	noStore(c)
	ctx := c.Request().Context()
	now := a.now()
	var ev security.Event
	var ended int64
	err := a.DB.InTx(ctx, func(tx *sql.Tx) error {
		txCtx := store.WithTx(ctx, tx)
		var err error
		if ev, err = security.Use(txCtx, tx, c.Param("token"), now); err != nil {
			return err
		}
		if ended, err = a.signOutEverywhere(txCtx, ev.UserID); err != nil {
			return err
		}
		undone := ""
		if hook := a.undoHooks[ev.Kind]; hook != nil {
			if undone, err = hook(txCtx, tx, ev); err != nil {
				return err
			}
		}
		// Whoever it was may have added a passkey since, which signs in
		// without the password: those go too, whatever the event's kind.
		if n, err := passkeys.RemoveAddedSince(txCtx, tx, ev.UserID, ev.At); err != nil {
			return err
		} else if n > 0 {
			undone = strings.TrimSpace(undone + " " + passkeysRemovedSince(n))
		}
		// Or an API token, which works without the password.
		if n, err := apitokens.RevokeCreatedSince(txCtx, tx, ev.UserID, ev.At, now); err != nil {
			return err
		} else if n > 0 {
			undone = strings.TrimSpace(undone + " " + apiTokensRevokedSince(n))
		}
		if err := security.BlockPassword(txCtx, tx, ev.UserID, now); err != nil {
			return err
		}
		u, err := accounts.UserByIDTx(txCtx, tx, ev.UserID)
		if err != nil {
			return err
		}
		m, err := a.notMeDoneMail(txCtx, u.Email, ev, undone)
		if err != nil {
			return err
		}
		_, err = outbox.Enqueue(txCtx, tx, m)
		return err
	})
	if err != nil {
		return a.notMeProblem(c, err)
	}
	a.notifyMail()
	a.Logger.Info("security event reported", "user_id", ev.UserID, "kind", ev.Kind, "sessions_ended", ended)
	// This browser's session, if it was the account's, is gone with the
	// others: it must not be saved again (a slid expiry or last seen would).
	if a.sessionLoaded(c) && sessionUserID(a.sessionValues(ctx)) == ev.UserID {
		if err := a.Sessions.Destroy(ctx); err != nil {
			return err
		}
		c.Set(ctxUser, nil)
	}
	o := components.Outcome{Kind: "secured", Heading: "Your account is secured",
		Message:     "Everyone has been signed out of your account. Signing in with a password is paused until you choose a new one; we have emailed you about it.",
		ActionLabel: "Choose a new password", ActionURL: paths.ForgotPassword}
	return render(c, http.StatusOK, components.OutcomePage(a.meta(c, o.Heading), o))
}

func apiTokensRevokedSince(n int64) string {
	if n == 1 {
		return "The API token made for your account since then was revoked."
	}
	return fmt.Sprintf("The %d API tokens made for your account since then were revoked.", n)
}

func passkeysRemovedSince(n int64) string {
	if n == 1 {
		return "The passkey added to your account since then was removed."
	}
	return fmt.Sprintf("The %d passkeys added to your account since then were removed.", n)
}

func (a *App) notMeDoneMail(ctx context.Context, to string, ev security.Event, undone string) (outbox.Mail, error) {
	reset, err := accountMails{baseURL: a.BaseURL}.link(paths.ForgotPassword)
	if err != nil {
		return outbox.Mail{}, err
	}
	_, what := eventText(ev.Kind, ev.Details)
	v := components.NotMeDoneMail{To: to, What: what + " (" + ev.At.UTC().Format(displayTime) + ")", Undone: undone, ResetURL: reset}
	return renderMail(ctx, to, "We secured your Shelf account", components.NotMeDoneEmailHTML(v), components.NotMeDoneEmailText(v))
}

// notMeProblem explains why a "This wasn't me" link did not work.
func (a *App) notMeProblem(c echo.Context, err error) error {
	var o components.Outcome
	status := http.StatusGone
	switch {
	case errors.Is(err, security.ErrTokenUsed):
		o = components.Outcome{Kind: "used", Heading: "This link has already been used",
			Message: "Your account was already secured with it: everyone was signed out, and a new password is needed to sign in."}
	case errors.Is(err, security.ErrTokenExpired):
		o = components.Outcome{Kind: "expired", Heading: "This link has expired",
			Message: "Links in security emails work for " + undoValid + ". If you do not recognise activity on your account, choose a new password: that signs everyone else out."}
	case errors.Is(err, security.ErrTokenMalformed), errors.Is(err, security.ErrTokenUnknown):
		status = http.StatusNotFound
		o = components.Outcome{Kind: "unknown", Heading: "We do not recognise this link",
			Message: "Check that you copied the whole link from the email. If you do not recognise activity on your account, choose a new password."}
	default:
		return err
	}
	o.ActionLabel, o.ActionURL = "Choose a new password", paths.ForgotPassword
	return render(c, status, components.OutcomePage(a.meta(c, o.Heading), o))
}
