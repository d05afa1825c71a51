package search

import (
	"testing"

	"shelf/store"
	"shelf/store/storetest"
)

// openTestDB opens a fresh database file in the test's temporary directory.
func openTestDB(t testing.TB) *store.DB {
	return storetest.Open(t)
}

// searchState returns the vocabulary and, when it is the engine in use,
// the in-memory index.
func (s *Searcher) searchState() (*vocabulary, *memoryIndex) {
	st := s.state()
	ix, _ := st.engine.(*memoryIndex)
	return st.vocab, ix
}

// queryWords is what a search expands q's words to, the last as typed on:
// nil when q has no word.
func queryWords(v *vocabulary, q string) []*wordTerms {
	folded := foldWords(q)
	if len(folded) == 0 {
		return nil
	}
	words := make([]*wordTerms, len(folded))
	for i, f := range folded {
		words[i] = v.expand(f, i == len(folded)-1)
	}
	return words
}
