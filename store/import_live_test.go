package store

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// openSecondDB opens db's file again, with its own connections, as another
// process would (the server beside `shelf import`).
func openSecondDB(t testing.TB, db *DB) *DB {
	t.Helper()
	other, err := Open(context.Background(), db.Path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { other.Close() })
	return other
}

// importBesideBooks is how many books TestImportBesideWriter imports;
// SHELF_IMPORT_BESIDE_BOOKS=1000000 measures the full-size case.
func importBesideBooks(t *testing.T) int {
	if s := os.Getenv("SHELF_IMPORT_BESIDE_BOOKS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			t.Fatalf("SHELF_IMPORT_BESIDE_BOOKS=%q: want a positive number", s)
		}
		return n
	}
	return 150_000
}

// While an import runs, another connection's small write transactions (a
// session being saved, say) each finish within a second and none fails.
func TestImportBesideWriter(t *testing.T) {
	if testing.Short() {
		t.Skip("imports 150,000 books")
	}
	if raceDetector {
		// A batch alone takes over a second under the race detector; the
		// import and the writer use separate connections, so there is
		// nothing in Go for it to check.
		t.Skip("measures wait times, which the race detector multiplies")
	}
	ctx := context.Background()
	c := newTestCatalog(t)
	server := openSecondDB(t, c.db)
	books := importBesideBooks(t)

	done := make(chan struct{})
	var (
		writes, failures int
		worst            time.Duration
		firstErr         error
	)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-done:
				return
			case <-time.After(10 * time.Millisecond):
			}
			start := time.Now()
			err := server.InTx(ctx, func(tx *sql.Tx) error {
				_, err := tx.ExecContext(ctx, `INSERT INTO sessions (token, data, expiry) VALUES (?, x'00', ?)
					ON CONFLICT (token) DO UPDATE SET data = excluded.data, expiry = excluded.expiry`, fmt.Sprintf("s%d", i%50), i)
				return err
			})
			worst = max(worst, time.Since(start))
			writes++
			if err != nil {
				failures++
				if firstErr == nil {
					firstErr = err
				}
			}
		}
	}()
	start := time.Now()
	added, err := c.ImportSynthetic(ctx, books, nil)
	took := time.Since(start)
	close(done)
	wg.Wait()
	if err != nil || added != books {
		t.Fatalf("import: added %d, %v", added, err)
	}
	t.Logf("imported %d books in %v; %d writes beside it, worst wait %v, %d failed", books, took.Round(time.Millisecond), writes, worst.Round(time.Millisecond), failures)
	if failures > 0 {
		t.Errorf("%d of %d writes failed beside the import, the first with %v", failures, writes, firstErr)
	}
	if worst > time.Second {
		t.Errorf("a write waited %v beside the import, want at most 1s", worst)
	}
	if writes < int(took/(100*time.Millisecond)) {
		t.Errorf("only %d writes in %v", writes, took)
	}
}

// catalogView is what a reader sees of a catalog.
type catalogView struct {
	count       int64
	empty       bool
	popular     string // ids of the first page of the empty query
	searchTotal int64
	nextFound   bool // the id after the last book exists
}

func viewCatalog(t testing.TB, c *Catalog, nextID int64) catalogView {
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
		c.SetResultCache(0)
		r, err := c.search(ctx, &Results{Query: q, Page: 1})
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
	if err != nil && !errors.Is(err, ErrNotFound) {
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
	c := newTestCatalog(t)
	importString(t, c, importManyRows(500))
	reader, err := NewCatalog(ctx, openSecondDB(t, c.db)) // searches on SQLite's index
	if err != nil {
		t.Fatal(err)
	}
	before := viewCatalog(t, reader, 501)

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
			seen[viewCatalog(t, reader, 501)]++
		}
	}
	after := viewCatalog(t, reader, 501)
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
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	c, err := NewCatalog(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	importString(t, c, importManyRows(500))
	before := viewCatalog(t, c, 501)

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
	if got := viewCatalog(t, c, 501); got != before {
		t.Fatalf("after the kill: %+v, before it %+v", got, before)
	}
	fresh, err := NewCatalog(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	if got := viewCatalog(t, fresh, 501); got != before {
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
	rep := importString(t, c, importManyRows(500))
	if rep.Added != 0 || rep.Duplicates != 500 {
		t.Errorf("re-import = %+v, want all 500 duplicates", rep)
	}
}

// runKilledImportChild imports many synthetic books into the database at
// path, printing progress, until its parent kills it.
func runKilledImportChild(path string) {
	ctx := context.Background()
	db, err := Open(ctx, path)
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	c, err := NewCatalog(ctx, db)
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	_, err = c.ImportSynthetic(ctx, 2_000_000, func(done int) { fmt.Printf("progress %d\n", done) })
	fmt.Println("finished", err)
	os.Exit(0)
}

// Two imports at once, from two connections, take turns (lockImports):
// interleaved, the second would clear what the first had staged.
func TestImportsTakeTurns(t *testing.T) {
	ctx := context.Background()
	first := newTestCatalog(t)
	second, err := NewCatalog(ctx, openSecondDB(t, first.db))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, c := range []*Catalog{first, second} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = c.ImportSynthetic(ctx, 10_000, nil)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	var books, keys int64
	var lastKey string
	err = first.db.Read.QueryRow(`SELECT count(*), count(DISTINCT dedupe_key), max(dedupe_key) FROM books`).Scan(&books, &keys, &lastKey)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := first.Count(ctx); n != 20_000 || books != 20_000 || keys != 20_000 || lastKey != "synthetic:0000020000" {
		t.Fatalf("%d books seen, %d stored, %d keys up to %s; want 20,000 and synthetic:0000020000", n, books, keys, lastKey)
	}
}
