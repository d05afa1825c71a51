package handlers

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"shelf/components"
	"shelf/components/paths"
	"shelf/store/accounts"
)

// Changing the password while signed in. The form always asks for the
// current password, checked like a sign-in (checkCurrentPassword: the same
// limits, and a wrong one counts as a failed sign-in), even when it was
// re-entered in the last 5 minutes (requireRecentAuth). The change ends
// every other session, so a session alone (a browser left signed in, a
// stolen cookie) that could change the password could also lock the owner
// out of their account; asking for the password on the form that needs it
// costs one field, and a second page (/account/reauth) would cost more.

// fieldCurrentPassword is the change form's current password.
const fieldCurrentPassword = "current_password"

// msgSamePassword refuses a new password equal to the current one.
const msgSamePassword = "Choose a password different from your current one."

// msgPasswordChanged is the account page's notice after a change.
const msgPasswordChanged = "Your password has been changed, and you were signed out everywhere else."

// msgStillBlocked follows msgPasswordChanged when password sign-in is
// blocked ("This wasn't me"): a change does not lift the block.
const msgStillBlocked = "Signing in with a password stays paused until you choose a new password with a reset link (\"Forgot your password?\")."

// passwordRoutes: the change form and its in-place checks.
func (a *App) passwordRoutes(e *echo.Echo) {
	serveGet(e, paths.AccountPassword, a.passwordChangePage, a.requireConfirmed)
	e.POST(paths.AccountPassword, a.changePassword, a.requireConfirmed)
	e.POST(paths.AccountPasswordValidate, a.validatePasswordChange, a.requireConfirmed)
}

// checkNewPassword applies sign-up's rules to the new password, and refuses
// the current one: compared as typed, since on submit the current password
// is then checked against the account's.
func checkNewPassword(f *Form, current, pw string) {
	checkPassword(f, fieldPassword, pw)
	f.CheckField(current == "" || pw != current, fieldPassword, msgSamePassword)
}

func (a *App) passwordChangePage(c echo.Context) error {
	noStore(c)
	m := a.formMeta(c, "Change your password")
	return render(c, http.StatusOK, components.PasswordChangePage(m, components.PasswordChangeView{CSRF: m.CSRFToken}))
}

// validatePasswordChange answers in-place validation of one new-password
// field with its fragment, by the rules of the submit. The current password
// is not checked here: that is a sign-in attempt, made on submit only.
func (a *App) validatePasswordChange(c echo.Context) error {
	noStore(c)
	var f Form
	pw := c.FormValue(fieldPassword)
	switch c.Param("field") {
	case fieldPassword:
		checkNewPassword(&f, c.FormValue(fieldCurrentPassword), pw)
		return render(c, http.StatusOK, components.FieldView(components.NewPasswordField(f.Error(fieldPassword))))
	case fieldPasswordConfirm:
		checkPasswordConfirm(&f, fieldPasswordConfirm, pw, c.FormValue(fieldPasswordConfirm))
		return render(c, http.StatusOK, components.FieldView(components.NewPasswordConfirmField(f.Error(fieldPasswordConfirm))))
	default:
		return echo.ErrNotFound
	}
}

// renderPasswordChange answers a submit with errors: the form alone for
// HTMX, the whole page otherwise.
func (a *App) renderPasswordChange(c echo.Context, status int, errs map[string]string) error {
	varyOnHTMX(c)
	v := components.PasswordChangeView{CSRF: a.csrfToken(c), Errors: errs}
	if isHTMX(c) {
		return render(c, status, components.PasswordChangeForm(v))
	}
	return render(c, status, components.PasswordChangePage(a.formMeta(c, "Change your password"), v))
}

// changePassword checks the form, then the current password, and in one
// transaction stores the new password (which ends the trust of every device
// cookie, as a reset does), ends every other session of the account,
// renews this one's token, and mails the owner. It leaves a block on
// password sign-in ("This wasn't me") in place: only a reset lifts it.
func (a *App) changePassword(c echo.Context) error {
	noStore(c)
	u, _ := a.currentUser(c)
	current, pw, confirm := c.FormValue(fieldCurrentPassword), c.FormValue(fieldPassword), c.FormValue(fieldPasswordConfirm)
	var f Form
	f.CheckField(current != "", fieldCurrentPassword, "Enter your current password.")
	checkNewPassword(&f, current, pw)
	checkPasswordConfirm(&f, fieldPasswordConfirm, pw, confirm)
	if !f.Valid() {
		return a.renderPasswordChange(c, http.StatusUnprocessableEntity, f.FieldErrors)
	}
	msg, status, err := a.checkCurrentPassword(c, u, current)
	if err != nil {
		return err
	}
	if msg != "" {
		f.CheckField(false, fieldCurrentPassword, msg)
		return a.renderPasswordChange(c, status, f.FieldErrors)
	}
	var ended int64
	err = a.withSession(c, func(save accounts.SaveSession) error {
		_, err := a.Accounts.ChangePassword(c.Request().Context(), u.ID, pw, save)
		return err
	}, func(u accounts.User) error {
		ctx := c.Request().Context()
		// Every session of the account goes, this one's stored row too;
		// this browser then gets its session back under a new token.
		var err error
		if ended, err = a.signOutEverywhere(ctx, u.ID); err != nil {
			return err
		}
		if err := a.Sessions.RenewToken(ctx); err != nil {
			return err
		}
		a.Sessions.Put(ctx, sessReauthAt, a.now().Unix()) // the password was just entered
		c.Set(ctxUser, &u)
		// The device cookies issued before now no longer count; this
		// browser proved the password and keeps being one of the account's.
		a.issueDevice(c, u.ID)
		return a.securityEvent(c, u, EventPasswordChanged)
	})
	if err != nil {
		return err
	}
	a.Logger.Info("password changed", "user_id", u.ID, "other_sessions_ended", max(ended-1, 0))
	notice := msgPasswordChanged
	if blocked, err := a.passwordBlocked(c, u.ID); err != nil {
		return err
	} else if blocked {
		notice += " " + msgStillBlocked
	}
	a.flash(c, notice)
	return redirect(c, paths.Account)
}
