package links

import (
	"slices"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/idna"
)

// DisplayHost is how a page shows host (as stored: punycode, lower case)
// to a visitor about to go there: in Unicode when every label reads as a
// word of one script (Japanese may mix Han and kana, Korean Han and
// Hangul), else in punycode. International names stay readable, while a
// name with a slash-like symbol (shelf.test⁄x.evil.com) or a Latin word
// with one Cyrillic letter shows what it is.
func DisplayHost(host string) string {
	_, shown := DisplayHosts(host)
	return shown
}

// DisplayHosts is DisplayHost that also gives host in Unicode, as IDNA
// decodes it whether or not it is shown so (host itself when it does not
// decode), for a page that warns of a lookalike.
func DisplayHosts(host string) (uni, shown string) {
	if plainASCII(host) {
		return host, host
	}
	uni, err := idna.Lookup.ToUnicode(host)
	if err != nil {
		return host, host
	}
	if uni == host {
		return uni, host
	}
	for label := range strings.SplitSeq(uni, ".") {
		if !readableLabel(label) {
			return uni, host
		}
	}
	return uni, uni
}

// plainASCII reports whether host is one that IDNA decodes to itself, or
// not at all: lower-case ASCII without a punycode label. Most hosts are,
// and need no decoding.
func plainASCII(host string) bool {
	for label := range strings.SplitSeq(host, ".") {
		if strings.HasPrefix(label, "xn--") {
			return false
		}
	}
	for i := 0; i < len(host); i++ {
		if c := host[i]; c >= utf8.RuneSelf || 'A' <= c && c <= 'Z' {
			return false
		}
	}
	return true
}

func readableLabel(label string) bool {
	first, mixed, allCJK := "", false, true
	for _, r := range label {
		switch {
		case r == '-' || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r):
			continue
		case !unicode.IsLetter(r) && r != 'ー': // the katakana long vowel mark is Common
			return false
		}
		s := scriptOf(r)
		if s == "" || s == "Common" || s == "Inherited" {
			continue
		}
		if first == "" {
			first = s
		} else if s != first {
			mixed = true
		}
		allCJK = allCJK && cjk(s)
	}
	return !mixed || allCJK
}

// cjk reports whether one label may mix script s with the others of
// Chinese, Japanese and Korean.
func cjk(s string) bool {
	switch s {
	case "Han", "Hiragana", "Katakana", "Hangul", "Bopomofo":
		return true
	}
	return false
}

// scriptRange is a run of code points of one script.
type scriptRange struct {
	lo, hi rune
	name   string
}

// scriptRanges are unicode.Scripts as one sorted list of disjoint runs, so
// that a rune's script is a binary search rather than a scan of every
// script's table.
var scriptRanges = sync.OnceValue(func() []scriptRange {
	var rs []scriptRange
	add := func(lo, hi, stride uint32, name string) {
		if stride == 1 {
			rs = append(rs, scriptRange{rune(lo), rune(hi), name})
			return
		}
		// A strided run may have another script's code points between
		// its own: each of its points is a run of its own.
		for r := lo; r <= hi; r += stride {
			rs = append(rs, scriptRange{rune(r), rune(r), name})
		}
	}
	for name, table := range unicode.Scripts {
		for _, r := range table.R16 {
			add(uint32(r.Lo), uint32(r.Hi), uint32(r.Stride), name)
		}
		for _, r := range table.R32 {
			add(r.Lo, r.Hi, r.Stride, name)
		}
	}
	slices.SortFunc(rs, func(a, b scriptRange) int { return int(a.lo - b.lo) })
	return rs
})

// scriptOf is the name of r's script in unicode.Scripts, "" for none.
func scriptOf(r rune) string {
	rs := scriptRanges()
	i, _ := slices.BinarySearchFunc(rs, r, func(s scriptRange, r rune) int {
		switch {
		case s.hi < r:
			return -1
		case s.lo > r:
			return 1
		}
		return 0
	})
	if i < len(rs) && rs[i].lo <= r && r <= rs[i].hi {
		return rs[i].name
	}
	return ""
}
