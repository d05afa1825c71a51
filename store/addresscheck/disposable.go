package addresscheck

import (
	_ "embed"
	"strings"
)

// The throwaway-mail domains (see LICENSE and refresh.sh): about 121,000
// ASCII domains, sorted byte-wise, one a line after a "#" header. They are
// searched where they lie in the binary: no set is built at start-up and
// nothing is copied to the heap, and a look-up is a binary search over
// lines (about 17 steps).
//
//go:embed disposable.txt
var disposableText string

// Domains all of whose subdomains are throwaway: a few hundred, so a map.
//
//go:embed wildcard.txt
var wildcardText string

var (
	disposable = sortedLines(disposableText)
	wildcard   = lineSet(wildcardText)
)

// sortedLines is the data of a file of sorted lines, past its header.
func sortedLines(text string) string {
	for strings.HasPrefix(text, "#") {
		_, text, _ = strings.Cut(text, "\n")
	}
	return text
}

func lineSet(text string) map[string]struct{} {
	m := map[string]struct{}{}
	for line := range strings.SplitSeq(text, "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			m[line] = struct{}{}
		}
	}
	return m
}

// inSortedLines reports whether s is one of the lines of text, sorted
// byte-wise and each ended by "\n", by binary search over byte offsets.
func inSortedLines(text, s string) bool {
	lo, hi := 0, len(text) // the lines starting in [lo, hi) may hold s
	for lo < hi {
		mid := lo + (hi-lo)/2
		start := strings.LastIndexByte(text[lo:mid], '\n') + 1 + lo // the line holding mid
		end := strings.IndexByte(text[start:], '\n')
		if end < 0 {
			end = len(text) - start
		}
		line := text[start : start+end]
		switch {
		case line == s:
			return true
		case line < s:
			lo = start + end + 1
		default:
			hi = start
		}
	}
	return false
}

// isDisposable reports whether the ASCII domain is on the shipped lists.
func isDisposable(domain string) bool {
	if inSortedLines(disposable, domain) {
		return true
	}
	_, ok := wildcard[domain]
	return ok
}
