package paths

import "net/url"

// The JSON API's short-link routes (handlers/api_links.go).
const (
	APILinks = API + "/links"
	APILink  = API + "/links/:id"
)

// APILinkLink is the API's address of the short link id.
func APILinkLink(id string) string { return fill(APILink, ":id", url.PathEscape(id)) }

// MyLinkDisableLink disables the short link id (POST).
func MyLinkDisableLink(id string) string { return fill(MyLinkDisable, ":id", url.PathEscape(id)) }

// MyLinkEnableLink enables the short link id again (POST).
func MyLinkEnableLink(id string) string { return fill(MyLinkEnable, ":id", url.PathEscape(id)) }

// MyLinkDeleteLink deletes the short link id (POST).
func MyLinkDeleteLink(id string) string { return fill(MyLinkDelete, ":id", url.PathEscape(id)) }
