package search

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
	segs := make([]Segment, 0, 4)
	done := 0 // bytes of s already in segs
	tokenize(s, func(start, end int, folded []byte) {
		hit := false
		for _, w := range words {
			if w.covers(folded) {
				hit = true
				break
			}
		}
		if !hit {
			return
		}
		if start > done {
			segs = append(segs, Segment{Text: s[done:start]})
		}
		segs = append(segs, Segment{Text: s[start:end], Mark: true})
		done = end
	})
	if done < len(s) {
		segs = append(segs, Segment{Text: s[done:]})
	}
	return segs
}
