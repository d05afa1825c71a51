package links

import (
	"strings"
	"unicode"

	"golang.org/x/net/idna"
)

// DisplayHost is how a page shows host (as stored: punycode, lower case)
// to a visitor about to go there: in Unicode when every label reads as a
// word of one script (Japanese may mix Han and kana, Korean Han and
// Hangul), else in punycode. International names stay readable, while a
// name with a slash-like symbol (shelf.test⁄x.evil.com) or a Latin word
// with one Cyrillic letter shows what it is.
func DisplayHost(host string) string {
	uni, err := idna.Lookup.ToUnicode(host)
	if err != nil || uni == host {
		return host
	}
	for _, label := range strings.Split(uni, ".") {
		if !readableLabel(label) {
			return host
		}
	}
	return uni
}

// cjk are the scripts one label may mix.
var cjk = map[string]bool{"Han": true, "Hiragana": true, "Katakana": true, "Hangul": true, "Bopomofo": true}

func readableLabel(label string) bool {
	scripts := map[string]bool{}
	for _, r := range label {
		switch {
		case r == '-' || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r):
			continue
		case !unicode.IsLetter(r) && r != 'ー': // the katakana long vowel mark is Common
			return false
		}
		if s := scriptOf(r); s != "" && s != "Common" && s != "Inherited" {
			scripts[s] = true
		}
	}
	if len(scripts) <= 1 {
		return true
	}
	for s := range scripts {
		if !cjk[s] {
			return false
		}
	}
	return true
}

func scriptOf(r rune) string {
	for name, table := range unicode.Scripts {
		if unicode.Is(table, r) {
			return name
		}
	}
	return ""
}
