package components

import (
	"strconv"
)

func statusText(status int) string { return strconv.Itoa(status) }

// Thousands formats n with comma separators: 1234567 -> "1,234,567".
func Thousands(n int64) string {
	var b [27]byte
	return string(appendThousands(b[:0], n))
}

// pageOfText is a pager's "Page 2 of 5": page of the pages that total
// items fill, perPage to a page (one page at least).
func pageOfText(page, total, perPage int) string {
	pages := 1
	if perPage > 0 {
		pages = max(1, (total+perPage-1)/perPage)
	}
	return "Page " + Thousands(int64(page)) + " of " + Thousands(int64(pages))
}

// htmlEscapes are the bytes templ.EscapeString replaces (with
// html.EscapeString), and what it replaces them with.
var htmlEscapes = [256]string{'&': "&amp;", '\'': "&#39;", '<': "&lt;", '>': "&gt;", '"': "&#34;"}

// appendEscaped appends s escaped as templ.EscapeString escapes it,
// without the string it allocates for a text that needs escaping.
func appendEscaped(b []byte, s string) []byte {
	from := 0
	for i := 0; i < len(s); i++ {
		if e := htmlEscapes[s[i]]; e != "" {
			b = append(b, s[from:i]...)
			b = append(b, e...)
			from = i + 1
		}
	}
	return append(b, s[from:]...)
}
