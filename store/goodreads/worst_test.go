package goodreads

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
)

// The worst files the size cap lets through are still read in well under
// a second (a stray quote on every line makes each try the next lines).
func TestParseWorstCases(t *testing.T) {
	header := "Title,Author,Exclusive Shelf\n"
	room := MaxFileBytes - len(header)
	for _, tc := range []struct {
		name, body string
		err        error
	}{
		{"a stray quote on every line", strings.Repeat("\"a\n", room/3), ErrTooManyRows},
		{"long lines of quotes", strings.Repeat(strings.Repeat(`"`, 999)+"\n", room/1000), nil},
		{"one long line", strings.Repeat("a,", room/2), nil},
		{"blank lines", strings.Repeat("\r\n", room/2), nil},
	} {
		start := time.Now()
		_, err := Parse(bytes.NewReader([]byte(header + tc.body)))
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("%s: %v", tc.name, d)
		}
		if !errors.Is(err, tc.err) {
			t.Errorf("%s: got %v, want %v", tc.name, err, tc.err)
		}
	}
}
