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
// once, not once for every hundred books.
func TestExportOfALargeLibrary(t *testing.T) {
	if testing.Short() {
		t.Skip("seeds thousands of books")
	}
	storetest.Backends(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newImportFixture(t, db)
		const n = 5000 // paged by a hundred, this export took 3.5 s
		seedShelvedBooks(t, db, ann, n)
		var out lineCounter
		start := time.Now()
		if err := Export(ctx, f.shelves, ann, &out); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("exporting %d books took %v", n, d)
		}
		if out.lines != n+1 {
			t.Errorf("%d lines, want the header and %d books", out.lines, n)
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
