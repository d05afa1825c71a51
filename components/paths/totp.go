package paths

import "net/url"

// Second factor: the second step of a sign-in, re-entering the password,
// and the account's authenticator app and recovery codes.
const (
	TwoFactorLogin          = "/login/two-factor"
	TwoFactorPasskeyOptions = "/login/two-factor/passkey/options" // a security key instead of a code
	TwoFactorPasskey        = "/login/two-factor/passkey"
	TwoFactorValidate       = "/login/two-factor/validate/:field" // in-place validation of every second-factor form
	Reauth                  = "/account/reauth"
	TwoFactorSetup          = "/account/two-factor/setup"
	TwoFactorDisable        = "/account/two-factor/disable"
	RecoveryCodes           = "/account/two-factor/recovery-codes"
	RecoveryCodesDownload   = "/account/two-factor/recovery-codes.txt"
	RecoveryCodesSaved      = "/account/two-factor/recovery-codes/saved"
)

// ReauthNext asks for the password again, then goes on to next.
func ReauthNext(next string) string { return Reauth + "?next=" + url.QueryEscape(next) }

// TwoFactorValidateLink is where a second-factor form posts one field.
func TwoFactorValidateLink(field string) string {
	return fill(TwoFactorValidate, ":field", url.PathEscape(field))
}
