package paths

import "net/url"

// Security events and where you're signed in.
const (
	NotMe              = "/security/not-me/:token" // "This wasn't me", from a security mail
	AccountSessions    = "/account/sessions"       // where you're signed in
	AccountSessionEnd  = "/account/sessions/:id/sign-out"
	AccountSessionsEnd = "/account/sessions/sign-out-others"
)

// NotMeLink is the "This wasn't me" link a security mail carries.
func NotMeLink(token string) string { return fill(NotMe, ":token", url.PathEscape(token)) }

// AccountSessionEndLink signs out the listed session id.
func AccountSessionEndLink(id string) string {
	return fill(AccountSessionEnd, ":id", url.PathEscape(id))
}
