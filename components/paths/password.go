package paths

import "net/url"

// Changing the password while signed in.
const (
	AccountPassword         = "/account/password"
	AccountPasswordValidate = "/account/password/validate/:field"
)

// AccountPasswordValidateLink is where the change form posts one field to
// check it.
func AccountPasswordValidateLink(field string) string {
	return fill(AccountPasswordValidate, ":field", url.PathEscape(field))
}
