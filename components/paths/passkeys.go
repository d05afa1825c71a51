package paths

import (
	"net/url"
	"strconv"
)

// Passkeys: adding, naming and removing them on the account page, signing
// in with one, and re-entering the password before a change.
const (
	PasskeyAddOptions    = "/account/passkeys/options"
	PasskeyAdd           = "/account/passkeys"
	PasskeyRename        = "/account/passkeys/:id/name"
	PasskeyRemove        = "/account/passkeys/:id/remove"
	PasskeyNameValidate  = "/account/passkeys/validate/name"
	PasskeyLoginOptions  = "/login/passkey/options"
	PasskeyLogin         = "/login/passkey"
	ConfirmPassword      = "/account/confirm-password"
	ConfirmPasswordCheck = "/account/confirm-password/validate"
)

// PasskeyRenameLink names the passkey with the given id.
func PasskeyRenameLink(id int64) string {
	return fill(PasskeyRename, ":id", strconv.FormatInt(id, 10))
}

// PasskeyRemoveLink removes the passkey with the given id.
func PasskeyRemoveLink(id int64) string {
	return fill(PasskeyRemove, ":id", strconv.FormatInt(id, 10))
}

// ConfirmPasswordNext asks for the password, then goes on to next (a
// local path).
func ConfirmPasswordNext(next string) string {
	return ConfirmPassword + "?next=" + url.QueryEscape(next)
}
