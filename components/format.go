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
