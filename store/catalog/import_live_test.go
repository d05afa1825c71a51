package catalog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"shelf/store"
)

// openSecondDB opens db's file again, with its own connections, as another
// process would (the server beside `shelf import`).
func openSecondDB(t testing.TB, db *store.DB) *store.DB {
	t.Helper()
	other, err := store.Open(context.Background(), db.Path)
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
				_, err := tx.ExecContext(ctx, `INSERT INTO sessions (token, data, expiry) VALUES ($1, x'00', $2)
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
	// The import promises writers a turn at every pause, not a rate: on a
	// loaded machine each turn fits fewer writes, but every one must get in.
	if pauses := int(took / (stageStretch + stagePause)); writes < pauses {
		t.Errorf("only %d writes in %v: fewer than the %d pauses the import made for them", writes, took, pauses)
	}
}

// Two imports at once, from two connections, take turns (lockImports):
// interleaved, the second would clear what the first had staged.
func TestImportsTakeTurns(t *testing.T) {
	ctx := context.Background()
	first := newTestCatalog(t)
	second := New(openSecondDB(t, first.db))
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
	err := first.db.Read.QueryRow(`SELECT count(*), count(DISTINCT dedupe_key), max(dedupe_key) FROM books`).Scan(&books, &keys, &lastKey)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := first.Count(ctx); n != 20_000 || books != 20_000 || keys != 20_000 || lastKey != "synthetic:0000020000" {
		t.Fatalf("%d books seen, %d stored, %d keys up to %s; want 20,000 and synthetic:0000020000", n, books, keys, lastKey)
	}
}
