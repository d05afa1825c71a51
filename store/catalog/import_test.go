package catalog

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

var (
	updateBundled = flag.Bool("update-bundled", false, "rewrite "+bundledPath+" from -bundled-src")
	bundledSrc    = flag.String("bundled-src", "../../shared/data/goodbooks-10k-books.csv", "goodbooks-10k books.csv the bundled catalog is trimmed from")
)

// bundledPath is the bundled catalog, relative to the package directory.
const bundledPath = "bundled/goodbooks-10k.csv.gz"

// trimGoodbooks writes the columns Shelf uses from goodbooks-10k's
// books.csv, with ISBN-13s recovered and years made whole, as CSV.
func trimGoodbooks(src io.Reader, dst io.Writer) (int, error) {
	p, err := newCSVBooks(src)
	if err != nil {
		return 0, err
	}
	w := csv.NewWriter(dst)
	w.Write([]string{"title", "authors", "original_publication_year", "isbn13", "language_code", "average_rating", "ratings_count"})
	n := 0
	for {
		b, line, reason, err := p.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return n, err
		}
		if reason != "" {
			return n, fmt.Errorf("source line %d: %s", line, reason)
		}
		year, rating := "", ""
		if b.year != 0 {
			year = strconv.Itoa(b.year)
		}
		if b.hasRating {
			rating = strconv.FormatFloat(b.rating, 'f', -1, 64)
		}
		w.Write([]string{b.title, b.authors, year, b.isbn13, b.language, rating, strconv.FormatInt(b.count, 10)})
		n++
	}
	w.Flush()
	return n, w.Error()
}

// TestBundledCatalogMatchesSource regenerates the bundled catalog from
// goodbooks-10k and checks it matches the embedded file. To rewrite it:
//
//	go test ./store -run TestBundledCatalogMatchesSource -update-bundled [-bundled-src books.csv]
func TestBundledCatalogMatchesSource(t *testing.T) {
	src, err := os.Open(*bundledSrc)
	if errors.Is(err, os.ErrNotExist) && !*updateBundled {
		t.Skipf("source not available: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	var want bytes.Buffer
	n, err := trimGoodbooks(src, &want)
	if err != nil {
		t.Fatal(err)
	}
	if *updateBundled {
		var gz bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
		zw.Name = filepath.Base(bundledPath[:len(bundledPath)-3])
		zw.Comment = "Trimmed from goodbooks-10k by Zygmunt Zajac (github.com/zygmuntz/goodbooks-10k), CC BY-SA 4.0"
		zw.Write(want.Bytes())
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(bundledPath, gz.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s: %d books, %d bytes", bundledPath, n, gz.Len())
		return
	}
	checkBundledImportMatches(t, want.Bytes())
}

func checkBundledImportMatches(t *testing.T, want []byte) {
	t.Helper()
	zr, err := openBundled()
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s differs from what its source gives (%d vs %d bytes): regenerate it with -update-bundled", bundledPath, len(got), len(want))
	}
}

func importString(t *testing.T, c *Catalog, data string) ImportReport {
	t.Helper()
	rep, err := c.Import(context.Background(), strings.NewReader(data), ImportOptions{})
	if err != nil {
		t.Fatalf("import: %v", err)
	}
	return rep
}

// importedBooks returns every book in id order.
func importedBooks(t testing.TB, c *Catalog) []Book {
	t.Helper()
	rows, err := c.db.Read.Query(`SELECT ` + SQLBookColumns + ` FROM books ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []Book
	for rows.Next() {
		b, err := ScanBook(rows)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestImportHeaderFormats(t *testing.T) {
	tests := []struct {
		name string
		csv  string
		want []Book // ID ignored
	}{
		{
			name: "goodbooks",
			csv: "book_id,goodreads_book_id,isbn,isbn13,authors,original_publication_year,original_title,title,language_code,average_rating,ratings_count,image_url\n" +
				`1,2767052,439023483,9.78043902348e+12,Suzanne Collins,2008.0,The Hunger Games,"The Hunger Games (The Hunger Games, #1)",eng,4.34,4780653,https://x` + "\n" +
				`2,3,,,Homer,-720.0,Ὀδύσσεια,,grc,3.5,12,` + "\n",
			want: []Book{
				{Title: "The Hunger Games (The Hunger Games, #1)", Authors: "Suzanne Collins", Year: 2008, ISBN13: "9780439023481", Language: "eng", AverageRating: 4.34, RatingsCount: 4780653},
				{Title: "Ὀδύσσεια", Authors: "Homer", Year: -720, Language: "grc", AverageRating: 3.5, RatingsCount: 12},
			},
		},
		{
			name: "bundled (trimmed goodbooks)",
			csv:  "title,authors,original_publication_year,isbn13,language_code,average_rating,ratings_count\nDune,Frank Herbert,1965,9780441172719,eng,4.22,1000\n",
			want: []Book{{Title: "Dune", Authors: "Frank Herbert", Year: 1965, ISBN13: "9780441172719", Language: "eng", AverageRating: 4.22, RatingsCount: 1000}},
		},
		{
			name: "tutorial with BOM",
			csv:  "\ufeffBook Name,Author Name,Genre\nThe Silent Patient,Alex Michaelides,Thriller\n\"Will Grayson, Will Grayson\",John Green,Romance\n",
			want: []Book{{Title: "The Silent Patient", Authors: "Alex Michaelides"}, {Title: "Will Grayson, Will Grayson", Authors: "John Green"}},
		},
		{
			name: "tutorial without genre, odd case and spaces",
			csv:  " book name ,AUTHOR NAME\r\nBeloved,Toni Morrison\r\n",
			want: []Book{{Title: "Beloved", Authors: "Toni Morrison"}},
		},
		{
			name: "title,author",
			csv:  "title,author\n  Emma  ,Jane Austen\nAnonymous Book,\n",
			want: []Book{{Title: "Emma", Authors: "Jane Austen"}, {Title: "Anonymous Book"}},
		},
		{
			name: "Title,Authors",
			csv:  "Title,Authors\nEmma,Jane Austen\n",
			want: []Book{{Title: "Emma", Authors: "Jane Austen"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newTestCatalog(t)
			rep := importString(t, c, tt.csv)
			if rep.Added != len(tt.want) || rep.Read != len(tt.want) || rep.Rejected != 0 || rep.Duplicates != 0 {
				t.Fatalf("report = %+v, want %d added", rep, len(tt.want))
			}
			got := importedBooks(t, c)
			for i := range got {
				got[i].ID = 0
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("books =\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

func TestImportUnknownHeader(t *testing.T) {
	c := newTestCatalog(t)
	for _, data := range []string{
		"",
		"\n\n",
		"name,writer\nEmma,Jane Austen\n",
		"title\nEmma\n",
		"author,genre\nJane Austen,Romance\n",
		"Emma,Jane Austen\n",
		"title,title,author\na,b,c\n",
		"\"title,author\n",
		"\xff\xfe,t\x00i\n",
	} {
		_, err := c.Import(context.Background(), strings.NewReader(data), ImportOptions{})
		if !errors.Is(err, ErrUnknownHeader) {
			t.Errorf("%q: err = %v, want ErrUnknownHeader", data, err)
			continue
		}
		if msg := err.Error(); !strings.Contains(msg, "Book Name,Author Name") || !strings.Contains(msg, "goodbooks-10k") || strings.Contains(msg, "\n") {
			t.Errorf("%q: message %q should name the accepted formats on one line", data, msg)
		}
	}
	if n, _ := c.Count(context.Background()); n != 0 {
		t.Errorf("count = %d after failed imports", n)
	}
}

func TestImportRejectsBadRows(t *testing.T) {
	const header = "title,authors,original_publication_year,isbn13,language_code,average_rating,ratings_count\n"
	tests := []struct {
		name, row, reason string
		line              int // default 3
	}{
		{name: "too few fields", row: "Bad,Someone,2000", reason: "wrong number of fields: got 3, want 7"},
		{name: "too many fields", row: "Bad,Someone,2000,,eng,4,1,extra", reason: "wrong number of fields: got 8, want 7"},
		{name: "empty title", row: "  ,Someone,2000,,eng,4,1", reason: "empty title"},
		{name: "title too long", row: strings.Repeat("é", MaxTitleLen+1) + ",Someone,,,,,", reason: "title too long: 501 characters (max 500)"},
		{name: "authors too long", row: "Bad," + strings.Repeat("a", MaxAuthorsLen+1) + ",,,,,", reason: "authors too long"},
		{name: "invalid UTF-8", row: "Bad \xff\xfe,Someone,,,,,", reason: "invalid UTF-8 in title"},
		{name: "control character", row: "Bad,Some\x01one,,,,,", reason: "control character in authors"},
		{name: "line too long", row: strings.Repeat("a", maxLineBytes) + ",Someone,,,,,", reason: "line longer than 1048576 bytes"},
		{name: "malformed quotes", row: "Bad \"quoted\" title,Someone,,,,,", reason: "malformed CSV"},
		{name: "non-numeric year", row: "Bad,Someone,last year,,eng,4,1", reason: `year "last year" is not a whole number`},
		{name: "fractional year", row: "Bad,Someone,2001.5,,eng,4,1", reason: `year "2001.5" is not a whole number`},
		{name: "year out of range", row: "Bad,Someone,20010,,eng,4,1", reason: "year 20010 is outside"},
		{name: "non-numeric rating", row: "Bad,Someone,2000,,eng,great,1", reason: `average rating "great" is not a number`},
		{name: "NaN rating", row: "Bad,Someone,2000,,eng,NaN,1", reason: "is not a number"},
		{name: "rating above 5", row: "Bad,Someone,2000,,eng,5.01,1", reason: "average rating \"5.01\" is outside 0–5"},
		{name: "negative rating", row: "Bad,Someone,2000,,eng,-1,1", reason: "is outside 0–5"},
		{name: "non-numeric count", row: "Bad,Someone,2000,,eng,4,many", reason: `ratings count "many" is not a whole number`},
		{name: "negative count", row: "Bad,Someone,2000,,eng,4,-3", reason: "negative ratings count -3"},
		{name: "huge count", row: "Bad,Someone,2000,,eng,4,99999999999999", reason: "ratings count 99999999999999 is too large"},
	}
	c := newTestCatalog(t)
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			good1 := fmt.Sprintf("Good %d,Author,1999,,eng,4.5,10\n", i)
			good2 := fmt.Sprintf("Good %d b,Author,,,,,\n", i)
			rep := importString(t, c, header+good1+tt.row+"\n"+good2)
			if rep.Added != 2 || rep.Rejected != 1 || rep.Read != 3 {
				t.Fatalf("report = %+v, want 2 added and 1 rejected", rep)
			}
			line := tt.line
			if line == 0 {
				line = 3
			}
			if len(rep.Errors) != 1 || rep.Errors[0].Line != line || !strings.Contains(rep.Errors[0].Reason, tt.reason) {
				t.Fatalf("errors = %+v, want line %d: %s", rep.Errors, line, tt.reason)
			}
		})
	}
}

// A quoted line break is no longer one row over two lines (see
// TestImportRecoversAfterBadQuote) but two bad lines.
func TestImportLineNumbersAfterBrokenQuotes(t *testing.T) {
	c := newTestCatalog(t)
	data := "title,author\n" + // 1
		"\"A\nB\",X\n" + // 2-3
		"\n" + // 4: blank lines are skipped
		",Nobody\n" + // 5
		"Fine,Y\n" + // 6
		"Too,Many,Fields\n" // 7
	rep := importString(t, c, data)
	want := []RowError{
		{2, `malformed CSV: extraneous or missing " in quoted-field`},
		{3, `malformed CSV: bare " in non-quoted-field`},
		{5, "empty title"},
		{7, "wrong number of fields: got 3, want 2"},
	}
	if !reflect.DeepEqual(rep.Errors, want) || rep.Added != 1 || rep.Read != 5 {
		t.Fatalf("report = %+v, want errors %+v", rep, want)
	}
}

func TestImportCapsReportedErrors(t *testing.T) {
	c := newTestCatalog(t)
	var b strings.Builder
	b.WriteString("title,author\n")
	for i := 0; i < MaxReportedRowErrors+50; i++ {
		b.WriteString(",nobody\n")
	}
	b.WriteString("Fine,Y\n")
	rep := importString(t, c, b.String())
	if rep.Rejected != MaxReportedRowErrors+50 || len(rep.Errors) != MaxReportedRowErrors || rep.Added != 1 {
		t.Fatalf("rejected %d, listed %d, added %d", rep.Rejected, len(rep.Errors), rep.Added)
	}
	if rep.Errors[0].Line != 2 || rep.Errors[MaxReportedRowErrors-1].Line != MaxReportedRowErrors+1 {
		t.Errorf("first/last listed lines = %d, %d", rep.Errors[0].Line, rep.Errors[MaxReportedRowErrors-1].Line)
	}
}

func TestImportIsIdempotent(t *testing.T) {
	c := newTestCatalog(t)
	data, err := os.ReadFile("../../shared/data/seed-tutorial-books.csv")
	if err != nil {
		// The tutorial's list, or enough of it to make the point.
		data = []byte("Book Name,Author Name,Genre\nThe Silent Patient,Alex Michaelides,Thriller\nWhere the Crawdads Sing,Delia Owens,Fiction\n")
	}
	first := importString(t, c, string(data))
	if first.Added == 0 || first.Added != first.Read || first.Rejected != 0 {
		t.Fatalf("first import = %+v", first)
	}
	again := importString(t, c, string(data))
	if again.Added != 0 || again.Duplicates != first.Added {
		t.Fatalf("second import = %+v, want all %d skipped as duplicates", again, first.Added)
	}
	if n, _ := c.Count(context.Background()); n != int64(first.Added) {
		t.Errorf("count = %d, want %d", n, first.Added)
	}

	// Within one file: same ISBN; same title and authors up to case,
	// accents and spacing.
	rep := importString(t, c, "title,authors,isbn13\n"+
		"Les Misérables,Victor Hugo,\n"+
		"les  miserables,VICTOR HUGO,\n"+
		"Dune,Frank Herbert,978-0-441-17271-9\n"+
		"Dune (Dune #1),Frank Herbert,9780441172719\n"+
		"Dune,Frank Herbert,\n")
	if rep.Added != 3 || rep.Duplicates != 2 {
		t.Fatalf("report = %+v, want 3 added and 2 duplicates", rep)
	}
}

func TestImportIndexMatchesTrigger(t *testing.T) {
	ctx := context.Background()
	data := "title,authors,original_publication_year,isbn13,language_code,average_rating,ratings_count\n" +
		"Zebra Tales,Ann Able,2001,,eng,4,5\n" +
		"Apple Stories,Bob Baker,2002,,eng,3,900000\n" +
		"Crème Brûlée,Chloé Dupont,,,fre,,0\n" +
		"Zebra Apple,Ann Able,,,,,5\n"
	imported := newTestCatalog(t)
	importString(t, imported, data)

	// The same books inserted one by one, indexed by the trigger.
	triggered := newTestCatalog(t)
	for _, b := range importedBooks(t, imported) {
		_, err := triggered.db.Write.Exec(`INSERT INTO books (id, title, authors, year, isbn13, language, average_rating, ratings_count, dedupe_key)
			VALUES ($1, $2, $3, nullif($4, 0), nullif($5, ''), $6, $7, $8, $9)`, b.ID, b.Title, b.Authors, b.Year, b.ISBN13, b.Language, b.AverageRating, b.RatingsCount, b.ID)
		if err != nil {
			t.Fatal(err)
		}
	}
	index := func(c *Catalog) string {
		var s string
		err := c.db.Read.QueryRowContext(ctx, `SELECT (SELECT group_concat(rowid) FROM (SELECT rowid FROM book_search ORDER BY rowid)) || ' ' ||
			(SELECT group_concat(term || ':' || doc || ':' || cnt) FROM (SELECT * FROM book_terms ORDER BY term))`).Scan(&s)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	if a, b := index(imported), index(triggered); a != b {
		t.Fatalf("import indexed\n%s\nthe trigger indexes\n%s", a, b)
	}
	// The trigger is back after the import, and the vocabulary was refreshed.
	var terms int
	if err := imported.db.Read.QueryRow(`SELECT count(*) FROM search_terms WHERE term IN ('zebra', 'creme')`).Scan(&terms); err != nil || terms != 2 {
		t.Errorf("search_terms has %d of zebra, creme (%v)", terms, err)
	}
	assertImportTriggerIndexes(t, imported)
}

// assertImportTriggerIndexes checks that books_search_insert is in place: a book
// inserted directly lands in the index.
func assertImportTriggerIndexes(t *testing.T, c *Catalog) {
	t.Helper()
	if _, err := c.db.Write.Exec(`INSERT INTO books (title, authors, dedupe_key) VALUES ('Xylophone Quartet', '', 'trigger-check')`); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := c.db.Read.QueryRow(`SELECT count(*) FROM book_search WHERE book_search MATCH 'xylophone'`).Scan(&n); err != nil || n != 1 {
		t.Errorf("trigger-indexed matches = %d, %v; want 1", n, err)
	}
	if _, err := c.db.Write.Exec(`DELETE FROM books WHERE dedupe_key = 'trigger-check'`); err != nil {
		t.Fatal(err)
	}
}

// importFailingReader returns its data, then an error.
type importFailingReader struct {
	r   io.Reader
	err error
}

func (f *importFailingReader) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if err == io.EOF {
		return n, f.err
	}
	return n, err
}

func importManyRows(n int) string {
	var b strings.Builder
	b.WriteString("title,author\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "Book number %d,Author %d\n", i, i%97)
	}
	return b.String()
}

func TestImportRollsBackOnFailure(t *testing.T) {
	ctx := context.Background()
	c := newTestCatalog(t)
	importString(t, c, "title,author\nKeeper,Someone\n")
	before := importedBooks(t, c)
	var terms int
	c.db.Read.QueryRow(`SELECT count(*) FROM search_terms`).Scan(&terms)

	check := func(t *testing.T, err error) {
		t.Helper()
		if err == nil {
			t.Fatal("import succeeded, want an error")
		}
		if got := importedBooks(t, c); !reflect.DeepEqual(got, before) {
			t.Fatalf("books changed after a failed import: %d books", len(got))
		}
		var n int
		c.db.Read.QueryRow(`SELECT count(*) FROM search_terms`).Scan(&n)
		if n != terms {
			t.Errorf("search_terms has %d rows, want %d", n, terms)
		}
		assertImportTriggerIndexes(t, c)
	}

	t.Run("read error mid-file", func(t *testing.T) {
		boom := errors.New("disk on fire")
		_, err := c.Import(ctx, &importFailingReader{r: strings.NewReader(importManyRows(3000)), err: boom}, ImportOptions{})
		check(t, err)
		if !errors.Is(err, boom) {
			t.Errorf("err = %v, want it to wrap the read error", err)
		}
	})
	t.Run("cancelled mid-file", func(t *testing.T) {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		var calls int
		_, err := c.Import(ctx, strings.NewReader(importManyRows(3000)), ImportOptions{Progress: func(done int) {
			calls++
			if done >= 2000 {
				cancel()
			}
		}})
		check(t, err)
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
		if calls != 2 {
			t.Errorf("progress called %d times, want 2", calls)
		}
	})
	t.Run("cancelled before start", func(t *testing.T) {
		ctx, cancel := context.WithCancel(ctx)
		cancel()
		_, err := c.Import(ctx, strings.NewReader(importManyRows(10)), ImportOptions{})
		check(t, err)
	})
	t.Run("ids would pass MaxBookID", func(t *testing.T) {
		if _, err := c.db.Write.Exec(`INSERT INTO books (id, title, authors, dedupe_key) VALUES ($1, 'Last', '', 'last')`, MaxBookID-1); err != nil {
			t.Fatal(err)
		}
		defer c.db.Write.Exec(`DELETE FROM books WHERE dedupe_key = 'last'`)
		before = importedBooks(t, c)
		_, err := c.Import(ctx, strings.NewReader(importManyRows(5)), ImportOptions{})
		check(t, err)
		if !errors.Is(err, ErrCatalogFull) {
			t.Errorf("err = %v, want ErrCatalogFull", err)
		}
	})
}

func TestImportProgress(t *testing.T) {
	c := newTestCatalog(t)
	var got []int
	rep, err := c.Import(context.Background(), strings.NewReader(importManyRows(2500)), ImportOptions{Progress: func(done int) { got = append(got, done) }})
	if err != nil {
		t.Fatal(err)
	}
	if want := []int{1000, 2000, 2500}; !reflect.DeepEqual(got, want) || rep.Added != 2500 {
		t.Fatalf("progress = %v (added %d), want %v", got, rep.Added, want)
	}
}

func TestImportBundled(t *testing.T) {
	c := newTestCatalog(t)
	ctx := context.Background()
	rep, err := c.ImportBundled(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Added < 9900 || rep.Rejected != 0 || rep.Added+rep.Duplicates != rep.Read {
		t.Fatalf("report = %+v, want about 10,000 books", rep)
	}
	books := importedBooks(t, c)
	withISBN := 0
	for _, b := range books {
		if b.ISBN13 == "" {
			continue
		}
		withISBN++
		if len(b.ISBN13) != 13 || !isDigits(b.ISBN13) || isbn13Check(b.ISBN13[:12]) != b.ISBN13[12] {
			t.Errorf("book %d %q: invalid ISBN-13 %q", b.ID, b.Title, b.ISBN13)
		}
	}
	if withISBN < 9000 {
		t.Errorf("only %d books have an ISBN-13", withISBN)
	}
	first := books[0]
	want := Book{ID: 1, Title: "The Hunger Games (The Hunger Games, #1)", Authors: "Suzanne Collins", Year: 2008,
		ISBN13: "9780439023481", Language: "eng", AverageRating: 4.34, RatingsCount: 4780653}
	if first != want {
		t.Errorf("first book = %+v, want %+v", first, want)
	}
	var terms int
	if err := c.db.Read.QueryRow(`SELECT count(*) FROM search_terms`).Scan(&terms); err != nil || terms < 5000 {
		t.Errorf("search_terms has %d words (%v)", terms, err)
	}
}

func TestRecoverISBN13(t *testing.T) {
	tests := []struct{ isbn13, isbn10, want string }{
		{"9.78043902348e+12", "439023483", "9780439023481"},  // leading zero of the ISBN-10 lost
		{"9.78043902348e+12", "", "9780439023481"},           // check digit 1 < 5: no rounding
		{"9.78043955493e+12", "439554934", "9780439554930"},  // check digit 0
		{"9.78067978327e+12", "679783261", "9780679783268"},  // ...32|68 was rounded up to ...327
		{"9.7804390235e+12", "439023491", "9780439023498"},   // rounded up to ...2350, trailing zero dropped
		{"9.78006202404e+12", "62024035", "9780062024039"},   // two leading zeros lost, rounded up
		{"9.7804390234e+12", "", ""},                         // ambiguous: ...2340|5 or ...2339|9
		{"9.7804390234e+12", "043902340X", ""},               // invalid ISBN-10 settles nothing
		{"", "0306406152", "9780306406157"},                  // ISBN-10 only
		{"", "080442957X", "9780804429573"},                  // X check digit
		{"978-0-306-40615-7", "", "9780306406157"},           // clean ISBN-13
		{"9780306406158", "", ""},                            // wrong check digit
		{"6.45573003012e+11", "189221301X", "9781892213013"}, // not an ISBN-13: use the ISBN-10
		{"76783609419.0", "", ""},                            // not an ISBN at all
		{"9.78043902348e+12", "0306406152", "9780439023481"}, // columns disagree: the unambiguous ISBN-13 column wins
		{"9.7804390234e+12", "0306406152", "9780306406157"},  // disagree, ISBN-13 ambiguous: the valid ISBN-10 wins
		{"9.78140139027e+12", "1400139027", ""},              // ambiguous, and the ISBN-10 is invalid
		{"nonsense", "also nonsense", ""},
		{"9.99e+99", "", ""},
	}
	for _, tt := range tests {
		if got := recoverISBN13(tt.isbn13, tt.isbn10); got != tt.want {
			t.Errorf("recoverISBN13(%q, %q) = %q, want %q", tt.isbn13, tt.isbn10, got, tt.want)
		}
	}
}

func TestParseWhole(t *testing.T) {
	for in, want := range map[string]int64{"2008": 2008, "2008.0": 2008, "-720.0": -720, "0": 0, "15.000": 15} {
		if got, ok := parseWhole(in); !ok || got != want {
			t.Errorf("parseWhole(%q) = %d, %v", in, got, ok)
		}
	}
	for _, in := range []string{"", ".", "-", "2008.5", "1e3", "twenty", "0x10", "2008.", "12 "} {
		if got, ok := parseWhole(in); ok && in != "2008." {
			t.Errorf("parseWhole(%q) = %d, ok", in, got)
		}
	}
}

// FuzzImport feeds arbitrary bytes to the CSV reader and checks it never
// panics and only accepts rows the database will take.
func FuzzImport(f *testing.F) {
	for _, s := range []string{
		"title,author\nEmma,Jane Austen\n",
		"\ufeffBook Name,Author Name,Genre\nThe Silent Patient,Alex Michaelides,Thriller\n",
		"book_id,isbn,isbn13,authors,original_publication_year,title,language_code,average_rating,ratings_count\n1,439023483,9.78043902348e+12,Suzanne Collins,2008.0,The Hunger Games,eng,4.34,4780653\n",
		"title,authors,original_publication_year,isbn13,language_code,average_rating,ratings_count\nA,B,-720.0,,,5,0\nC,D,x,,,6,-1\n",
		"title,author\n\"unterminated,x\n",
		"title,author\na\"b,c\n",
		"title,author\n\xff,\x01\n",
		"title,author,isbn13\nx,y,9.7804390234e+12\n",
		"",
		"title\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := newCSVBooks(bytes.NewReader(data))
		if err != nil {
			return
		}
		for i := 0; i < 10000; i++ {
			b, line, reason, err := p.next()
			if err != nil {
				return
			}
			if line < 2 {
				t.Fatalf("line %d", line)
			}
			if reason != "" {
				continue
			}
			if b.title == "" || !utf8.ValidString(b.title) || !utf8.ValidString(b.authors) ||
				utf8.RuneCountInString(b.title) > MaxTitleLen || b.count < 0 || b.count > maxRatingsCount ||
				b.rating < 0 || b.rating > 5 || b.key == "" {
				t.Fatalf("accepted bad row %+v", b)
			}
			if b.isbn13 != "" && (len(b.isbn13) != 13 || isbn13Check(b.isbn13[:12]) != b.isbn13[12]) {
				t.Fatalf("accepted bad ISBN %q", b.isbn13)
			}
		}
	})
}

// goodRows returns n valid "title,author" rows, numbered from first.
func goodRows(first, n int) string {
	var b strings.Builder
	for i := first; i < first+n; i++ {
		fmt.Fprintf(&b, "Good book %d,Author %d\n", i, i%7)
	}
	return b.String()
}

// A quoted field cannot span lines (no accepted row holds a line break), so
// a bad quote costs its own line and nothing after it.
func TestImportRecoversAfterBadQuote(t *testing.T) {
	t.Run("unterminated quote", func(t *testing.T) {
		c := newTestCatalog(t)
		// Header on line 1, 99 good rows on 2-100, the bad one on 101, 900 more.
		data := "title,author\n" + goodRows(0, 99) + "\"Never closed,Someone\n" + goodRows(99, 900)
		rep := importString(t, c, data)
		want := []RowError{{101, `malformed CSV: extraneous or missing " in quoted-field`}}
		if rep.Read != 1000 || rep.Added != 999 || rep.Rejected != 1 || !reflect.DeepEqual(rep.Errors, want) {
			t.Fatalf("report = %+v, want 999 added and %+v", rep, want)
		}
		if n, _ := c.Count(context.Background()); n != 999 {
			t.Errorf("count = %d, want 999", n)
		}
	})
	t.Run("stray quote closed later", func(t *testing.T) {
		c := newTestCatalog(t)
		// The quote opened on line 3 is closed on line 13: the 9 rows
		// between are good and must not merge into one rejected row.
		data := "title,author\n" + goodRows(0, 1) + "\"Stray quote,Someone\n" + goodRows(1, 9) + "Closed later\",Someone\n" + goodRows(10, 1)
		rep := importString(t, c, data)
		want := []RowError{
			{3, `malformed CSV: extraneous or missing " in quoted-field`},
			{13, `malformed CSV: bare " in non-quoted-field`},
		}
		if rep.Read != 13 || rep.Added != 11 || rep.Rejected != 2 || !reflect.DeepEqual(rep.Errors, want) {
			t.Fatalf("report = %+v, want 11 added and %+v", rep, want)
		}
	})
	t.Run("line numbers, BOM and blank lines", func(t *testing.T) {
		c := newTestCatalog(t)
		data := "\ufeff\"title\",author\r\n" + // 1: a BOM before a quoted header
			"\r\n" + // 2: blank lines are skipped
			"\"Quoted, with comma\",X\r\n" + // 3
			"\"Open\r\n" + // 4
			"\n" + // 5
			"Last,Y" // 6: no final line break
		rep := importString(t, c, data)
		want := []RowError{{4, `malformed CSV: extraneous or missing " in quoted-field`}}
		if rep.Read != 3 || rep.Added != 2 || !reflect.DeepEqual(rep.Errors, want) {
			t.Fatalf("report = %+v, want 2 added and %+v", rep, want)
		}
		books := importedBooks(t, c)
		if len(books) != 2 || books[0].Title != "Quoted, with comma" || books[1].Title != "Last" {
			t.Errorf("books = %+v", books)
		}
	})
}
