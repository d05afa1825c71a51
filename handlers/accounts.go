package handlers

import (
	"cmp"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"shelf/components"
	"shelf/components/paths"
	"shelf/store/accounts"
	"shelf/store/limits"
)

// Accounts: sign-up with in-place validation, email confirmation, sign-in
// and out, password reset. Routes are listed in routes.go.

// formMeta is meta for a page with a form: it makes sure the session has a
// CSRF token (starting a session if needed).
func (a *App) formMeta(c echo.Context, title string) components.Meta {
	tok := a.csrfToken(c)
	m := a.meta(c, title)
	m.CSRFToken = tok
	return m
}

func noStore(c echo.Context) {
	c.Response().Header().Set("Cache-Control", "no-store")
}

// ---- Sign-up ----

func (a *App) registerPage(c echo.Context) error {
	if _, ok := a.currentUser(c); ok {
		return redirect(c, paths.Home)
	}
	m := a.formMeta(c, "Create an account")
	next := safeNext(c.QueryParam("next"))
	return render(c, http.StatusOK, components.RegisterPage(m, components.RegisterView{CSRF: m.CSRFToken, Next: next, Notice: a.signUpNotice(c, next)}))
}

// validateField answers in-place validation of one sign-up field with that
// field's fragment, using the same rules as the submit.
func (a *App) validateField(c echo.Context) error {
	var f Form
	switch field := c.Param("field"); field {
	case fieldEmail:
		// Whether the address already has an account is not said here
		// nor on submit (see register).
		v := a.checkNewEmail(c, &f, fieldEmail, c.FormValue(fieldEmail), c.FormValue(components.EmailConfirmedName))
		return render(c, http.StatusOK, components.NewAddressField(v))
	case fieldAccountEmail:
		// Sign-in by email: an account's address, judged by syntax alone.
		raw := c.FormValue(fieldEmail)
		checkEmail(&f, fieldEmail, accounts.NormalizeEmail(raw))
		return render(c, http.StatusOK, components.FieldView(components.EmailField(raw, f.Error(fieldEmail))))
	case fieldPassword:
		checkPassword(&f, fieldPassword, c.FormValue(fieldPassword))
		return render(c, http.StatusOK, components.FieldView(components.PasswordField(f.Error(fieldPassword))))
	case fieldPasswordConfirm:
		checkPasswordConfirm(&f, fieldPasswordConfirm, c.FormValue(fieldPassword), c.FormValue(fieldPasswordConfirm))
		return render(c, http.StatusOK, components.FieldView(components.PasswordConfirmField(f.Error(fieldPasswordConfirm))))
	default:
		return echo.ErrNotFound
	}
}

// renderRegister answers a submit with errors: the form alone for HTMX (422
// is swapped, see the layout's htmx config), the whole page otherwise.
func (a *App) renderRegister(c echo.Context, status int, v components.RegisterView) error {
	varyOnHTMX(c)
	if isHTMX(c) {
		return render(c, status, components.RegisterForm(v))
	}
	return render(c, status, components.RegisterPage(a.formMeta(c, "Create an account"), v))
}

// register answers every acceptable submit the same way, whether or not the
// address already has an account, so sign-up does not tell who has one: the
// password is hashed either way, the browser gets a new session holding a
// pending sign-up (not signed in), and goes to "check your mailbox". A new
// address gets its account and confirmation mail; an address with an
// account gets a mail telling its owner (see createAccount).
func (a *App) register(c echo.Context) error {
	if _, ok := a.currentUser(c); ok {
		return redirect(c, paths.Home)
	}
	if s := c.FormValue(components.EmailSuggestionName); s != "" {
		return a.registerWithSuggestion(c, s)
	}
	ctx := c.Request().Context()
	now := a.now()
	pw, confirm := c.FormValue(fieldPassword), c.FormValue(fieldPasswordConfirm)

	var f Form
	address := a.checkNewEmail(c, &f, fieldEmail, c.FormValue(fieldEmail), c.FormValue(components.EmailConfirmedName))
	email := address.Address
	checkPassword(&f, fieldPassword, pw)
	checkPasswordConfirm(&f, fieldPasswordConfirm, pw, confirm)
	next := safeNext(c.FormValue("next"))
	view := components.RegisterView{CSRF: a.csrfToken(c), Address: address, Next: next}
	if !f.Valid() {
		view.Errors = f.FieldErrors
		return a.renderRegister(c, http.StatusUnprocessableEntity, view)
	}
	if wait, err := a.Limits.RegisterIP.Allow(ctx, clientNetwork(c), now); err != nil {
		return err
	} else if wait > 0 {
		f.CheckField(false, fieldEmail, tooManyAttempts(wait))
		view.Errors = f.FieldErrors
		view.Address.Error = f.Error(fieldEmail)
		return a.renderRegister(c, http.StatusTooManyRequests, view)
	}

	// The hash is kept with the pending sign-up (see sessPendingHash).
	hash, err := a.Accounts.Hasher.Hash(ctx, pw)
	if err != nil {
		return err
	}
	mark, err := a.outbox.Newest(ctx)
	if err != nil {
		return err
	}
	n := accounts.NewUser{Email: email, PasswordHash: hash, CreatedIP: c.RealIP(), CreatedBrowser: browserSummary(c.Request().UserAgent())}
	var created, existing int64
	err = a.withSession(c, func(save accounts.SaveSession) error {
		var err error
		created, existing, err = a.Accounts.SignUpHashed(ctx, n, save)
		return err
	}, func(u accounts.User) error {
		if u.ID != 0 {
			// A retaken unconfirmed account: the earlier sign-up's
			// browser no longer holds it (a new account has no sessions).
			if _, err := a.SessionStore.DeleteUserSessions(c.Request().Context(), u.ID); err != nil {
				return err
			}
		}
		return a.startPendingSignUp(c, pendingSignUp{email: email, userID: u.ID, passwordHash: hash, lastSent: now, next: next, mailAfter: mark})
	})
	if err != nil {
		return err
	}
	if created != 0 {
		a.Logger.Info("account created", "user_id", created)
	} else {
		a.Logger.Info("sign-up attempted for an existing account", "user_id", existing)
	}
	return redirect(c, paths.CheckEmail)
}

// humanTTL says a link's lifetime: "48 hours", "1 hour", "30 minutes".
func humanTTL(d time.Duration) string {
	plural := func(n int64, unit string) string {
		if n == 1 {
			return "1 " + unit
		}
		return fmt.Sprintf("%d %ss", n, unit)
	}
	switch {
	case d >= time.Hour && d%time.Hour == 0:
		return plural(int64(d/time.Hour), "hour")
	case d >= time.Minute:
		return plural(int64(d/time.Minute), "minute")
	default:
		return plural(int64(d/time.Second), "second")
	}
}

// ---- Sign-in and out ----

func (a *App) loginPage(c echo.Context) error {
	next := safeNext(c.QueryParam("next"))
	if _, ok := a.currentUser(c); ok {
		return redirect(c, next)
	}
	m := a.formMeta(c, "Sign in")
	return render(c, http.StatusOK, components.LoginPage(m, components.LoginView{CSRF: m.CSRFToken, Next: next,
		Notice: cmp.Or(a.popFlash(c), a.loginNotice(c, next)), Passkeys: a.passkeysOn()}))
}

// errLoginLimited refuses a sign-in that the rate limits hold back.
var errLoginLimited = errors.New("sign-in limited")

// missingSignInFields says which of the sign-in form's fields were left
// empty, or "" when neither was.
func missingSignInFields(email, password string) string {
	switch {
	case email == "" && password == "":
		return "Enter your email and password."
	case email == "":
		return "Enter your email."
	case password == "":
		return "Enter your password."
	}
	return ""
}

// missingSignInFieldIDs are the sign-in form's fields left empty, in
// the form's order.
func missingSignInFieldIDs(email, password string) []string {
	var ids []string
	if email == "" {
		ids = append(ids, fieldEmail)
	}
	if password == "" {
		ids = append(ids, fieldPassword)
	}
	return ids
}

// msgInvalidLogin answers every refused sign-in alike: an unknown address,
// a wrong password, and the right password to an account whose address is
// not yet confirmed (see login).
const msgInvalidLogin = "Invalid email or password. If you have just signed up, confirm your address first with the link we emailed you."

func (a *App) login(c echo.Context) error {
	ctx := c.Request().Context()
	now := a.now()
	email := accounts.NormalizeEmail(c.FormValue(fieldEmail))
	pw := c.FormValue(fieldPassword)
	remember := c.FormValue("remember") != ""
	next := safeNext(c.FormValue("next"))
	// failOn answers a refused sign-in with the form again, saying msg
	// about fields, the first of which to fix (see LoginView.ErrorFields).
	failOn := func(status int, msg string, fields ...string) error {
		shown := email
		if len(shown) > accounts.MaxEmailLen {
			shown = "" // no address is this long; not worth sending back
			if len(fields) > 0 && fields[0] != fieldEmail {
				fields = append([]string{fieldEmail}, fields...) // to type again first
			}
		}
		m := a.formMeta(c, "Sign in")
		return render(c, status, components.LoginPage(m, components.LoginView{
			CSRF: m.CSRFToken, Email: shown, Next: next, Remember: remember, Error: msg, ErrorFields: fields, Passkeys: a.passkeysOn()}))
	}
	// fail refuses the email and password: the password is the one to
	// type again (the address is kept, and may well be right).
	fail := func(status int, msg string) error { return failOn(status, msg, fieldPassword) }

	if missing := missingSignInFields(email, pw); missing != "" {
		// Nothing to check yet, so no attempt counts.
		return failOn(http.StatusUnprocessableEntity, missing, missingSignInFieldIDs(email, pw)...)
	}
	if !accounts.Plausible(email) {
		// No account has such an address: a failed login of the client's
		// network, and the address is neither looked up nor kept.
		if wait, err := a.Limits.LoginIP.Allow(ctx, clientNetwork(c), now); err != nil {
			return err
		} else if wait > 0 {
			return fail(http.StatusTooManyRequests, tooManyAttempts(wait))
		}
		return fail(http.StatusUnprocessableEntity, msgInvalidLogin)
	}
	if wait, err := a.passwordCheckWait(c, now); err != nil {
		return err
	} else if wait > 0 {
		return fail(http.StatusTooManyRequests, tooManyAttempts(wait))
	}
	var attempt limits.Reservation
	var wait time.Duration
	user, err := a.Accounts.Authenticate(ctx, email, pw, func(cred accounts.Credentials) error {
		var err error
		if attempt, wait, err = a.reserveLogin(c, email, cred.UserID, cred.DevicesValidAfter, now); err != nil {
			return err
		}
		if wait > 0 {
			return errLoginLimited
		}
		return nil
	})
	switch {
	case wait > 0:
		return fail(http.StatusTooManyRequests, tooManyAttempts(wait))
	case errors.Is(err, accounts.ErrInvalidCredentials):
		// An unconfirmed account is refused like a wrong password too (see
		// Authenticate). The browser that signed up is signed in by
		// confirming there; a password reset confirms the address too.
		return fail(http.StatusUnprocessableEntity, msgInvalidLogin)
	case err != nil:
		return err
	}
	if err := attempt.Cancel(ctx); err != nil { // only failures count
		return err
	}
	if blocked, err := a.passwordBlocked(c, user.ID); err != nil {
		return err
	} else if blocked {
		// No field is at fault: the way on is "Forgot your password?".
		return failOn(http.StatusUnprocessableEntity, msgPasswordBlocked)
	}
	if err := a.signIn(c, user, remember); err != nil {
		return err
	}
	if !a.secondStepPending(c) {
		// The password was just entered: the changes that ask for it
		// again (see requireRecentAuth) need not, for a few minutes.
		a.Sessions.Put(ctx, sessReauthAt, a.now().Unix())
	}
	return a.continueSignIn(c, next)
}

// continueSignIn sends a browser just signed in where it was going: through
// the second step when the account has one, and finishing a pending shelf
// change (afterSignIn).
func (a *App) continueSignIn(c echo.Context, next string) error {
	if a.secondStepPending(c) {
		a.Sessions.Put(c.Request().Context(), sessSecondNext, next)
		return redirect(c, paths.TwoFactorLogin)
	}
	return redirect(c, a.afterSignIn(c, next))
}

func (a *App) logout(c echo.Context) error {
	if err := a.Sessions.Destroy(c.Request().Context()); err != nil {
		return err
	}
	c.Set(ctxUser, nil)
	// The page it lands on says so. Not the sign-in page, whose passkey
	// autofill would start at once (conditional mediation on load).
	a.flash(c, msgSignedOut)
	return redirect(c, paths.Home)
}

const msgSignedOut = "You are signed out."

// ---- Confirmation ----

// checkEmailPage serves a signed-in account that is not yet confirmed, and
// a browser holding a pending sign-up.
func (a *App) checkEmailPage(c echo.Context) error {
	if u, ok := a.currentUser(c); ok {
		if u.Confirmed() {
			return redirect(c, paths.Account)
		}
	} else if p, ok := a.pendingSignUp(c); ok {
		if a.pendingConfirmed(c, p) {
			return a.pendingNowConfirmed(c, p)
		}
	} else {
		return redirect(c, paths.LoginNext(paths.CheckEmail))
	}
	return a.renderCheckEmail(c, http.StatusOK, components.CheckEmailView{Notice: a.popFlash(c)})
}

// confirmationStatus answers the "check your mailbox" page's question,
// asked every 2 seconds: has the address been confirmed yet, on any
// instance, in any browser? Only the browser waiting for it is answered,
// the one that signed up (its pending sign-up) or is signed in to the
// account, from the database and the session alone: a read. A pending
// sign-up for an address that already had an account waits forever, as
// one never confirmed does, so the answer tells nobody that it had one.
// htmx gets 204 while nothing has changed (the waiting page stays as it
// is, so its live region announces nothing), then the confirmed fragment,
// or the page's refused state once the mail server refused the address
// (mailRefused); other browsers get a page.
func (a *App) confirmationStatus(c echo.Context) error {
	var v components.ConfirmationStatusView
	if u, ok := a.currentUser(c); ok {
		v = components.ConfirmationStatusView{Confirmed: u.Confirmed(), SignedIn: true, Next: paths.Account}
		if refused, err := a.userRefused(c, u); err != nil {
			return err
		} else if refused {
			return a.mailRefused(c)
		}
	} else if p, ok := a.pendingSignUp(c); ok {
		v.Confirmed, v.Next = a.pendingConfirmed(c, p), p.afterConfirmation()
		if !v.Confirmed {
			if refused, err := a.pendingRefused(c, p); err != nil {
				return err
			} else if refused {
				return a.mailRefused(c)
			}
		}
	} else {
		return redirect(c, paths.LoginNext(paths.CheckEmail))
	}
	noStore(c)
	varyOnHTMX(c)
	if isHTMX(c) {
		if !v.Confirmed {
			return c.NoContent(http.StatusNoContent)
		}
		return render(c, http.StatusOK, components.ConfirmationStatusUpdate(a.formMeta(c, "Address confirmed"), v))
	}
	title := "Not confirmed yet"
	if v.Confirmed {
		title = "Address confirmed"
	}
	return render(c, http.StatusOK, components.ConfirmationStatusPage(a.meta(c, title), v))
}

// mailRefused answers the status of a pending sign-up, or of a signed-in
// account not yet confirmed, whose mail the server refused: htmx gets the
// page's new state, which asks no more (no link will come), other browsers
// the page.
func (a *App) mailRefused(c echo.Context) error {
	noStore(c)
	varyOnHTMX(c)
	if !isHTMX(c) {
		return redirect(c, paths.CheckEmail)
	}
	m, v, err := a.checkEmailView(c, components.CheckEmailView{})
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, components.CheckEmailUpdate(m, v))
}

// resend sends a new confirmation link, at most once a minute and
// accounts.ResendPerDay times a day; otherwise it shows the wait.
func (a *App) resend(c echo.Context) error {
	if u, ok := a.currentUser(c); ok {
		return a.resendToUser(c, u)
	}
	if p, ok := a.pendingSignUp(c); ok {
		return a.resendToPending(c, p)
	}
	return redirect(c, paths.LoginNext(paths.CheckEmail))
}

func (a *App) resendToUser(c echo.Context, u accounts.User) error {
	if u.Confirmed() {
		a.flash(c, "Your address is already confirmed.")
		return redirect(c, paths.Account)
	}
	wait, err := a.Accounts.Resend(c.Request().Context(), u.ID)
	if errors.Is(err, accounts.ErrAccountConfirmed) { // since this request read it
		a.flash(c, "Your address is already confirmed.")
		return redirect(c, paths.Account)
	}
	if err != nil {
		return err
	}
	return a.renderResent(c, wait)
}

// renderResent answers a resend: the wait if there is one, else that a new
// link went out.
func (a *App) renderResent(c echo.Context, wait time.Duration) error {
	var v components.CheckEmailView
	status := http.StatusOK
	switch {
	case wait > accounts.ResendInterval:
		status = http.StatusTooManyRequests
		v.Warning = fmt.Sprintf("You have asked for %d new links today. You can ask again in %s.", accounts.ResendPerDay, humanWait(wait))
	case wait > 0:
		status = http.StatusTooManyRequests
		v.Warning = "We just sent you an email. You can ask for another in " + humanWait(wait) + "."
	default:
		v.Notice = "We sent a new link. Links in earlier emails no longer work."
	}
	return a.renderCheckEmail(c, status, v)
}

// confirmPage shows where the account was created and asks for a click to
// confirm, or to delete it; it changes nothing itself, so mail scanners that
// fetch links, or run their scripts, do not use them up.
func (a *App) confirmPage(c echo.Context) error {
	noStore(c)
	ctx := c.Request().Context()
	token := c.Param("token")
	uid, err := a.Accounts.CheckToken(ctx, token, accounts.PurposeConfirm, a.now())
	if err != nil {
		return a.tokenProblem(c, accounts.PurposeConfirm, uid, err)
	}
	u, err := a.Accounts.UserByID(ctx, uid)
	if err != nil {
		return err
	}
	if u.Confirmed() { // by a password reset, which proves the address too
		return a.alreadyConfirmed(c, uid)
	}
	m := a.formMeta(c, "Confirm your address")
	return render(c, http.StatusOK, components.ConfirmPage(m, components.ConfirmView{CSRF: m.CSRFToken, Token: token,
		Email: u.Email, Created: u.CreatedAt.UTC().Format(displayTime), Browser: cmp.Or(u.CreatedBrowser, "an unknown browser"), IP: u.CreatedIP}))
}

// confirm uses the token and confirms its account, from any browser. The
// browser that signed up is signed in; any other is asked to sign in.
func (a *App) confirm(c echo.Context) error {
	noStore(c)
	// Where the browser that signed up was going, read before confirming
	// ends its pending sign-up.
	pending, _ := a.pendingSignUp(c)
	var uid int64
	var first bool
	// The browser that signed up is signed in by the same transaction.
	err := a.withSession(c, func(save accounts.SaveSession) error {
		var err error
		uid, first, err = a.Accounts.Confirm(c.Request().Context(), c.Param("token"), save)
		return err
	}, func(u accounts.User) error {
		c.Set(ctxUser, nil) // reread: the signed-in account may be the one confirmed
		return a.signInPendingSignUp(c, u)
	})
	if err != nil {
		return a.tokenProblem(c, accounts.PurposeConfirm, uid, err)
	}
	if !first {
		return a.alreadyConfirmed(c, uid)
	}
	a.Logger.Info("account confirmed", "user_id", uid)
	o := components.Outcome{Kind: "confirmed", Heading: "Address confirmed", Message: "Thank you: your email address is confirmed."}
	if u, ok := a.currentUser(c); ok && u.ID == uid {
		o.ActionLabel, o.ActionURL = "Go to your account", paths.Account
		if pending.userID == uid && pending.afterConfirmation() != paths.Account {
			o.ActionLabel, o.ActionURL = "Continue where you were", a.afterSignIn(c, pending.afterConfirmation())
		}
	} else {
		// Another device, most likely the phone the mail was read on: the
		// page that signed up moves on by itself (confirmationStatus).
		o.Message += " The page where you signed up carries on by itself. To continue on this device, sign in."
		o.ActionLabel, o.ActionURL = "Sign in", paths.LoginNext(paths.Account)
	}
	return render(c, http.StatusOK, components.OutcomePage(a.meta(c, "Address confirmed"), o))
}

func (a *App) alreadyConfirmed(c echo.Context, uid int64) error {
	o := components.Outcome{Kind: "already-confirmed", Heading: "Already confirmed",
		Message: "This address is already confirmed; there is nothing more to do."}
	if u, ok := a.currentUser(c); ok && u.ID == uid {
		o.ActionLabel, o.ActionURL = "Go to your account", paths.Account
	} else {
		o.ActionLabel, o.ActionURL = "Sign in", paths.LoginNext(paths.Account)
	}
	return render(c, http.StatusOK, components.OutcomePage(a.meta(c, "Already confirmed"), o))
}

// canResend reports whether this browser may ask for a new confirmation
// link: it is signed in to an unconfirmed account, or holds a pending
// sign-up.
func (a *App) canResend(c echo.Context) bool {
	if u, ok := a.currentUser(c); ok {
		return !u.Confirmed()
	}
	_, pending := a.pendingSignUp(c)
	return pending
}

// tokenProblem explains why a mailed link did not work and offers a new one.
func (a *App) tokenProblem(c echo.Context, purpose accounts.Purpose, uid int64, err error) error {
	if purpose == accounts.PurposeConfirm && uid != 0 &&
		(errors.Is(err, accounts.ErrTokenUsed) || errors.Is(err, accounts.ErrTokenSuperseded) || errors.Is(err, accounts.ErrTokenExpired)) {
		if u, uerr := a.Accounts.UserByID(c.Request().Context(), uid); uerr == nil && u.Confirmed() {
			return a.alreadyConfirmed(c, uid)
		}
	}
	ttl := a.Accounts.ConfirmTTL()
	if purpose == accounts.PurposeReset {
		ttl = a.Accounts.ResetTTL()
	}
	var o components.Outcome
	status := http.StatusGone
	switch {
	case errors.Is(err, accounts.ErrTokenExpired):
		o = components.Outcome{Kind: "expired", Heading: "This link has expired",
			Message: "Links work for " + humanTTL(ttl) + ". Ask for a new one below."}
	case errors.Is(err, accounts.ErrTokenUsed):
		o = components.Outcome{Kind: "used", Heading: "This link has already been used",
			Message: "Each link works only once. Ask for a new one below."}
	case errors.Is(err, accounts.ErrTokenSuperseded) && purpose == accounts.PurposeReset:
		o = components.Outcome{Kind: "superseded", Heading: "This link no longer works",
			Message: "A newer link was sent, or the password was changed since this one was. Only the link in the most recent email works, " +
				"until the password changes. Use that one, or ask for a new one below."}
	case errors.Is(err, accounts.ErrTokenSuperseded):
		o = components.Outcome{Kind: "superseded", Heading: "A newer link was sent",
			Message: "Only the link in the most recent email works. Use that one, or ask for a new one below."}
	case errors.Is(err, accounts.ErrTokenRetired):
		o = components.Outcome{Kind: "retired", Heading: "This link no longer works",
			Message: "The sign-up it was sent for changed its email address before confirming it, so this link was cancelled. " +
				"Nothing else is needed. If you want an account, create one."}
	case errors.Is(err, accounts.ErrTokenMalformed):
		status = http.StatusBadRequest
		o = components.Outcome{Kind: "tampered", Heading: "This link is damaged",
			Message: "Part of the link is missing or changed. Copy the whole link from the email into your browser, or ask for a new one below."}
	case errors.Is(err, accounts.ErrTokenUnknown):
		status = http.StatusNotFound
		o = components.Outcome{Kind: "unknown", Heading: "We do not recognise this link",
			Message: "Check that you copied the whole link from the email, or ask for a new one below."}
	default:
		return err
	}
	switch {
	case purpose == accounts.PurposeReset:
		o.ActionLabel, o.ActionURL = "Ask for a new link", paths.ForgotPassword
	case errors.Is(err, accounts.ErrTokenRetired):
		o.ActionLabel, o.ActionURL = "Create an account", paths.Register
	case a.canResend(c):
		o.ActionLabel, o.ActionURL, o.ActionPost, o.CSRF = "Send me a new link", paths.ResendConfirm, true, a.csrfToken(c)
	default:
		// Signing in needs a confirmed address; a reset link proves it too.
		o.ActionLabel, o.ActionURL = "Get a new link by resetting your password", paths.ForgotPassword
	}
	m := a.meta(c, o.Heading)
	if o.CSRF != "" {
		m.CSRFToken = o.CSRF
	}
	return render(c, status, components.OutcomePage(m, o))
}

// ---- Account ----

const displayTime = "2 January 2006, 15:04 UTC"

func (a *App) account(c echo.Context) error {
	u, _ := a.currentUser(c)
	v := components.AccountView{Email: u.Email, Created: u.CreatedAt.UTC().Format(displayTime),
		Confirmed: u.ConfirmedAt.UTC().Format(displayTime), IsAdmin: u.IsAdmin, Notice: a.popFlash(c)}
	var err error
	if v.Passkeys, err = a.passkeysView(c, u); err != nil {
		return err
	}
	if v.TwoFactor, err = a.twoFactorStatus(c.Request().Context(), u); err != nil {
		return err
	}
	if v.APITokens, err = a.apiTokensView(c, u); err != nil {
		return err
	}
	return render(c, http.StatusOK, components.AccountPage(a.meta(c, "Your account"), v))
}

// ---- Password reset ----

func (a *App) forgotPage(c echo.Context) error {
	m := a.formMeta(c, "Forgot your password?")
	return render(c, http.StatusOK, components.ForgotPage(m, components.ForgotView{CSRF: m.CSRFToken}))
}

// forgot records a reset request and answers the same for every address;
// a link goes out, off the request path, only if the address has an account.
func (a *App) forgot(c echo.Context) error {
	ctx := c.Request().Context()
	raw := c.FormValue(fieldEmail)
	email := accounts.NormalizeEmail(raw)
	var f Form
	checkEmail(&f, fieldEmail, email)
	if f.Valid() {
		wait, err := a.forgotWait(c, email)
		if err != nil {
			return err
		}
		if wait > 0 {
			f.CheckField(false, fieldEmail, tooManyAttempts(wait))
		}
	}
	if !f.Valid() {
		m := a.formMeta(c, "Forgot your password?")
		status := http.StatusUnprocessableEntity
		if strings.HasPrefix(f.Error(fieldEmail), "Too many") {
			status = http.StatusTooManyRequests
		}
		return render(c, status, components.ForgotPage(m, components.ForgotView{CSRF: m.CSRFToken, Email: raw, Error: f.Error(fieldEmail)}))
	}
	// The same single insert for every address; the worker finds the
	// account, if any, and sends the link (see resets.go).
	if err := a.Accounts.RequestReset(ctx, email); err != nil {
		return err
	}
	a.wakeResetWorker()
	o := components.Outcome{Kind: "reset-sent", Heading: "Check your mailbox",
		Message: "If an account exists for " + email + ", we have sent it a link to choose a new password. The link works for " +
			humanTTL(a.Accounts.ResetTTL()) + "."}
	return render(c, http.StatusOK, components.OutcomePage(a.meta(c, "Check your mailbox"), o))
}

func (a *App) resetPage(c echo.Context) error {
	noStore(c)
	token := c.Param("token")
	if uid, err := a.Accounts.CheckToken(c.Request().Context(), token, accounts.PurposeReset, a.now()); err != nil {
		return a.tokenProblem(c, accounts.PurposeReset, uid, err)
	}
	m := a.formMeta(c, "Choose a new password")
	return render(c, http.StatusOK, components.ResetPage(m, components.ResetView{CSRF: m.CSRFToken, Token: token}))
}

// reset sets the new password, ends every session of the account (this
// browser's too, when it held one) and sends the reader to sign in with the
// new password. It never signs in: a mailbox is one factor, and a reset
// leaves the second factor as it was, so signing in asks for it as always.
func (a *App) reset(c echo.Context) error {
	noStore(c)
	ctx := c.Request().Context()
	now := a.now()
	token := c.Param("token")
	if uid, err := a.Accounts.CheckToken(ctx, token, accounts.PurposeReset, now); err != nil {
		return a.tokenProblem(c, accounts.PurposeReset, uid, err)
	}
	pw, confirm := c.FormValue(fieldPassword), c.FormValue(fieldPasswordConfirm)
	var f Form
	checkPassword(&f, fieldPassword, pw)
	checkPasswordConfirm(&f, fieldPasswordConfirm, pw, confirm)
	if !f.Valid() {
		m := a.formMeta(c, "Choose a new password")
		return render(c, http.StatusUnprocessableEntity, components.ResetPage(m, components.ResetView{CSRF: m.CSRFToken, Token: token, Errors: f.FieldErrors}))
	}
	var user accounts.User
	var ended int64
	// The new password, the end of the account's sessions and its mail are
	// stored together, or none of them.
	err := a.withSession(c, func(save accounts.SaveSession) error {
		var err error
		user, err = a.Accounts.CompleteReset(ctx, token, pw, save)
		return err
	}, func(u accounts.User) error {
		var err error
		if ended, err = a.signOutEverywhere(c.Request().Context(), u.ID); err != nil {
			return err
		}
		if err := a.unblockPassword(c, u.ID); err != nil {
			return err
		}
		if err := a.securityEvent(c, u, EventPasswordReset); err != nil {
			return err
		}
		// This browser's session, if it was the account's (signed in or
		// half-way), went with the others: it must not be saved again.
		if ctx := c.Request().Context(); a.sessionLoaded(c) && sessionUserID(a.sessionValues(ctx)) == u.ID {
			c.Set(ctxUser, nil)
			return a.Sessions.Destroy(ctx)
		}
		return nil
	})
	if err != nil {
		return a.tokenProblem(c, accounts.PurposeReset, 0, err)
	}
	a.Logger.Info("password reset", "user_id", user.ID, "sessions_ended", ended)
	a.flash(c, msgPasswordReset)
	return redirect(c, paths.LoginNext(paths.Account))
}

// msgPasswordReset is the sign-in page's notice after a reset.
const msgPasswordReset = "Your password has been changed, and everyone was signed out of your account. Sign in with your new password."
