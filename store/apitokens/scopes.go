// Package apitokens keeps personal access tokens for Shelf's JSON API.
package apitokens

// A Scope is one permission a token can carry. The list is closed: there is
// no wildcard, and a token holds only scopes named here.
type Scope string

const (
	BooksRead    Scope = "books:read"
	BooksWrite   Scope = "books:write"
	ShelvesRead  Scope = "shelves:read"
	ShelvesWrite Scope = "shelves:write"
	LinksRead    Scope = "links:read"
	LinksWrite   Scope = "links:write"
	AccountRead  Scope = "account:read"
)

// Scopes is every scope, in the order forms and documents list them.
var Scopes = []Scope{BooksRead, BooksWrite, ShelvesRead, ShelvesWrite, LinksRead, LinksWrite, AccountRead}

// ParseScope returns the scope named s, and whether there is one.
func ParseScope(s string) (Scope, bool) {
	for _, sc := range Scopes {
		if string(sc) == s {
			return sc, true
		}
	}
	return "", false
}

// AdminOnly reports whether the scope grants anything only when the
// token's owner is an admin.
func (s Scope) AdminOnly() bool { return s == BooksWrite }
