package catalog_test

// What readers see during an import: the catalog's and the search's
// readers, so these tests stand outside the package (search imports it).

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"shelf/store"
	"shelf/store/catalog"
	"shelf/store/search"
)

// openDB opens the database file at path (creating it), with connections
// of its own, as another process would.
func openDB(t testing.TB, path string) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func importCSV(t *testing.T, c *catalog.Catalog, data string) catalog.ImportReport {
	t.Helper()
	rep, err := c.Import(context.Background(), strings.NewReader(data), catalog.ImportOptions{})
	if err != nil {
		t.Fatalf("import: %v", err)
	}
	return rep
}

// catalogView is what a reader sees of a catalog.
type catalogView struct {
	count       int64
	empty       bool
	popular     string // ids of the first page of the empty query
	searchTotal int64
	nextFound   bool // the id after the last book exists
}

func viewCatalog(t testing.TB, c *catalog.Catalog, s *search.Searcher, nextID int64) catalogView {
	t.Helper()
	ctx := context.Background()
	var v catalogView
	var err error
	if v.count, err = c.Count(ctx); err != nil {
		t.Fatal(err)
	}
	if v.empty, err = c.IsEmpty(ctx); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"", "book"} {
		s.SetResultCache(0)
		r, err := s.Search(ctx, q, 1)
		if err != nil {
			t.Fatal(err)
		}
		if q == "" {
			for _, h := range r.Hits {
				v.popular += strconv.FormatInt(h.ID, 10) + " "
			}
		} else {
			v.searchTotal = r.Total
		}
	}
	_, err = c.Get(ctx, nextID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		t.Fatal(err)
	}
	v.nextFound = err == nil
	return v
}

// Readers see the catalog as it was until the import is published, then
// all of it: never a part.
func TestImportIsInvisibleUntilPublished(t *testing.T) {
	if testing.Short() {
		t.Skip("imports 20,000 books")
	}
	ctx := context.Background()
	db := openDB(t, filepath.Join(t.TempDir(), "shelf.db"))
	c := catalog.New(db)
	importCSV(t, c, catalog.ImportManyRows(500))
	readerDB := openDB(t, db.Path)
	reader := catalog.New(readerDB)
	readerSearch, err := search.New(ctx, readerDB) // searches on SQLite's index
	if err != nil {
		t.Fatal(err)
	}
	before := viewCatalog(t, reader, readerSearch, 501)

	errc := make(chan error, 1)
	go func() {
		_, err := c.ImportSynthetic(ctx, 20_000, nil)
		errc <- err
	}()
	seen := map[catalogView]int{} // what readers saw during the import, and how often
	for running := true; running; {
		select {
		case err := <-errc:
			if err != nil {
				t.Fatal(err)
			}
			running = false
		default:
			seen[viewCatalog(t, reader, readerSearch, 501)]++
		}
	}
	after := viewCatalog(t, reader, readerSearch, 501)
	if after.count != 20_500 || !after.nextFound || after.popular == before.popular || after.searchTotal <= before.searchTotal {
		t.Fatalf("after the import: %+v", after)
	}
	// A look runs several queries, and the import may be published between
	// two of them: each answer must be the one before or the one after.
	looks := 0
	for v, n := range seen {
		if v.count != before.count && v.count != after.count ||
			v.popular != before.popular && v.popular != after.popular ||
			v.searchTotal != before.searchTotal && v.searchTotal != after.searchTotal {
			t.Errorf("%d looks during the import saw %+v\nbefore it: %+v\nafter it: %+v", n, v, before, after)
		}
		looks += n
	}
	if seen[before] == 0 {
		t.Errorf("no look saw the catalog before the import: %d looks", looks)
	}
	t.Logf("%d looks during the import", looks)
}

const killedImportChild = "SHELF_TEST_KILLED_IMPORT_DB"

// An import killed with SIGKILL half-way changes nothing readers see; the
// next import clears what it left and succeeds.
func TestImportKilledMidway(t *testing.T) {
	if path := os.Getenv(killedImportChild); path != "" {
		runKilledImportChild(path)
		return
	}
	if testing.Short() {
		t.Skip("runs an import in a child process")
	}
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "shelf.db")
	db := openDB(t, path)
	c := catalog.New(db)
	importCSV(t, c, catalog.ImportManyRows(500))
	s, err := search.New(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	before := viewCatalog(t, c, s, 501)

	cmd := exec.Command(os.Args[0], "-test.run=^TestImportKilledMidway$")
	cmd.Env = append(os.Environ(), killedImportChild+"="+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(out)
	progress := 0
	for progress < 10_000 && lines.Scan() {
		if n, ok := strings.CutPrefix(lines.Text(), "progress "); ok {
			progress, _ = strconv.Atoi(n)
		}
	}
	cmd.Process.Kill()
	cmd.Wait()
	if progress < 10_000 {
		t.Fatalf("the child import stopped at %d books", progress)
	}

	var stored int64
	if err := db.Read.QueryRow(`SELECT count(*) FROM books`).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if stored <= before.count {
		t.Fatalf("the killed import left no staged books (%d rows): the test proves nothing", stored)
	}
	if got := viewCatalog(t, c, s, 501); got != before {
		t.Fatalf("after the kill: %+v, before it %+v", got, before)
	}
	fresh, err := search.New(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	if got := viewCatalog(t, catalog.New(db), fresh, 501); got != before {
		t.Fatalf("a catalog opened after the kill: %+v, before it %+v", got, before)
	}

	added, err := c.ImportSynthetic(ctx, 1000, nil)
	if err != nil || added != 1000 {
		t.Fatalf("next import: added %d, %v", added, err)
	}
	if err := db.Read.QueryRow(`SELECT count(*) FROM books`).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if n, _ := c.Count(ctx); n != 1500 || stored != 1500 {
		t.Fatalf("after the next import: %d books seen, %d stored; want 1500", n, stored)
	}
	// Synthetic numbering goes on from the books that were published.
	var first string
	if err := db.Read.QueryRow(`SELECT min(dedupe_key) FROM books WHERE dedupe_key LIKE 'synthetic:%'`).Scan(&first); err != nil || first != "synthetic:0000000001" {
		t.Errorf("first synthetic key = %q, %v", first, err)
	}
	rep := importCSV(t, c, catalog.ImportManyRows(500))
	if rep.Added != 0 || rep.Duplicates != 500 {
		t.Errorf("re-import = %+v, want all 500 duplicates", rep)
	}
}

// runKilledImportChild imports many synthetic books into the database at
// path, printing progress, until its parent kills it.
func runKilledImportChild(path string) {
	ctx := context.Background()
	db, err := store.Open(ctx, path)
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	_, err = catalog.New(db).ImportSynthetic(ctx, 2_000_000, func(done int) { fmt.Printf("progress %d\n", done) })
	fmt.Println("finished", err)
	os.Exit(0)
}
