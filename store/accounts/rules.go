package accounts

import (
	_ "embed"
	"strings"
	"unicode/utf8"

	"shelf/store/addresscheck"
)

// The rules an account's address and password follow. They are the
// accounts' own, not a form's: the sign-up form checks them field by field
// as people type and again on submit, the reset form checks the password,
// and create-admin checks both, all through CheckEmail and CheckPassword.

// Limits of an address and a password; passwords are counted in characters
// (runes).
const (
	MaxEmailLen    = addresscheck.MaxLen
	minPasswordLen = 8
	maxPasswordLen = 128
)

// Problem is a broken address or password rule. Its text is the message
// shown to people: it says what to do, not only what is wrong.
type Problem string

func (p Problem) Error() string { return string(p) }

// The rules' problems, each checked by CheckEmail or CheckPassword. The
// address has more, each its own (see package addresscheck).
const (
	EmailEmpty             = Problem(addresscheck.Empty)
	EmailInvalid           = Problem(addresscheck.Invalid)
	EmailTooLong           = Problem(addresscheck.TooLong)
	EmailLookalike         = Problem(addresscheck.Lookalike)
	EmailIPDomain          = Problem(addresscheck.IPDomain)
	PasswordEmpty  Problem = "Enter a password."
	PasswordShort  Problem = "Use at least 8 characters."
	PasswordLong   Problem = "Use at most 128 characters."
	PasswordCommon Problem = "This password is too common. Choose one that is harder to guess."
)

// NormalizeEmail gives an address its one spelling (see
// addresscheck.Normalize). Sign-up, sign-in, reset and create-admin all use
// it, so one address always has one spelling.
func NormalizeEmail(s string) string { return addresscheck.Normalize(s) }

// CheckEmail applies the address syntax rules (addresscheck.Syntax) to an
// already normalised address and returns the first one it breaks, or nil.
// The lists of throwaway and mistyped domains apply to new addresses only,
// in sign-up (handlers/address_check.go), not here: an existing account's
// address is never judged by them.
func CheckEmail(email string) error {
	if p := addresscheck.Syntax(email); p != "" {
		return Problem(p)
	}
	return nil
}

// Plausible reports whether email could be an account's address: short
// enough and well-formed (length first: parsing a huge one costs time).
// Sign-in uses it to skip looking up what no account can have.
func Plausible(email string) bool { return addresscheck.Plausible(email) }

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
