package handlers

import (
	"context"
	"net/http"
	"testing"
	"time"

	"shelf/store/apitokens"
)

// A PATCH changes only the fields it sends, whatever another edit of the
// book commits meanwhile: it must not write back the other fields as it
// read them before that edit (a lost update).
func TestAPIBookPatchKeepsAConcurrentEdit(t *testing.T) {
	env := newAPITestEnv(t)
	env.register("admin@example.com")
	if _, err := env.db.Write.Exec(`UPDATE users SET is_admin = true WHERE email = 'admin@example.com'`); err != nil {
		t.Fatal(err)
	}
	_, secret := env.newPAT("admin@example.com", 0, apitokens.BooksWrite)
	// Used once, so that the PATCH does not wait to record its use.
	if r := callAPI(t, env, "Bearer "+secret, apiRequest{method: http.MethodGet, path: "/api/v1/books/3"}); r.status != http.StatusOK {
		t.Fatalf("GET: %d %s", r.status, r.body)
	}

	// Another edit of book 3 is under way: its title is written, not yet
	// committed, when the PATCH of its authors arrives.
	ctx := context.Background()
	tx, err := env.db.Write.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE books SET title = 'The Hobbit, or There and Back Again' WHERE id = 3`); err != nil {
		t.Fatal(err)
	}
	done := make(chan apiAnswer)
	go func() {
		done <- callAPI(t, env, "Bearer "+secret, apiRequest{method: http.MethodPatch, path: "/api/v1/books/3", body: `{"authors":"John Ronald Reuel Tolkien"}`})
	}()
	time.Sleep(300 * time.Millisecond) // the PATCH reads the book, then waits to write
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.status != http.StatusOK {
		t.Fatalf("PATCH: %d %s", r.status, r.body)
	}
	var w apiBookWritten
	r.decode(t, &w)
	if w.Book.Title != "The Hobbit, or There and Back Again" || w.Book.Authors != "John Ronald Reuel Tolkien" {
		t.Errorf("PATCH answered %+v: the concurrent title was lost", w.Book)
	}
	var title, authors string
	if err := env.db.Read.QueryRow(`SELECT title, authors FROM books WHERE id = 3`).Scan(&title, &authors); err != nil {
		t.Fatal(err)
	}
	if title != "The Hobbit, or There and Back Again" || authors != "John Ronald Reuel Tolkien" {
		t.Errorf("book 3 is %q by %q: the concurrent title was lost", title, authors)
	}
}
