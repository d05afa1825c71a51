package links

import (
	"fmt"
	"io"
	"strings"
)

// Limits on a link's id.
const (
	MinIDLen = 3
	MaxIDLen = 32
	// GeneratedIDLen is the length of the ids Create makes up: 31^7, about
	// 27 billion of them.
	GeneratedIDLen = 7
)

// generatedAlphabet has no characters that look alike (0 and o, 1, l and
// i), so a generated id read off paper or a screen is typed right. Lower
// case only: lookups fold case anyway.
const generatedAlphabet = "23456789abcdefghjkmnpqrstuvwxyz"

// fixedReserved are ids no one may take, beside the first segment of every
// route Shelf serves (see Store.Reserve): names Shelf uses or may use at
// the top level, and names that would mislead a visitor.
var fixedReserved = []string{
	"login", "logout", "register", "signup", "signin", "account", "accounts",
	"api", "admin", "static", "s", "links", "link", "my-links", "well-known",
	"healthz", "health", "favicon.ico", "robots.txt", "sitemap.xml",
	"about", "help", "support", "search", "books", "book", "shelves", "shelf",
	"previews", "preview", "cards", "share", "shared", "mail", "dev", "new",
	"settings", "security", "privacy", "terms", "www", "root", "null", "undefined",
}

// CheckID returns "" when id may name a link, or the reason it may not, to
// show the reader: its characters, its length, or a reserved word. It does
// not know the routes (see Store.CheckID) nor which ids are taken.
func CheckID(id string) string {
	switch {
	case id == "":
		return "Choose an id, or leave the field empty to get a random one."
	case len(id) < MinIDLen:
		return fmt.Sprintf("An id is at least %d characters long.", MinIDLen)
	case len(id) > MaxIDLen:
		return fmt.Sprintf("An id is at most %d characters long.", MaxIDLen)
	}
	for i := 0; i < len(id); i++ {
		if !idChar(id[i]) {
			return "Use only letters a–z, digits, “-” and “_”."
		}
	}
	if !alnum(id[0]) || !alnum(id[len(id)-1]) {
		return "Start and end the id with a letter or a digit."
	}
	if isReserved(strings.ToLower(id), nil) {
		return reservedMessage(id)
	}
	return ""
}

func reservedMessage(id string) string {
	return fmt.Sprintf("“%s” is reserved for Shelf's own pages. Choose another id.", id)
}

func alnum(c byte) bool  { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' }
func idChar(c byte) bool { return alnum(c) || c == '-' || c == '_' }

func isReserved(folded string, routes map[string]bool) bool {
	for _, w := range fixedReserved {
		if folded == w {
			return true
		}
	}
	return routes[folded]
}

// fold is the key a link is stored and looked up under. Ids are ASCII
// (CheckID), so lower case is all the folding they need.
func fold(id string) string { return strings.ToLower(id) }

// generateID reads a random id from r: each character an unbiased pick
// from generatedAlphabet (bytes past the last whole multiple of its length
// are drawn again).
func generateID(r io.Reader) (string, error) {
	const n = len(generatedAlphabet)
	const limit = 256 - 256%n
	out := make([]byte, 0, GeneratedIDLen)
	var buf [16]byte
	for len(out) < GeneratedIDLen {
		if _, err := io.ReadFull(r, buf[:]); err != nil {
			return "", fmt.Errorf("links: random id: %w", err)
		}
		for _, b := range buf {
			if int(b) < limit && len(out) < GeneratedIDLen {
				out = append(out, generatedAlphabet[int(b)%n])
			}
		}
	}
	return string(out), nil
}

// alternativeSuffixes make the ids offered when one is taken, in order.
var alternativeSuffixes = []string{"-2", "-books", "-3", "-reads", "-4", "-shelf", "-5", "-6", "-7", "-8", "-9"}

// candidates are the ids to offer instead of id, each a valid id: id with a
// suffix, the id cut short to fit first.
func candidates(id string) []string {
	var out []string
	for _, suf := range alternativeSuffixes {
		base := id
		if len(base)+len(suf) > MaxIDLen {
			base = strings.TrimRight(base[:MaxIDLen-len(suf)], "-_")
		}
		c := base + suf
		if CheckID(c) == "" {
			out = append(out, c)
		}
	}
	return out
}
