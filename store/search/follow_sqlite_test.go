package search

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"shelf/store"
	"shelf/store/catalog"
)

// openSQLiteFile opens the SQLite database at path, as another process
// would: its own handle, its own connections.
func openSQLiteFile(t *testing.T, path string) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// waitRebuilds waits until f has rebuilt its index n times in all.
func (f *follower) waitRebuilds(t *testing.T, n int, limit time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		f.mu.Lock()
		got := f.rebuilds
		f.mu.Unlock()
		if got >= n {
			return time.Since(start)
		}
		if time.Since(start) > limit {
			t.Fatalf("%d index rebuilds within %v, want %d", got, limit, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// An import through another handle on the same SQLite file (shelf import,
// in another process) is searchable within 2 s, caches and counts
// included; SQLite's index answers at once, and the in-memory index is
// rebuilt in the background and then answers the same.
func TestSQLiteImportReachesRunningSearcher(t *testing.T) {
	path := filepath.Join(t.TempDir(), "shelf.db")
	ctx := context.Background()
	writer := openSQLiteFile(t, path)
	if _, err := catalog.New(writer).ImportBundled(ctx); err != nil {
		t.Fatal(err)
	}
	importTitle(t, writer, "Quokka Almanac")
	f := startFollower(t, path)
	if _, ix := f.s.searchState(); ix == nil {
		t.Fatal("the in-memory index is not in use before the import")
	}
	// Cached before the import: one match, and none for the new title.
	if r, err := f.s.Search(ctx, "quokka", 1); err != nil || r.Total != 1 {
		t.Fatalf("before the import: %+v, %v", r, err)
	}
	if r, err := f.s.Search(ctx, "zanzibar quokka", 1); err != nil || r.Total != 0 {
		t.Fatalf("before the import: %+v, %v", r, err)
	}

	importTitle(t, writer, "Zanzibar Quokka")
	took := f.waitFor(t, "zanzibar quokka", 10002, 2*time.Second)
	t.Logf("visible %v after the import committed (10k books)", took)
	if r, err := f.s.Search(ctx, "quokka", 1); err != nil || r.Total != 2 {
		t.Errorf("count after the import: %+v, %v", r, err)
	}

	f.waitRebuilds(t, 1, 10*time.Second)
	if _, ix := f.s.searchState(); ix == nil {
		t.Fatal("the in-memory index is not in use again after the rebuild")
	}
	f.waitFor(t, "zanzibar quokka", 10002, 0)
	if r, err := f.s.Search(ctx, "quokka", 1); err != nil || r.Total != 2 {
		t.Errorf("count on the rebuilt index: %+v, %v", r, err)
	}

	// Nothing changed since: no more rebuilds.
	time.Sleep(3 * sqlitePollInterval)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.rebuilds != 1 {
		t.Errorf("%d rebuilds for one import, want 1", f.rebuilds)
	}
}

// Imports that follow each other faster than the index is rebuilt are each
// searchable at once, and the index ends up built from the last.
func TestSQLiteImportsInQuickSuccession(t *testing.T) {
	path := filepath.Join(t.TempDir(), "shelf.db")
	writer := openSQLiteFile(t, path)
	if _, err := catalog.New(writer).ImportBundled(context.Background()); err != nil {
		t.Fatal(err)
	}
	f := startFollower(t, path)
	titles := []string{"Zanzibar Quokka", "Yodelling Wombat", "Xylophone Narwhal"}
	for i, title := range titles {
		importTitle(t, writer, title)
		f.waitFor(t, title, int64(10001+i), 2*time.Second)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, ix := f.s.searchState(); ix != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the in-memory index was not rebuilt after the last import")
		}
		time.Sleep(5 * time.Millisecond)
	}
	for i, title := range titles {
		f.waitFor(t, title, int64(10001+i), 0)
	}
}

// How long an import by another process takes to be searchable on a large
// SQLite catalog, and to be in the rebuilt in-memory index:
// SHELF_FRESHNESS_BOOKS=1000000 go test ./store/search -run TestSQLiteFreshnessAtScale -v
func TestSQLiteFreshnessAtScale(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("SHELF_FRESHNESS_BOOKS"))
	if n <= 0 {
		t.Skip("set SHELF_FRESHNESS_BOOKS to the catalog size to measure")
	}
	path := filepath.Join(t.TempDir(), "shelf.db")
	ctx := context.Background()
	writer := openSQLiteFile(t, path)
	start := time.Now()
	if _, err := catalog.New(writer).ImportSynthetic(ctx, n, nil); err != nil {
		t.Fatal(err)
	}
	t.Logf("imported %d synthetic books in %v", n, time.Since(start).Round(time.Millisecond))
	f := startFollower(t, path)
	for i, title := range []string{"Zanzibar Quokka", "Yodelling Wombat", "Xylophone Narwhal"} {
		committed := time.Now()
		importTitle(t, writer, title)
		imported := time.Since(committed)
		took := f.waitFor(t, title, int64(n+1+i), time.Minute)
		rebuilt := f.waitRebuilds(t, i+1, time.Minute)
		t.Logf("change %d: import %v, searchable %v after it committed, in-memory index back %v later (%d books)",
			i+1, imported.Round(time.Millisecond), took.Round(time.Millisecond), (rebuilt).Round(time.Millisecond), n)
	}
}
