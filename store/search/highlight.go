package search

import "slices"

// Segment is a piece of a title or author list; Mark is set on the words
// that matched the query. Templates render segments as escaped text, marked
// ones inside <mark>, so highlighting never produces raw HTML.
type Segment struct {
	Text string
	Mark bool
}

// highlight splits s into segments, marking each token that one of words
// accepts (the word itself, as a prefix when it is the last word, or one of
// its typo or substring variants).
func highlight(s string, words []*wordTerms) []Segment {
	segs := appendHighlight(make([]Segment, 0, 4), s, words)
	return segs
}

// appendHighlight appends the segments of s to dst, as highlight makes them.
func appendHighlight(dst []Segment, s string, words []*wordTerms) []Segment {
	return appendHighlightTerms(dst, s, nil, words)
}

// appendHighlightTerms is appendHighlight for text whose first tokens are,
// in order, the vocabulary's terms (the forward index's): each of those is
// checked by its term id, a few comparisons, rather than against every
// variant's spelling. Tokens past them are checked by spelling.
func appendHighlightTerms(dst []Segment, s string, terms []int32, words []*wordTerms) []Segment {
	done := 0 // bytes of s already in dst
	t := tokenizer{s: s}
	for k := 0; ; k++ {
		var start, end int
		var folded []byte
		var ok bool
		if k < len(terms) {
			start, end, ok = t.nextSpan()
		} else {
			start, end, folded, ok = t.next()
		}
		if !ok {
			break
		}
		hit := false
		for _, w := range words {
			if k < len(terms) && w.coversTerm(terms[k]) || k >= len(terms) && w.covers(folded) {
				hit = true
				break
			}
		}
		if !hit {
			continue
		}
		if start > done {
			dst = append(dst, Segment{Text: s[done:start]})
		}
		dst = append(dst, Segment{Text: s[start:end], Mark: true})
		done = end
	}
	if done < len(s) {
		dst = append(dst, Segment{Text: s[done:]})
	}
	return dst
}

// coversTerm reports whether term t of the vocabulary counts as a match for
// w: the in-memory index's twin of covers, on the forward index's term ids.
func (w *wordTerms) coversTerm(t int32) bool {
	if t == w.id || (w.last && w.lo <= t && t < w.hi) {
		return true
	}
	if !w.extraSet.maybe(t) {
		return false
	}
	_, found := slices.BinarySearch(w.extraIDs, t)
	return found
}

// anyCovered reports whether one of words covers one of terms.
func anyCovered(terms []int32, words []*wordTerms) bool {
	for _, t := range terms {
		for _, w := range words {
			if w.coversTerm(t) {
				return true
			}
		}
	}
	return false
}
