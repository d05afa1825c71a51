package handlers

import (
	_ "embed"
	"errors"
	"net/mail"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Form collects one message per invalid field. The same checks run for a
// single field (in-place validation) and for the whole form (submit).
type Form struct {
	FieldErrors map[string]string
}

// CheckField records message for field unless ok. The first failing check of
// a field wins, so rules go from basic to specific.
func (f *Form) CheckField(ok bool, field, message string) {
	if ok {
		return
	}
	if f.FieldErrors == nil {
		f.FieldErrors = map[string]string{}
	}
	if _, exists := f.FieldErrors[field]; !exists {
		f.FieldErrors[field] = message
	}
}

// Valid reports whether every check passed.
func (f *Form) Valid() bool { return len(f.FieldErrors) == 0 }

// Error returns the message for field, or "".
func (f *Form) Error(field string) string { return f.FieldErrors[field] }

// Field names, shared by forms, validation endpoints and templates.
const (
	fieldEmail           = "email"
	fieldPassword        = "password"
	fieldPasswordConfirm = "password_confirm"
)

// Password limits, counted in characters (runes).
const (
	minPasswordLen = 8
	maxPasswordLen = 128
	maxEmailLen    = 254
)

// Messages say what to do, not only what is wrong.
const (
	msgEmailEmpty      = "Enter your email address."
	msgEmailInvalid    = "Enter an email address like name@example.com."
	msgEmailTooLong    = "Use an email address of at most 254 characters."
	msgEmailLookalike  = "Use an address without hidden or look-alike characters."
	msgEmailIPDomain   = "Use an address with a domain name, not an IP address."
	msgPasswordEmpty   = "Enter a password."
	msgPasswordShort   = "Use at least 8 characters."
	msgPasswordLong    = "Use at most 128 characters."
	msgPasswordCommon  = "This password is too common. Choose one that is harder to guess."
	msgConfirmEmpty    = "Enter the password again."
	msgConfirmMismatch = "The passwords do not match. Type the same password twice."
)

// NormalizeEmail trims space, applies Unicode NFKC (so fullwidth and other
// compatibility forms become the letters they look like) and lower-cases the
// domain (the part after the last @). The local part keeps its case;
// uniqueness ignores ASCII case. Sign-up, sign-in, reset and create-admin all
// use it, so one address always has one spelling.
func NormalizeEmail(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 4*maxEmailLen {
		return s // refused for its length; not worth normalising
	}
	s = strings.TrimSpace(norm.NFKC.String(s))
	if i := strings.LastIndexByte(s, '@'); i >= 0 {
		s = s[:i+1] + strings.ToLower(s[i+1:])
	}
	return s
}

// checkEmail applies the address rules to an already normalised address.
func checkEmail(f *Form, field, email string) {
	f.CheckField(email != "", field, msgEmailEmpty)
	f.CheckField(len(email) <= maxEmailLen, field, msgEmailTooLong)
	f.CheckField(!hasHiddenOrMixedScript(email), field, msgEmailLookalike)
	f.CheckField(!hasIPDomain(email), field, msgEmailIPDomain)
	f.CheckField(validAddress(email), field, msgEmailInvalid)
}

// hasHiddenOrMixedScript reports an address that could pass for another:
// one holding an invisible character (format characters such as zero-width
// spaces, joiners, bidi controls, and the other default-ignorable code
// points) or a look-alike Latin letter, or one whose letters are not all of
// one writing system, local part and domain together (a Cyrillic "а" among
// Latin letters, or a Cyrillic "рое" before a Latin domain).
func hasHiddenOrMixedScript(email string) bool {
	for _, r := range email {
		if invisible(r) || lookalikeLetter(r) {
			return true
		}
	}
	return mixesScripts(email)
}

// lookalikeLetter reports letters that exist to look like other letters:
// the IPA Extensions (U+0250-U+02AF: "ɑ" for "a") and Phonetic Extensions
// (U+1D00-U+1DBF: small capitals such as "ᴀ") blocks, and the dotless and
// dotted i (U+0131 "ı", U+0130 "İ"). No one's address needs them, and in an
// address they pass for "admin" and the like.
func lookalikeLetter(r rune) bool {
	return (r >= 0x0250 && r <= 0x02AF) || (r >= 0x1D00 && r <= 0x1DBF) || r == 0x0131 || r == 0x0130
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
	for _, r := range label {
		if !unicode.IsLetter(r) {
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

// checkPassword applies the password rules.
func checkPassword(f *Form, field, pw string) {
	n := utf8.RuneCountInString(pw)
	f.CheckField(pw != "", field, msgPasswordEmpty)
	f.CheckField(n >= minPasswordLen, field, msgPasswordShort)
	f.CheckField(n <= maxPasswordLen, field, msgPasswordLong)
	f.CheckField(!isCommonPassword(pw), field, msgPasswordCommon)
}

// checkPasswordConfirm checks the repeated password.
func checkPasswordConfirm(f *Form, field, pw, confirm string) {
	f.CheckField(confirm != "", field, msgConfirmEmpty)
	f.CheckField(confirm == pw, field, msgConfirmMismatch)
}

// ValidateEmail normalises s and checks it with the sign-up rules; the
// error's text is the message shown to people. create-admin uses it.
func ValidateEmail(s string) (string, error) {
	email := NormalizeEmail(s)
	var f Form
	checkEmail(&f, fieldEmail, email)
	if !f.Valid() {
		return "", errors.New(f.Error(fieldEmail))
	}
	return email, nil
}

// ValidatePassword checks pw with the sign-up rules.
func ValidatePassword(pw string) error {
	var f Form
	checkPassword(&f, fieldPassword, pw)
	if !f.Valid() {
		return errors.New(f.Error(fieldPassword))
	}
	return nil
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
