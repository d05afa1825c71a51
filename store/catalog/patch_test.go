package catalog

import (
	"context"
	"testing"
	"time"

	"shelf/store"
	"shelf/store/storetest"
)

// PatchBook writes the fields it sets over the book as it is when it
// writes: an edit committed while it waits is kept, not written over with
// the values that edit replaced. What it makes is validated whole.
func TestPatchBookKeepsAConcurrentEdit(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		c := New(db)
		admin := addUser(t, db, "admin@example.com")
		b, fe, err := c.CreateBook(ctx, admin, BookInput{Title: "Dune", Authors: "Frank Herbert", Year: "1965"})
		if err != nil || fe != nil {
			t.Fatalf("CreateBook: %v %v", fe, err)
		}
		authors := "F. Herbert"
		tx, err := db.Write.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE books SET title = 'Dune (50th anniversary)' WHERE id = $1`, b.ID); err != nil {
			t.Fatal(err)
		}
		type result struct {
			b   Book
			fe  FieldErrors
			err error
		}
		done := make(chan result)
		go func() {
			b, fe, err := c.PatchBook(ctx, admin, b.ID, BookPatch{Authors: &authors})
			done <- result{b, fe, err}
		}()
		time.Sleep(200 * time.Millisecond)
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		r := <-done
		if r.err != nil || r.fe != nil {
			t.Fatalf("PatchBook: %v %v", r.fe, r.err)
		}
		want := Book{ID: b.ID, Title: "Dune (50th anniversary)", Authors: "F. Herbert", Year: 1965}
		if got, err := c.Get(ctx, b.ID); err != nil || r.b != want || got != want {
			t.Fatalf("PatchBook = %+v, stored %+v (%v), want %+v", r.b, got, err, want)
		}

		// The book it would make is checked whole; nothing is written.
		empty, year := "", "1965x"
		if _, fe, err := c.PatchBook(ctx, admin, b.ID, BookPatch{Title: &empty, Year: &year}); err != nil || fe[FieldTitle] == "" || fe[FieldYear] == "" {
			t.Fatalf("an invalid patch: %v %v", fe, err)
		}
		if got, _ := c.Get(ctx, b.ID); got != want {
			t.Fatalf("an invalid patch changed the book: %+v", got)
		}
	})
}
