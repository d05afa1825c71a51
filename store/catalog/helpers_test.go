package catalog

import (
	"context"
	"path/filepath"
	"testing"

	"shelf/store"
)

// newTestCatalog opens a catalog over a fresh, empty database file in the
// test's temporary directory.
func newTestCatalog(t testing.TB) *Catalog {
	t.Helper()
	db, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "shelf.db"))
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return New(db)
}
