package handlers

import (
	_ "embed"
	"errors"
	"net/mail"
	"strings"
	"unicode/utf8"
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
	msgEmailTaken      = "Email already registered. Sign in, or use another address."
	msgPasswordEmpty   = "Enter a password."
	msgPasswordShort   = "Use at least 8 characters."
	msgPasswordLong    = "Use at most 128 characters."
	msgPasswordCommon  = "This password is too common. Choose one that is harder to guess."
	msgConfirmEmpty    = "Enter the password again."
	msgConfirmMismatch = "The passwords do not match. Type the same password twice."
)

// NormalizeEmail trims space and lower-cases the domain (the part after the
// last @). The local part keeps its case; uniqueness ignores ASCII case.
func NormalizeEmail(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '@'); i >= 0 {
		s = s[:i+1] + strings.ToLower(s[i+1:])
	}
	return s
}

// checkEmail applies the address rules to an already normalised address.
func checkEmail(f *Form, field, email string) {
	f.CheckField(email != "", field, msgEmailEmpty)
	f.CheckField(len(email) <= maxEmailLen, field, msgEmailTooLong)
	f.CheckField(validAddress(email), field, msgEmailInvalid)
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
