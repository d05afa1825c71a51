package goodreads

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"testing"
	"time"

	"shelf/store"
	"shelf/store/shelves"
	"shelf/store/storetest"
)

// A reader may shelve the whole catalog: exporting reads their shelves
// once, not once for every hundred books. Paged, the export grew with the
// square of the library (5,000 books took 3.5 s, 10,000 took 14 s): ten
// times the books took a hundred times as long. Read once, it takes about
// ten times as long. The test compares the two sizes on the same machine,
// best of three each, so a slow or busy machine (or -race) does not matter.
func TestExportOfALargeLibrary(t *testing.T) {
	if testing.Short() {
		t.Skip("seeds thousands of books")
	}
	storetest.Backends(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newImportFixture(t, db)
		const small, large = 500, 5000
		seedShelvedBooks(t, db, ann, large)
		export := func(want int) time.Duration {
			t.Helper()
			best := time.Duration(1<<63 - 1)
			for range 3 {
				var out lineCounter
				start := time.Now()
				if err := Export(ctx, f.shelves, ann, &out); err != nil {
					t.Fatal(err)
				}
				best = min(best, time.Since(start))
				if out.lines != want+1 {
					t.Fatalf("%d lines, want the header and %d books", out.lines, want)
				}
			}
			return best
		}
		largeTook := export(large)
		if _, err := db.Write.Exec(`DELETE FROM shelf_entries WHERE user_id = $1 AND book_id >= $2`, ann, 1000+small); err != nil {
			t.Fatal(err)
		}
		smallTook := export(small)
		if largeTook > 40*smallTook {
			t.Errorf("exporting %d books took %v, %d books %v: %.0f times as long for ten times the books",
				large, largeTook, small, smallTook, float64(largeTook)/float64(smallTook))
		}
	})
}

// lineCounter counts the lines written to it.
type lineCounter struct{ lines int }

func (w *lineCounter) Write(p []byte) (int, error) {
	w.lines += bytes.Count(p, []byte{'\n'})
	return len(p), nil
}

// seedShelvedBooks adds n books, all on the reader's Read shelf.
func seedShelvedBooks(t *testing.T, db *store.DB, user int64, n int) {
	t.Helper()
	err := db.InTx(context.Background(), func(tx *sql.Tx) error {
		for i := 0; i < n; i++ {
			id := int64(1000 + i)
			if _, err := tx.Exec(`INSERT INTO books (id, title, authors, dedupe_key) VALUES ($1, $2, $3, $4)`,
				id, fmt.Sprintf("Book number %d", i), fmt.Sprintf("Author %d", i%97), fmt.Sprintf("seed-%d", i)); err != nil {
				return err
			}
			if _, err := tx.Exec(`INSERT INTO shelf_entries (user_id, book_id, shelf, added_at, updated_at) VALUES ($1, $2, $3, $4, $4)`,
				user, id, string(shelves.Read), fmt.Sprintf("2020-01-01 00:00:%02d.%03d", i/1000%60, i%1000)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
