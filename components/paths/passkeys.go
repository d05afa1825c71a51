package paths

import "strconv"

// Passkeys: adding, naming and removing them on the account page, and
// signing in with one.
const (
	PasskeyAddOptions   = "/account/passkeys/options"
	PasskeyAdd          = "/account/passkeys"
	PasskeyRename       = "/account/passkeys/:id/name"
	PasskeyRemove       = "/account/passkeys/:id/remove"
	PasskeyNameValidate = "/account/passkeys/validate/name"
	PasskeyLoginOptions = "/login/passkey/options"
	PasskeyLogin        = "/login/passkey"
)

// PasskeyRenameLink names the passkey with the given id.
func PasskeyRenameLink(id int64) string {
	return fill(PasskeyRename, ":id", strconv.FormatInt(id, 10))
}

// PasskeyRemoveLink removes the passkey with the given id.
func PasskeyRemoveLink(id int64) string {
	return fill(PasskeyRemove, ":id", strconv.FormatInt(id, 10))
}
