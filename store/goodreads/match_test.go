package goodreads

import (
	"context"
	"os"
	"strings"
	"sync"
	"testing"

	"shelf/store"
	"shelf/store/catalog"
	"shelf/store/search"
)

var bundled struct {
	once sync.Once
	db   *store.DB
	s    *search.Searcher
	err  error
}

// bundledLookup is a catalog of the bundled books, shared by the package's
// tests (importing it takes a second).
func bundledLookup(t *testing.T) CatalogLookup {
	t.Helper()
	bundled.once.Do(func() {
		ctx := context.Background()
		db, err := store.Open(ctx, sharedDir+"/shelf.db")
		if err != nil {
			bundled.err = err
			return
		}
		if _, err := catalog.New(db).ImportBundled(ctx); err != nil {
			bundled.err = err
			return
		}
		bundled.db = db
		bundled.s, bundled.err = search.New(ctx, db)
	})
	if bundled.err != nil {
		t.Fatal(bundled.err)
	}
	return CatalogLookup{DB: bundled.db, Search: bundled.s}
}

var sharedDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "goodreads-test")
	if err != nil {
		panic(err)
	}
	sharedDir = dir
	code := m.Run()
	if bundled.db != nil {
		bundled.db.Close()
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

func TestMatchSample(t *testing.T) {
	lib := parseFile(t, "goodreads-library-export-sample.csv")
	ms, err := MatchRows(context.Background(), bundledLookup(t), lib.Rows, nil)
	if err != nil {
		t.Fatal(err)
	}
	notIn := map[string]bool{"Notes From a Small Kitchen, Vol. 2": true, "The Lighthouse Keeper's Ledger": true}
	for _, m := range ms {
		switch {
		case notIn[m.Title] && m.Matched():
			t.Errorf("line %d %q matched %+v", m.Line, m.Title, m.Book)
		case notIn[m.Title]:
			if !strings.Contains(m.Reason, "not in the catalog") {
				t.Errorf("line %d %q: reason %q", m.Line, m.Title, m.Reason)
			}
		case !m.Matched():
			t.Errorf("line %d %q by %q: not matched: %s", m.Line, m.Title, m.Author, m.Reason)
		case m.ISBN13 != "" && m.By != ByISBN && m.Book.ISBN13 == m.ISBN13:
			t.Errorf("line %d: matched by %s though the ISBN is the book's", m.Line, m.By)
		case search.Fold(titleForms(m.Title).main) != search.Fold(titleForms(m.Book.Title).main):
			t.Errorf("line %d %q matched %q", m.Line, m.Title, m.Book.Title)
		}
		t.Logf("line %d %-50.50q %-16s %q %s", m.Line, m.Title, m.By, m.Book.Title, m.Reason)
	}
}

func TestMatchMessy(t *testing.T) {
	lib := parseFile(t, "messy.csv")
	ms, err := MatchRows(context.Background(), bundledLookup(t), lib.Rows, nil)
	if err != nil {
		t.Fatal(err)
	}
	type want struct {
		title, by, reason string
	}
	wants := map[int]want{
		2:  {"Opal (Lux, #3)", ByTitleAuthor, ""},
		3:  {"The Green Mile", ByISBN, ""},
		4:  {"Harry Potter and the Sorcerer's Stone (Harry Potter, #1)", ByISBN, ""},
		9:  {"", "", "ISBN 9780000000002 is not in the catalog, and no book with this title and author"},
		12: {"The Republic", ByISBN, ""},
		14: {"", "", "not in the catalog: no ISBN, and no book with this title and author"},
		16: {"", "", "the same book as line 3"},
	}
	if len(ms) != len(wants) {
		t.Fatalf("%d matches, want %d", len(ms), len(wants))
	}
	for _, m := range ms {
		w, ok := wants[m.Line]
		if !ok || m.Book.Title != w.title || m.By != w.by || m.Reason != w.reason {
			t.Errorf("line %d: got %q by %q (%q), want %+v", m.Line, m.Book.Title, m.By, m.Reason, w)
		}
	}
}

type fakeCatalog []catalog.Book

func (f fakeCatalog) ByISBN(_ context.Context, isbns []string) (map[string]catalog.Book, error) {
	out := map[string]catalog.Book{}
	for _, b := range f {
		for _, i := range isbns {
			if b.ISBN13 == i {
				out[i] = b
			}
		}
	}
	return out, nil
}

func (f fakeCatalog) Candidates(context.Context, string) ([]catalog.Book, error) { return f, nil }

func TestMatchRules(t *testing.T) {
	cat := fakeCatalog{
		{ID: 1, Title: "Dune", Authors: "Frank Herbert", ISBN13: "9780441172719"},
		{ID: 2, Title: "Dune (Dune Chronicles, #1)", Authors: "Frank Herbert"},
		{ID: 3, Title: "Emma", Authors: "Jane Austen"},
		{ID: 4, Title: "Emma", Authors: "Jane Austen, Fiona Stafford"},
		{ID: 5, Title: "The Hobbit: or There and Back Again", Authors: "J.R.R. Tolkien"},
		{ID: 6, Title: "Les Misérables", Authors: "Victor Hugo, Lee Fahnestock"},
	}
	for _, tc := range []struct {
		name   string
		row    Row
		id     int64
		reason string
	}{
		{"ISBN first", Row{Title: "Something Else", Author: "Nobody", ISBN13: "9780441172719"}, 1, ""},
		{"exact title beats series", Row{Title: "Dune", Author: "Frank  Herbert"}, 1, ""},
		{"series on the row", Row{Title: "Dune (Dune Chronicles, #1)", Author: "frank herbert"}, 2, ""},
		{"subtitle tolerated, initials spaced", Row{Title: "The Hobbit", Author: "J. R. R. Tolkien"}, 5, ""},
		{"accents folded, second author", Row{Title: "Les Miserables", Author: "Lee Fahnestock"}, 6, ""},
		{"ambiguous", Row{Title: "Emma", Author: "Jane Austen"}, 0, "ambiguous: 2 catalog books have this title and author (#3, #4)"},
		{"wrong author", Row{Title: "Dune", Author: "Brian Herbert"}, 0, "not in the catalog: no ISBN, and no book with this title and author"},
		{"no author", Row{Title: "Dune", Unknown: "12345"}, 0, `ISBN "12345" is not a valid ISBN, and the row has no author to match the title with`},
		{"ISBN only", Row{ISBN13: "9780000000002"}, 0, "ISBN 9780000000002 is not in the catalog, and the row has no title"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ms, err := MatchRows(context.Background(), cat, []Row{tc.row}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if ms[0].Book.ID != tc.id || ms[0].Reason != tc.reason {
				t.Errorf("got #%d %q, want #%d %q", ms[0].Book.ID, ms[0].Reason, tc.id, tc.reason)
			}
		})
	}
}
