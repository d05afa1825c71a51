package catalog

import (
	"context"
	"database/sql"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"shelf/store"
	"shelf/store/storetest"
)

// addUser inserts an account and returns its id.
func addUser(t *testing.T, db *store.DB, email string) int64 {
	t.Helper()
	if _, err := db.Write.Exec(`INSERT INTO users (email, email_key, password_hash, created_at) VALUES ($1, $1, 'x', '2026-01-01 00:00:00.000')`, email); err != nil {
		t.Fatal(err)
	}
	var id int64
	if err := db.Read.QueryRow(`SELECT id FROM users WHERE email = $1`, email).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

func countRows(t *testing.T, db *store.DB, table string) int {
	t.Helper()
	var n int
	if err := db.Read.QueryRow(`SELECT count(*) FROM ` + table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestCreateAndUpdateBook(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		c := New(db)
		committed := 0
		c.SetChangeHooks(ChangeHooks{Committed: func(context.Context) { committed++ }})
		admin := addUser(t, db, "admin@example.com")
		v0 := catalogVersion(t, c)

		start := time.Now().Add(-time.Second)
		b, fe, err := c.CreateBook(ctx, admin, BookInput{Title: " Dune ", Authors: "Frank Herbert", ISBN: "0-441-17271-7", Year: "1965", Language: "eng"})
		if err != nil || fe != nil {
			t.Fatalf("CreateBook: %v %v", fe, err)
		}
		want := Book{ID: b.ID, Title: "Dune", Authors: "Frank Herbert", ISBN13: "9780441172719", Year: 1965, Language: "eng"}
		if b.ID == 0 || b != want {
			t.Fatalf("created %+v, want %+v", b, want)
		}
		if got, err := c.Get(ctx, b.ID); err != nil || got != want {
			t.Fatalf("Get = %+v, %v", got, err)
		}
		if v := catalogVersion(t, c); v != v0+1 {
			t.Errorf("catalog version %d after a create, want %d", v, v0+1)
		}
		if committed != 1 {
			t.Errorf("Committed ran %d times, want 1", committed)
		}

		// An edit changes the fields given, keeps the ratings, and
		// records only what changed.
		if _, err := db.Write.Exec(`UPDATE books SET ratings_count = 7, average_rating = 4.5 WHERE id = $1`, b.ID); err != nil {
			t.Fatal(err)
		}
		editor := addUser(t, db, "editor@example.com")
		e, fe, err := c.UpdateBook(ctx, editor, b.ID, BookInput{Title: "Dune Messiah", Authors: "Frank Herbert", ISBN: "", Year: "1969", Language: "eng"})
		if err != nil || fe != nil {
			t.Fatalf("UpdateBook: %v %v", fe, err)
		}
		if e.Title != "Dune Messiah" || e.ISBN13 != "" || e.Year != 1969 || e.RatingsCount != 7 || e.AverageRating != 4.5 {
			t.Errorf("edited %+v", e)
		}
		// An edit that changes nothing records nothing.
		if _, fe, err := c.UpdateBook(ctx, editor, b.ID, e.Input()); err != nil || fe != nil {
			t.Fatalf("UpdateBook unchanged: %v %v", fe, err)
		}
		if committed != 2 || catalogVersion(t, c) != v0+2 {
			t.Errorf("after an edit and a no-op: Committed ran %d times, version %d; want 2, %d", committed, catalogVersion(t, c), v0+2)
		}

		h, err := c.History(ctx, b.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(h) != 2 {
			t.Fatalf("history has %d changes, want 2: %+v", len(h), h)
		}
		edit, create := h[0], h[1]
		if create.UserID != admin || create.Email != "admin@example.com" || !create.Created || create.At.Before(start) || create.At.After(time.Now().Add(time.Second)) {
			t.Errorf("create recorded as %+v", create)
		}
		wantCreate := []FieldChange{{"title", "", "Dune"}, {"authors", "", "Frank Herbert"}, {"isbn", "", "9780441172719"}, {"year", "", "1965"}, {"language", "", "eng"}}
		if !reflect.DeepEqual(create.Fields, wantCreate) {
			t.Errorf("create fields %+v, want %+v", create.Fields, wantCreate)
		}
		wantEdit := []FieldChange{{"title", "Dune", "Dune Messiah"}, {"isbn", "9780441172719", ""}, {"year", "1965", "1969"}}
		if edit.UserID != editor || edit.Email != "editor@example.com" || edit.Created || !reflect.DeepEqual(edit.Fields, wantEdit) {
			t.Errorf("edit recorded as %+v, want fields %+v", edit, wantEdit)
		}

		// Deleting the account keeps its changes, under the address it had.
		if _, err := db.Write.Exec(`DELETE FROM users WHERE id = $1`, editor); err != nil {
			t.Fatal(err)
		}
		if h, err := c.History(ctx, b.ID); err != nil || h[0].UserID != 0 || h[0].Email != "editor@example.com" {
			t.Errorf("after the account was deleted: %+v, %v", h, err)
		}

		if _, _, err := c.UpdateBook(ctx, admin, 999999, e.Input()); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("UpdateBook of an unknown book: %v, want ErrNotFound", err)
		}
	})
}

func TestCreateBookRefusesBadInputAndUnknownActors(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		c := New(db)
		admin := addUser(t, db, "admin@example.com")
		_, fe, err := c.CreateBook(ctx, admin, BookInput{Title: "", Authors: "x\x00", ISBN: "9780306406158", Year: "2999"})
		if err != nil || len(fe) != 4 {
			t.Errorf("CreateBook of bad input: %v, %v; want 4 field errors", fe, err)
		}
		if _, _, err := c.CreateBook(ctx, 424242, BookInput{Title: "T", Authors: "A"}); !errors.Is(err, ErrUnknownUser) {
			t.Errorf("CreateBook by an unknown account: %v", err)
		}
		if n := countRows(t, db, "books"); n != 0 {
			t.Errorf("%d books stored", n)
		}
		if n := countRows(t, db, "book_changes"); n != 0 {
			t.Errorf("%d changes recorded", n)
		}
	})
}

func TestDuplicateISBNIsAFieldError(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		c := New(db)
		admin := addUser(t, db, "admin@example.com")
		first, _, err := c.CreateBook(ctx, admin, BookInput{Title: "One", Authors: "A", ISBN: "9780306406157"})
		if err != nil {
			t.Fatal(err)
		}
		// The same ISBN written as an ISBN-10.
		_, fe, err := c.CreateBook(ctx, admin, BookInput{Title: "Two", Authors: "B", ISBN: "0-306-40615-2"})
		if err != nil || !strings.HasPrefix(fe[FieldISBN], DuplicateISBNMessage) {
			t.Fatalf("CreateBook with a taken ISBN: %v, %v", fe, err)
		}
		second, _, err := c.CreateBook(ctx, admin, BookInput{Title: "Two", Authors: "B"})
		if err != nil {
			t.Fatal(err)
		}
		_, fe, err = c.UpdateBook(ctx, admin, second.ID, BookInput{Title: "Two", Authors: "B", ISBN: "9780306406157"})
		if err != nil || !strings.Contains(fe[FieldISBN], DuplicateISBNMessage) {
			t.Fatalf("UpdateBook to a taken ISBN: %v, %v", fe, err)
		}
		// A book keeps its own ISBN through an edit.
		if _, fe, err := c.UpdateBook(ctx, admin, first.ID, BookInput{Title: "One, revised", Authors: "A", ISBN: "978-0-306-40615-7"}); err != nil || fe != nil {
			t.Fatalf("UpdateBook keeping its ISBN: %v, %v", fe, err)
		}
	})
}

func TestDeliberateDuplicates(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		c := New(db)
		admin := addUser(t, db, "admin@example.com")
		if _, err := c.Import(ctx, strings.NewReader("title,authors\nLes Misérables,Victor Hugo\n"), ImportOptions{}); err != nil {
			t.Fatal(err)
		}
		imported, err := c.Get(ctx, 1)
		if err != nil {
			t.Fatal(err)
		}
		withISBN, _, err := c.CreateBook(ctx, admin, BookInput{Title: "The Hobbit", Authors: "J. R. R. Tolkien", ISBN: "9780261103344"})
		if err != nil {
			t.Fatal(err)
		}

		for _, c2 := range []struct {
			title, authors string
			want           []Book
		}{
			{"les miserables", "VICTOR  HUGO", []Book{imported}},
			{"Les Misérables", "Victor Hugo", []Book{imported}},
			{"the hobbit", "j. r. r. tolkien", []Book{withISBN}},
			{"The Hobbit", "Someone Else", nil},
			{"", "Victor Hugo", nil},
			{"Les Misérables\xff", "Victor Hugo", nil},
			{"Les Misérables\x00", "Victor Hugo", nil}, // PostgreSQL's text cannot hold NUL
			{"Les Misérables", "Victor\x00Hugo", nil},
		} {
			got, err := c.Duplicates(ctx, c2.title, c2.authors, 0)
			if err != nil || !reflect.DeepEqual(got, c2.want) {
				t.Errorf("Duplicates(%q, %q) = %+v, %v; want %+v", c2.title, c2.authors, got, err, c2.want)
			}
		}
		if got, _ := c.Duplicates(ctx, "Les Misérables", "Victor Hugo", imported.ID); got != nil {
			t.Errorf("Duplicates except the book itself = %+v", got)
		}

		// Saved anyway: both books exist, and re-importing the row still
		// adds nothing.
		dup, fe, err := c.CreateBook(ctx, admin, BookInput{Title: "Les Miserables", Authors: "Victor Hugo", Year: "1862"})
		if err != nil || fe != nil {
			t.Fatalf("CreateBook of a duplicate: %v, %v", fe, err)
		}
		got, _ := c.Duplicates(ctx, "Les Misérables", "Victor Hugo", imported.ID)
		if len(got) != 1 || got[0].ID != dup.ID {
			t.Errorf("Duplicates of the first = %+v, want the deliberate duplicate", got)
		}
		rep, err := c.Import(ctx, strings.NewReader("title,authors\nLes Misérables,Victor Hugo\n"), ImportOptions{})
		if err != nil || rep.Added != 0 || rep.Duplicates != 1 {
			t.Errorf("re-import: %+v, %v", rep, err)
		}
		// Editing the duplicate into something else frees nothing it does
		// not hold, and another deliberate duplicate is kept too.
		if _, fe, err := c.CreateBook(ctx, admin, BookInput{Title: "LES MISERABLES", Authors: "victor hugo"}); err != nil || fe != nil {
			t.Fatalf("a third copy: %v, %v", fe, err)
		}
		if _, fe, err := c.UpdateBook(ctx, admin, dup.ID, BookInput{Title: "Notre-Dame de Paris", Authors: "Victor Hugo"}); err != nil || fe != nil {
			t.Fatalf("editing the duplicate: %v, %v", fe, err)
		}
		if n := countRows(t, db, "books"); n != 4 {
			t.Errorf("%d books, want 4", n)
		}
	})
}

func TestCreateBookWaitsForNoImport(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		c := New(db)
		admin := addUser(t, db, "admin@example.com")
		if db.Backend == store.Postgres {
			// An import holds its lock for its whole transaction.
			conn, err := db.Write.Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, int64(importLock)); err != nil {
				t.Fatal(err)
			}
			if _, _, err := c.CreateBook(ctx, admin, BookInput{Title: "T", Authors: "A"}); !errors.Is(err, ErrImportRunning) {
				t.Errorf("CreateBook during an import: %v, want ErrImportRunning", err)
			}
			if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_unlock($1)`, int64(importLock)); err != nil {
				t.Fatal(err)
			}
		} else {
			// A running import holds the lock and has staged a book.
			if _, err := db.Write.Exec(`INSERT INTO books (id, title, authors, dedupe_key) VALUES (1, 'Visible', 'A', 'k1')`); err != nil {
				t.Fatal(err)
			}
			if _, err := db.Write.Exec(`UPDATE catalog_state SET staged_from = 2`); err != nil {
				t.Fatal(err)
			}
			if _, err := db.Write.Exec(`INSERT INTO books (id, title, authors, dedupe_key) VALUES (2, 'Staged', 'A', 'k2')`); err != nil {
				t.Fatal(err)
			}
			unlock, err := lockImports(ctx, db.Path)
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := c.CreateBook(ctx, admin, BookInput{Title: "T", Authors: "A"}); !errors.Is(err, ErrImportRunning) {
				t.Errorf("CreateBook during an import: %v, want ErrImportRunning", err)
			}
			// The import was killed: its lock is gone, its staged book
			// is cleared, and the new book takes the id.
			unlock()
		}
		b, fe, err := c.CreateBook(ctx, admin, BookInput{Title: "T", Authors: "A"})
		if err != nil || fe != nil {
			t.Fatalf("CreateBook after the import: %v, %v", fe, err)
		}
		if got, err := c.Get(ctx, b.ID); err != nil || got.Title != "T" {
			t.Errorf("the new book is not visible: %+v, %v", got, err)
		}
		if db.Backend == store.SQLite && (b.ID != 2 || countRows(t, db, "books") != 2) {
			t.Errorf("new book id %d with %d books, want id 2 of 2", b.ID, countRows(t, db, "books"))
		}
	})
}

// A killed import that staged more books than a request may take to clear
// (clearInline) has the rest cleared in the background: the request is
// told to come back, and a later one adds its book at the first staged id.
// Before, every request spent its whole deadline clearing and failed.
func TestCreateBookAfterALargeKilledImport(t *testing.T) {
	db := storetest.Open(t)
	ctx := context.Background()
	c := New(db)
	admin := addUser(t, db, "admin@example.com")
	if _, err := db.Write.Exec(`INSERT INTO books (id, title, authors, dedupe_key) VALUES (1, 'Visible', 'A', 'k1')`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Write.Exec(`UPDATE catalog_state SET staged_from = 2`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Write.Exec(`WITH RECURSIVE n(i) AS (SELECT 2 UNION ALL SELECT i + 1 FROM n WHERE i < 3001)
		INSERT INTO books (id, title, authors, dedupe_key) SELECT i, 'Staged ' || i, 'A', 'k' || i FROM n`); err != nil {
		t.Fatal(err)
	}
	defer func(d time.Duration) { clearInline = d }(clearInline)
	clearInline = time.Nanosecond // nothing clears within a request

	_, _, err := c.CreateBook(ctx, admin, BookInput{Title: "T", Authors: "A"})
	if !errors.Is(err, ErrImportClearing) || !errors.Is(err, ErrImportRunning) {
		t.Fatalf("CreateBook beside a large killed import: %v, want ErrImportClearing", err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		var staged sql.NullInt64
		if err := db.Read.QueryRow(`SELECT staged_from FROM catalog_state`).Scan(&staged); err != nil {
			t.Fatal(err)
		}
		if !staged.Valid {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the staged books were not cleared in the background")
		}
		time.Sleep(50 * time.Millisecond)
	}
	var b Book
	for {
		b, _, err = c.CreateBook(ctx, admin, BookInput{Title: "T", Authors: "A"})
		if !errors.Is(err, ErrImportRunning) || time.Now().After(deadline) { // the lock is let go just after
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("CreateBook once cleared: %v", err)
	}
	if b.ID != 2 || countRows(t, db, "books") != 2 {
		t.Errorf("new book id %d with %d books, want id 2 of 2", b.ID, countRows(t, db, "books"))
	}
}
