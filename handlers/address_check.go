package handlers

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"shelf/components"
	"shelf/store/addresscheck"
)

// The check of a NEW address (package addresscheck): sign-up's field in
// place and on submit, and any other form where someone enters an address
// an account will be created with or moved to. Sign-in, reset and sign-in
// by email check syntax alone (checkEmail): an account made before a
// domain was listed keeps working.

// fieldAccountEmail names, for in-place checks, the address field of a form
// where the address may already have an account (sign-in by email).
const fieldAccountEmail = "account_email"

// checkNewEmail judges raw, records a problem for field in f, and returns
// the field's state. An address at a known typo domain that receives mail
// is a problem until confirmed: confirmed (the "Yes, use this address"
// box's value) must be exactly the normalised address, so that changing
// the address asks again. A suggestion never blocks.
func (a *App) checkNewEmail(c echo.Context, f *Form, field, raw, confirmed string) components.AddressVerdict {
	v := a.addresses.Check(c.Request().Context(), raw)
	view := components.AddressVerdict{Value: raw, Address: v.Address, Suggestion: v.Suggestion}
	switch v.Kind {
	case addresscheck.Refused:
		f.Check(field, v.Problem)
	case addresscheck.Confirm:
		view.Confirm = true
		view.Confirmed = confirmed != "" && confirmed == v.Address
		f.CheckField(view.Confirmed, field, string(v.Problem)+` If it is, tick "Yes, use this address".`)
	}
	view.Error = f.Error(field)
	return view
}

// registerWithSuggestion answers the "Did you mean …?" button without
// JavaScript: the sign-up form again, with the suggested address in the
// field and checked, and nothing created.
func (a *App) registerWithSuggestion(c echo.Context, suggestion string) error {
	var f Form
	v := components.RegisterView{CSRF: a.csrfToken(c), Address: a.checkNewEmail(c, &f, fieldEmail, suggestion, "")}
	if !f.Valid() {
		v.Errors = f.FieldErrors
	}
	return a.renderRegister(c, http.StatusOK, v)
}
