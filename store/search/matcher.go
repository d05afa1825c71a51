package search

import "shelf/store/catalog"

// Matcher matches one query against a small set of books, such as a
// reader's shelves, by Search's rules: words are folded and tokenized alike,
// every word must match the title or authors, the last also as a prefix,
// and words that match nothing exactly match their typo and substring
// variants among the set's own words. It walks every book, so it suits
// thousands of books, not the catalog.
type Matcher struct {
	words []*wordTerms // nil: the query has no words, and every book matches
}

// Tier says how a book matches a query, in Search's tiers.
type Tier int

const (
	NoMatch Tier = iota
	// ExactMatch: every word as typed, the last also as a prefix.
	ExactMatch
	// SimilarMatch: some word only through a typo or inside a longer word.
	SimilarMatch
)

// NewMatcher prepares query for matching books, whose words make the
// vocabulary its typo and substring variants are drawn from.
func NewMatcher(query string, books []catalog.Book) *Matcher {
	q, _ := NormalizeQuery(query)
	folded := foldWords(q)
	if len(folded) > MaxQueryWords {
		folded = folded[:MaxQueryWords]
	}
	if len(folded) == 0 {
		return &Matcher{}
	}
	indexed := make([]indexedBook, len(books))
	for i, b := range books {
		indexed[i] = indexedBook{id: b.ID, title: b.Title, authors: b.Authors}
	}
	v := vocabularyOf(indexed)
	m := &Matcher{words: make([]*wordTerms, len(folded))}
	for i, f := range folded {
		m.words[i] = v.computeExpansion(f, i == len(folded)-1)
	}
	return m
}

// Empty reports whether the query has no words (every book matches).
func (m *Matcher) Empty() bool { return len(m.words) == 0 }

// Match says how b matches the query.
func (m *Matcher) Match(b catalog.Book) Tier {
	if len(m.words) == 0 {
		return ExactMatch
	}
	var exact, loose uint64 // bit i: word i matched
	check := func(_, _ int, tok []byte) {
		for i, w := range m.words {
			if string(tok) == w.word || (w.last && len(tok) >= len(w.word) && string(tok[:len(w.word)]) == w.word) {
				exact |= 1 << i
				loose |= 1 << i
			} else if w.covers(tok) {
				loose |= 1 << i
			}
		}
	}
	tokenize(b.Title, check)
	tokenize(b.Authors, check)
	all := uint64(1)<<len(m.words) - 1
	switch {
	case exact == all:
		return ExactMatch
	case loose == all:
		return SimilarMatch
	}
	return NoMatch
}

// Highlight returns b as a result, its matching words marked as Search
// marks them.
func (m *Matcher) Highlight(b catalog.Book) Hit {
	return newHit(b, m.words)
}
