package paths

import "net/url"

// Short links: the redirect, the form that makes one, and its owner's
// pages.
const (
	ShortLink     = "/s/:id"
	ShortLinks    = "/s/"        // the prefix of every short link
	LinkNew       = "/links/new" // GET: the form (?target= fills it in); POST: creates
	LinkValidate  = "/links/validate/:field"
	MyLinks       = "/my-links"
	MyLink        = "/my-links/:id"
	MyLinkDisable = "/my-links/:id/disable"
	MyLinkEnable  = "/my-links/:id/enable"
	MyLinkDelete  = "/my-links/:id/delete"
)

// ShortLinkLink is the short link with id, a path on Shelf.
func ShortLinkLink(id string) string { return fill(ShortLink, ":id", url.PathEscape(id)) }

// MyLinkLink is the owner's page of the link with id.
func MyLinkLink(id string) string { return fill(MyLink, ":id", url.PathEscape(id)) }

// LinkValidateLink is where the link form posts one field to check it.
func LinkValidateLink(field string) string {
	return fill(LinkValidate, ":field", url.PathEscape(field))
}

// LinkNewFor is the link form filled in with target.
func LinkNewFor(target string) string {
	if target == "" {
		return LinkNew
	}
	return LinkNew + "?target=" + url.QueryEscape(target)
}

// LinkNewWithID is the link form filled in with target and id: the
// alternatives offered for a taken id are such links, for browsers
// without JavaScript.
func LinkNewWithID(target, id string) string {
	q := url.Values{}
	if target != "" {
		q.Set("target", target)
	}
	q.Set("id", id)
	return LinkNew + "?" + q.Encode()
}
