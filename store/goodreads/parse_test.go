package goodreads

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"shelf/store/shelves"
)

func parseFile(t *testing.T, name string) *Library {
	t.Helper()
	f, err := os.Open("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	lib, err := Parse(f)
	if err != nil {
		t.Fatalf("Parse(%s): %v", name, err)
	}
	return lib
}

func TestParseSample(t *testing.T) {
	lib := parseFile(t, "goodreads-library-export-sample.csv")
	if len(lib.Rows) != 38 || lib.Rejected != 0 {
		t.Fatalf("rows %d, rejected %d %v; want 38, 0", len(lib.Rows), lib.Rejected, lib.Problems)
	}
	first := lib.Rows[0]
	want := Row{Line: 2, BookID: "11230081", Title: "Seriously... I'm Kidding", Author: "Ellen DeGeneres",
		ISBN13: "9780446585026", Shelf: shelves.Reading, Added: time.Date(2015, 3, 24, 0, 0, 0, 0, time.UTC)}
	if first != want {
		t.Errorf("first row\n got %+v\nwant %+v", first, want)
	}
	byTitle := map[string]Row{}
	for _, r := range lib.Rows {
		byTitle[r.Title] = r
	}
	for title, check := range map[string]func(Row) bool{
		"Wheat Belly: Lose the Wheat, Lose the Weight, and Find Your Path Back to Health": func(r Row) bool {
			return r.Author == "William Davis" && r.Rating == 3 && r.Shelf == shelves.Read
		},
		"The Buried Giant":                           func(r Row) bool { return r.ISBN13 == "" && r.Unknown == "" && r.Shelf == shelves.WantToRead },
		"Notes From a Small Kitchen, Vol. 2":         func(r Row) bool { return r.Author == `Ada "Dee" Quill` },
		"The Republic":                               func(r Row) bool { return r.ISBN13 == "9780140449143" },
		"The Revenant":                               func(r Row) bool { return r.ISBN13 == "9781250066626" },
		"The Rise of Endymion (Hyperion Cantos, #4)": func(r Row) bool { return r.Rating == 5 },
	} {
		r, ok := byTitle[title]
		if !ok || !check(r) {
			t.Errorf("%q: got %+v (found %v)", title, r, ok)
		}
	}
}

func TestParseMessy(t *testing.T) {
	lib := parseFile(t, "messy.csv")
	var got []string
	for _, r := range lib.Rows {
		got = append(got, r.Title)
	}
	wantRows := []string{"Opal", "The Green Mile", "Harry Potter and the Sorcerer's Stone (Harry Potter, #1)",
		"Not A Real Book At All", "The Republic", "A \"multi-line\" title that is not in the catalog",
		"The Green Mile"}
	if strings.Join(got, "|") != strings.Join(wantRows, "|") {
		t.Errorf("rows\n got %q\nwant %q", got, wantRows)
	}
	wantProblems := []Problem{
		{Line: 5, Title: "Bad Rating", Reason: `My Rating "9" is not 0 to 5`},
		{Line: 6, Title: "Custom Shelf Book", Reason: `custom exclusive shelf "did-not-finish": Shelf has only to-read, currently-reading and read`},
		{Line: 7, Title: "Bad Date", Reason: `Date Added "yesterday" is not a date (want 2015/03/24)`},
		{Line: 8, Reason: "unclosed quote"},
		// A negative year in Date Added is refused like any other bad date.
		{Line: 11, Title: `Ada "Dee" Quill's "Notes", Vol. 2`, Reason: `Date Added "-380/01/01" is not a date (want 2015/03/24)`},
		{Line: 13, Title: "Lonely Row", Reason: "no Exclusive Shelf"},
		{Line: 17, Reason: `malformed CSV: bare " in non-quoted-field`},
	}
	if lib.Rejected != len(wantProblems) || len(lib.Problems) != len(wantProblems) {
		t.Fatalf("rejected %d: %+v", lib.Rejected, lib.Problems)
	}
	for i, p := range lib.Problems {
		if p != wantProblems[i] {
			t.Errorf("problem %d\n got %+v\nwant %+v", i, p, wantProblems[i])
		}
	}
	lines := map[string]int{}
	for _, r := range lib.Rows {
		lines[r.Title] = r.Line
	}
	if lines["The Republic"] != 12 || lines[wantRows[5]] != 14 || lines["Not A Real Book At All"] != 9 || lib.Rows[len(lib.Rows)-1].Line != 16 {
		t.Errorf("line numbers: %v, last %d", lines, lib.Rows[len(lib.Rows)-1].Line)
	}
	hp := lib.Rows[2]
	if hp.ISBN13 != "9780439554930" || hp.Shelf != shelves.WantToRead {
		t.Errorf("ISBN-10 043955493X: got %+v", hp)
	}
	if r := lib.Rows[0]; r.Author != "Jennifer L. Armentrout" || r.Rating != 4 || r.ISBN13 != "" {
		t.Errorf("Opal: %+v", r)
	}
	if r := lib.Rows[1]; !r.Added.Equal(time.Date(2013, 11, 16, 0, 0, 0, 0, time.UTC)) || r.Shelf != shelves.Reading {
		t.Errorf("dashed date: %+v", r)
	}
	if r := lib.Rows[3]; r.ISBN13 != "9780000000002" {
		t.Errorf("ISBN not in the catalog: %+v", r)
	}
}

func TestParseRefusesFiles(t *testing.T) {
	header := "Book Id,Title,Author,ISBN13,My Rating,Exclusive Shelf,Date Added\n"
	for _, tc := range []struct {
		name, in string
		want     error
		msg      string
	}{
		{"empty", "", ErrNotExport, "empty"},
		{"BOM only", "\ufeff", ErrNotExport, "empty"},
		{"binary", "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", ErrNotExport, "not text"},
		{"other CSV", "title,authors,isbn13\nDune,Frank Herbert,\n", ErrNotExport, "no Author or Exclusive Shelf column"},
		{"two titles", "Title,Author,Exclusive Shelf,Title\n", ErrNotExport, `two "Title" columns`},
		{"too large", header + strings.Repeat("A,B,C,,0,read,"+strings.Repeat("n", 1000)+"\n", MaxFileBytes/1000), ErrTooLarge, "over 2 MB"},
		{"too many rows", header + strings.Repeat("1,T,A,,0,read,\n", MaxRows+1), ErrTooManyRows, "too many rows: over 10000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(strings.NewReader(tc.in))
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("got %v, want %v containing %q", err, tc.want, tc.msg)
			}
		})
	}
}

func TestParseRows(t *testing.T) {
	header := "Title,Author,ISBN,ISBN13,My Rating,Exclusive Shelf,Date Added,Private Notes\n"
	for _, tc := range []struct {
		name, line string
		want       Row
		reason     string
	}{
		{name: "plain", line: `Dune,Frank Herbert,,,5,read,2020/01/02,`,
			want: Row{Title: "Dune", Author: "Frank Herbert", Rating: 5, Shelf: shelves.Read, Added: time.Date(2020, 1, 2, 0, 0, 0, 0, time.UTC)}},
		{name: "formula ISBN-10 only", line: `Dune,Frank Herbert,"=""0441172717""","=""""",0,to-read,,`,
			want: Row{Title: "Dune", Author: "Frank Herbert", ISBN13: "9780441172719", Shelf: shelves.WantToRead}},
		{name: "ISBN with dashes", line: `Dune,Frank Herbert,,978-0-441-17271-9,0,to-read,,`,
			want: Row{Title: "Dune", Author: "Frank Herbert", ISBN13: "9780441172719", Shelf: shelves.WantToRead}},
		{name: "bad check digit", line: `Dune,Frank Herbert,,9780441172710,0,to-read,,`,
			want: Row{Title: "Dune", Author: "Frank Herbert", Unknown: "9780441172710", Shelf: shelves.WantToRead}},
		{name: "ISBN but no title", line: `,,,9780441172719,0,read,,`,
			want: Row{ISBN13: "9780441172719", Shelf: shelves.Read}},
		{name: "note", line: `Dune,Frank Herbert,,,0,read,,"spice,  must flow"`,
			want: Row{Title: "Dune", Author: "Frank Herbert", Shelf: shelves.Read, Note: "spice,  must flow"}},
		{name: "missing trailing columns", line: `Dune,Frank Herbert,,,0,Read`,
			want: Row{Title: "Dune", Author: "Frank Herbert", Shelf: shelves.Read}},
		{name: "extra columns", line: `Dune,Frank Herbert,,,0,read,,,x,y,z`,
			want: Row{Title: "Dune", Author: "Frank Herbert", Shelf: shelves.Read}},
		{name: "control characters", line: "\"Du\tne\",Frank\x01Herbert,,,0,read,,",
			want: Row{Title: "Du ne", Author: "Frank Herbert", Shelf: shelves.Read}},
		{name: "no title, no ISBN", line: `,Frank Herbert,,,0,read,,`, reason: "no title and no ISBN"},
		{name: "negative rating", line: `Dune,Frank Herbert,,,-1,read,,`, reason: `My Rating "-1" is not 0 to 5`},
		{name: "fractional rating", line: `Dune,Frank Herbert,,,4.5,read,,`, reason: `My Rating "4.5" is not 0 to 5`},
		{name: "year 0001", line: `Dune,Frank Herbert,,,0,read,0001/01/01,`, reason: `Date Added "0001/01/01" is not a date (want 2015/03/24)`},
		{name: "invalid UTF-8", line: "Du\xffne,Frank Herbert,,,0,read,,", reason: "not valid UTF-8 text"},
		{name: "long title", line: strings.Repeat("x", 501) + `,A,,,0,read,,`, reason: "title too long (501 characters, at most 500)"},
		{name: "long note", line: `Dune,A,,,0,read,,` + strings.Repeat("n", MaxNoteLen+1), reason: "Private Notes too long (2001 characters, at most 2000)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lib, err := Parse(strings.NewReader(header + tc.line + "\n"))
			if err != nil {
				t.Fatal(err)
			}
			if tc.reason != "" {
				if len(lib.Problems) != 1 || lib.Problems[0].Reason != tc.reason || lib.Problems[0].Line != 2 {
					t.Fatalf("got rows %+v problems %+v, want %q", lib.Rows, lib.Problems, tc.reason)
				}
				return
			}
			if len(lib.Rows) != 1 {
				t.Fatalf("got problems %+v", lib.Problems)
			}
			tc.want.Line = 2
			if lib.Rows[0] != tc.want {
				t.Errorf("\n got %+v\nwant %+v", lib.Rows[0], tc.want)
			}
		})
	}
}

func TestParseLongLinesAndQuotes(t *testing.T) {
	header := "Title,Author,Exclusive Shelf\n"
	in := header +
		`"never closed,A,read` + "\n" +
		strings.Repeat("x", MaxRecordSize+10) + ",A,read\n" +
		"Fine,A,read\n" +
		`"A review title` + strings.Repeat("\nmore", maxRecordLines+5) + "\n" +
		"Also fine,A,read\r\n"
	lib, err := Parse(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(lib.Rows) < 2 || lib.Rows[0].Title != "Fine" || lib.Rows[0].Line != 4 || lib.Rows[len(lib.Rows)-1].Title != "Also fine" {
		t.Fatalf("rows %+v", lib.Rows)
	}
	if lib.Problems[0].Reason != "unclosed quote" || lib.Problems[0].Line != 2 ||
		lib.Problems[1].Reason != "row longer than 64 KB" || lib.Problems[1].Line != 3 ||
		lib.Problems[2].Reason != "unclosed quote" || lib.Problems[2].Line != 5 {
		t.Errorf("problems %+v", lib.Problems[:3])
	}
}

func FuzzParse(f *testing.F) {
	for _, name := range []string{"goodreads-library-export-sample.csv", "messy.csv"} {
		b, err := os.ReadFile("testdata/" + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("Title,Author,Exclusive Shelf\n\"a\n\"\"b,c,read\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		lib, err := Parse(bytes.NewReader(in))
		if err != nil {
			if !errors.Is(err, ErrNotExport) && !errors.Is(err, ErrTooLarge) && !errors.Is(err, ErrTooManyRows) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		last := 1
		for _, r := range lib.Rows {
			if r.Line <= last {
				t.Fatalf("line %d after %d", r.Line, last)
			}
			last = r.Line
			if r.Rating < 0 || r.Rating > 5 || (r.Shelf != shelves.Read && r.Shelf != shelves.Reading && r.Shelf != shelves.WantToRead) {
				t.Fatalf("bad row %+v", r)
			}
			if r.ISBN13 != "" && toISBN13(r.ISBN13) != r.ISBN13 {
				t.Fatalf("invalid ISBN %q", r.ISBN13)
			}
		}
		for _, p := range lib.Problems {
			if p.Line < 2 || p.Reason == "" {
				t.Fatalf("problem %+v", p)
			}
		}
	})
}
