package paths

import "net/url"

// Sign-in by email.
const (
	MagicRequest  = "/login/email"             // "Email me a sign-in link": the form, and the request
	MagicCode     = "/login/email/code"        // enter the mailed code, in the browser that asked
	MagicValidate = "/login/email/validate"    // in-place check of the code field
	MagicLink     = "/login/email/link/:token" // "Sign in on this device?", and its POST
)

// MagicLinkFor is the link a sign-in mail carries.
func MagicLinkFor(token string) string { return fill(MagicLink, ":token", url.PathEscape(token)) }
