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
