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
