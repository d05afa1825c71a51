package handlers

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"

	"shelf/components"
	"shelf/components/paths"
	"shelf/components/qrcode"
	"shelf/store"
	"shelf/store/accounts"
	"shelf/store/limits"
	"shelf/store/sealed"
	"shelf/store/twofactor"
)

// Two-step sign-in with an authenticator app (TOTP) and recovery codes.
//
// A first factor (a password, a mailed link) for an account with a second
// factor ends in signIn recording only a pending sign-in: a renewed
// session token holding sessSecondUser, not sessUserID. Nothing reads that
// as signed in (currentUser reads sessUserID alone), and holdSecondStep
// sends every request of such a session, on any route but the second
// step's own, to the second step. The code is consumed (its time step
// recorded as used) in the same transaction that stores the upgraded
// session, so of two submits of one code exactly one signs in.

// Session keys.
const (
	sessSecondUser     = "second_user"       // int64: first factor passed, code not yet given
	sessSecondStarted  = "second_started"    // int64 Unix seconds
	sessSecondFails    = "second_fails"      // int: wrong codes at this pending sign-in
	sessSecondRemember = "second_remember"   // bool: "Remember me" at the first step
	sessSecondNext     = "second_next"       // string: where to go once signed in
	sessReauthAt       = "reauth_at"         // int64 Unix seconds the password was last re-entered
	sessEnrolSecret    = "totp_enrol"        // []byte: the secret being enrolled, sealed
	sessFreshCodes     = "recovery_fresh"    // []byte: new recovery codes until "I've saved them", sealed
	sessFreshCodesAt   = "recovery_fresh_at" // int64 Unix seconds the codes were made
)

// Lifetimes and limits.
const (
	secondStepTTL    = 10 * time.Minute // a pending sign-in dies after this long
	secondStepTries  = 5                // or after this many wrong codes
	recentAuthWindow = 5 * time.Minute  // re-entering the password counts this long
	freshCodesTTL    = 15 * time.Minute // new recovery codes are shown this long, to be saved
)

// Seal purposes of values kept in sessions.
const (
	enrolPurpose      = "totp-enrol"
	freshCodesPurpose = "recovery-fresh"
)

// Field names.
const (
	fieldCode = "code"
)

// totpRoutes: the second step of a sign-in, re-authentication, enrolment,
// recovery codes and turning the second factor off. holdSecondStep runs
// for every route (echo applies Use to routes added before it too).
func (a *App) totpRoutes(e *echo.Echo) {
	e.Use(a.holdSecondStep)
	serveGet(e, paths.TwoFactorLogin, a.secondStepPage)
	e.POST(paths.TwoFactorLogin, a.secondStep)
	e.POST(paths.TwoFactorValidate, a.validateTwoFactorField)
	serveGet(e, paths.Reauth, a.reauthPage, a.requireUser)
	e.POST(paths.Reauth, a.reauth, a.requireUser)
	serveGet(e, paths.TwoFactorSetup, a.totpSetupPage, a.requireRecentAuth)
	e.POST(paths.TwoFactorSetup, a.totpSetup, a.requireRecentAuth)
	serveGet(e, paths.RecoveryCodes, a.recoveryCodesPage, a.requireConfirmed)
	e.POST(paths.RecoveryCodes, a.regenerateRecoveryCodes, a.requireRecentAuth)
	serveGet(e, paths.RecoveryCodesDownload, a.downloadRecoveryCodes, a.requireConfirmed)
	e.POST(paths.RecoveryCodesSaved, a.recoveryCodesSaved, a.requireConfirmed)
	serveGet(e, paths.TwoFactorDisable, a.totpDisablePage, a.requireConfirmed)
	e.POST(paths.TwoFactorDisable, a.totpDisable, a.requireConfirmed)
}

// secondStepRoutes are the routes a pending sign-in may use: the second
// step itself (with a code, or a security key: passkeys.go), its in-place
// validation, and signing out.
var secondStepRoutes = map[string]bool{paths.TwoFactorLogin: true, paths.TwoFactorValidate: true, paths.Logout: true,
	paths.TwoFactorPasskeyOptions: true, paths.TwoFactorPasskey: true}

// holdSecondStep sends a session holding a pending sign-in to the second
// step, whatever it asks for, until it signs in or out. A pending sign-in
// that has expired is ended, and the request goes on as anonymous.
func (a *App) holdSecondStep(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if !a.sessionLoaded(c) {
			return next(c)
		}
		ctx := c.Request().Context()
		if a.Sessions.GetInt64(ctx, sessSecondUser) == 0 {
			return next(c)
		}
		if a.now().Sub(time.Unix(a.Sessions.GetInt64(ctx, sessSecondStarted), 0)) > secondStepTTL {
			a.endSecondStep(c)
			if c.Path() == paths.TwoFactorLogin {
				a.flash(c, "Signing in took longer than 10 minutes. Please sign in again.")
				return redirect(c, paths.Login)
			}
			return next(c)
		}
		if secondStepRoutes[c.Path()] {
			return next(c)
		}
		return redirect(c, paths.TwoFactorLogin)
	}
}

// startSecondStep records a pending sign-in for u: the first factor passed.
// The session gets a new token, as at any sign-in, and loses any account
// it was signed in to.
func (a *App) startSecondStep(c echo.Context, u accounts.User, remember bool) error {
	ctx := c.Request().Context()
	if err := a.Sessions.RenewToken(ctx); err != nil {
		return err
	}
	a.endPendingSignUp(c)
	a.Sessions.Remove(ctx, sessUserID)
	a.forgetAccountProofs(c)
	a.Sessions.Put(ctx, sessSecondUser, u.ID)
	a.Sessions.Put(ctx, sessSecondStarted, a.now().Unix())
	a.Sessions.Put(ctx, sessSecondFails, 0)
	a.Sessions.Put(ctx, sessSecondRemember, remember)
	a.Sessions.Put(ctx, sessCreated, a.now().Unix())
	a.Sessions.Put(ctx, sessCSRF, newCSRFToken())
	a.Sessions.RememberMe(ctx, false)
	c.Set(ctxUser, &accounts.User{}) // not signed in
	return nil
}

// endSecondStep forgets a pending sign-in.
func (a *App) endSecondStep(c echo.Context) {
	ctx := c.Request().Context()
	for _, k := range []string{sessSecondUser, sessSecondStarted, sessSecondFails, sessSecondRemember, sessSecondNext} {
		a.Sessions.Remove(ctx, k)
	}
}

// secondStepPending reports whether this request's session waits for a code.
func (a *App) secondStepPending(c echo.Context) bool {
	return a.sessionLoaded(c) && a.Sessions.GetInt64(c.Request().Context(), sessSecondUser) != 0
}

// pendingSignIn is a session's sign-in waiting for its second factor.
type pendingSignIn struct {
	userID   int64
	remember bool   // "Remember me" at the first step
	next     string // where to go once signed in
}

// pendingSecondStep returns this session's pending sign-in. Another second
// factor (a security key) completes it as secondStep does: it proves the
// factor and calls completeSignIn(c, u, p.remember) in the transaction that
// stores the session (withSession), then goes to p.next; its routes join
// secondStepRoutes.
func (a *App) pendingSecondStep(c echo.Context) (pendingSignIn, bool) {
	if !a.secondStepPending(c) {
		return pendingSignIn{}, false
	}
	ctx := c.Request().Context()
	return pendingSignIn{userID: a.Sessions.GetInt64(ctx, sessSecondUser), remember: a.Sessions.GetBool(ctx, sessSecondRemember),
		next: safeNext(a.Sessions.GetString(ctx, sessSecondNext))}, true
}

func (a *App) secondStepPage(c echo.Context) error {
	p, ok := a.pendingSecondStep(c)
	if !ok {
		return redirect(c, paths.Login)
	}
	noStore(c)
	return a.renderSecondStep(c, http.StatusOK, p.userID, components.SecondStepView{Notice: a.popFlash(c)})
}

// renderSecondStep answers the second step's page for account uid, which
// offers a security key when the account has one and passkeys are on.
func (a *App) renderSecondStep(c echo.Context, status int, uid int64, v components.SecondStepView) error {
	n, err := a.passkeyStore().Count(c.Request().Context(), uid)
	if err != nil {
		return err
	}
	m := a.formMeta(c, "Enter your code")
	v.CSRF, v.Passkeys = m.CSRFToken, n > 0 && a.passkeysOn()
	return render(c, status, components.SecondStepPage(m, v))
}

// checkCodeFormat checks what was typed looks like a code, before any
// look-up: 6 digits, or (when recovery) a recovery code.
func checkCodeFormat(f *Form, code string, recovery bool) {
	code = strings.TrimSpace(code)
	f.CheckField(code != "", fieldCode, "Enter the code from your authenticator app.")
	digits := strings.Map(func(r rune) rune {
		if r == ' ' {
			return -1
		}
		return r
	}, code)
	isDigits := len(digits) == 6 && strings.Trim(digits, "0123456789") == ""
	if recovery {
		f.CheckField(isDigits || twofactor.LooksLikeRecoveryCode(code), fieldCode,
			"Enter the 6 digits from your app, or a recovery code like ABCD-EFGH-JKMN-PQRS.")
	} else {
		f.CheckField(isDigits, fieldCode, "Enter the 6 digits your app shows.")
	}
}

// appCode is a 6-digit code as typed, without spaces.
func appCode(code string) string { return strings.ReplaceAll(strings.TrimSpace(code), " ", "") }

func (a *App) validateTwoFactorField(c echo.Context) error {
	var f Form
	switch c.Param("field") {
	case "code", "code_or_recovery":
		recovery := c.Param("field") == "code_or_recovery"
		checkCodeFormat(&f, c.FormValue(fieldCode), recovery)
		return render(c, http.StatusOK, components.FieldView(components.CodeField(c.FormValue(fieldCode), f.Error(fieldCode), recovery)))
	case fieldPassword:
		f.CheckField(c.FormValue(fieldPassword) != "", fieldPassword, "Enter your password.")
		return render(c, http.StatusOK, components.FieldView(components.CurrentPasswordField(f.Error(fieldPassword))))
	default:
		return echo.ErrNotFound
	}
}

// useSecondFactor consumes code for the account in tx: an app code, or a
// recovery code. recovery reports which it was.
func (a *App) useSecondFactor(ctx context.Context, tx *sql.Tx, userID int64, code string, now time.Time) (ok, recovery bool, err error) {
	if twofactor.LooksLikeRecoveryCode(code) {
		ok, err = a.TwoFactor.UseRecoveryCode(ctx, tx, userID, code, now)
		return ok, true, err
	}
	ok, err = a.TwoFactor.UseCode(ctx, tx, userID, appCode(code), now)
	return ok, false, err
}

// secondFactorCheck is how a code fared in checkSecondFactor.
type secondFactorCheck struct {
	ok       bool      // right, and now used
	recovery bool      // it was a recovery code
	frozen   time.Time // the account's second step is frozen until then: the code was not checked
	froze    bool      // it was wrong, and froze the account's second step
}

// checkSecondFactor checks code for u in tx, unless u's second step is
// frozen: a right code is consumed, a wrong one counted against the account
// (the owner is mailed when that freezes it). The freeze, the code and the
// count are read and written in one transaction, which commits when the
// code is wrong too: codes sent at once are checked no more often than
// codes sent one after another.
func (a *App) checkSecondFactor(ctx context.Context, tx *sql.Tx, c echo.Context, u accounts.User, code string, now time.Time) (secondFactorCheck, error) {
	until, err := a.TwoFactor.FrozenUntilTx(ctx, tx, u.ID, now)
	if err != nil || !until.IsZero() {
		return secondFactorCheck{frozen: until}, err
	}
	ok, rec, err := a.useSecondFactor(ctx, tx, u.ID, code, now)
	if err != nil || ok {
		return secondFactorCheck{ok: ok, recovery: rec}, err
	}
	froze, err := a.TwoFactor.RecordFailure(ctx, tx, u.ID, now)
	if err != nil || !froze {
		return secondFactorCheck{}, err
	}
	return secondFactorCheck{froze: true}, inRequestTx(c, ctx, func() error {
		return a.securityEvent(c, u, EventSecondStepFrozen, fmt.Sprintf("%d wrong codes within an hour; locked for %d minutes",
			twofactor.FreezeAfter, int(twofactor.FreezeFor/time.Minute)))
	})
}

// frozenMessage answers a code sent while the account's second step is frozen.
func (a *App) frozenMessage(until, now time.Time) string {
	return "Too many wrong codes were entered for this account. Try again in " + humanWait(until.Sub(now)) + "."
}

// secondStep checks the code of a pending sign-in and, when it is right,
// signs in, in the transaction that consumes the code.
func (a *App) secondStep(c echo.Context) error {
	pending, ok := a.pendingSecondStep(c)
	if !ok {
		return redirect(c, paths.Login)
	}
	noStore(c)
	ctx := c.Request().Context()
	now := a.now()
	uid, remember, next := pending.userID, pending.remember, pending.next
	code := c.FormValue(fieldCode)
	fail := func(status int, v components.SecondStepView) error {
		return a.renderSecondStep(c, status, uid, v)
	}
	var f Form
	checkCodeFormat(&f, code, true)
	if !f.Valid() {
		return fail(http.StatusUnprocessableEntity, components.SecondStepView{Code: code, Error: f.Error(fieldCode)})
	}
	var check secondFactorCheck
	var left int
	err := a.withSession(c, func(save accounts.SaveSession) error {
		return a.DB.InTx(ctx, func(tx *sql.Tx) error {
			tctx := store.WithTx(ctx, tx)
			u, err := accounts.UserByIDTx(tctx, tx, uid)
			if err != nil {
				return err
			}
			if check, err = a.checkSecondFactor(tctx, tx, c, u, code, now); err != nil || !check.ok {
				return err // a wrong code's count commits
			}
			if check.recovery {
				if left, err = a.recoveryCodesLeftTx(tctx, tx, uid); err != nil {
					return err
				}
			}
			return save(tctx, u)
		})
	}, func(u accounts.User) error {
		if err := a.completeSignIn(c, u, remember); err != nil || !check.recovery {
			return err
		}
		return a.securityEvent(c, u, EventRecoveryUsed, recoveryCodesLeft(left))
	})
	switch {
	case errors.Is(err, twofactor.ErrNotEnabled):
		// Turned off since the password step, from another browser: this
		// sign-in was for an account that no longer asks for a code, and
		// is started again rather than completed by one.
		a.endSecondStep(c)
		a.flash(c, "Two-factor sign-in was turned off for this account meanwhile. Please sign in again.")
		return redirect(c, paths.Login)
	case err != nil:
		return err
	case !check.frozen.IsZero():
		return fail(http.StatusTooManyRequests, components.SecondStepView{Status: a.frozenMessage(check.frozen, now)})
	case !check.ok:
		return a.wrongSecondCode(c, code, fail)
	}
	if check.recovery {
		if left <= 3 {
			a.flash(c, fmt.Sprintf("You signed in with a recovery code. You have %d left: make new ones on this page.", left))
			return redirect(c, paths.Account)
		}
	}
	return redirect(c, a.afterSignIn(c, next))
}

// wrongSecondCode answers a wrong code, which checkSecondFactor counted
// against the account: it counts it against this pending sign-in too,
// which ends at secondStepTries.
func (a *App) wrongSecondCode(c echo.Context, code string, fail func(int, components.SecondStepView) error) error {
	ctx := c.Request().Context()
	fails := a.Sessions.GetInt(ctx, sessSecondFails) + 1
	if fails >= secondStepTries {
		a.endSecondStep(c)
		a.flash(c, "Too many wrong codes. Please sign in again.")
		return redirect(c, paths.Login)
	}
	a.Sessions.Put(ctx, sessSecondFails, fails)
	left := secondStepTries - fails
	status := fmt.Sprintf("That code is not right, or it was used already. %d tries left.", left)
	if left == 1 {
		status = "That code is not right, or it was used already. 1 try left."
	}
	return fail(http.StatusUnprocessableEntity, components.SecondStepView{Code: code, Error: "Wrong code.", Status: status})
}

// recoveryCodesLeft says how many recovery codes are left, for a mail.
func recoveryCodesLeft(n int) string {
	if n == 1 {
		return "1 recovery code left"
	}
	return fmt.Sprintf("%d recovery codes left", n)
}

// inRequestTx runs fn with the request's context set to ctx, which
// carries a transaction (store.WithTx), so that what fn records through
// the request (securityEvent) joins that transaction.
func inRequestTx(c echo.Context, ctx context.Context, fn func() error) error {
	r := c.Request()
	c.SetRequest(r.WithContext(ctx))
	defer c.SetRequest(r)
	return fn()
}

func (a *App) recoveryCodesLeftTx(ctx context.Context, tx *sql.Tx, uid int64) (int, error) {
	var n int
	err := tx.QueryRowContext(ctx, `SELECT count(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL`, uid).Scan(&n)
	return n, err
}

// ---- Re-authentication ----

// requireRecentAuth lets through confirmed accounts whose password was
// re-entered in this session within the last 5 minutes, and sends others
// to enter it again, coming back to the page they were on. Every
// sensitive change (a second factor, recovery codes, passkeys) uses it.
func (a *App) requireRecentAuth(next echo.HandlerFunc) echo.HandlerFunc {
	return a.recentAuthFor("")(next)
}

// recentAuthFor is requireRecentAuth coming back to back after the
// password, or, when back is "", to the request's page (a form's POST
// returns to the form's page: each form posts to the path that shows it).
// A request made by script (JSON) is told where to go instead: 403 with
// {"reauth": URL}.
func (a *App) recentAuthFor(back string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return a.requireConfirmed(func(c echo.Context) error {
			if a.recentlyReauthenticated(c) {
				return next(c)
			}
			to := back
			if to == "" {
				to = c.Request().URL.RequestURI()
				if c.Request().Method != http.MethodGet && c.Request().Method != http.MethodHead {
					to = c.Path()
				}
			}
			if wantsJSON(c) {
				noStore(c)
				return c.JSON(http.StatusForbidden, map[string]string{"error": "Confirm your password first.", "reauth": paths.ReauthNext(to)})
			}
			return redirect(c, paths.ReauthNext(to))
		})
	}
}

// recentlyReauthenticated reports whether the password was re-entered in
// this session within recentAuthWindow.
func (a *App) recentlyReauthenticated(c echo.Context) bool {
	at := a.Sessions.GetInt64(c.Request().Context(), sessReauthAt)
	return at != 0 && a.now().Sub(time.Unix(at, 0)) <= recentAuthWindow
}

func (a *App) reauthPage(c echo.Context) error {
	m := a.formMeta(c, "Confirm it's you")
	return render(c, http.StatusOK, components.ReauthPage(m, components.ReauthView{CSRF: m.CSRFToken, Next: safeNext(c.QueryParam("next"))}))
}

// checkPassword checks u's password with the sign-in rate limits; it
// returns a message for the form when it is wrong or limited.
func (a *App) checkCurrentPassword(c echo.Context, u accounts.User, pw string) (string, int, error) {
	if pw == "" {
		return "Enter your password.", http.StatusUnprocessableEntity, nil
	}
	ctx := c.Request().Context()
	now := a.now()
	if wait, err := a.passwordCheckWait(c, now); err != nil {
		return "", 0, err
	} else if wait > 0 {
		return tooManyAttempts(wait), http.StatusTooManyRequests, nil
	}
	var wait time.Duration
	var attempt limits.Reservation
	_, err := a.Accounts.Authenticate(ctx, u.Email, pw, func(cred accounts.Credentials) error {
		var err error
		if attempt, wait, err = a.reserveLogin(c, u.Email, cred.UserID, cred.DevicesValidAfter, now); err != nil {
			return err
		}
		if wait > 0 {
			return errLoginLimited
		}
		return nil
	})
	switch {
	case wait > 0:
		return tooManyAttempts(wait), http.StatusTooManyRequests, nil
	case errors.Is(err, accounts.ErrInvalidCredentials):
		return "That is not your password.", http.StatusUnprocessableEntity, nil
	case err != nil:
		return "", 0, err
	}
	// Only failures count: the attempt is cancelled once the password is
	// known to be right, never before.
	return "", 0, attempt.Cancel(ctx)
}

func (a *App) reauth(c echo.Context) error {
	u, _ := a.currentUser(c)
	next := safeNext(c.FormValue("next"))
	msg, status, err := a.checkCurrentPassword(c, u, c.FormValue(fieldPassword))
	if err != nil {
		return err
	}
	if msg != "" {
		m := a.formMeta(c, "Confirm it's you")
		return render(c, status, components.ReauthPage(m, components.ReauthView{CSRF: m.CSRFToken, Next: next, Error: msg}))
	}
	a.Sessions.Put(c.Request().Context(), sessReauthAt, a.now().Unix())
	return redirect(c, next)
}

// ---- Enrolment ----

// enrolSecret is the secret being enrolled, kept sealed in the session
// (never in a page other than the enrolment page, never in the database
// until confirmed); a new one is made when there is none.
func (a *App) enrolSecret(c echo.Context, u accounts.User) (string, error) {
	ctx := c.Request().Context()
	if b, ok := a.Sessions.Get(ctx, sessEnrolSecret).([]byte); ok {
		if s, err := a.TwoFactor.Keys().Open(b, u.ID, enrolPurpose); err == nil {
			return string(s), nil
		}
	}
	s, err := twofactor.NewSecret()
	if err != nil {
		return "", err
	}
	a.Sessions.Put(ctx, sessEnrolSecret, a.TwoFactor.Keys().Seal([]byte(s), u.ID, enrolPurpose))
	return s, nil
}

func (a *App) totpSetupView(c echo.Context, u accounts.User, errMsg string) (components.TOTPSetupView, error) {
	secret, err := a.enrolSecret(c, u)
	if err != nil {
		return components.TOTPSetupView{}, err
	}
	url, err := twofactor.KeyURL(secret, u.Email)
	if err != nil {
		return components.TOTPSetupView{}, err
	}
	svg, err := qrcode.SVG(url, "totp-qr-title", "QR code for your authenticator app", 240)
	if err != nil {
		return components.TOTPSetupView{}, err
	}
	var groups []string
	for i := 0; i < len(secret); i += 4 {
		groups = append(groups, secret[i:min(i+4, len(secret))])
	}
	return components.TOTPSetupView{CSRF: a.csrfToken(c), QR: templ.Raw(svg), KeyGroups: groups, URL: url, Error: errMsg}, nil
}

func (a *App) totpSetupPage(c echo.Context) error {
	u, _ := a.currentUser(c)
	if on, err := a.TwoFactor.Enabled(c.Request().Context(), u.ID); err != nil {
		return err
	} else if on {
		a.flash(c, "Two-factor sign-in is already on.")
		return redirect(c, paths.Account)
	}
	noStore(c)
	v, err := a.totpSetupView(c, u, "")
	if err != nil {
		return err
	}
	m := a.formMeta(c, "Set up an authenticator app")
	v.CSRF = m.CSRFToken
	return render(c, http.StatusOK, components.TOTPSetupPage(m, v))
}

// totpSetup confirms enrolment with a code from the app (within
// EnrolSkew steps): it stores the sealed secret with that code's step as
// used, makes recovery codes and mails the owner, in one transaction with
// the session that then shows the codes.
func (a *App) totpSetup(c echo.Context) error {
	noStore(c)
	u, _ := a.currentUser(c)
	ctx := c.Request().Context()
	now := a.now()
	code := c.FormValue(fieldCode)
	secret, err := a.enrolSecret(c, u)
	if err != nil {
		return err
	}
	var f Form
	checkCodeFormat(&f, code, false)
	step, ok := int64(0), false
	if f.Valid() {
		step, ok = twofactor.MatchStep(secret, appCode(code), now, twofactor.EnrolSkew, 0)
		f.CheckField(ok, fieldCode, "That code is not right. Check your phone's clock is set automatically, and enter the newest code.")
	}
	if !f.Valid() {
		v, err := a.totpSetupView(c, u, f.Error(fieldCode))
		if err != nil {
			return err
		}
		return render(c, http.StatusUnprocessableEntity, components.TOTPSetupPage(a.formMeta(c, "Set up an authenticator app"), v))
	}
	var codes []string
	err = a.withSession(c, func(save accounts.SaveSession) error {
		return a.DB.InTx(ctx, func(tx *sql.Tx) error {
			tctx := store.WithTx(ctx, tx)
			if err := a.TwoFactor.Enable(tctx, tx, u.ID, secret, step, now); err != nil {
				return err
			}
			var err error
			if codes, err = a.TwoFactor.ReplaceRecoveryCodes(tctx, tx, u.ID); err != nil {
				return err
			}
			return save(tctx, u)
		})
	}, func(accounts.User) error {
		a.Sessions.Remove(c.Request().Context(), sessEnrolSecret)
		a.putFreshCodes(c, u, codes)
		return a.securityEvent(c, u, Event2FAOn)
	})
	if store.IsUniqueViolation(err) {
		a.flash(c, "Two-factor sign-in is already on.")
		return redirect(c, paths.Account)
	}
	if err != nil {
		return err
	}
	a.Logger.Info("two-factor turned on", "user_id", u.ID)
	return redirect(c, paths.RecoveryCodes)
}

// ---- Recovery codes ----

func (a *App) putFreshCodes(c echo.Context, u accounts.User, codes []string) {
	ctx := c.Request().Context()
	a.Sessions.Put(ctx, sessFreshCodes, a.TwoFactor.Keys().Seal([]byte(strings.Join(codes, "\n")), u.ID, freshCodesPurpose))
	a.Sessions.Put(ctx, sessFreshCodesAt, a.now().Unix())
}

// freshCodes are the recovery codes just made, until they are saved or
// freshCodesTTL has passed: the session forgets them then, so a browser
// left signed in does not keep them.
func (a *App) freshCodes(c echo.Context, u accounts.User) []string {
	ctx := c.Request().Context()
	b, ok := a.Sessions.Get(ctx, sessFreshCodes).([]byte)
	if !ok {
		return nil
	}
	if a.now().Sub(time.Unix(a.Sessions.GetInt64(ctx, sessFreshCodesAt), 0)) > freshCodesTTL {
		a.forgetFreshCodes(c)
		return nil
	}
	s, err := a.TwoFactor.Keys().Open(b, u.ID, freshCodesPurpose)
	if err != nil {
		return nil
	}
	return strings.Split(string(s), "\n")
}

func (a *App) forgetFreshCodes(c echo.Context) {
	ctx := c.Request().Context()
	a.Sessions.Remove(ctx, sessFreshCodes)
	a.Sessions.Remove(ctx, sessFreshCodesAt)
}

func (a *App) recoveryCodesPage(c echo.Context) error {
	noStore(c)
	u, _ := a.currentUser(c)
	ctx := c.Request().Context()
	if on, err := a.TwoFactor.Enabled(ctx, u.ID); err != nil {
		return err
	} else if !on {
		return redirect(c, paths.Account)
	}
	left, err := a.TwoFactor.RecoveryCodesLeft(ctx, u.ID)
	if err != nil {
		return err
	}
	m := a.formMeta(c, "Recovery codes")
	return render(c, http.StatusOK, components.RecoveryCodesPage(m, components.RecoveryCodesView{CSRF: m.CSRFToken, Codes: a.freshCodes(c, u), Left: left}))
}

func (a *App) downloadRecoveryCodes(c echo.Context) error {
	noStore(c)
	u, _ := a.currentUser(c)
	codes := a.freshCodes(c, u)
	if len(codes) == 0 {
		return redirect(c, paths.RecoveryCodes)
	}
	c.Response().Header().Set(echo.HeaderContentDisposition, `attachment; filename="shelf-recovery-codes.txt"`)
	body := "Shelf recovery codes for " + u.Email + "\nEach code works once, instead of a code from your authenticator app.\n\n" +
		strings.Join(codes, "\n") + "\n"
	return c.Blob(http.StatusOK, "text/plain; charset=utf-8", []byte(body))
}

func (a *App) recoveryCodesSaved(c echo.Context) error {
	a.forgetFreshCodes(c)
	a.flash(c, "Your recovery codes are saved. Each works once if you lose your phone.")
	return redirect(c, paths.Account)
}

func (a *App) regenerateRecoveryCodes(c echo.Context) error {
	noStore(c)
	u, _ := a.currentUser(c)
	ctx := c.Request().Context()
	var codes []string
	err := a.withSession(c, func(save accounts.SaveSession) error {
		return a.DB.InTx(ctx, func(tx *sql.Tx) error {
			tctx := store.WithTx(ctx, tx)
			if on, err := a.TwoFactor.EnabledTx(tctx, tx, u.ID); err != nil {
				return err
			} else if !on {
				return twofactor.ErrNotEnabled
			}
			var err error
			if codes, err = a.TwoFactor.ReplaceRecoveryCodes(tctx, tx, u.ID); err != nil {
				return err
			}
			return save(tctx, u)
		})
	}, func(accounts.User) error {
		a.putFreshCodes(c, u, codes)
		return a.securityEvent(c, u, EventRecoveryRegenerated)
	})
	if errors.Is(err, twofactor.ErrNotEnabled) {
		return redirect(c, paths.Account)
	}
	if err != nil {
		return err
	}
	return redirect(c, paths.RecoveryCodes)
}

// ---- Turning it off ----

func (a *App) totpDisablePage(c echo.Context) error {
	m := a.formMeta(c, "Turn off two-factor sign-in")
	return render(c, http.StatusOK, components.TOTPDisablePage(m, components.TOTPDisableView{CSRF: m.CSRFToken}))
}

// totpDisable needs the password and a code (app or recovery), and mails
// the owner.
func (a *App) totpDisable(c echo.Context) error {
	noStore(c)
	u, _ := a.currentUser(c)
	ctx := c.Request().Context()
	now := a.now()
	code := c.FormValue(fieldCode)
	var f Form
	checkCodeFormat(&f, code, true)
	status := http.StatusUnprocessableEntity
	msg, st, err := a.checkCurrentPassword(c, u, c.FormValue(fieldPassword))
	if err != nil {
		return err
	}
	if msg != "" {
		f.CheckField(false, fieldPassword, msg)
		status = st
	}
	if f.Valid() {
		var check secondFactorCheck
		err = a.DB.InTx(ctx, func(tx *sql.Tx) error {
			tctx := store.WithTx(ctx, tx)
			var err error
			if check, err = a.checkSecondFactor(tctx, tx, c, u, code, now); err != nil || !check.ok {
				return err // a wrong code's count commits
			}
			if err := a.TwoFactor.Disable(tctx, tx, u.ID, now); err != nil {
				return err
			}
			return inRequestTx(c, tctx, func() error { return a.securityEvent(c, u, Event2FAOff) })
		})
		switch {
		case errors.Is(err, twofactor.ErrNotEnabled):
			return redirect(c, paths.Account)
		case err != nil:
			return err
		case !check.frozen.IsZero():
			f.CheckField(false, fieldCode, a.frozenMessage(check.frozen, now))
			status = http.StatusTooManyRequests
		case !check.ok:
			// Counted like a wrong code at sign-in: a stolen session and
			// password must not get a way to guess codes without limit.
			f.CheckField(false, fieldCode, "That code is not right, or it was used already.")
		}
	}
	if !f.Valid() {
		m := a.formMeta(c, "Turn off two-factor sign-in")
		return render(c, status, components.TOTPDisablePage(m, components.TOTPDisableView{CSRF: m.CSRFToken, Errors: f.FieldErrors}))
	}
	a.Logger.Info("two-factor turned off", "user_id", u.ID)
	a.flash(c, "Two-factor sign-in is off.")
	return redirect(c, paths.Account)
}

// twoFactorStatus is the account page's section.
func (a *App) twoFactorStatus(ctx context.Context, u accounts.User) (components.TwoFactorStatus, error) {
	on, err := a.TwoFactor.Enabled(ctx, u.ID)
	if err != nil || !on {
		return components.TwoFactorStatus{}, err
	}
	left, err := a.TwoFactor.RecoveryCodesLeft(ctx, u.ID)
	return components.TwoFactorStatus{Enabled: true, CodesLeft: left}, err
}

// newSealedKeys builds the sealing keys from the configured secret key.
func newSealedKeys(secret []byte) (*sealed.Keys, error) {
	if len(secret) == 0 {
		return nil, errors.New("handlers: SecretKey is required (SHELF_SECRET_KEY or the key file)")
	}
	return sealed.New(secret)
}
