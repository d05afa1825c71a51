package search

import (
	"context"
	"path/filepath"
	"testing"

	"shelf/store"
)

// openTestDB opens a fresh database file in the test's temporary directory.
func openTestDB(t testing.TB) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "shelf.db"))
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// searchState returns the vocabulary and, when it is the engine in use,
// the in-memory index.
func (s *Searcher) searchState() (*vocabulary, *memoryIndex) {
	st := s.state()
	ix, _ := st.engine.(*memoryIndex)
	return st.vocab, ix
}
