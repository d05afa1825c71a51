package goodreads

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"shelf/store"
	"shelf/store/search"
	"shelf/store/shelves"
	"shelf/store/storetest"
)

type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

const ann, bob = 1, 2

type importFixture struct {
	db      *store.DB
	clk     *testClock
	jobs    *Jobs
	shelves *shelves.Store
	im      *Importer
}

func newImportFixture(t *testing.T, db *store.DB) *importFixture {
	t.Helper()
	ctx := context.Background()
	for _, b := range []struct {
		id                   int64
		title, authors, isbn string
	}{
		{1, "Dune", "Frank Herbert", "9780441172719"},
		{2, "Opal (Lux, #3)", "Jennifer L. Armentrout", ""},
		{3, "The Hobbit: or There and Back Again", "J.R.R. Tolkien", "9780618260300"},
	} {
		key := b.isbn
		if key == "" {
			key = b.title
		}
		if _, err := db.Write.Exec(`INSERT INTO books (id, title, authors, isbn13, dedupe_key) VALUES ($1, $2, $3, NULLIF($4, ''), $5)`,
			b.id, b.title, b.authors, b.isbn, key); err != nil {
			t.Fatal(err)
		}
	}
	for _, email := range []string{"ann@example.org", "bob@example.org"} {
		if _, err := db.Write.Exec(`INSERT INTO users (email, email_key, password_hash, created_at) VALUES ($1, $1, 'x', '2026-01-01 00:00:00.000')`, email); err != nil {
			t.Fatal(err)
		}
	}
	s, err := search.New(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.RefreshTerms(ctx); err != nil {
		t.Fatal(err)
	}
	f := &importFixture{db: db, clk: &testClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}}
	f.jobs = NewJobs(db, f.clk.now)
	f.shelves = shelves.New(db, f.clk.now)
	f.im = &Importer{Jobs: f.jobs, Catalog: CatalogLookup{DB: db, Search: s}, Shelves: f.shelves,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	return f
}

func (f *importFixture) run(t *testing.T, user int64, file string) Job {
	t.Helper()
	ctx := context.Background()
	j, err := f.jobs.Create(ctx, user, "library.csv", []byte(file))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.im.RunPending(ctx); err != nil {
		t.Fatal(err)
	}
	j, err = f.jobs.Get(ctx, user, j.ID)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

const smallLibrary = "\ufeffBook Id,Title,Author,ISBN13,My Rating,Exclusive Shelf,Date Added,Private Notes\r\n" +
	`1,Dune,Frank Herbert,"=""9780441172719""",5,read,2020/01/02,"Spice!"` + "\r\n" +
	`2,Opal,Jennifer L.  Armentrout,"=""""",0,currently-reading,2021/02/03,` + "\r\n" +
	`3,The Hobbit,J.R.R. Tolkien,"=""""",0,to-read,,` + "\r\n" +
	`4,Missing Book,Nobody,"=""9780000000002""",0,to-read,2021/02/03,` + "\r\n" +
	`5,Custom,Nobody,,0,abandoned,2021/02/03,` + "\r\n"

func TestImportJob(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newImportFixture(t, db)
		j := f.run(t, ann, smallLibrary)
		if j.State != Done || j.Report == nil || j.RowsDone != 4 || j.RowsTotal != 4 {
			t.Fatalf("job %+v", j)
		}
		r := j.Report
		if r.Rows != 5 || r.Matched != 3 || r.NotMatched != 1 || r.LeftOut != 1 || r.Added != 3 || r.Changed != 3 || r.Unchanged != 0 {
			t.Errorf("report %+v", r)
		}
		var lines []int
		for _, it := range r.Items {
			lines = append(lines, it.Line)
		}
		if len(lines) != 5 || lines[4] != 6 || r.Items[4].Status != StatusLeftOut || r.Items[3].Status != StatusNotMatched ||
			r.Items[1].By != ByTitleAuthor || r.Items[1].BookTitle != "Opal (Lux, #3)" {
			t.Errorf("items %+v", r.Items)
		}
		e, ok, err := f.shelves.Get(ctx, ann, 1)
		if err != nil || !ok || e.Shelf != shelves.Read || e.Rating != 5 || e.Note != "Spice!" ||
			!e.AddedAt.Equal(time.Date(2020, 1, 2, 0, 0, 0, 0, time.UTC)) {
			t.Errorf("Dune: %+v %v %v", e, ok, err)
		}
		if e, _, _ := f.shelves.Get(ctx, ann, 3); !e.AddedAt.Equal(f.clk.now()) || e.Shelf != shelves.WantToRead {
			t.Errorf("The Hobbit, no date: %+v", e)
		}

		// Again: nothing changes.
		f.clk.advance(time.Hour)
		again := f.run(t, ann, smallLibrary)
		if again.Report.Changed != 0 || again.Report.Unchanged != 3 || again.Report.Added != 0 {
			t.Errorf("re-import: %+v", again.Report)
		}

		// A rating or note set on Shelf survives a file without one; a
		// new shelf in the file moves the book.
		if _, err := f.shelves.SetRating(ctx, ann, 2, 4); err != nil {
			t.Fatal(err)
		}
		moved := f.run(t, ann, strings.Replace(smallLibrary, "0,currently-reading", "0,read", 1))
		if moved.Report.Changed != 1 || moved.Report.Updated != 1 {
			t.Errorf("moved: %+v", moved.Report)
		}
		if e, _, _ := f.shelves.Get(ctx, ann, 2); e.Shelf != shelves.Read || e.Rating != 4 {
			t.Errorf("Opal after moving: %+v", e)
		}

		// Another reader's job is not theirs to see.
		if _, err := f.jobs.Get(ctx, bob, j.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("bob gets ann's job: %v", err)
		}
		if _, ok, _ := f.jobs.Latest(ctx, bob); ok {
			t.Error("bob has a latest job")
		}

		// Only a few jobs are kept.
		for range keepJobs {
			f.run(t, ann, smallLibrary)
		}
		if _, err := f.jobs.Get(ctx, ann, j.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("oldest job kept: %v", err)
		}
	})
}

func TestImportJobFailures(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newImportFixture(t, db)
		j := f.run(t, ann, "\x89PNG\r\n\x1a\n\x00\x00")
		if j.State != Failed || !strings.Contains(j.Error, "not a Goodreads library export") || j.Report != nil {
			t.Errorf("PNG: %+v", j)
		}

		// One import at a time per reader.
		first, err := f.jobs.Create(ctx, ann, "a.csv", []byte(smallLibrary))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.jobs.Create(ctx, ann, "b.csv", []byte(smallLibrary)); !errors.Is(err, ErrBusy) {
			t.Errorf("second job: %v", err)
		}
		if _, err := f.jobs.Create(ctx, bob, "b.csv", []byte(smallLibrary)); err != nil {
			t.Errorf("bob's job: %v", err)
		}

		// A worker claims ann's job and dies: nobody takes it up until its
		// heartbeat is stale, then it runs to the end.
		claimed, ok, err := f.jobs.Claim(ctx)
		if err != nil || !ok || claimed.ID != first.ID {
			t.Fatalf("claim: %+v %v %v", claimed, ok, err)
		}
		if err := f.im.RunPending(ctx); err != nil { // runs bob's only
			t.Fatal(err)
		}
		if j, _ := f.jobs.Get(ctx, ann, first.ID); j.State != Running {
			t.Fatalf("ann's job taken up while its worker is alive: %+v", j)
		}
		f.clk.advance(StaleAfter + time.Second)
		if err := f.im.RunPending(ctx); err != nil {
			t.Fatal(err)
		}
		j, _ = f.jobs.Get(ctx, ann, first.ID)
		if j.State != Done || j.Attempts != 2 || j.Report.Added != 3 {
			t.Errorf("resumed job: %+v", j)
		}
		// The dead worker, come back, cannot overwrite it.
		if err := f.jobs.Fail(ctx, claimed, "late"); !errors.Is(err, errLost) {
			t.Errorf("late write: %v", err)
		}

		// A job interrupted every time is given up, visibly.
		doomed, err := f.jobs.Create(ctx, ann, "c.csv", []byte(smallLibrary))
		if err != nil {
			t.Fatal(err)
		}
		for range MaxAttempts {
			if _, ok, err := f.jobs.Claim(ctx); err != nil || !ok {
				t.Fatal(ok, err)
			}
			f.clk.advance(StaleAfter + time.Second)
		}
		if _, ok, err := f.jobs.Claim(ctx); err != nil || ok {
			t.Fatalf("claimed a job past its attempts: %v %v", ok, err)
		}
		j, _ = f.jobs.Get(ctx, ann, doomed.ID)
		if j.State != Failed || !strings.Contains(j.Error, "interrupted 3 times") {
			t.Errorf("doomed job: %+v", j)
		}
	})
}
