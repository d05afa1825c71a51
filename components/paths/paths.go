// Package paths names every URL path Shelf serves, in one place: the route
// patterns the router registers, and builders for links to the routes that
// take parameters. Handlers and components both link through it, so a path
// is spelled once. Static assets are named by package static.
package paths

import (
	"net/url"
	"strconv"
	"strings"
)

// Catalog and search.
const (
	Home   = "/"
	Search = "/search"
	Book   = "/books/:id"
	About  = "/about"
)

// Accounts.
const (
	Register         = "/register"
	RegisterValidate = "/register/validate/:field"
	Login            = "/login"
	Logout           = "/logout"
	CheckEmail       = "/check-email" // "check your mailbox"
	ResendConfirm    = "/check-email/resend"
	CheckEmailStatus = "/check-email/status" // whether the address waited for is confirmed yet
	Confirm          = "/confirm/:token"
	ConfirmNotMe     = "/confirm/:token/not-me"
	Account          = "/account"
	ForgotPassword   = "/password/forgot"
	ResetPassword    = "/password/reset/:token"
)

// Mail: the dev inbox and the admin's view of the outbox.
const (
	DevInbox         = "/dev/mail"
	DevMessage       = "/dev/mail/:n"
	DevMessageHTML   = "/dev/mail/:n/html"
	AdminOutbox      = "/admin/outbox"
	AdminOutboxRetry = "/admin/outbox/:id/retry"
)

// Readers' shelves: "My books", the actions on one book's entry (POST),
// and the sign-in step of a visitor who pressed a shelf button (GET).
const (
	MyBooks      = "/my-books"
	ShelfSet     = "/shelves/:id/shelf"
	ShelfRating  = "/shelves/:id/rating"
	ShelfNote    = "/shelves/:id/note"
	ShelfRemove  = "/shelves/:id/remove"
	ShelfSignIn  = "/shelves/sign-in"
	ShelfPending = "/shelves/pending"
)

// Catalog editing, for admins.
const (
	AdminBookNew      = "/admin/books/new"
	AdminBooks        = "/admin/books"                 // POST: add a book
	AdminBook         = "/admin/books/:id"             // the admin view; POST: save an edit
	AdminBookValidate = "/admin/books/validate/:field" // in-place validation
)

// AdminBookLink links to the admin view of the book with the given id.
func AdminBookLink(id int64) string { return fill(AdminBook, ":id", strconv.FormatInt(id, 10)) }

// AdminBookValidateLink is the in-place validation of the book form's field.
func AdminBookValidateLink(field string) string { return fill(AdminBookValidate, ":field", field) }

// Health is for load balancers and monitoring.
const Health = "/healthz"

// The JSON API: every route below API, its OpenAPI document, and the page
// its problem types point into.
const (
	API         = "/api/v1"
	APIProblems = API + "/problems"
)

// The JSON API's routes (handlers/api_routes.go).
const (
	APIBooks   = API + "/books"
	APIBook    = API + "/books/:id"
	APIShelves = API + "/shelves"
	APIShelf   = API + "/shelves/:book_id"
	APIAccount = API + "/account"
	APIOpenAPI = API + "/openapi.json"
)

// Personal access tokens on the account page, and the API's token
// exchange and published signing keys.
const (
	APITokens         = "/account/tokens"
	APITokensValidate = "/account/tokens/validate"
	APITokenRevoke    = "/account/tokens/:id/revoke"
	APITokenCreated   = "/account/tokens/created"
	APIToken          = API + "/token"
	JWKS              = "/.well-known/jwks.json"
)

// APITokenRevokeLink is where the token id is revoked.
func APITokenRevokeLink(id int64) string {
	return fill(APITokenRevoke, ":id", strconv.FormatInt(id, 10))
}

// SearchLink links to a page of results for q (page 1 is left out).
func SearchLink(q string, page int) string {
	u := Search + "?q=" + url.QueryEscape(q)
	if page > 1 {
		u += "&page=" + strconv.Itoa(page)
	}
	return u
}

// BookLink links to the book with the given id.
func BookLink(id int64) string { return fill(Book, ":id", strconv.FormatInt(id, 10)) }

// ShelfSetLink puts book id on the shelf the form names (POST).
func ShelfSetLink(id int64) string { return fill(ShelfSet, ":id", strconv.FormatInt(id, 10)) }

// ShelfRatingLink rates book id (POST).
func ShelfRatingLink(id int64) string { return fill(ShelfRating, ":id", strconv.FormatInt(id, 10)) }

// ShelfNoteLink sets the note on book id (POST).
func ShelfNoteLink(id int64) string { return fill(ShelfNote, ":id", strconv.FormatInt(id, 10)) }

// ShelfRemoveLink takes book id off the shelves (POST).
func ShelfRemoveLink(id int64) string { return fill(ShelfRemove, ":id", strconv.FormatInt(id, 10)) }

// ShelfPendingLink is where a visitor who pressed a shelf button goes once
// signed in: it offers to put book on shelf, then returns to back.
func ShelfPendingLink(book int64, shelf, back string) string {
	return ShelfPending + "?book=" + strconv.FormatInt(book, 10) + "&shelf=" + url.QueryEscape(shelf) + "&back=" + url.QueryEscape(back)
}

// MyBooksLink links to a page of "My books": shelf "" is every shelf,
// sort "" the default order, page 1 is left out.
func MyBooksLink(shelf, q, sort string, page int) string {
	v := url.Values{}
	if shelf != "" {
		v.Set("shelf", shelf)
	}
	if q != "" {
		v.Set("q", q)
	}
	if sort != "" {
		v.Set("sort", sort)
	}
	if page > 1 {
		v.Set("page", strconv.Itoa(page))
	}
	if len(v) == 0 {
		return MyBooks
	}
	return MyBooks + "?" + v.Encode()
}

// LoginNext links to the sign-in page, which returns to next (a local path)
// after signing in.
func LoginNext(next string) string { return Login + "?next=" + url.QueryEscape(next) }

// RegisterNext links to the sign-up page, which carries next (a local
// path) through the confirmation: the browser that signed up goes there
// once the address is confirmed. Home needs no parameter.
func RegisterNext(next string) string {
	if next == "" || next == Home {
		return Register
	}
	return Register + "?next=" + url.QueryEscape(next)
}

// MagicRequestNext is the sign-in-by-email page, carrying where the reader
// was going (see RegisterNext).
func MagicRequestNext(next string) string {
	if next == "" || next == Home {
		return MagicRequest
	}
	return MagicRequest + "?next=" + url.QueryEscape(next)
}

// RegisterValidateLink is where the sign-up form posts one field to check it.
func RegisterValidateLink(field string) string {
	return fill(RegisterValidate, ":field", url.PathEscape(field))
}

// ConfirmLink is the link a confirmation mail carries.
func ConfirmLink(token string) string { return fill(Confirm, ":token", url.PathEscape(token)) }

// ConfirmNotMeLink deletes the account a confirmation link was sent for.
func ConfirmNotMeLink(token string) string {
	return fill(ConfirmNotMe, ":token", url.PathEscape(token))
}

// ResetPasswordLink is the link a password-reset mail carries.
func ResetPasswordLink(token string) string {
	return fill(ResetPassword, ":token", url.PathEscape(token))
}

// DevMessageLink shows the dev inbox's message number n.
func DevMessageLink(n int) string { return fill(DevMessage, ":n", strconv.Itoa(n)) }

// DevMessageHTMLLink serves the HTML part of the dev inbox's message n.
func DevMessageHTMLLink(n int) string { return fill(DevMessageHTML, ":n", strconv.Itoa(n)) }

// AdminOutboxRetryLink queues the failed outbox message id again.
func AdminOutboxRetryLink(id int64) string {
	return fill(AdminOutboxRetry, ":id", strconv.FormatInt(id, 10))
}

// fill puts value, already escaped, in place of the route pattern's
// parameter param. Links are built from the patterns themselves, so a route
// and its links cannot drift apart.
func fill(pattern, param, value string) string {
	i := strings.Index(pattern, param)
	if i < 0 {
		panic("paths: " + pattern + " has no parameter " + param)
	}
	return pattern[:i] + value + pattern[i+len(param):]
}

// Moving from Goodreads: importing a library export into "My books", and
// exporting "My books" in the same format (handlers/goodreads.go).
const (
	MyBooksImport       = "/my-books/import"
	MyBooksImportJob    = "/my-books/import/:id"
	MyBooksImportStatus = "/my-books/import/:id/status"
	MyBooksExport       = "/my-books/export.csv"
)

// ImportJobLink links to an import's progress and report.
func ImportJobLink(id int64) string {
	return fill(MyBooksImportJob, ":id", strconv.FormatInt(id, 10))
}

// ImportJobStatusLink links to an import's progress fragment, which the
// page polls while the import runs.
func ImportJobStatusLink(id int64) string {
	return fill(MyBooksImportStatus, ":id", strconv.FormatInt(id, 10))
}

// Page previews of external links: the preview block, as an htmx fragment
// or a small page, and its thumbnail.
const (
	PreviewFragment = "/previews/:key"
	PreviewImage    = "/previews/:key/image"
)

// PreviewFragmentLink is the preview block of the preview with key.
func PreviewFragmentLink(key string) string {
	return fill(PreviewFragment, ":key", url.PathEscape(key))
}

// PreviewImageLink is the thumbnail of the preview with key.
func PreviewImageLink(key string) string { return fill(PreviewImage, ":key", url.PathEscape(key)) }
