package accounts

import (
	_ "embed"
	"net/mail"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// The rules an account's address and password follow. They are the
// accounts' own, not a form's: the sign-up form checks them field by field
// as people type and again on submit, the reset form checks the password,
// and create-admin checks both, all through CheckEmail and CheckPassword.

// Limits of an address and a password; passwords are counted in characters
// (runes).
const (
	MaxEmailLen    = 254
	minPasswordLen = 8
	maxPasswordLen = 128
)

// Problem is a broken address or password rule. Its text is the message
// shown to people: it says what to do, not only what is wrong.
type Problem string

func (p Problem) Error() string { return string(p) }

// The rules' problems, each checked by CheckEmail or CheckPassword.
const (
	EmailEmpty     Problem = "Enter your email address."
	EmailInvalid   Problem = "Enter an email address like name@example.com."
	EmailTooLong   Problem = "Use an email address of at most 254 characters."
	EmailLookalike Problem = "Use an address without hidden or look-alike characters."
	EmailIPDomain  Problem = "Use an address with a domain name, not an IP address."
	PasswordEmpty  Problem = "Enter a password."
	PasswordShort  Problem = "Use at least 8 characters."
	PasswordLong   Problem = "Use at most 128 characters."
	PasswordCommon Problem = "This password is too common. Choose one that is harder to guess."
)

// NormalizeEmail trims space, applies Unicode NFKC (so fullwidth and other
// compatibility forms become the letters they look like) and lower-cases the
// domain (the part after the last @). The local part keeps its case;
// uniqueness ignores ASCII case. Sign-up, sign-in, reset and create-admin all
// use it, so one address always has one spelling.
func NormalizeEmail(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 4*MaxEmailLen {
		return s // refused for its length; not worth normalising
	}
	s = strings.TrimSpace(norm.NFKC.String(s))
	if i := strings.LastIndexByte(s, '@'); i >= 0 {
		s = s[:i+1] + strings.ToLower(s[i+1:])
	}
	return s
}

// CheckEmail applies the address rules to an already normalised address
// and returns the first one it breaks, or nil. The rules go from basic to
// specific.
func CheckEmail(email string) error {
	switch {
	case email == "":
		return EmailEmpty
	case len(email) > MaxEmailLen:
		return EmailTooLong
	case hasHiddenOrMixedScript(email):
		return EmailLookalike
	case hasIPDomain(email):
		return EmailIPDomain
	case !validAddress(email):
		return EmailInvalid
	}
	return nil
}

// Plausible reports whether email could be an account's address: short
// enough and well-formed (length first: parsing a huge one costs time).
// Sign-in uses it to skip looking up what no account can have.
func Plausible(email string) bool {
	return len(email) <= MaxEmailLen && validAddress(email)
}

// hasHiddenOrMixedScript reports an address that could pass for another:
// one holding an invisible character (format characters such as zero-width
// spaces, joiners, bidi controls, and the other default-ignorable code
// points) or a look-alike Latin letter, or one whose letters are not all of
// one writing system, local part and domain together (a Cyrillic "а" among
// Latin letters, or a Cyrillic "рое" before a Latin domain).
func hasHiddenOrMixedScript(email string) bool {
	for _, r := range email {
		if invisible(r) || lookalikeLetter(r) || lookalikeSymbol(r) {
			return true
		}
	}
	return mixesScripts(email) || strayMark(email)
}

// lookalikeSymbol reports punctuation and symbols outside ASCII: an
// address's separators are ASCII ('.', '-', '_', '+'), and the others that
// look like them ("‐" U+2010, "−" U+2212, "․" U+2024) only make an address
// pass for another.
func lookalikeSymbol(r rune) bool {
	return r >= utf8.RuneSelf && !unicode.IsLetter(r) && !unicode.IsMark(r) && !unicode.IsDigit(r)
}

// strayMark reports a combining mark left over in a Latin, Greek or
// Cyrillic address after NFKC, which composes every accented letter those
// scripts use: what remains ("i" + U+0307 dot above, drawn on an "i" that
// already has a dot) changes nothing visible. Scripts that write with marks
// (Devanagari's vowel signs, say) keep them.
func strayMark(email string) bool {
	script := ""
	for _, r := range email {
		if sc := scriptOf(r); sc != "" {
			script = sc
			break
		}
	}
	if script != "Latin" && script != "Greek" && script != "Cyrillic" {
		return false
	}
	for _, r := range email {
		if unicode.IsMark(r) {
			return true
		}
	}
	return false
}

// lookalikeLetter reports letters that exist to look like other letters:
// the IPA Extensions (U+0250-U+02AF: "ɑ" for "a") and Phonetic Extensions
// (U+1D00-U+1DBF: small capitals such as "ᴀ") blocks, and the dotless and
// dotted i (U+0131 "ı", U+0130 "İ"). No one's address needs them, and in an
// address they pass for "admin" and the like.
//
// Latin Extended-B (U+0180-U+024F) goes too: it holds "ǀ" and "Ɩ" (which
// pass for "l") and the dotless "ȷ". Its other letters serve a few African
// and Native American orthographies, rare in addresses; refusing them is
// the price of not passing one address off as another.
func lookalikeLetter(r rune) bool {
	return (r >= 0x0180 && r <= 0x02AF) || (r >= 0x1D00 && r <= 0x1DBF) || r == 0x0131 || r == 0x0130
}

func invisible(r rune) bool {
	return !unicode.IsPrint(r) || unicode.In(r, unicode.Cf, unicode.Other_Default_Ignorable_Code_Point,
		unicode.Variation_Selector, unicode.Noncharacter_Code_Point) ||
		r == 0x034F || r == 0x115F || r == 0x1160 || r == 0x3164 || r == 0xFFA0 // default-ignorable fillers
}

// mixesScripts reports whether s has letters of more than one script.
// Digits and punctuation (script Common) and combining marks (Inherited)
// belong to none; Han, Hiragana, Katakana, Hangul and Bopomofo count as one,
// since Japanese, Korean and Chinese names mix them.
func mixesScripts(s string) bool {
	seen := ""
	for _, r := range s {
		sc := scriptOf(r)
		if sc == "" {
			continue
		}
		if seen != "" && sc != seen {
			return true
		}
		seen = sc
	}
	return false
}

func scriptOf(r rune) string {
	if r < utf8.RuneSelf {
		if unicode.IsLetter(r) {
			return "Latin"
		}
		return ""
	}
	if unicode.In(r, unicode.Common, unicode.Inherited) {
		return ""
	}
	if unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul, unicode.Bopomofo) {
		return "CJK"
	}
	for name, table := range unicode.Scripts {
		if unicode.Is(table, r) {
			return name
		}
	}
	return ""
}

// hasIPDomain reports a domain literal ([192.0.2.1], [IPv6:...]) or a
// domain that resolvers may read as an IP address: mail to those bypasses
// DNS and the names people recognise. inet_aton reads "10.1", "0177.01"
// and "0x7f.0x1" as addresses; a real top-level label is all letters (of
// the address's one script, see hasHiddenOrMixedScript) or an IDNA "xn--"
// label, so any other last label is refused.
func hasIPDomain(email string) bool {
	at := strings.LastIndexByte(email, '@')
	if at < 0 {
		return false
	}
	domain := email[at+1:]
	if strings.HasPrefix(domain, "[") {
		return true
	}
	tld := domain[strings.LastIndexByte(domain, '.')+1:]
	// A malformed address gets the message saying so (validAddress).
	return tld != "" && !topLevelLabel(tld) && validAddress(email)
}

func topLevelLabel(label string) bool {
	if rest, ok := strings.CutPrefix(label, "xn--"); ok {
		return rest != ""
	}
	for i, r := range label {
		// Letters, and the marks that scripts such as Devanagari write
		// their vowels with (never first): ".भारत" is a top-level label.
		if !unicode.IsLetter(r) && (i == 0 || r < utf8.RuneSelf || !unicode.IsMark(r)) {
			return false
		}
	}
	return true
}

// validAddress accepts a bare address that net/mail parses back unchanged (no
// display name, no angle brackets, no comments) with a dotted domain.
func validAddress(s string) bool {
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s {
		return false
	}
	at := strings.LastIndexByte(s, '@')
	domain := s[at+1:]
	return at > 0 && strings.Contains(domain, ".") && !strings.HasPrefix(domain, ".") && !strings.HasSuffix(domain, ".")
}

// CheckPassword applies the password rules and returns the first one pw
// breaks, or nil.
func CheckPassword(pw string) error {
	n := utf8.RuneCountInString(pw)
	switch {
	case pw == "":
		return PasswordEmpty
	case n < minPasswordLen:
		return PasswordShort
	case n > maxPasswordLen:
		return PasswordLong
	case isCommonPassword(pw):
		return PasswordCommon
	}
	return nil
}

// ValidateEmail normalises s and checks it with the address rules.
func ValidateEmail(s string) (string, error) {
	email := NormalizeEmail(s)
	if err := CheckEmail(email); err != nil {
		return "", err
	}
	return email, nil
}

//go:embed commonpasswords.txt
var commonPasswordsText string

// commonPasswords holds the shipped list (see the file's header for its
// source and licence), lower-cased.
var commonPasswords = func() map[string]struct{} {
	m := make(map[string]struct{}, 12000)
	for line := range strings.SplitSeq(commonPasswordsText, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		m[strings.ToLower(line)] = struct{}{}
	}
	return m
}()

func isCommonPassword(pw string) bool {
	_, ok := commonPasswords[strings.ToLower(pw)]
	return ok
}
