package search

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Folding and tokenizing, done in Go exactly as book_search's tokenizer
// (unicode61 remove_diacritics 2) does it in SQLite, so words typed by users
// can be looked up in the in-memory vocabulary that came out of the index:
//
//   - a token is a run of letters, digits and private-use characters;
//     everything else (punctuation, symbols, spaces, most combining marks)
//     separates tokens;
//   - case is folded (ToLower(ToUpper(r)): "ß" stays, "ς" becomes "σ");
//   - Latin letters lose their diacritics ("García" → "garcia"), other
//     scripts keep theirs ("ё" stays), and a stray combining accent from
//     decomposed input is dropped.
//
// TestFoldMatchesFTS checks this against SQLite's tokenizer rune by rune.

// removableMarks are the combining marks unicode61 drops inside a token
// (rather than treating them as separators).
var removableMarks = [...]rune{
	0x0300, 0x0301, 0x0302, 0x0303, 0x0304, 0x0306, 0x0307, 0x0308, 0x0309, 0x030A,
	0x030B, 0x030C, 0x030F, 0x0311, 0x031B, 0x0323, 0x0324, 0x0325, 0x0326, 0x0327,
	0x0328, 0x032D, 0x032E, 0x0330, 0x0331,
}

// latinFold maps each non-ASCII, lower-case Latin letter to its form without
// diacritics; letters that keep theirs are absent.
var latinFold = buildLatinFold()

func isRemovableMark(r rune) bool {
	if r < 0x0300 || r > 0x0331 {
		return false
	}
	for _, m := range removableMarks {
		if m == r {
			return true
		}
	}
	return false
}

func isLatinRange(r rune) bool {
	return (r >= 0x80 && r < 0x250) || (r >= 0x1E00 && r <= 0x1EFF)
}

func buildLatinFold() map[rune]string {
	// unicode61 keeps these, though their decompositions look removable.
	keep := map[rune]bool{0x01E1: true, 0x01E3: true, 0x01EF: true, 0x01FD: true, 0x01FF: true}
	m := map[rune]string{}
	add := func(lo, hi rune) {
		for r := lo; r <= hi; r++ {
			if keep[r] || !unicode.IsLetter(r) {
				continue
			}
			d := norm.NFD.String(string(r))
			base, size := utf8.DecodeRuneInString(d)
			if size == len(d) || base >= 0x80 {
				continue
			}
			ok := true
			for _, mk := range d[size:] {
				if !isRemovableMark(mk) {
					ok = false
					break
				}
			}
			if ok {
				m[r] = string(base)
			}
		}
	}
	add(0x80, 0x24F)
	add(0x1E00, 0x1EFF)
	return m
}

// foldRune reports how the tokenizer treats r: as part of a token (ok)
// contributing the bytes appended to dst, or as a separator (!ok).
func foldRune(dst []byte, r rune) ([]byte, bool) {
	if r < utf8.RuneSelf {
		switch {
		case 'a' <= r && r <= 'z', '0' <= r && r <= '9':
			return append(dst, byte(r)), true
		case 'A' <= r && r <= 'Z':
			return append(dst, byte(r)+'a'-'A'), true
		}
		return dst, false
	}
	if isRemovableMark(r) {
		return dst, true
	}
	if !unicode.In(r, unicode.L, unicode.N, unicode.Co) {
		return dst, false
	}
	l := r
	if r != 'ı' && (r < 0x13A0 || r > 0x13FF) { // unicode61 keeps dotless i and Cherokee capitals
		l = unicode.ToLower(unicode.ToUpper(r))
	}
	if l < utf8.RuneSelf {
		return append(dst, byte(l)), true
	}
	if isLatinRange(l) {
		if s, ok := latinFold[l]; ok {
			return append(dst, s...), true
		}
	}
	return utf8.AppendRune(dst, l), true
}

// tokenize calls fn for each token of s with its byte range in s and its
// folded form. folded is only valid during the call. Invalid UTF-8 bytes are
// separators.
func tokenize(s string, fn func(start, end int, folded []byte)) {
	t := tokenizer{s: s}
	for {
		start, end, folded, ok := t.next()
		if !ok {
			return
		}
		fn(start, end, folded)
	}
}

// A tokenizer walks the tokens of s: the same tokens as tokenize, for
// callers on hot paths. A folded token handed to a function value escapes
// to the heap; one returned by next stays in the tokenizer, on the caller's
// stack.
type tokenizer struct {
	s   string
	i   int
	buf [64]byte
}

// next returns the next token's byte range in s and its folded form, valid
// until the following call, or ok false after the last one.
func (t *tokenizer) next() (start, end int, folded []byte, ok bool) {
	s := t.s
	folded = t.buf[:0]
	start = -1
	for i := t.i; i < len(s); {
		var in bool
		size := 1
		if c := s[i]; c < utf8.RuneSelf { // foldRune's ASCII rules, inline: most text is ASCII
			switch {
			case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
				folded, in = append(folded, c), true
			case 'A' <= c && c <= 'Z':
				folded, in = append(folded, c+'a'-'A'), true
			}
		} else {
			var r rune
			r, size = utf8.DecodeRuneInString(s[i:])
			if r != utf8.RuneError || size > 1 {
				folded, in = foldRune(folded, r)
			}
		}
		if in {
			if start < 0 {
				start = i
			}
		} else if start >= 0 {
			if len(folded) > 0 {
				t.i = i + size
				return start, i, folded, true
			}
			start, folded = -1, folded[:0]
		}
		i += size
	}
	t.i = len(s)
	if start >= 0 && len(folded) > 0 {
		return start, len(s), folded, true
	}
	return 0, 0, nil, false
}

// nextSpan is next without the folded form: where the next token starts
// and ends. Highlighting text whose terms the forward index already holds
// needs only that, and folding each letter was most of what finding the
// tokens cost.
func (t *tokenizer) nextSpan() (start, end int, ok bool) {
	s := t.s
	start = -1
	content := false // a token of removable marks alone is no token
	for i := t.i; i < len(s); {
		var in bool
		size := 1
		if c := s[i]; c < utf8.RuneSelf {
			in = 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || 'A' <= c && c <= 'Z'
			content = content || in
		} else {
			var r rune
			r, size = utf8.DecodeRuneInString(s[i:])
			if r != utf8.RuneError || size > 1 {
				switch {
				case isRemovableMark(r):
					in = true
				case unicode.In(r, unicode.L, unicode.N, unicode.Co):
					in, content = true, true
				}
			}
		}
		if in {
			if start < 0 {
				start = i
			}
		} else if start >= 0 {
			if content {
				t.i = i + size
				return start, i, true
			}
			start = -1
		}
		i += size
	}
	t.i = len(s)
	if start >= 0 && content {
		return start, len(s), true
	}
	return 0, 0, false
}

// Fold returns s as the search index sees it: its tokens, folded, joined by
// single spaces. Fold("  García-Márquez!") == "garcia marquez".
func Fold(s string) string {
	var b strings.Builder
	tokenize(s, func(_, _ int, f []byte) {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.Write(f)
	})
	return b.String()
}

// foldWords returns the folded tokens of s.
func foldWords(s string) []string {
	var words []string
	tokenize(s, func(_, _ int, f []byte) { words = append(words, string(f)) })
	return words
}
