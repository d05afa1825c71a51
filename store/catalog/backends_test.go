package catalog

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"shelf/store"
	"shelf/store/storetest"
)

// catalogVersion reads catalog_state.version.
func catalogVersion(t testing.TB, c *Catalog) int64 {
	t.Helper()
	var v int64
	if err := c.db.Read.QueryRow(SQLVersion).Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

// sameOnBothBackends runs test on each backend and requires it to return
// the same value on both.
func sameOnBothBackends[T any](t *testing.T, test func(t *testing.T, c *Catalog) T) {
	t.Helper()
	var mu sync.Mutex
	got := map[store.Backend]T{}
	storetest.Backends(t, func(t *testing.T, db *store.DB) {
		v := test(t, New(db))
		mu.Lock()
		got[db.Backend] = v
		mu.Unlock()
	})
	lite, ok1 := got[store.SQLite]
	pg, ok2 := got[store.Postgres]
	if ok1 && ok2 && !reflect.DeepEqual(lite, pg) {
		t.Errorf("the backends differ:\nsqlite   %+v\npostgres %+v", lite, pg)
	}
}

func TestImportOnBothBackends(t *testing.T) {
	const data = "title,authors,original_publication_year,isbn13,language_code,average_rating,ratings_count\n" +
		"Dune,Frank Herbert,1965,978-0-441-17271-9,eng,4.25,800000\n" + // 2
		"Bad,Someone,last year,,eng,4,1\n" + // 3
		"Les Misérables,Victor Hugo,1862,,fre,4.2,600000\n" + // 4
		"les  miserables,VICTOR HUGO,,,,,\n" + // 5: a duplicate of 4
		",Nobody,,,,,\n" + // 6
		"Dune (Dune #1),Frank Herbert,,9780441172719,,,\n" + // 7: a duplicate of 2
		"Emma,Jane Austen,1815,,eng,,\n" // 8
	type outcome struct {
		First, Again         ImportReport
		Books                []Book
		Count                int64
		Got                  Book
		Missing              error
		Versions             [3]int64
		EmptyBefore, EmptyAt bool
	}
	sameOnBothBackends(t, func(t *testing.T, c *Catalog) outcome {
		ctx := context.Background()
		var o outcome
		o.EmptyBefore, _ = c.IsEmpty(ctx)
		o.Versions[0] = catalogVersion(t, c)
		o.First = importString(t, c, data)
		o.Versions[1] = catalogVersion(t, c)
		o.Again = importString(t, c, data)
		o.Versions[2] = catalogVersion(t, c) // nothing added: unchanged
		o.Books = importedBooks(t, c)
		o.Count, _ = c.Count(ctx)
		o.EmptyAt, _ = c.IsEmpty(ctx)
		o.Got, _ = c.Get(ctx, 2)
		_, o.Missing = c.Get(ctx, 99)
		return o
	})
	// What both gave, checked once on SQLite.
	c := newTestCatalog(t)
	rep := importString(t, c, data)
	want := ImportReport{Read: 7, Added: 3, Duplicates: 2, Rejected: 2, Errors: []RowError{
		{3, `year "last year" is not a whole number`}, {6, "empty title"}}}
	if !reflect.DeepEqual(rep, want) {
		t.Errorf("report = %+v, want %+v", rep, want)
	}
	if b, _ := c.Get(context.Background(), 2); b.Title != "Les Misérables" || b.Language != "fre" || b.Year != 1862 {
		t.Errorf("book 2 = %+v", b)
	}
}

func TestImportBundledOnBothBackends(t *testing.T) {
	sameOnBothBackends(t, func(t *testing.T, c *Catalog) []Book {
		rep, err := c.ImportBundled(context.Background())
		if err != nil || rep.Added < 9900 {
			t.Fatalf("bundled import: %+v, %v", rep, err)
		}
		return importedBooks(t, c)
	})
}

func TestSyntheticOnBothBackends(t *testing.T) {
	sameOnBothBackends(t, func(t *testing.T, c *Catalog) []Book {
		ctx := context.Background()
		for _, n := range []int{1500, 700} {
			added, err := c.ImportSynthetic(ctx, n, nil)
			if err != nil || added != n {
				t.Fatalf("synthetic %d: added %d, %v", n, added, err)
			}
		}
		return importedBooks(t, c)
	})
}

func TestImportRollsBackOnBothBackends(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		c := New(db)
		importString(t, c, "title,author\nKeeper,Someone\n")
		before, version := importedBooks(t, c), catalogVersion(t, c)
		check := func(t *testing.T, err error, want error) {
			t.Helper()
			if !errors.Is(err, want) {
				t.Fatalf("err = %v, want %v", err, want)
			}
			if got := importedBooks(t, c); !reflect.DeepEqual(got, before) {
				t.Fatalf("books changed after a failed import: %d books", len(got))
			}
			if v := catalogVersion(t, c); v != version {
				t.Errorf("version %d after a failed import, want %d", v, version)
			}
		}
		t.Run("read error mid-file", func(t *testing.T) {
			boom := errors.New("disk on fire")
			_, err := c.Import(ctx, &importFailingReader{r: strings.NewReader(importManyRows(3000)), err: boom}, ImportOptions{})
			check(t, err, boom)
		})
		t.Run("cancelled mid-file", func(t *testing.T) {
			ctx, cancel := context.WithCancel(ctx)
			defer cancel()
			_, err := c.Import(ctx, strings.NewReader(importManyRows(3000)), ImportOptions{Progress: func(done int) {
				if done >= 2000 {
					cancel()
				}
			}})
			check(t, err, context.Canceled)
		})
		t.Run("ids would pass MaxBookID", func(t *testing.T) {
			if _, err := c.db.Write.Exec(`INSERT INTO books (id, title, authors, dedupe_key) VALUES ($1, 'Last', '', 'last')`, MaxBookID-1); err != nil {
				t.Fatal(err)
			}
			defer c.db.Write.Exec(`DELETE FROM books WHERE dedupe_key = 'last'`)
			before = importedBooks(t, c)
			_, err := c.Import(ctx, strings.NewReader(importManyRows(5)), ImportOptions{})
			check(t, err, ErrCatalogFull)
			_, err = c.ImportSynthetic(ctx, 5, nil)
			check(t, err, ErrCatalogFull)
		})
		// The failed imports left the database usable.
		if rep := importString(t, c, "title,author\nAfter,Someone\n"); rep.Added != 1 {
			t.Errorf("import after the failures: %+v", rep)
		}
	})
}

// On PostgreSQL two imports at once take turns: every book gets its own
// id, in one run per import.
func TestPostgresImportsTakeTurns(t *testing.T) {
	db := storetest.OpenPostgres(t)
	c := New(db)
	ctx := context.Background()
	errs := make(chan error, 2)
	for _, prefix := range []string{"A", "B"} {
		go func() {
			var b strings.Builder
			b.WriteString("title,author\n")
			for i := range 3000 {
				b.WriteString(prefix + " book " + synthItoa(i) + ",Someone\n")
			}
			_, err := c.Import(ctx, strings.NewReader(b.String()), ImportOptions{})
			errs <- err
		}()
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	books := importedBooks(t, c)
	if len(books) != 6000 || books[0].ID != 1 || books[5999].ID != 6000 {
		t.Fatalf("%d books, ids %d…%d; want 6000, 1…6000", len(books), books[0].ID, books[len(books)-1].ID)
	}
	for i := 1; i < len(books); i++ {
		if i != 3000 && books[i].Title[0] != books[i-1].Title[0] {
			t.Fatalf("imports interleaved at id %d", books[i].ID)
		}
	}
	if v := catalogVersion(t, c); v != 2 {
		t.Errorf("version %d after two imports, want 2", v)
	}
}

// An import notifies ChangeChannel when it commits, and only then.
func TestPostgresImportNotifies(t *testing.T) {
	url := storetest.PostgresURL(t)
	ctx := context.Background()
	db, err := store.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `LISTEN `+ChangeChannel); err != nil {
		t.Fatal(err)
	}
	notified := func() bool {
		ctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		defer cancel()
		_, err := conn.WaitForNotification(ctx)
		return err == nil
	}
	c := New(db)
	if _, err := c.Import(ctx, &importFailingReader{r: strings.NewReader(importManyRows(10)), err: errors.New("boom")}, ImportOptions{}); err == nil {
		t.Fatal("failing import succeeded")
	}
	if notified() {
		t.Error("a failed import notified")
	}
	importString(t, c, importManyRows(10))
	if !notified() {
		t.Error("no notification after an import")
	}
	importString(t, c, importManyRows(10)) // all duplicates: no change
	if notified() {
		t.Error("an import that added nothing notified")
	}
}

// GetMany reads the visible books among the ids asked for, in batches
// when there are many, and leaves out the rest.
func TestGetManyOnBothBackends(t *testing.T) {
	sameOnBothBackends(t, func(t *testing.T, c *Catalog) map[int64]Book {
		ctx := context.Background()
		importString(t, c, "title,author\nDune,Frank Herbert\nEmma,Jane Austen\nStaged,Someone\n")
		if _, err := c.db.Write.Exec(`UPDATE catalog_state SET staged_from = 3`); err != nil {
			t.Fatal(err)
		}
		if got, err := c.GetMany(ctx, nil); err != nil || len(got) != 0 {
			t.Errorf("no ids: %v, %v", got, err)
		}
		ids := []int64{3, 2, 2, 99}
		for id := int64(1000); len(ids) < 1200; id++ {
			ids = append(ids, id)
		}
		ids = append(ids, 1)
		got, err := c.GetMany(ctx, ids)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || got[1].Title != "Dune" || got[2].Authors != "Jane Austen" {
			t.Errorf("GetMany = %+v, want books 1 and 2 only", got)
		}
		return got
	})
}
