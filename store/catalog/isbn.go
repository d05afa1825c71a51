package catalog

import (
	"fmt"
	"strings"
)

// ParseISBN reads an ISBN as a person types it: an ISBN-13, or an ISBN-10
// (its last digit may be X), with hyphens and spaces anywhere. It returns
// the ISBN-13, converting an ISBN-10, or a message saying what is wrong.
// The empty string is no ISBN, and valid.
func ParseISBN(s string) (isbn13, problem string) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", ""
	}
	if len(s) > 64 {
		return "", "That is too long for an ISBN: an ISBN has 13 digits (or 10)."
	}
	digits := make([]byte, 0, 13)
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case '0' <= c && c <= '9':
			digits = append(digits, c)
		case c == 'x' || c == 'X':
			digits = append(digits, 'X')
		case c == '-' || c == ' ':
		default:
			return "", "An ISBN has only digits, hyphens and spaces (and an X as the last digit of an ISBN-10)."
		}
	}
	d := string(digits)
	if x := strings.IndexByte(d, 'X'); x >= 0 && (x != len(d)-1 || len(d) != 10) {
		return "", "X can only be the last digit of a 10-digit ISBN."
	}
	switch len(d) {
	case 13:
		if !isbnPrefixOK(d) {
			return "", "An ISBN-13 starts with 978 or 979."
		}
		if isbn13Check(d[:12]) != d[12] {
			return "", "This ISBN-13's check digit (the last) does not match the others: look for a typo."
		}
		return d, ""
	case 10:
		if isbn10To13(d) == "" {
			return "", "This ISBN-10's check digit (the last) does not match the others: look for a typo."
		}
		return isbn10To13(d), ""
	}
	return "", fmt.Sprintf("An ISBN has 13 digits (or 10 for an older ISBN-10); this has %d.", len(d))
}
